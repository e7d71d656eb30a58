//! Integration tests for atelier-git, judged by the git command-line tool.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

/// Runs git in `dir` with a sandboxed configuration (no system or user config).
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ensure_repository_creates_a_repository_git_accepts_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(atelier_git::ensure_repository(dir.path()).expect("init"));
    assert!(!atelier_git::ensure_repository(dir.path()).expect("reopen"));
    assert_eq!(git(dir.path(), &["rev-parse", "--is-inside-work-tree"]).trim(), "true");
    let head = std::fs::read_to_string(dir.path().join(".git/HEAD")).expect("HEAD");
    assert_eq!(head.trim(), "ref: refs/heads/main");
}

#[test]
fn commit_paths_commits_only_the_named_files_and_git_accepts_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    atelier_git::ensure_repository(root).expect("init");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(root.join("src/main.rs"), "fn main() {}\n").expect("write");
    std::fs::write(root.join("notes.txt"), "the person's own work in progress\n").expect("write");

    let first = atelier_git::commit_paths(root, &["src/main.rs".into()], "Add main").expect("commit");
    assert_eq!(git(root, &["rev-parse", "HEAD"]).trim(), first);
    assert_eq!(git(root, &["log", "--format=%s"]).trim(), "Add main");
    assert_eq!(git(root, &["show", "--name-only", "--format=", "HEAD"]).trim(), "src/main.rs");
    assert!(git(root, &["status", "--porcelain"]).contains("?? notes.txt"), "other changes are left alone");
    git(root, &["fsck", "--strict"]);

    std::fs::remove_file(root.join("src/main.rs")).expect("rm");
    std::fs::write(root.join("src/lib.rs"), "pub fn f() {}\n").expect("write");
    let second = atelier_git::commit_paths(root, &["src/main.rs".into(), "src/lib.rs".into()], "Move to lib")
        .expect("commit");
    assert_eq!(git(root, &["rev-parse", "HEAD~1"]).trim(), first);
    assert_eq!(git(root, &["rev-parse", "HEAD"]).trim(), second);
    assert_eq!(git(root, &["ls-tree", "-r", "--name-only", "HEAD"]).trim(), "src/lib.rs");

    let again = atelier_git::commit_paths(root, &["src/lib.rs".into()], "No change");
    assert!(matches!(again, Err(atelier_git::GitError::NothingToCommit { .. })));
}

#[test]
fn locks_left_by_a_killed_commit_block_commits_until_cleared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    atelier_git::ensure_repository(root).expect("init");
    std::fs::write(root.join("a.txt"), "a\n").expect("write");
    atelier_git::commit_paths(root, &["a.txt".into()], "First").expect("commit");
    assert_eq!(atelier_git::head_commit(root).expect("head").map(|(_, s)| s).as_deref(), Some("First"));

    std::fs::write(root.join(".git/index.lock"), "").expect("lock");
    std::fs::write(root.join(".git/refs/heads/main.lock"), "").expect("lock");
    std::fs::write(root.join("a.txt"), "b\n").expect("write");
    assert!(atelier_git::commit_paths(root, &["a.txt".into()], "Second").is_err(), "locked");
    assert_eq!(atelier_git::clear_stale_locks(root).len(), 2);
    atelier_git::commit_paths(root, &["a.txt".into()], "Second").expect("commit after clearing");
    assert_eq!(git(root, &["log", "--format=%s"]).trim(), "Second\nFirst");
    git(root, &["fsck", "--strict"]);
}
