//! Integration tests for atelier-git, judged by the git command-line tool.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn ensure_repository_creates_a_repository_git_accepts_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(atelier_git::ensure_repository(dir.path()).expect("init"));
    assert!(!atelier_git::ensure_repository(dir.path()).expect("reopen"));
    let out = Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir.path())
        .output()
        .expect("git runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "true");
    let head = std::fs::read_to_string(dir.path().join(".git/HEAD")).expect("HEAD");
    assert_eq!(head.trim(), "ref: refs/heads/main");
}
