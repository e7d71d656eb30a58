//! Key/value settings that must survive a restart.

use rusqlite::OptionalExtension;

use crate::{Store, StoreError};

impl Store {
    /// The stored value, `None` if the key was never set.
    pub async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
                .query_row([&key], |row| row.get(0))
                .optional()?)
        })
        .await
    }

    /// Sets `key` to `value`, replacing any previous value.
    pub async fn set_setting(&self, key: &str, value: String) -> Result<(), StoreError> {
        let key = key.to_owned();
        let now = crate::now();
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                 updated_at = excluded.updated_at",
            )?
            .execute((&key, &value, &now))?;
            Ok(())
        })
        .await
    }
}
