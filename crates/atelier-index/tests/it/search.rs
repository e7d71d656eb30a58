//! Search: identifier spellings find each other, bad queries never fail, results point at the
//! right lines, and hybrid ranking uses embeddings when they are there.

use atelier_index::Mode;

use crate::indexed;

const LLM: &str = "/// Sizes the context window.\npub fn choose_num_ctx(messages: &[String]) -> u32 {\n    let wanted = messages.len() as u32;\n    wanted.max(4096)\n}\n";
const UI: &str = "export function formatBytes(n: number): string {\n  return `${n} B`;\n}\n\nexport function chooseNumCtx(size: number): number {\n  return size * 2;\n}\n";

#[test]
fn each_spelling_of_an_identifier_finds_both_styles() {
    let (_dir, index) = indexed(&[("crates/llm/src/lib.rs", LLM), ("ui/src/format.ts", UI)]);
    for query in ["chooseNumCtx", "choose_num_ctx", "choose num ctx", "ChooseNumCtx"] {
        let hits = index.search(query, 10, Mode::Keyword, None).unwrap();
        let paths: Vec<&str> = hits.iter().take(2).map(|h| h.path.as_str()).collect();
        assert!(paths.contains(&"crates/llm/src/lib.rs"), "{query}: {hits:?}");
        assert!(paths.contains(&"ui/src/format.ts"), "{query}: {hits:?}");
    }
}

#[test]
fn a_hit_names_its_lines_definition_and_shows_the_matching_text() {
    let (_dir, index) = indexed(&[("ui/src/format.ts", UI), ("README.md", "# Demo\n\nNothing here.\n")]);
    let hits = index.search("chooseNumCtx", 5, Mode::Keyword, None).unwrap();
    let hit = &hits[0];
    assert_eq!(hit.path, "ui/src/format.ts");
    assert_eq!(hit.symbol.as_deref(), Some("chooseNumCtx"), "{hit:?}");
    assert!(hit.start_line <= 5 && hit.end_line >= 7, "{hit:?}");
    assert!(hit.snippet.contains("export function chooseNumCtx"), "{}", hit.snippet);
    assert_eq!(hit.line, 3, "the snippet starts two lines above the first match");
}

#[test]
fn queries_of_any_shape_answer_results_or_nothing() {
    let (_dir, index) = indexed(&[("crates/llm/src/lib.rs", LLM)]);
    let long = "x".repeat(10_000);
    let words = "choose ".repeat(1_500);
    for query in [
        "",
        "   ",
        "!!!",
        "\"",
        "*",
        "(((",
        "a AND",
        "NEAR(",
        "choose OR",
        "-choose",
        "choose:",
        "^x",
        "'; DROP TABLE files; --",
        "\u{0}",
        "名前",
        long.as_str(),
        words.as_str(),
        "\"unterminated choose",
    ] {
        let hits = index.search(query, 10, Mode::Keyword, None);
        assert!(hits.is_ok(), "{:?} failed: {:?}", query.chars().take(30).collect::<String>(), hits.err());
    }
    assert!(index.search("!!!", 10, Mode::Keyword, None).unwrap().is_empty());
    assert_eq!(index.search("\"unterminated choose", 10, Mode::Keyword, None).unwrap().len(), 1);
    assert_eq!(index.search(&words, 10, Mode::Keyword, None).unwrap().len(), 1);
}

#[test]
fn plain_words_find_the_code_that_does_it() {
    let (_dir, index) = indexed(&[
        (
            "src/keys.rs",
            "/// Keeps API keys in the operating system's keychain.\npub fn store_api_key(provider: &str, key: &str) {}\n",
        ),
        ("src/watch.rs", "/// Watches a folder for outside edits.\npub fn watch_folder(root: &str) {}\n"),
        ("src/zip.rs", "/// Exports the project as a zip archive.\npub fn export_zip() {}\n"),
    ]);
    let hits = index.search("where are api keys stored", 3, Mode::Keyword, None).unwrap();
    assert_eq!(hits[0].path, "src/keys.rs", "{hits:?}");
    let hits = index.search("watching folders", 3, Mode::Keyword, None).unwrap();
    assert_eq!(hits[0].path, "src/watch.rs", "stemming: {hits:?}");
}

#[test]
fn embeddings_join_the_ranking_and_semantic_mode_uses_them_alone() {
    let (_dir, index) = indexed(&[
        ("a.rs", "pub fn alpha() {}\n"),
        ("b.rs", "pub fn beta() {}\n"),
        ("c.rs", "pub fn gamma() {}\n"),
    ]);
    index.set_embedding_model("test-embed").unwrap();
    let pending = index.pending_embeddings(100, 1000).unwrap();
    assert_eq!(pending.len(), 3);
    assert!(pending.iter().any(|(_, text)| text.starts_with("b.rs\nbeta\npub fn beta")), "{pending:?}");
    // Each chunk's vector points along its own axis.
    let vectors: Vec<(i64, Vec<f32>)> = pending
        .iter()
        .map(|(id, text)| {
            let axis = if text.starts_with("a.rs") {
                0
            } else if text.starts_with("b.rs") {
                1
            } else {
                2
            };
            let mut v = vec![0.0; 3];
            v[axis] = 2.0;
            (*id, v)
        })
        .collect();
    index.store_embeddings(&vectors).unwrap();
    assert_eq!(index.counts().unwrap().embedded_chunks, 3);
    assert!(index.pending_embeddings(100, 1000).unwrap().is_empty());
    // A query vector near c's axis: semantic mode finds c although no word matches.
    let hits = index.search("nothing matches this", 3, Mode::Semantic, Some(&[0.1, 0.0, 1.0])).unwrap();
    assert_eq!(hits[0].path, "c.rs", "{hits:?}");
    // Hybrid: the word match (beta) and the vector match (gamma) both come first.
    let hits = index.search("beta", 3, Mode::Hybrid, Some(&[0.0, 0.1, 1.0])).unwrap();
    let top: Vec<&str> = hits.iter().take(2).map(|h| h.path.as_str()).collect();
    assert!(top.contains(&"b.rs") && top.contains(&"c.rs"), "{hits:?}");
    // Keyword mode ignores the vector.
    let hits = index.search("beta", 3, Mode::Keyword, Some(&[0.0, 0.0, 1.0])).unwrap();
    assert_eq!(hits.len(), 1);
    // A new model drops the old model's vectors.
    index.set_embedding_model("other-embed").unwrap();
    assert_eq!(index.counts().unwrap().embedded_chunks, 0);
}

/// A project where `token`, `user` and `session` are in the text of every file, and one file
/// defines a function named after them; searched with a ranking limit far below the number of
/// chunks that match, as a big project's common words are.
#[test]
fn words_most_chunks_use_still_rank_the_definition_named_after_them_first() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    let mut files: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("src/f{i:02}.rs"),
                format!("pub fn step_{i}(token: &str, user: u32, session: u64) -> usize {{\n    token.len() + {i}\n}}\n"),
            )
        })
        .collect();
    files
        .push(("src/auth.rs".into(), "pub fn refresh_token() {}\n\npub fn user_session_store() {}\n".into()));
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    std::fs::create_dir_all(&root).unwrap();
    crate::write_files(&root, &files);
    let limits = atelier_index::Limits { rank_at_most: 5, ..Default::default() };
    let index = atelier_index::Index::open(&dir.path().join("index.db"), &root, limits).unwrap();
    index.sync(&mut |_| {}, &Default::default()).unwrap();

    let hits = index.search("token", 10, Mode::Keyword, None).unwrap();
    assert_eq!(hits.len(), 10, "still a full page of results");
    assert_eq!((hits[0].path.as_str(), hits[0].symbol.as_deref()), ("src/auth.rs", Some("refresh_token")));
    let hits = index.search("where is the user session kept", 10, Mode::Keyword, None).unwrap();
    assert_eq!(hits.len(), 10);
    assert_eq!(
        (hits[0].path.as_str(), hits[0].symbol.as_deref()),
        ("src/auth.rs", Some("user_session_store")),
        "{hits:#?}"
    );
    // Every hit holds a word of the query.
    assert!(hits.iter().all(|h| h.snippet.contains("user") || h.snippet.contains("session")), "{hits:#?}");
}
