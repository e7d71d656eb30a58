//! The index file's migrations are append-only.

use atelier_index::MIGRATION_FILES;

/// The hash of every shipped migration: a shipped one is never edited (index files out there
/// already ran it). Add a new numbered file instead, and its hash here.
const SHIPPED: &[(&str, u64)] = &[("0001_index.sql", 8926240180265594315)];

/// FNV-1a over the text with LF line endings: stable, and enough to notice an edit.
fn fnv(text: &str) -> u64 {
    text.replace("\r\n", "\n")
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

#[test]
fn shipped_migrations_are_never_edited() {
    for (i, (name, sql)) in MIGRATION_FILES.iter().enumerate() {
        let Some((shipped, hash)) = SHIPPED.get(i) else {
            panic!("new migration {name}: add (\"{name}\", {}) to SHIPPED", fnv(sql));
        };
        assert_eq!(name, shipped, "migration #{} was renamed or reordered", i + 1);
        assert_eq!(
            fnv(sql),
            *hash,
            "migration {name} was edited after it shipped; add a new numbered file instead"
        );
    }
    assert_eq!(MIGRATION_FILES.len(), SHIPPED.len(), "a shipped migration was removed");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let embedded: Vec<&str> = MIGRATION_FILES.iter().map(|(n, _)| *n).collect();
    assert_eq!(on_disk, embedded, "migrations/ and MIGRATION_FILES disagree");
}

#[test]
fn reopening_an_index_keeps_it() {
    let (dir, index) = crate::indexed(&[("a.rs", "pub fn alpha() {}\n")]);
    let db = index.db_path().to_path_buf();
    drop(index);
    let again = atelier_index::Index::open(&db, &dir.path().join("project"), Default::default()).unwrap();
    assert_eq!(again.counts().unwrap().files, 1);
}
