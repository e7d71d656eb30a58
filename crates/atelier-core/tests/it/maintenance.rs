//! Archiving by age (a simulated clock: `now` is a parameter, nothing sleeps), cleaning up the
//! records of long-archived projects without touching their files, and backups taken while
//! messages are appended, restored, and refused when damaged.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use atelier_store::rusqlite::{Connection, OpenFlags};
use atelier_store::{MessageRole, MessageRow, MessageStatus, new_id, now};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Harness, call, events_until, rpc};

fn message(session: &str, n: usize) -> MessageRow {
    let time = now();
    MessageRow {
        id: new_id("msg"),
        session_id: session.to_owned(),
        role: MessageRole::User,
        content: format!("message {n}: {}", "words to make the database grow ".repeat(8)),
        reasoning: String::new(),
        status: MessageStatus::Complete,
        error: None,
        model: None,
        created_at: time.clone(),
        updated_at: time,
        tool: Default::default(),
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn projects_nobody_opened_are_archived_by_age_and_cleaned_up_without_their_files() {
    let h = Harness::new().await;
    let client = h.client();
    let old = call(&client, "projects.create", json!({ "name": "old" })).await;
    let open = call(&client, "projects.create", json!({ "name": "open" })).await;
    let (old_id, open_id) = (old["id"].as_str().unwrap().to_owned(), open["id"].as_str().unwrap().to_owned());
    let old_root = std::path::PathBuf::from(old["path"].as_str().unwrap());
    call(
        &client,
        "files.write",
        json!({ "project_id": old_id, "path": "main.rs", "content": "fn main() {}\n" }),
    )
    .await;
    let session = call(&client, "sessions.create", json!({ "project_id": old_id })).await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    for n in 0..3 {
        h.app.store().insert_message(message(&session_id, n)).await.unwrap();
    }
    let terminal =
        call(&client, "terminals.open", json!({ "project_id": old_id, "cols": 80, "rows": 24 })).await;
    assert!(terminal["terminal_id"].is_string());
    // Someone has `open` open: it is not archived however old.
    call(&client, "subscribe", json!({ "topics": [format!("project/{open_id}"), "projects", "system"] }))
        .await;
    let opened = call(&client, "projects.get", json!({ "id": old_id })).await;
    assert!(opened["opened_at"].is_string(), "opening a project records it: {opened}");

    let start = Utc::now();
    assert_eq!(h.app.archive_by_age(start + Duration::days(29)).await.unwrap(), Vec::<String>::new());
    let archived = h.app.archive_by_age(start + Duration::days(31)).await.unwrap();
    assert_eq!(archived, vec![old_id.clone()]);
    events_until(&client, "projects.changed").await;
    assert_eq!(ids(&call(&client, "projects.list", json!({})).await), vec![open_id.clone()]);
    let all = call(&client, "projects.list", json!({ "include_archived": true })).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(
        all.as_array().unwrap().iter().any(|p| p["id"] == old_id.as_str() && p["archived_at"].is_string())
    );
    // Its terminals are closed: the shell is killed, and gone from the list once it has exited.
    let mut left = Value::Null;
    for _ in 0..200 {
        left = call(&client, "terminals.list", json!({ "project_id": old_id })).await;
        if left == json!([]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, json!([]), "its terminals are closed");

    // A setting of 0 archives nothing.
    call(&client, "settings.set", json!({ "key": "archive_after_days", "value": "0" })).await;
    assert!(h.app.archive_by_age(start + Duration::days(3650)).await.unwrap().is_empty());
    let bad = rpc(&client, "settings.set", json!({ "key": "archive_after_days", "value": "soon" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input");

    // Cleanup is off by default: nothing offered.
    assert_eq!(call(&client, "projects.cleanup_preview", json!({})).await, json!([]));
    call(&client, "settings.set", json!({ "key": "cleanup_after_days", "value": "60" })).await;
    // Archived on day 31 of the simulated clock: due for cleanup 60 days after that.
    let later = start + Duration::days(31 + 61);
    assert!(h.app.cleanup_preview(start + Duration::days(31 + 59)).await.unwrap().is_empty());
    let preview = h.app.cleanup_preview(later).await.unwrap();
    assert_eq!(preview.len(), 1);
    // The agent's system and seed messages and the three appended.
    let held = call(&client, "messages.list", json!({ "session_id": session_id, "limit": 1000 })).await;
    let held = held.as_array().unwrap().len() as u64;
    assert!(held >= 3);
    assert_eq!(
        (preview[0].project_id.as_str(), preview[0].sessions, preview[0].messages),
        (old_id.as_str(), 1, held)
    );
    h.app.run_archiving(later).await.unwrap();
    let seen = events_until(&client, "notification").await;
    let note = &seen.last().unwrap().event.data["message"];
    assert!(note.as_str().unwrap().starts_with("1 archived project can be cleaned up"), "{note}");
    let refused = h.app.cleanup_projects(std::slice::from_ref(&open_id), later).await;
    assert!(matches!(refused, Err(atelier_core::CoreError::InvalidInput(_))), "{refused:?}");

    let removed = h.app.cleanup_projects(std::slice::from_ref(&old_id), later).await.unwrap();
    assert_eq!(removed, vec![old_id.clone()]);
    let gone = rpc(&client, "projects.get", json!({ "id": old_id })).await;
    assert_eq!(gone["error"]["data"]["kind"], "not_found");
    let left: (i64, i64, i64) = h
        .app
        .store()
        .read(move |c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM messages),
                        (SELECT count(*) FROM events WHERE (topic LIKE 'project/' || ?1 OR topic LIKE 'session/' || ?2)
                            AND type != 'project.deleted')",
                [old_id.as_str(), session_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .await
        .unwrap();
    // What is left is only the announcement that the project went (`project.deleted`).
    assert_eq!(left, (0, 0, 0), "chats, messages and events of the project are gone");
    assert_eq!(std::fs::read_to_string(old_root.join("main.rs")).unwrap(), "fn main() {}\n", "files stay");
    assert!(old_root.join(".git").is_dir());
    // Unarchiving brings a project back into the list.
    call(&client, "projects.archive", json!({ "id": open_id })).await;
    assert_eq!(call(&client, "projects.list", json!({})).await, json!([]));
    let back = call(&client, "projects.unarchive", json!({ "id": open_id })).await;
    assert!(back.get("archived_at").is_none());
    assert_eq!(ids(&call(&client, "projects.list", json!({})).await), vec![open_id]);
}

fn count_messages(db: &Path) -> i64 {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap()
}

fn integrity(db: &Path) -> String {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

async fn live_messages(h: &Harness) -> i64 {
    h.app.store().read(|c| Ok(c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)).await.unwrap()
}

#[tokio::test]
async fn a_backup_taken_during_appends_restores_exactly_and_a_damaged_one_is_refused() {
    let h = Harness::new().await;
    let client = h.client();
    let session = call(&client, "sessions.create", json!({})).await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    let store = h.app.store().clone();
    let bulk: Vec<MessageRow> = (0..20_000).map(|n| message(&session_id, n)).collect();
    let s = store.clone();
    tokio::task::spawn_blocking(move || s.insert_messages_bulk_blocking(bulk)).await.unwrap().unwrap();

    // Appends go on while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (store, stop, session_id) = (store.clone(), stop.clone(), session_id.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                store.insert_message(message(&session_id, 100_000 + n)).await.unwrap();
                n += 1;
            }
            n
        })
    };
    let before = live_messages(&h).await;
    let backup = call(&client, "backups.create", json!({})).await;
    let after = live_messages(&h).await;
    // More appends after the backup, then stop.
    while live_messages(&h).await < after + 50 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    let appended = appender.await.unwrap();
    assert!(appended > 50);
    let path = std::path::PathBuf::from(backup["path"].as_str().unwrap());
    assert_eq!(path, h.dir.path().join("backups").join(format!("{}.sqlite", backup["id"].as_str().unwrap())));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(integrity(&path), "ok");
    let held = count_messages(&path);
    assert!(
        before <= held && held <= after,
        "the backup is one moment's state: {before} <= {held} <= {after}"
    );
    assert_eq!(backup["bytes"].as_u64().unwrap(), std::fs::metadata(&path).unwrap().len());
    let listed = call(&client, "backups.list", json!({})).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let live_before_restore = live_messages(&h).await;
    assert!(live_before_restore > held);
    let restored = call(&client, "backups.restore", json!({ "id": backup["id"] })).await;
    assert_eq!(live_messages(&h).await, held, "the database holds what the backup held");
    assert_eq!(h.app.store().integrity_check().await.unwrap(), "ok");
    let kept = std::path::PathBuf::from(restored["kept"]["path"].as_str().unwrap());
    assert_eq!(count_messages(&kept), live_before_restore, "the database as it was is kept as a backup");
    // The restored database takes writes.
    h.app.store().insert_message(message(&session_id, 1)).await.unwrap();
    assert_eq!(live_messages(&h).await, held + 1);

    // A damaged backup: bytes in its middle overwritten.
    let damaged_id = "20000101-000000-000";
    let damaged = h.dir.path().join("backups").join(format!("{damaged_id}.sqlite"));
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096..len / 2] {
        *b = 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let backups_before = call(&client, "backups.list", json!({})).await.as_array().unwrap().len();
    let refused = rpc(&client, "backups.restore", json!({ "id": damaged_id })).await;
    assert_eq!(refused["error"]["data"]["kind"], "invalid_input", "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("damaged"), "{refused}");
    assert_eq!(live_messages(&h).await, held + 1, "nothing changed");
    assert_eq!(
        call(&client, "backups.list", json!({})).await.as_array().unwrap().len(),
        backups_before,
        "no backup kept either"
    );
    let unknown = rpc(&client, "backups.restore", json!({ "id": "../atelier" })).await;
    assert_eq!(unknown["error"]["data"]["kind"], "not_found");
}

#[tokio::test]
async fn backups_beyond_the_setting_are_removed_oldest_first() {
    let h = Harness::new().await;
    let client = h.client();
    call(&client, "settings.set", json!({ "key": "backups.keep", "value": "2" })).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(call(&client, "backups.create", json!({})).await["id"].as_str().unwrap().to_owned());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let listed: Vec<String> = call(&client, "backups.list", json!({}))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, vec![made[2].clone(), made[1].clone()]);
    let bad = rpc(&client, "settings.set", json!({ "key": "backups.keep", "value": "0" })).await;
    assert_eq!(bad["error"]["data"]["kind"], "invalid_input");
}
