//! The writer thread and the read pool: ordering, durability, concurrency, shutdown.

use std::sync::mpsc;
use std::time::Duration;

use atelier_store::rusqlite::params;
use atelier_store::{MessageRole, Store, StoreError};

use crate::{message, project, session, store_with_session, temp_store};

// The core shares one store between tasks and threads, and sends its errors across them.
const _: fn() = || {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Store>();
    shareable::<StoreError>();
};

#[tokio::test]
async fn detached_and_awaited_writes_run_in_the_order_they_were_enqueued() {
    let (_dir, store, id) = store_with_session().await;
    let mut expected = Vec::new();
    for i in 0..50 {
        let m = message(&id, MessageRole::User, &format!("detached {i}"));
        expected.push(m.id.clone());
        store.write_detached(move |tx| {
            tx.execute(
                "INSERT INTO messages (id, session_id, role, content, status, created_at, updated_at)
                 VALUES (?1, ?2, 'user', ?3, 'complete', ?4, ?4)",
                params![m.id, m.session_id, m.content, m.created_at],
            )?;
            Ok(())
        });
    }
    store.write_detached(|tx| {
        tx.execute("INSERT INTO settings VALUES ('last', 'detached', 'now')", [])?;
        Ok(())
    });
    // A write enqueued after the detached ones sees all of them.
    let seen: (i64, String) = store
        .write(|tx| {
            Ok(tx.query_row(
                "SELECT (SELECT count(*) FROM messages), (SELECT value FROM settings WHERE key = 'last')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(seen, (50, "detached".to_owned()));
    let history = store.list_messages(&id, None, 100).await.unwrap();
    assert_eq!(history.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn flush_waits_for_detached_writes() {
    let (_dir, store) = temp_store();
    for i in 0..100 {
        store.write_detached(move |tx| {
            tx.execute("INSERT INTO settings VALUES (?1, 'v', 'now')", [format!("key{i}")])?;
            Ok(())
        });
    }
    store.flush().await.unwrap();
    let n: i64 =
        store.read(|c| Ok(c.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(n, 100);
}

#[tokio::test]
async fn a_failed_write_changes_nothing() {
    let (_dir, store) = temp_store();
    let p = project("half");
    let attempt = store
        .write(move |tx| {
            tx.execute(
                "INSERT INTO projects (id, name, path, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![p.id, p.name, p.path, p.created_at],
            )?;
            Err::<(), _>(StoreError::Conflict("changed my mind".into()))
        })
        .await;
    assert!(matches!(attempt, Err(StoreError::Conflict(_))));
    assert!(store.list_projects().await.unwrap().is_empty());

    // A detached failure is logged and rolled back just the same.
    store.write_detached(|tx| {
        tx.execute("INSERT INTO settings VALUES ('k', 'v', 'now')", [])?;
        tx.execute("INSERT INTO nowhere VALUES (1)", [])?;
        Ok(())
    });
    store.flush().await.unwrap();
    assert_eq!(store.get_setting("k").await.unwrap(), None);
}

#[tokio::test]
async fn a_panicking_write_reaches_its_caller_and_the_store_keeps_working() {
    let (_dir, store) = temp_store();
    let panicking = store.clone();
    let outcome = tokio::spawn(async move {
        panicking
            .write(|tx| -> Result<(), StoreError> {
                tx.execute("INSERT INTO settings VALUES ('k', 'v', 'now')", [])?;
                panic!("bug in a write closure")
            })
            .await
    })
    .await;
    assert!(outcome.unwrap_err().is_panic());
    store.write_detached(|_| panic!("bug in a detached closure"));

    store.set_setting("after", "yes".into()).await.unwrap();
    assert_eq!(store.get_setting("after").await.unwrap().as_deref(), Some("yes"));
    assert_eq!(store.get_setting("k").await.unwrap(), None, "the panicking write was rolled back");
}

#[tokio::test]
async fn a_reopened_store_has_everything_written_before_the_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atelier.db");
    let p = project("demo");
    let s = session(Some(&p.id));
    let m = message(&s.id, MessageRole::User, "remember me");
    {
        let store = Store::open(&path).unwrap();
        store.insert_project(p.clone()).await.unwrap();
        store.insert_session(s.clone(), vec![m.clone()]).await.unwrap();
        store.set_setting("theme", "dark".into()).await.unwrap();
        // Queued but not awaited: dropping the store still runs it before the writer stops.
        store.insert_event_detached(atelier_store::EventRow {
            seq: 7,
            topic: "system".into(),
            kind: "started".into(),
            time: atelier_store::now(),
            data: "{}".into(),
        });
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.get_project(&p.id).await.unwrap(), p);
    assert_eq!(store.get_session(&s.id).await.unwrap(), s);
    assert_eq!(store.list_messages(&s.id, None, 10).await.unwrap(), vec![m]);
    assert_eq!(store.search_messages("remember", None, 10).await.unwrap().len(), 1);
    assert_eq!(store.get_setting("theme").await.unwrap().as_deref(), Some("dark"));
    assert_eq!(store.max_event_seq_blocking().unwrap(), 7);
}

#[tokio::test]
async fn close_finishes_queued_writes_then_refuses_new_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atelier.db");
    let store = Store::open(&path).unwrap();
    let clone = store.clone();
    store.write_detached(|tx| {
        tx.execute("INSERT INTO settings VALUES ('queued', 'v', 'now')", [])?;
        Ok(())
    });
    store.close();

    assert!(matches!(clone.set_setting("late", "v".into()).await, Err(StoreError::Closed)));
    assert!(matches!(clone.get_setting("queued").await, Err(StoreError::Closed)));
    assert!(matches!(clone.flush().await, Err(StoreError::Closed)));
    assert!(matches!(clone.write_blocking(|_| Ok(())), Err(StoreError::Closed)));
    clone.write_detached(|_| Ok(())); // logged, not a panic
    drop((store, clone));

    let reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.get_setting("queued").await.unwrap().as_deref(), Some("v"));
    assert_eq!(reopened.get_setting("late").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_run_while_writes_are_committed() {
    let (_dir, store, id) = store_with_session().await;
    const TOTAL: usize = 300;

    let writer = {
        let store = store.clone();
        let id = id.clone();
        tokio::spawn(async move {
            for i in 0..TOTAL {
                let m = message(&id, MessageRole::Assistant, &format!("chunk {i}"));
                store.insert_message(m).await.unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            let id = id.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let page = store.list_messages(&id, None, TOTAL).await.unwrap();
                    // Every read sees a prefix of the writes, in order: never a gap or a shuffle.
                    for (i, m) in page.iter().enumerate() {
                        assert_eq!(m.content, format!("chunk {i}"));
                    }
                    seen.push(page.len());
                    if page.len() == TOTAL {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    writer.await.unwrap();
    for reader in readers {
        let seen = reader.await.unwrap();
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "a later read never sees fewer rows");
        assert_eq!(seen.last(), Some(&TOTAL));
    }
}

#[test]
fn a_long_read_does_not_hold_up_the_writer() {
    let (_dir, store) = temp_store();
    let (reading, started) = mpsc::channel();
    let (written, done) = mpsc::channel::<()>();
    let reader = {
        let store = store.clone();
        std::thread::spawn(move || {
            store.read_blocking(|conn| {
                // Hold a read transaction (a snapshot) open while the writer commits.
                conn.execute_batch("BEGIN")?;
                let before: i64 = conn.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?;
                reading.send(()).unwrap();
                done.recv_timeout(Duration::from_secs(10)).unwrap();
                let during: i64 = conn.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?;
                conn.execute_batch("COMMIT")?;
                Ok((before, during))
            })
        })
    };
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    store
        .write_blocking(|tx| {
            tx.execute("INSERT INTO settings VALUES ('k', 'v', 'now')", [])?;
            Ok(())
        })
        .unwrap();
    written.send(()).unwrap();
    // The snapshot kept its view; the next read sees the write.
    assert_eq!(reader.join().unwrap().unwrap(), (0, 0));
    let after: i64 =
        store.read_blocking(|c| Ok(c.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?)).unwrap();
    assert_eq!(after, 1);
}

#[test]
fn blocking_variants_work_without_a_runtime() {
    let (_dir, store) = temp_store();
    let s = session(None);
    let rows: Vec<_> = (0..1000).map(|i| message(&s.id, MessageRole::User, &format!("seed {i}"))).collect();
    let session_row = s.clone();
    store
        .write_blocking(move |tx| {
            tx.execute(
                "INSERT INTO sessions (id, agent, title, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![session_row.id, session_row.agent, session_row.title, session_row.created_at],
            )?;
            Ok(())
        })
        .unwrap();
    store.insert_messages_bulk_blocking(rows).unwrap();
    let n: i64 = store
        .read_blocking(|c| {
            Ok(c.query_row("SELECT count(*) FROM messages WHERE session_id = ?1", [&s.id], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(n, 1000);
}

#[tokio::test]
async fn blocking_calls_inside_a_runtime_do_not_panic() {
    // Start-up code and benchmarks call these from inside `#[tokio::main]`.
    let (_dir, store) = temp_store();
    store.write_blocking(|tx| Ok(tx.execute("INSERT INTO settings VALUES ('k', 'v', 'now')", [])?)).unwrap();
    assert_eq!(store.get_setting("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn after_close_the_database_file_alone_has_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atelier.db");
    let store = Store::open(&path).unwrap();
    let s = session(None);
    let id = s.id.clone();
    store.insert_session(s, vec![message(&id, MessageRole::User, "backed up")]).await.unwrap();
    store.close();
    drop(store);

    // What a user copying the file after quitting gets: no -wal next to it.
    let copy = dir.path().join("backup.db");
    std::fs::copy(&path, &copy).unwrap();
    let backup = Store::open(&copy).unwrap();
    assert_eq!(backup.list_messages(&id, None, 10).await.unwrap().len(), 1);
}
