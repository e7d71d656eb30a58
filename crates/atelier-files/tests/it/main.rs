//! Integration tests for atelier-files on real folders: every escape refused, the tree as
//! git sees it, and reads and writes that never corrupt anything.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use atelier_files::{FilesError, read, resolve, tree, write};

#[test]
fn every_escape_attempt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    std::fs::create_dir_all(root.join("src")).unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    for bad in [
        "../x",
        "src/../../x",
        "/etc/passwd",
        "C:\\x",
        "a\0b",
        ".git/config",
        "src/.GIT/x",
        "con",
        "src/nul.txt",
        "link/escape.txt",
    ] {
        match resolve(&root, bad) {
            Err(FilesError::Refused { .. }) => {}
            other => panic!("{bad:?} was not refused: {other:?}"),
        }
        assert!(matches!(write(&root, bad, "x"), Err(FilesError::Refused { .. })), "{bad:?}");
    }
    assert!(!outside.join("escape.txt").exists());
    assert_eq!(resolve(&root, "./src//main.rs").unwrap(), root.join("src").join("main.rs"));
}

#[test]
fn the_tree_skips_git_and_ignored_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("target/debug")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join(".gitignore"), "target/\n*.log\n").unwrap();
    std::fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(root.join("debug.log"), "x").unwrap();
    std::fs::write(root.join("target/debug/app"), "bin").unwrap();
    let paths: Vec<String> = tree(root, "").unwrap().into_iter().map(|e| e.path).collect();
    assert_eq!(paths, vec![".gitignore", "src", "src/main.rs"]);
    let sub = tree(root, "src").unwrap();
    assert_eq!((sub[0].path.as_str(), sub[0].size, sub[0].is_dir), ("src/main.rs", 13, false));
}

#[test]
fn reads_refuse_binary_and_huge_files_and_writes_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a/b/c.txt", "héllo\n").unwrap();
    assert_eq!(read(root, "a/b/c.txt").unwrap(), "héllo\n");
    assert!(!root.join("a/b/.c.txt.atelier-tmp").exists(), "no temporary file is left");
    std::fs::write(root.join("img.png"), [0x89, b'P', b'N', b'G', 0, 0, 1]).unwrap();
    assert!(matches!(read(root, "img.png"), Err(FilesError::Binary { .. })));
    std::fs::write(root.join("big.txt"), vec![b'x'; (atelier_files::MAX_READ_BYTES + 1) as usize]).unwrap();
    assert!(matches!(read(root, "big.txt"), Err(FilesError::TooLarge { .. })));
    assert!(matches!(read(root, "missing.txt"), Err(FilesError::NotFound { .. })));
    assert!(matches!(read(root, "a"), Err(FilesError::IsDir { .. })));
}
