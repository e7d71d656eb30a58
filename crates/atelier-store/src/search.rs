//! Full-text search over message text (FTS5), safe for whatever the user types.

use crate::message::{MessageRow, message_columns, message_from_row};
use crate::{Store, StoreError};

/// Most tokens in a snippet: the hits and the context around them.
const SNIPPET_TOKENS: u32 = 16;

/// Turns what the user typed into an FTS5 query that cannot be a syntax error: every
/// whitespace-separated word becomes a quoted phrase (inner quotes doubled), and the phrases are
/// ANDed. So `a OR (` searches for the words "a" and "or", not an operator. Words with no letter
/// or digit hold nothing the tokenizer indexes, so they are dropped (a NUL byte separates words);
/// `None` when nothing
/// searchable is left, and the search returns nothing without asking SQLite.
pub(crate) fn fts_query(input: &str) -> Option<String> {
    // FTS5 ends a string at a NUL byte ("unterminated string"): it separates words here.
    let input = input.replace('\0', " ");
    let phrases: Vec<String> = input
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" "))
}

/// How many of the newest matches are ranked. bm25 has to score every candidate, so ranking all
/// matches of a common word in a million messages takes hundreds of milliseconds; ranking only the
/// newest few thousand keeps a search interactive whatever the word, and is exact for any word
/// with fewer matches than this. For a chat history, "best among the recent" is also what a user
/// looking for a conversation wants.
const RANKED_WINDOW: u32 = 2000;

// Both queries take the seq of the oldest message in the window from FTS5, walking the matches
// newest first (`ORDER BY rowid DESC` is served by FTS5 and stops after the window), then let
// FTS5 rank the matches from there on. `ORDER BY rank` is handed to FTS5 too, so no sorter runs
// and snippets are only built for the rows returned.
pub(crate) const SEARCH_SQL: &str = concat!(
    "SELECT ",
    message_columns!(m),
    ", snippet(messages_fts, 0, '[', ']', '…', ?3)
     FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid
     WHERE messages_fts MATCH ?1
       AND messages_fts.rowid >= (
         SELECT min(seq) FROM (
           SELECT rowid AS seq FROM messages_fts WHERE messages_fts MATCH ?1
           ORDER BY rowid DESC LIMIT ?4))
     ORDER BY messages_fts.rank LIMIT ?2"
);

pub(crate) const SEARCH_PROJECT_SQL: &str = concat!(
    "SELECT ",
    message_columns!(m),
    ", snippet(messages_fts, 0, '[', ']', '…', ?3)
     FROM messages_fts
     JOIN messages m ON m.seq = messages_fts.rowid
     JOIN sessions s ON s.id = m.session_id
     WHERE messages_fts MATCH ?1 AND s.project_id = ?5
       AND messages_fts.rowid >= (
         SELECT min(seq) FROM (
           SELECT f.rowid AS seq FROM messages_fts f
           JOIN messages fm ON fm.seq = f.rowid
           JOIN sessions fs ON fs.id = fm.session_id
           WHERE f.messages_fts MATCH ?1 AND fs.project_id = ?5
           ORDER BY f.rowid DESC LIMIT ?4))
     ORDER BY messages_fts.rank LIMIT ?2"
);

impl Store {
    /// Messages whose text contains every word of `query`, best matches first, each with a
    /// snippet in which the hits are wrapped in `[` `]`. Optionally only within one project's
    /// sessions. Any input is accepted; input with nothing to search for gives no results.
    ///
    /// When more than a couple of thousand messages match, only the newest of them are ranked
    /// (see `RANKED_WINDOW`), which keeps common words fast.
    pub async fn search_messages(
        &self,
        query: &str,
        project_id: Option<String>,
        limit: usize,
    ) -> Result<Vec<(MessageRow, String)>, StoreError> {
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        self.read(move |conn| {
            let hit = |row: &rusqlite::Row<'_>| Ok((message_from_row(row)?, row.get(16)?));
            let rows = match &project_id {
                None => conn
                    .prepare_cached(SEARCH_SQL)?
                    .query_map((&fts, limit, SNIPPET_TOKENS, RANKED_WINDOW), hit)?
                    .collect::<Result<Vec<_>, _>>()?,
                Some(project) => conn
                    .prepare_cached(SEARCH_PROJECT_SQL)?
                    .query_map((&fts, limit, SNIPPET_TOKENS, RANKED_WINDOW, project), hit)?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Ok(rows)
        })
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is the test failing
mod tests {
    use super::{SEARCH_PROJECT_SQL, SEARCH_SQL, fts_query};
    use crate::store::query_plan;

    #[test]
    fn user_text_becomes_quoted_phrases() {
        assert_eq!(fts_query("hello world").as_deref(), Some(r#""hello" "world""#));
        assert_eq!(fts_query(r#"say "hi""#).as_deref(), Some(r#""say" """hi""""#));
        assert_eq!(fts_query("a OR ( b*").as_deref(), Some(r#""a" "OR" "b*""#));
        assert_eq!(fts_query("  ( * \" ) ").as_deref(), None);
        assert_eq!(fts_query("").as_deref(), None);
    }

    #[test]
    fn ranking_is_left_to_fts5() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("plan.db")).unwrap();
        for sql in [SEARCH_SQL, SEARCH_PROJECT_SQL] {
            let plan = query_plan(&store, sql);
            // FTS5 consumes `ORDER BY rank`: no sorter, so snippets are only built for the rows
            // returned, not for every match.
            assert!(plan[0].starts_with("SCAN messages_fts VIRTUAL TABLE"), "{plan:?}");
            assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "{plan:?}");
        }
    }
}
