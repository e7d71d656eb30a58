//! Building and updating: only changed files are parsed again, deleted files leave the index,
//! `.gitignore` is honoured, binary and large files are counted, the project limit is said.

use atelier_index::{Index, Limits, Mode};

use crate::{indexed, write_files};

#[test]
fn a_second_pass_reads_only_what_changed_and_drops_what_went() {
    let (dir, index) = indexed(&[
        ("a.rs", "pub fn alpha() {}\n"),
        ("b.rs", "pub fn beta() {}\n"),
        ("c.rs", "pub fn gamma() {}\n"),
    ]);
    let root = dir.path().join("project");
    let report = index.sync(&mut |_| {}, &Default::default()).unwrap();
    assert_eq!((report.indexed, report.unchanged, report.removed), (0, 3, 0));
    // Same content written again (a new modification time): read, hashed, not parsed.
    std::fs::write(root.join("a.rs"), "pub fn alpha() {}\n").unwrap();
    std::fs::write(root.join("b.rs"), "pub fn beta_two() {}\n").unwrap();
    std::fs::remove_file(root.join("c.rs")).unwrap();
    let report = index.sync(&mut |_| {}, &Default::default()).unwrap();
    assert_eq!((report.indexed, report.removed), (1, 1), "{report:?}");
    assert!(index.search("gamma", 5, Mode::Keyword, None).unwrap().is_empty());
    assert_eq!(index.search("beta two", 5, Mode::Keyword, None).unwrap()[0].path, "b.rs");
    assert_eq!(index.counts().unwrap().files, 2);
}

#[test]
fn updates_for_changed_paths_add_change_and_remove() {
    let (dir, index) = indexed(&[("src/a.rs", "pub fn alpha() {}\n")]);
    let root = dir.path().join("project");
    write_files(&root, &[("src/new.rs", "pub fn freshly_added() {}\n")]);
    std::fs::write(root.join("src/a.rs"), "pub fn alpha_changed() {}\n").unwrap();
    let report = index.update_paths(&["src/new.rs".into(), "src/a.rs".into()]).unwrap();
    assert_eq!(report.indexed, 2);
    assert_eq!(index.search("freshly added", 5, Mode::Keyword, None).unwrap()[0].path, "src/new.rs");
    assert_eq!(index.symbols(Some("src/a.rs"), None, 10).unwrap()[0].name, "alpha_changed");
    std::fs::remove_file(root.join("src/new.rs")).unwrap();
    let report = index.update_paths(&["src/new.rs".into()]).unwrap();
    assert_eq!(report.removed, 1);
    assert!(index.search("freshly added", 5, Mode::Keyword, None).unwrap().is_empty());
    // A removed folder takes its files with it.
    std::fs::remove_dir_all(root.join("src")).unwrap();
    index.update_paths(&["src".into()]).unwrap();
    assert_eq!(index.counts().unwrap().files, 0);
}

#[test]
fn ignored_binary_and_large_files_are_left_out_and_counted() {
    let big = "x".repeat(2 * 1024 * 1024);
    let (_dir, index) = indexed(&[
        (".gitignore", "target/\n*.log\n"),
        ("target/debug/out.rs", "pub fn generated() {}\n"),
        ("run.log", "generated\n"),
        ("src/main.rs", "fn main() {}\n"),
        ("big.txt", big.as_str()),
    ]);
    let dir = index.root().to_path_buf();
    std::fs::write(dir.join("logo.png"), [0x89u8, b'P', b'N', b'G', 0, 0, 1, 2]).unwrap();
    index.sync(&mut |_| {}, &Default::default()).unwrap();
    let counts = index.counts().unwrap();
    assert_eq!(counts.files, 2, "{counts:?}"); // .gitignore and src/main.rs
    assert_eq!((counts.skipped_binary, counts.skipped_large), (1, 1));
    assert!(index.search("generated", 5, Mode::Keyword, None).unwrap().is_empty());
    // An ignored path reported by a write is not indexed either.
    write_files(&dir, &[("target/x.rs", "pub fn generated_too() {}\n")]);
    index.update_paths(&["target/x.rs".into()]).unwrap();
    assert!(index.search("generated", 5, Mode::Keyword, None).unwrap().is_empty());
}

#[test]
fn the_project_limit_leaves_files_out_and_says_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    for i in 0..10 {
        write_files(&root, &[(&format!("f{i}.rs"), "pub fn x() {}\n")]);
    }
    let limits = Limits { max_files: 4, ..Limits::default() };
    let index = Index::open(&dir.path().join("i.db"), &root, limits).unwrap();
    let report = index.sync(&mut |_| {}, &Default::default()).unwrap();
    assert_eq!(report.skipped_over_limit, 6);
    let counts = index.counts().unwrap();
    assert_eq!((counts.files, counts.skipped_over_limit), (4, 6));
}

#[test]
fn a_file_that_does_not_parse_is_indexed_by_lines() {
    let garbage = "}}} fn ((( let\n".repeat(200) + "unique_marker_word here\n";
    let (_dir, index) = indexed(&[("broken.rs", garbage.as_str())]);
    let hits = index.search("unique marker word", 5, Mode::Keyword, None).unwrap();
    assert_eq!(hits[0].path, "broken.rs");
    assert!(hits[0].end_line - hits[0].start_line < atelier_index::CHUNK_MAX_LINES);
}

#[test]
fn progress_counts_up_to_the_total_and_cancel_stops() {
    let files: Vec<(String, String)> =
        (0..120).map(|i| (format!("f{i:03}.py"), format!("def f{i}():\n    pass\n"))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    write_files(&root, &refs);
    let index = Index::open(&dir.path().join("i.db"), &root, Limits::default()).unwrap();
    let mut seen = Vec::new();
    index.sync(&mut |p| seen.push((p.files_done, p.files_total)), &Default::default()).unwrap();
    assert_eq!(seen.first(), Some(&(0, 120)));
    assert_eq!(seen.last(), Some(&(120, 120)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    index.clear().unwrap();
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let report = index.sync(&mut |_| {}, &cancel).unwrap();
    assert!(report.cancelled);
    assert_eq!(index.counts().unwrap().files, 0);
}
