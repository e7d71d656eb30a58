//! Alone in its own test binary, so that no other test's watches are counted: an ignored
//! folder with many subfolders (`node_modules`) costs no file watches on Linux.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The inotify watches this process holds, from `/proc/self/fdinfo`.
fn inotify_watches() -> usize {
    std::fs::read_dir("/proc/self/fdinfo")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .map(|info| info.lines().filter(|l| l.starts_with("inotify wd:")).count())
        .sum()
}

#[test]
fn ignored_folders_cost_no_watches() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join(".gitignore"), "node_modules/\n").unwrap();
    std::fs::create_dir_all(root.join("src/bin")).unwrap();
    std::fs::create_dir_all(root.join(".git/objects")).unwrap();
    for i in 0..500 {
        std::fs::create_dir_all(root.join(format!("node_modules/pkg{i}/lib"))).unwrap();
    }
    let before = inotify_watches();
    let watcher = atelier_files::watch(root, |_| {}).unwrap();
    let used = inotify_watches() - before;
    // The project folder, src and src/bin: not .git, not the 1,001 folders of node_modules.
    assert_eq!(used, 3, "watches used");
    assert!(watcher.incomplete().is_none());
}
