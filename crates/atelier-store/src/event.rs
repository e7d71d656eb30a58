//! Durable bus events: written behind the bus's back (detached), read back at start-up.

use rusqlite::Row;
use serde::{Deserialize, Serialize};

use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// Global and increasing; assigned by the event bus, not by the store.
    pub seq: u64,
    pub topic: String,
    /// The event type (`type` in SQL).
    pub kind: String,
    pub time: String,
    /// JSON text.
    pub data: String,
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        seq: row.get(0)?,
        topic: row.get(1)?,
        kind: row.get(2)?,
        time: row.get(3)?,
        data: row.get(4)?,
    })
}

impl Store {
    /// Queues the event for writing and returns at once; the bus publishes without waiting for
    /// the disk. A failure (say, a duplicate seq) is logged.
    pub fn insert_event_detached(&self, e: EventRow) {
        self.write_detached(move |tx| {
            tx.prepare_cached(
                "INSERT INTO events (seq, topic, type, time, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((e.seq, &e.topic, &e.kind, &e.time, &e.data))?;
            Ok(())
        });
    }

    /// The newest `limit` events, oldest first.
    pub fn recent_events_blocking(&self, limit: usize) -> Result<Vec<EventRow>, StoreError> {
        self.read_blocking(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, topic, type, time, data FROM
                   (SELECT seq, topic, type, time, data FROM events ORDER BY seq DESC LIMIT ?1)
                 ORDER BY seq",
            )?;
            let rows = stmt.query_map([limit], event_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The largest stored seq, 0 when there are no events; the bus continues after it.
    pub fn max_event_seq_blocking(&self) -> Result<u64, StoreError> {
        self.read_blocking(|conn| {
            Ok(conn
                .prepare_cached("SELECT coalesce(max(seq), 0) FROM events")?
                .query_row([], |row| row.get(0))?)
        })
    }
}
