//! `backup [MESSAGES]`: a backup of a database of a million messages (by default) while
//! appends continue. Prints the appends' latency without a backup and during one (goal: p99
//! ≤ 5 ms during the backup), the backup's time and size, and that it is intact.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use atelier_store::Store;
use rand::seq::IndexedRandom;

use crate::history::{SESSIONS, message, sessions, vocabulary};
use crate::stats::summarize;

/// Appends (one message, committed, through the async API as a streaming chat does) with a
/// pause between them, until `stop`; their latencies.
async fn append_until(
    store: &Store,
    sessions: &[String],
    stop: &AtomicBool,
    most: usize,
) -> anyhow::Result<Vec<Duration>> {
    let words = vocabulary();
    let mut rng = rand::rng();
    let mut times = Vec::new();
    while !stop.load(Ordering::Relaxed) && times.len() < most {
        let session = sessions.choose(&mut rng).cloned().unwrap_or_default();
        let row = message(&session, &words, &mut rng);
        let t = Instant::now();
        store.insert_message(row).await?;
        times.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(times)
}

pub async fn run(total: usize) -> anyhow::Result<()> {
    println!("== backup: {total} messages, appends continuing");
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("atelier.db");
    let store = Store::open(&db)?;
    let words = vocabulary();
    let mut rng = rand::rng();
    let sessions = sessions(&store).await?;
    let started = Instant::now();
    let mut done = 0;
    while done < total {
        let batch: Vec<_> = (0..10_000.min(total - done))
            .map(|i| message(&sessions[(done + i) % SESSIONS], &words, &mut rng))
            .collect();
        done += batch.len();
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.insert_messages_bulk_blocking(batch)).await??;
    }
    let size = std::fs::metadata(&db)?.len();
    println!(
        "seeded in {:.1} s ({:.0} MiB)",
        started.elapsed().as_secs_f64(),
        size as f64 / (1024.0 * 1024.0)
    );
    store.flush().await?;

    let never = AtomicBool::new(false);
    let quiet = append_until(&store, &sessions, &never, 2_000).await?;
    println!("appends, no backup:     {}", summarize(quiet));

    let stop = Arc::new(AtomicBool::new(false));
    let dest = dir.path().join("backup.sqlite");
    let (from, to, flag) = (db.clone(), dest.clone(), stop.clone());
    let backup = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let result = atelier_store::backup_database(&from, &to, Duration::from_millis(1));
        flag.store(true, Ordering::Relaxed);
        result.map(|()| t.elapsed())
    });
    let during = append_until(&store, &sessions, &stop, usize::MAX).await?;
    let took = backup.await??;
    println!("appends, during backup: {} (goal p99 <= 5 ms)", summarize(during));
    let copied = std::fs::metadata(&dest)?.len();
    println!(
        "backup: {:.1} s for {:.0} MiB ({:.0} MiB/s), {} pages a step",
        took.as_secs_f64(),
        copied as f64 / (1024.0 * 1024.0),
        copied as f64 / (1024.0 * 1024.0) / took.as_secs_f64().max(1e-9),
        atelier_store::BACKUP_PAGES_PER_STEP
    );
    let t = Instant::now();
    atelier_store::check_backup(&dest)?;
    println!("integrity_check of the backup: ok in {:.1} s", t.elapsed().as_secs_f64());
    store.close();
    Ok(())
}
