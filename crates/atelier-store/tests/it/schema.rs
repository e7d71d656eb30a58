//! Migrations and connection settings: what every database file ends up with.

use std::path::Path;

use atelier_store::rusqlite::Connection;
use atelier_store::{MIGRATION_FILES, MessageRole, Store, StoreError, migrations};
use sha2::{Digest, Sha256};

use crate::{message, project, session, temp_store};

/// The sha256 of every shipped migration. A shipped migration is never edited: databases out
/// there already ran it and will not run it again. To change the schema, add a new numbered file
/// to `migrations/` and to `MIGRATION_FILES`, then add its hash here.
const SHIPPED: &[(&str, &str)] = &[
    ("0001_initial.sql", "013d362a3b9d01507425b49472a74e38ba6a971490a789753528d743894fa8f8"),
    ("0002_events_usage.sql", "b58f381d334266a3bf2488611d7cad23b65181bee3cc5cc2ab48eace8e12e743"),
    ("0003_workflows.sql", "98bf8538e9f08b048d9c14fceb0cdf7a923d6c2a51218cdf50d64e6bef952045"),
    ("0004_mcp_servers.sql", "70ca54bfbdfa85958aed0c9eed53d3f206acd0c599dd64d8a437f7f623ef96e9"),
    ("0005_tools.sql", "b14f874358eb2b8cd8b2f2392c344d12c8f21ba79965fa7b8f8ef252dd16982d"),
    ("0006_archive.sql", "f9c270431114a970d9f1383c5914d4aa62d9005837db74d32d0d0afa9ed12668"),
];

fn sha256_hex(text: &str) -> String {
    // Hash with LF line endings so a checkout that converts to CRLF doesn't look like an edit.
    let digest = Sha256::digest(text.replace("\r\n", "\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn shipped_migrations_are_never_edited() {
    for (i, (name, sql)) in MIGRATION_FILES.iter().enumerate() {
        let Some((shipped_name, shipped_hash)) = SHIPPED.get(i) else {
            panic!("new migration {name}: add its hash to SHIPPED: {}", sha256_hex(sql));
        };
        assert_eq!(name, shipped_name, "migration #{} was renamed or reordered", i + 1);
        assert_eq!(
            &sha256_hex(sql),
            shipped_hash,
            "migration {name} was edited after it shipped; add a new numbered migration instead",
        );
    }
    assert_eq!(MIGRATION_FILES.len(), SHIPPED.len(), "a shipped migration was removed");
}

#[test]
fn every_file_in_the_migrations_folder_is_applied() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let embedded: Vec<&str> = MIGRATION_FILES.iter().map(|(name, _)| *name).collect();
    assert_eq!(on_disk, embedded, "migrations/ and MIGRATION_FILES disagree");
    for (i, name) in embedded.iter().enumerate() {
        assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name} is out of sequence");
    }
}

#[tokio::test]
async fn opening_upgrades_a_version_1_database_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // What a user of the first release has on disk.
        let mut conn = Connection::open(&path).unwrap();
        migrations().to_version(&mut conn, 1).unwrap();
        conn.execute_batch(
            "INSERT INTO projects (id, name, path, created_at)
               VALUES ('prj_1', 'demo', '/code/demo', '2025-01-01T00:00:00.000Z');
             INSERT INTO sessions (id, project_id, agent, title, model, created_at)
               VALUES ('ses_1', 'prj_1', 'chat', 'Old chat', NULL, '2025-01-01T00:00:01.000Z');
             INSERT INTO messages (id, session_id, role, content, status, created_at, updated_at)
               VALUES ('msg_1', 'ses_1', 'user', 'how do lifetimes work',
                       'complete', '2025-01-01T00:00:02.000Z', '2025-01-01T00:00:02.000Z');",
        )
        .unwrap();
        let has_events: bool = conn
            .query_row("SELECT count(*) > 0 FROM sqlite_master WHERE name = 'events'", [], |r| r.get(0))
            .unwrap();
        assert!(!has_events, "version 1 must not have the events table yet");
    }

    let store = Store::open(&path).unwrap();

    let version: usize =
        store.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(version, MIGRATION_FILES.len());
    assert_eq!(store.get_project("prj_1").await.unwrap().name, "demo");
    assert_eq!(store.get_session("ses_1").await.unwrap().title, "Old chat");
    let history = store.list_messages("ses_1", None, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].content, "how do lifetimes work");
    assert_eq!(history[0].role, MessageRole::User);
    assert_eq!(history[0].reasoning, "", "the column default fills old rows");
    let hits = store.search_messages("lifetimes", None, 10).await.unwrap();
    assert_eq!(hits.len(), 1, "the search index built under version 1 still works");

    // And what migration 2 added works on the upgraded file.
    store.set_setting("theme", "dark".into()).await.unwrap();
    assert_eq!(store.get_setting("theme").await.unwrap().as_deref(), Some("dark"));
    // Migration 6: a project from before counts as opened at the upgrade (not archived by
    // age at the first start), and is not archived.
    let times = store.project_time("prj_1").await.unwrap();
    assert_eq!(times.archived_at, None);
    let opened = times.opened_at.expect("opened at the upgrade");
    assert!(opened.len() == 24 && opened.ends_with('Z') && *opened > atelier_store::now()[..10], "{opened}");
}

#[test]
fn a_database_from_a_newer_release_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;").unwrap();
    }
    match Store::open(&path) {
        Err(StoreError::Migrate { path: reported, .. }) => assert_eq!(reported, path),
        other => panic!("expected a migrate error, got {other:?}"),
    }
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 99);
}

#[test]
fn open_creates_missing_parent_folders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/atelier.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.path(), path);
    assert!(path.is_file());
}

#[test]
fn open_reports_the_path_it_could_not_open() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let path = dir.path().join("taken");
    std::fs::create_dir(&path).unwrap();
    match Store::open(&path) {
        Err(err @ StoreError::Open { .. }) => {
            assert!(err.to_string().contains("taken"), "message names the path: {err}");
        }
        other => panic!("expected an open error, got {other:?}"),
    }
}

/// (journal_mode, foreign_keys, synchronous, busy_timeout)
type Pragmas = (String, i64, i64, i64);

fn pragmas(conn: &Connection) -> Result<Pragmas, StoreError> {
    let get = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    Ok((
        conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
        get("foreign_keys")?,
        get("synchronous")?,
        get("busy_timeout")?,
    ))
}

#[tokio::test]
async fn writer_and_readers_use_wal_foreign_keys_and_a_busy_timeout() {
    let (_dir, store) = temp_store();
    let expected: Pragmas = ("wal".into(), 1, 1, 5000);
    assert_eq!(store.write(|tx| pragmas(tx)).await.unwrap(), expected, "writer");
    assert_eq!(store.read(pragmas).await.unwrap(), expected, "async reader");
    assert_eq!(store.read_blocking(pragmas).unwrap(), expected, "blocking reader");
}

#[tokio::test]
async fn read_connections_cannot_write() {
    let (_dir, store) = temp_store();
    let attempt = store.read(|c| Ok(c.execute("INSERT INTO settings VALUES ('k', 'v', 'now')", [])?)).await;
    assert!(matches!(attempt, Err(StoreError::Sqlite(_))), "{attempt:?}");
    assert_eq!(store.get_setting("k").await.unwrap(), None);
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    let (_dir, store) = temp_store();
    let p = project("demo");
    store.insert_project(p.clone()).await.unwrap();
    let s = session(Some(&p.id));
    store.insert_session(s.clone(), vec![message(&s.id, MessageRole::User, "hi")]).await.unwrap();
    // Raw SQL that would orphan the session is refused by SQLite itself.
    let orphan =
        store.write(|tx| Ok(tx.execute("UPDATE sessions SET project_id = 'prj_missing'", [])?)).await;
    assert!(matches!(orphan, Err(StoreError::Sqlite(_))), "{orphan:?}");
    assert_eq!(store.get_session(&s.id).await.unwrap().project_id, Some(p.id));
}

#[tokio::test]
async fn fts5_is_compiled_in() {
    let (_dir, store) = temp_store();
    let fts5: bool = store
        .read(|c| Ok(c.query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert!(fts5);
}
