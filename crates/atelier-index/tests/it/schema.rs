//! The index file's migrations are append-only.

use atelier_index::MIGRATION_FILES;

/// The hash of every shipped migration: a shipped one is never edited (index files out there
/// already ran it). Add a new numbered file instead, and its hash here.
const SHIPPED: &[(&str, u64)] =
    &[("0001_index.sql", 8926240180265594315), ("0002_names.sql", 14786380192309669288)];

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

#[test]
fn an_index_from_before_the_names_table_gets_its_names_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("llm.rs"), "pub fn choose_num_ctx() -> u32 {\n    4096\n}\n").unwrap();
    let db = dir.path().join("index.db");
    {
        // An index file as the first release wrote it: one file, its chunk and definition.
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        atelier_index::migrations().to_version(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO files (id, path, hash, size, mtime_ns, language, lines) VALUES (1, 'llm.rs', 'x', 1, 1, 'rust', 3);
             INSERT INTO chunks (id, file_id, start_line, end_line, symbol, kind) VALUES (7, 1, 1, 3, 'choose_num_ctx', 'function');
             INSERT INTO symbols (file_id, name, kind, line, end_line, signature) VALUES (1, 'choose_num_ctx', 'function', 1, 3, 'pub fn choose_num_ctx() -> u32 {');",
        )
        .unwrap();
    }
    let index = atelier_index::Index::open(&db, &root, Default::default()).unwrap();
    drop(index);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let found: Vec<i64> = conn
        .prepare("SELECT rowid FROM names_fts WHERE names_fts MATCH '\"choosenumctx\" AND \"llm\"'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(found, [7], "the chunk's name (in its other spelling too) and path are searchable");
    let state: String =
        conn.query_row("SELECT value FROM meta WHERE key = 'names_fts'", [], |r| r.get(0)).unwrap();
    assert_eq!(state, "done");
}
