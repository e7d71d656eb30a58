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

#[test]
fn export_makes_a_zip_unzip_accepts_without_git_or_ignored_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    std::fs::create_dir_all(root.join(".git/objects")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(root.join(".gitignore"), "*.log\n").unwrap();
    std::fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(root.join("big.bin"), vec![7u8; 3 * 1024 * 1024]).unwrap();
    std::fs::write(root.join("debug.log"), "noise").unwrap();
    let archive = dir.path().join("out.zip");
    let n = atelier_files::export_zip(&root, std::fs::File::create(&archive).unwrap(), false).unwrap();
    assert_eq!(n, 3, ".gitignore, src/main.rs and big.bin");
    let test = std::process::Command::new("unzip").arg("-t").arg(&archive).output().expect("unzip runs");
    assert!(test.status.success(), "{}", String::from_utf8_lossy(&test.stdout));
    let listing = String::from_utf8_lossy(
        &std::process::Command::new("unzip").arg("-l").arg(&archive).output().unwrap().stdout,
    )
    .into_owned();
    assert!(
        listing.contains("src/main.rs") && !listing.contains(".git/") && !listing.contains("debug.log"),
        "{listing}"
    );
    let with_ignored = dir.path().join("all.zip");
    assert_eq!(
        atelier_files::export_zip(&root, std::fs::File::create(&with_ignored).unwrap(), true).unwrap(),
        4
    );
}

#[test]
fn outside_edits_are_reported_but_not_git_or_ignored_ones() {
    use std::sync::mpsc::channel;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join(".gitignore"), "*.log\n").unwrap();
    let (tx, rx) = channel();
    let _watcher = atelier_files::watch(root, move |paths| {
        tx.send(paths).ok();
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(root.join(".git/index"), "x").unwrap();
    std::fs::write(root.join("noise.log"), "x").unwrap();
    let written = Instant::now();
    std::fs::write(root.join("edited.txt"), "by another editor").unwrap();
    let mut seen = Vec::new();
    while !seen.contains(&"edited.txt".to_owned()) {
        let paths: Vec<String> = rx.recv_timeout(Duration::from_secs(5)).expect("a change within 5 s");
        seen.extend(paths);
    }
    println!("watch latency: {:?}", written.elapsed());
    assert!(!seen.iter().any(|p| p.starts_with(".git/") || p.ends_with(".log")), "{seen:?}");
}

#[test]
fn a_folder_made_after_the_watch_started_is_watched_with_what_was_put_in_it() {
    use std::sync::mpsc::channel;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (tx, rx) = channel();
    let _watcher = atelier_files::watch(root, move |paths| {
        tx.send(paths).ok();
    })
    .unwrap();
    // The folder and its first file arrive together (as `git checkout` or `mkdir -p && cp` do).
    std::fs::create_dir_all(root.join("new/deeper")).unwrap();
    std::fs::write(root.join("new/deeper/first.txt"), "1").unwrap();
    let mut seen = Vec::new();
    while !seen.contains(&"new/deeper/first.txt".to_owned()) {
        seen.extend(rx.recv_timeout(Duration::from_secs(5)).expect("the new folder's file within 5 s"));
    }
    // Later edits inside it are seen too: the new folder has its own watch now.
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(root.join("new/deeper/second.txt"), "2").unwrap();
    while !seen.contains(&"new/deeper/second.txt".to_owned()) {
        seen.extend(rx.recv_timeout(Duration::from_secs(5)).expect("a later edit within 5 s"));
    }
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_listed_marked_and_refused_with_a_reason() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(root.join(name), "latin-1 name").unwrap();
    std::fs::write(root.join("fine.txt"), "ok").unwrap();
    let tree = atelier_files::tree(root, "").unwrap();
    let odd = tree.iter().find(|e| e.path.starts_with("caf")).expect("listed");
    assert!(odd.non_utf8_name && odd.path.contains('\u{FFFD}'), "{odd:?}");
    assert!(!tree.iter().find(|e| e.path == "fine.txt").unwrap().non_utf8_name);
    let err = atelier_files::read(root, &odd.path).unwrap_err().to_string();
    assert!(err.contains("not valid UTF-8") && err.contains("rename"), "{err}");
    let err = atelier_files::write(root, &odd.path, "new").unwrap_err().to_string();
    assert!(err.contains("not valid UTF-8"), "{err}");
    assert_eq!(std::fs::read_dir(root).unwrap().count(), 2, "no second file with a mangled name");
}

#[test]
fn a_copy_has_everything_with_links_as_links_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("from");
    std::fs::create_dir_all(from.join(".git/objects")).unwrap();
    std::fs::create_dir_all(from.join("target/debug")).unwrap();
    std::fs::create_dir_all(from.join("src")).unwrap();
    std::fs::write(from.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(from.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(from.join("target/debug/app"), vec![7u8; 300_000]).unwrap();
    std::fs::write(from.join("src/main.rs"), "fn main() {}\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("src/main.rs", from.join("entry.rs")).unwrap();
    let to = dir.path().join("to");
    let mut reports = Vec::new();
    let done = atelier_files::copy_tree(&from, &to, |p| reports.push(p)).unwrap();
    assert_eq!((done.files_done, done.files_total), (4, 4), "ignored files and .git are copied too");
    assert_eq!(done.bytes_done, done.bytes_total);
    assert_eq!(reports.first().unwrap().files_done, 0, "the totals are known before copying starts");
    assert_eq!(reports.last().unwrap(), &done);
    assert_eq!(std::fs::read(to.join("target/debug/app")).unwrap().len(), 300_000);
    assert_eq!(std::fs::read_to_string(to.join(".git/HEAD")).unwrap(), "ref: refs/heads/main\n");
    #[cfg(unix)]
    assert_eq!(std::fs::read_link(to.join("entry.rs")).unwrap(), std::path::Path::new("src/main.rs"));
    assert!(from.join("src/main.rs").exists(), "the source is only read");
    let err = atelier_files::copy_tree(&from, &to, |_| {}).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    assert!(to.join("src/main.rs").exists(), "a refused copy touches nothing");
}
