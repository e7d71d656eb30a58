//! atelier-index's integration tests: real files in temporary folders, real SQLite index files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod build;
mod repo_map;
mod schema;
mod search;
mod symbols;

use std::path::Path;

use atelier_index::{Index, Limits};

/// Writes `files` (path, content) under `root`.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
}

/// A project folder with `files`, indexed once; the index file lives beside the folder.
pub fn indexed(files: &[(&str, &str)]) -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    write_files(&root, files);
    let index = Index::open(&dir.path().join("index.db"), &root, Limits::default()).unwrap();
    index.sync(&mut |_| {}, &Default::default()).unwrap();
    (dir, index)
}
