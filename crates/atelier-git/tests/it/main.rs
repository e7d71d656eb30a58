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

/// `git status --porcelain=v2` as (path, index, worktree).
fn porcelain(dir: &Path) -> Vec<(String, char, char)> {
    let mut out: Vec<(String, char, char)> = git(dir, &["status", "--porcelain=v2"])
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields[0] {
                "?" => Some((fields[1..].join(" "), '?', '?')),
                "1" => {
                    let xy: Vec<char> = fields[1].chars().collect();
                    Some((fields[8..].join(" "), xy[0], xy[1]))
                }
                _ => None,
            }
        })
        .collect();
    out.sort();
    out
}

#[test]
fn status_matches_git_porcelain_v2_and_the_staging_cycle_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Tester"]);
    git(root, &["config", "user.email", "tester@example.invalid"]);
    for f in ["keep.txt", "change.txt", "remove.txt", "both.txt"] {
        std::fs::write(root.join(f), format!("{f}\n")).expect("write");
    }
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "base"]);
    std::fs::write(root.join("change.txt"), "changed\n").expect("write");
    std::fs::remove_file(root.join("remove.txt")).expect("rm");
    std::fs::write(root.join("new.txt"), "new\n").expect("write");
    std::fs::write(root.join("staged.txt"), "staged\n").expect("write");
    git(root, &["add", "staged.txt"]);
    std::fs::write(root.join("both.txt"), "staged version\n").expect("write");
    git(root, &["add", "both.txt"]);
    std::fs::write(root.join("both.txt"), "worktree version\n").expect("write");

    let ours = atelier_git::status(root).expect("status");
    assert_eq!(ours.branch, "main");
    let mut ours: Vec<(String, char, char)> =
        ours.entries.into_iter().map(|e| (e.path, e.index, e.worktree)).collect();
    ours.sort();
    assert_eq!(ours, porcelain(root));

    let diff = atelier_git::diff(root, Some("change.txt"), false).expect("diff");
    assert!(diff.contains("-change.txt\n+changed\n"), "{diff}");
    let staged = atelier_git::diff(root, None, true).expect("staged diff");
    assert!(staged.contains("+staged version") && !staged.contains("worktree version"), "{staged}");

    atelier_git::stage(root, &["change.txt".into(), "remove.txt".into(), "new.txt".into()]).expect("stage");
    atelier_git::unstage(root, &["staged.txt".into()]).expect("unstage");
    let mut after: Vec<(String, char, char)> = atelier_git::status(root)
        .expect("status")
        .entries
        .into_iter()
        .map(|e| (e.path, e.index, e.worktree))
        .collect();
    after.sort();
    assert_eq!(after, porcelain(root));
    assert!(after.contains(&("staged.txt".into(), '?', '?')), "unstaged a new file: {after:?}");

    let id = atelier_git::commit(root, "Second").expect("commit");
    assert_eq!(git(root, &["rev-parse", "HEAD"]).trim(), id);
    git(root, &["fsck", "--strict"]);
    let log = atelier_git::log(root, 10).expect("log");
    assert_eq!(log.iter().map(|e| e.summary.as_str()).collect::<Vec<_>>(), ["Second", "base"]);
    assert_eq!(log[0].author, "Tester");
    assert!(git(root, &["show", "--name-status", "--format=", "HEAD"]).contains("D\tremove.txt"));

    atelier_git::checkout(root, "feature", true).expect("create branch");
    let branches = atelier_git::branches(root).expect("branches");
    assert_eq!(
        branches.iter().map(|b| (b.name.as_str(), b.current)).collect::<Vec<_>>(),
        [("feature", true), ("main", false)]
    );
    assert_eq!(git(root, &["branch", "--show-current"]).trim(), "feature");
    assert!(matches!(
        atelier_git::commit(root, "nothing"),
        Err(atelier_git::GitError::NothingToCommit { .. })
    ));
}

#[test]
fn checkpoints_snapshot_and_restore_without_touching_head_index_or_branch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    atelier_git::ensure_repository(root).expect("init");
    std::fs::write(root.join("a.txt"), "one\n").expect("write");
    atelier_git::commit_paths(root, &["a.txt".into()], "base").expect("commit");
    std::fs::write(root.join("staged.txt"), "staged\n").expect("write");
    git(root, &["add", "staged.txt"]);
    let head = git(root, &["rev-parse", "HEAD"]);
    let status = git(root, &["status", "--porcelain=v2"]);

    let paths = vec!["a.txt".to_owned(), "new.txt".to_owned()];
    let before = atelier_git::checkpoint_create(root, "before workflow", &paths).expect("checkpoint");
    assert_eq!(git(root, &["rev-parse", "HEAD"]), head, "HEAD untouched");
    assert_eq!(git(root, &["status", "--porcelain=v2"]), status, "index and worktree untouched");
    assert!(git(root, &["for-each-ref", "refs/atelier/checkpoints/"]).contains(&before.id));

    // A workflow changes a.txt and adds new.txt.
    std::fs::write(root.join("a.txt"), "two\n").expect("write");
    std::fs::write(root.join("new.txt"), "new\n").expect("write");
    let undo = atelier_git::checkpoint_restore(root, &before.id).expect("restore");
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).expect("read"), "one\n");
    assert!(!root.join("new.txt").exists(), "a file absent at the checkpoint is removed");
    assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(root, &["branch", "--show-current"]).trim(), "main");

    // The restore can itself be undone.
    atelier_git::checkpoint_restore(root, &undo.id).expect("undo");
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).expect("read"), "two\n");
    assert_eq!(std::fs::read_to_string(root.join("new.txt")).expect("read"), "new\n");
    let list = atelier_git::checkpoint_list(root).expect("list");
    assert_eq!(list.iter().map(|c| c.label.as_str()).collect::<Vec<_>>()[2], "before workflow");
    assert_eq!(list[0].paths, paths);
    git(root, &["fsck", "--strict"]);
}

#[test]
fn discarding_puts_back_heads_version_removes_new_files_and_can_be_undone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    atelier_git::ensure_repository(root).expect("init");
    std::fs::write(root.join("a.txt"), "one\n").expect("write");
    std::fs::write(root.join("b.txt"), "keep\n").expect("write");
    atelier_git::commit_paths(root, &["a.txt".into(), "b.txt".into()], "base").expect("commit");
    // a.txt changed and staged, then changed again; new.txt added; b.txt changed but not named.
    std::fs::write(root.join("a.txt"), "two\n").expect("write");
    git(root, &["add", "a.txt"]);
    std::fs::write(root.join("a.txt"), "three\n").expect("write");
    std::fs::write(root.join("new.txt"), "new\n").expect("write");
    git(root, &["add", "new.txt"]);
    std::fs::write(root.join("b.txt"), "changed\n").expect("write");

    let undo = atelier_git::discard(root, &["a.txt".into(), "new.txt".into()]).expect("discard");
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).expect("read"), "one\n");
    assert!(!root.join("new.txt").exists(), "a file HEAD does not have is removed");
    assert_eq!(
        git(root, &["status", "--porcelain"]),
        " M b.txt\n",
        "nothing staged or changed but the file not named"
    );
    assert_eq!(undo.label, "Before discarding changes to 2 files");

    atelier_git::checkpoint_restore(root, &undo.id).expect("undo");
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).expect("read"), "three\n");
    assert_eq!(std::fs::read_to_string(root.join("new.txt")).expect("read"), "new\n");
    git(root, &["fsck", "--strict"]);
}

#[test]
fn push_and_pull_through_a_remote_and_clear_errors_without_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let remote = dir.path().join("remote.git");
    std::fs::create_dir_all(&remote).expect("mkdir");
    git(&remote, &["init", "-q", "--bare", "-b", "main"]);
    let a = dir.path().join("a");
    std::fs::create_dir_all(&a).expect("mkdir");
    atelier_git::ensure_repository(&a).expect("init");
    git(&a, &["remote", "add", "origin", remote.to_str().expect("utf8")]);
    std::fs::write(a.join("x.txt"), "one\n").expect("write");
    atelier_git::commit_paths(&a, &["x.txt".into()], "One").expect("commit");
    atelier_git::push(&a, None, None).expect("push");
    assert_eq!(git(&remote, &["log", "--format=%s", "main"]).trim(), "One");

    // A second clone pulls what the first pushes next.
    let b = dir.path().join("b");
    git(dir.path(), &["clone", "-q", remote.to_str().expect("utf8"), "b"]);
    std::fs::write(a.join("x.txt"), "two\n").expect("write");
    atelier_git::commit_paths(&a, &["x.txt".into()], "Two").expect("commit");
    atelier_git::push(&a, Some("origin"), Some("main")).expect("push");
    atelier_git::pull(&b, None, None).expect("pull");
    assert_eq!(std::fs::read_to_string(b.join("x.txt")).expect("read"), "two\n");
    assert_eq!(git(&b, &["log", "--format=%s"]).trim(), "Two\nOne");

    // Diverged: refused, nothing changes.
    std::fs::write(b.join("y.txt"), "b\n").expect("write");
    atelier_git::commit_paths(&b, &["y.txt".into()], "B only").expect("commit");
    std::fs::write(a.join("z.txt"), "a\n").expect("write");
    atelier_git::commit_paths(&a, &["z.txt".into()], "A only").expect("commit");
    atelier_git::push(&a, None, None).expect("push");
    let err = atelier_git::pull(&b, None, None).expect_err("diverged");
    assert!(err.to_string().contains("diverged"), "{err}");
    assert_eq!(git(&b, &["log", "-1", "--format=%s"]).trim(), "B only");

    // A remote that wants credentials nobody has: a clear error, quickly.
    git(&a, &["remote", "add", "locked", "ssh://nobody@127.0.0.1:1/repo.git"]);
    let err = atelier_git::push(&a, Some("locked"), None).expect_err("unreachable");
    assert!(!err.to_string().is_empty());
}

#[test]
fn a_checkpoint_ref_lock_left_by_a_killed_process_does_not_block_the_next_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    atelier_git::ensure_repository(root).expect("init");
    std::fs::write(root.join("a.txt"), "one").expect("write");
    let paths = vec!["a.txt".to_owned()];
    atelier_git::checkpoint_create(root, "first", &paths).expect("first");
    // Killed while writing the second checkpoint's ref: only its lock is there.
    std::fs::write(root.join(".git/refs/atelier/checkpoints/000002.lock"), "").expect("lock");
    let second = atelier_git::checkpoint_create(root, "second", &paths).expect("not blocked by the lock");
    let third = atelier_git::checkpoint_create(root, "third", &paths).expect("numbering goes on");
    let listed = atelier_git::checkpoint_list(root).expect("list");
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed.iter().any(|c| c.id == second.id) && listed.iter().any(|c| c.id == third.id));
}

/// `git show --numstat -z` of `rev` as `(path, additions, deletions)`, binary files `0, 0`,
/// renames under their new path.
fn numstat(dir: &Path, rev: &str) -> Vec<(String, usize, usize)> {
    let out = git(dir, &["show", "--numstat", "-z", "--format=", "-M", rev]);
    let mut fields =
        out.split('\0').filter(|f| !f.is_empty() && *f != "\n").map(|f| f.trim_start_matches('\n'));
    let mut rows = Vec::new();
    while let Some(head) = fields.next() {
        let mut parts = head.splitn(3, '\t');
        let count = |n: Option<&str>| n.and_then(|n| n.parse().ok()).unwrap_or(0);
        let (added, deleted) = (count(parts.next()), count(parts.next()));
        let path = match parts.next() {
            Some(path) if !path.is_empty() => path.to_owned(),
            // A rename: the old path, then the new one, as fields of their own.
            _ => {
                fields.next().expect("old path");
                fields.next().expect("new path").to_owned()
            }
        };
        rows.push((path, added, deleted));
    }
    rows.sort();
    rows
}

#[test]
fn commit_details_count_as_git_show_numstat_with_renames_deletes_and_binaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Tester"]);
    git(root, &["config", "user.email", "t@example.com"]);
    let long: String = (0..40).map(|i| format!("line {i} of a file that moves\n")).collect();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/edit.rs"), "fn a() {}\nfn b() {}\nfn c() {}\n").unwrap();
    std::fs::write(root.join("gone.txt"), "one\ntwo\nthree\n").unwrap();
    std::fs::write(root.join("old_name.txt"), &long).unwrap();
    std::fs::write(root.join("no_newline.txt"), "x\ny").unwrap();
    std::fs::write(root.join("logo.png"), [0u8, 1, 2, 3, 0, 255, 10, 0]).unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "first"]);

    std::fs::write(root.join("src/edit.rs"), "fn a() {}\nfn b2() {}\nfn c() {}\nfn d() {}\n").unwrap();
    std::fs::remove_file(root.join("gone.txt")).unwrap();
    std::fs::remove_file(root.join("old_name.txt")).unwrap();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("docs/new_name.txt"), long.replace("line 3 ", "line three ")).unwrap();
    std::fs::write(root.join("no_newline.txt"), "x\nz").unwrap();
    std::fs::write(root.join("logo.png"), [0u8, 9, 9, 9, 0, 255]).unwrap();
    std::fs::write(root.join("added.md"), "# new\n\ntext\n").unwrap();
    std::fs::write(root.join("data.bin"), [0u8; 64]).unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "second\n\nwith a body"]);

    for rev in ["HEAD", "HEAD~1"] {
        let details = atelier_git::commit_details(root, rev).expect("details");
        let ours: Vec<(String, usize, usize)> =
            details.files.iter().map(|f| (f.path.clone(), f.additions, f.deletions)).collect();
        assert_eq!(ours, numstat(root, rev), "{rev}");
    }
    let details = atelier_git::commit_details(root, "HEAD").expect("details");
    assert_eq!(details.summary, "second");
    assert_eq!(details.message.trim_end(), "second\n\nwith a body");
    assert_eq!(details.author, "Tester");
    assert_eq!(details.commit, git(root, &["rev-parse", "HEAD"]).trim());
    assert_eq!(details.parents, vec![git(root, &["rev-parse", "HEAD~1"]).trim().to_owned()]);
    let status = |path: &str| details.files.iter().find(|f| f.path == path).map(|f| f.status);
    assert_eq!(status("docs/new_name.txt"), Some("renamed"));
    assert_eq!(status("gone.txt"), Some("deleted"));
    assert_eq!(status("added.md"), Some("added"));
    assert_eq!(status("src/edit.rs"), Some("modified"));
    assert!(details.files.iter().find(|f| f.path == "logo.png").is_some_and(|f| f.binary));
    let renamed = details.files.iter().find(|f| f.path == "docs/new_name.txt").expect("rename");
    assert_eq!(renamed.old_path.as_deref(), Some("old_name.txt"));
    // The first commit has no parent: everything is added.
    let first = atelier_git::commit_details(root, "HEAD~1").expect("first");
    assert!(first.parents.is_empty());
    assert!(first.files.iter().all(|f| f.status == "added"));
    assert!(matches!(
        atelier_git::commit_details(root, "nope"),
        Err(atelier_git::GitError::Repository { .. })
    ));
}
