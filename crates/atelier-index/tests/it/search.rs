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
