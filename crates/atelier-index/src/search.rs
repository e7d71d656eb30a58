//! Search: keywords through FTS5 (BM25, a definition's name and the path weigh more than its
//! text), nearest embeddings by cosine, and both fused by reciprocal rank. Any text is a valid
//! query: it is reduced to quoted words, and with none left the answer is an empty list.

use std::collections::HashMap;

use crate::words::{fts_query, query_terms};
use crate::{Index, Result};

/// The most chunks one step of the keyword search ranks by default (see
/// [`Index::keyword_ids`], `Limits::rank_at_most`): about 6 ms of BM25 on the machine of
/// docs/benchmarks.md.
pub(crate) const RANK_AT_MOST: usize = 5_000;
const CHUNKS: &str = "chunks_fts";
/// A definition's name weighs 6, the path 2, the text and the other spellings 1.
const CHUNKS_RANK: &str = "bm25(chunks_fts, 2.0, 6.0, 1.0, 1.0)";
const NAMES: &str = "names_fts";
const NAMES_RANK: &str = "bm25(names_fts, 2.0, 6.0)";

/// Reciprocal rank fusion's constant: a result at rank r counts 1 / (K + r) in each list.
const RRF_K: f64 = 60.0;
/// The most lines a snippet shows, and the most characters of each.
const SNIPPET_LINES: usize = 12;
const SNIPPET_LINE_CHARS: usize = 240;

/// How results are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Keyword,
    Semantic,
    Hybrid,
}

/// One result: a chunk of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    /// The line the snippet starts at: where to open the file.
    pub line: u32,
    /// Up to 12 lines of the chunk as the file has them now, from the first line that holds
    /// a query word.
    pub snippet: String,
    pub score: f64,
}

struct ChunkRow {
    path: String,
    start_line: u32,
    end_line: u32,
    symbol: Option<String>,
}

impl Index {
    /// Chunk ids matching the words of `query`, best first (at most `k`).
    ///
    /// BM25 costs about a microsecond for every chunk that matches, and words that half a
    /// big project uses match a hundred thousand chunks. So the keyword search goes down a
    /// ladder of ever narrower matches — any word in a chunk, every word in a chunk, any word
    /// in its names (path, definitions), every word in its names — and ranks, by BM25, each
    /// one that is small enough (`Limits::rank_at_most` chunks, found by asking for one more), until
    /// `k` chunks are ranked. A query with rare words ranks exactly what it did before the
    /// ladder: the first step is small enough. When the steps small enough to rank do not fill
    /// `k`, the rest comes from the first `rank_at_most / 4` chunks of the narrowest step too
    /// large, ranked among themselves.
    pub(crate) fn keyword_ids(&self, terms: &[String], k: usize) -> Result<Vec<i64>> {
        let (Some(any), Some(all)) = (fts_query(terms, " OR "), fts_query(terms, " AND ")) else {
            return Ok(Vec::new());
        };
        let several = any != all;
        let mut steps: Vec<(&str, &str, &String)> = vec![(CHUNKS, CHUNKS_RANK, &any)];
        if several {
            steps.push((CHUNKS, CHUNKS_RANK, &all));
        }
        steps.push((NAMES, NAMES_RANK, &any));
        if several {
            steps.push((NAMES, NAMES_RANK, &all));
        }
        let rank_at_most = self.inner.limits.rank_at_most.max(1);
        self.read(|conn| {
            let mut out: Vec<i64> = Vec::new();
            let mut too_large = None;
            for (table, rank, query) in &steps {
                let mut probe = conn
                    .prepare_cached(&format!("SELECT rowid FROM {table} WHERE {table} MATCH ?1 LIMIT ?2"))?;
                let found =
                    probe.query_map(rusqlite::params![query, rank_at_most as i64 + 1], |_| Ok(()))?.count();
                if found > rank_at_most {
                    too_large = Some((*table, *rank, *query));
                    continue;
                }
                let mut ranked = conn.prepare_cached(&format!(
                    "SELECT rowid FROM {table} WHERE {table} MATCH ?1 ORDER BY {rank} LIMIT ?2"
                ))?;
                let ids = ranked.query_map(rusqlite::params![query, k as i64], |r| r.get::<_, i64>(0))?;
                for id in ids {
                    let id = id?;
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
                if out.len() >= k {
                    break;
                }
            }
            if out.len() < k
                && let Some((table, rank, query)) = too_large
            {
                // The steps small enough did not fill a page: the rest from the narrowest step too
                // large, its first chunks ranked among themselves.
                let mut first = conn.prepare_cached(&format!(
                    "SELECT rowid, {rank} FROM {table} WHERE {table} MATCH ?1 LIMIT ?2"
                ))?;
                let fill = (rank_at_most / 4).max(k) as i64;
                let mut scored: Vec<(i64, f64)> = first
                    .query_map(rusqlite::params![query, fill], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                // BM25 is lower for a better match.
                scored.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                for (id, _) in scored {
                    if out.len() >= k {
                        break;
                    }
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
            out.truncate(k);
            Ok(out)
        })
    }

    fn chunk_rows(&self, ids: &[i64]) -> Result<HashMap<i64, ChunkRow>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT f.path, c.start_line, c.end_line, c.symbol FROM chunks c JOIN files f ON f.id = c.file_id \
                 WHERE c.id = ?1",
            )?;
            let mut out = HashMap::new();
            for id in ids {
                let row = stmt.query_row([id], |r| {
                    Ok(ChunkRow { path: r.get(0)?, start_line: r.get(1)?, end_line: r.get(2)?, symbol: r.get(3)? })
                });
                match row {
                    Ok(row) => {
                        out.insert(*id, row);
                    }
                    // Removed between the two reads: left out.
                    Err(rusqlite::Error::QueryReturnedNoRows) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }

    /// The best `limit` chunks for `query`. `query_vector` is the query's embedding (same
    /// model as the stored ones); without it, or in `Keyword` mode, only words count; in
    /// `Semantic` mode only the embedding (words when there is none).
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        mode: Mode,
        query_vector: Option<&[f32]>,
    ) -> Result<Vec<Hit>> {
        let limit = limit.clamp(1, 200);
        let terms = query_terms(query);
        let use_vector = query_vector.filter(|_| mode != Mode::Keyword);
        let use_words = mode != Mode::Semantic || use_vector.is_none();
        // Fusing two lists needs more of each than will be shown; one list is its own order.
        let candidates = if use_vector.is_some() { (limit * 4).max(40) } else { limit };
        let mut lists: Vec<Vec<i64>> = Vec::new();
        if use_words {
            lists.push(self.keyword_ids(&terms, candidates)?);
        }
        if let Some(vector) = use_vector {
            lists.push(self.nearest(vector, candidates)?);
        }
        let mut scores: HashMap<i64, f64> = HashMap::new();
        for list in &lists {
            for (rank, id) in list.iter().enumerate() {
                *scores.entry(*id).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
            }
        }
        let mut ranked: Vec<(i64, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
        let rows = self.chunk_rows(&ids)?;
        let mut files: HashMap<String, Option<Vec<String>>> = HashMap::new();
        let mut hits = Vec::with_capacity(ranked.len());
        for (id, score) in ranked {
            let Some(row) = rows.get(&id) else { continue };
            let lines = files.entry(row.path.clone()).or_insert_with(|| {
                std::fs::read_to_string(self.root().join(&row.path))
                    .ok()
                    .map(|t| t.lines().map(str::to_owned).collect())
            });
            let (line, snippet) = lines
                .as_deref()
                .map(|l| snippet(l, row.start_line, row.end_line, &terms))
                .unwrap_or((row.start_line, String::new()));
            let symbol = self.best_symbol(row, &terms)?.or_else(|| row.symbol.clone());
            hits.push(Hit {
                path: row.path.clone(),
                start_line: row.start_line,
                end_line: row.end_line,
                symbol,
                line,
                snippet,
                score,
            });
        }
        Ok(hits)
    }

    /// The definition in a chunk whose name holds the most query words (a chunk may hold a
    /// few small ones); `None` when no name holds any.
    fn best_symbol(&self, row: &ChunkRow, terms: &[String]) -> Result<Option<String>> {
        if terms.is_empty() {
            return Ok(None);
        }
        let names: Vec<String> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT s.name FROM symbols s JOIN files f ON f.id = s.file_id \
                 WHERE f.path = ?1 AND s.line BETWEEN ?2 AND ?3 AND s.kind <> 'impl' ORDER BY s.line",
            )?;
            let rows =
                stmt.query_map(rusqlite::params![row.path, row.start_line, row.end_line], |r| r.get(0))?;
            rows.collect()
        })?;
        let score = |name: &str| {
            let plain = name.to_lowercase().replace('_', "");
            terms.iter().filter(|t| plain.contains(t.as_str())).map(|t| t.len()).sum::<usize>()
        };
        Ok(names
            .into_iter()
            .map(|n| (score(&n), n))
            .filter(|(s, _)| *s > 0)
            .max_by_key(|(s, _)| *s)
            .map(|(_, n)| n))
    }

    /// The text of chunks (for embedding): the path, the definition's name and the lines,
    /// read from the files as they are now.
    pub(crate) fn chunk_texts(&self, ids: &[i64], max_chars: usize) -> Result<Vec<(i64, String)>> {
        let rows = self.chunk_rows(ids)?;
        let mut files: HashMap<String, Option<Vec<String>>> = HashMap::new();
        let mut out = Vec::new();
        for id in ids {
            let Some(row) = rows.get(id) else { continue };
            let lines = files.entry(row.path.clone()).or_insert_with(|| {
                std::fs::read_to_string(self.root().join(&row.path))
                    .ok()
                    .map(|t| t.lines().map(str::to_owned).collect())
            });
            let Some(lines) = lines else { continue };
            let from = (row.start_line as usize).saturating_sub(1).min(lines.len());
            let to = (row.end_line as usize).min(lines.len());
            let mut text = format!("{}\n", row.path);
            if let Some(symbol) = &row.symbol {
                text.push_str(symbol);
                text.push('\n');
            }
            text.push_str(&lines[from..to].join("\n"));
            out.push((*id, text.chars().take(max_chars).collect()));
        }
        Ok(out)
    }
}

/// Up to [`SNIPPET_LINES`] lines of `start..=end`, from a little before the first line that
/// holds one of `terms` (compared without case and `_`).
fn snippet(lines: &[String], start: u32, end: u32, terms: &[String]) -> (u32, String) {
    let from = (start as usize).saturating_sub(1).min(lines.len());
    let to = (end as usize).min(lines.len()).max(from);
    let chunk = &lines[from..to];
    // The longest word found decides: `num` would also be found in "number".
    let plain: Vec<String> = chunk.iter().map(|l| l.to_lowercase().replace('_', "")).collect();
    let mut by_length: Vec<&String> = terms.iter().filter(|t| t.len() > 2).collect();
    by_length.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let first_hit = by_length.iter().find_map(|t| plain.iter().position(|l| l.contains(t.as_str())));
    let begin = first_hit.map_or(0, |i| i.saturating_sub(2));
    let text = chunk[begin..]
        .iter()
        .take(SNIPPET_LINES)
        .map(|l| {
            let mut line: String = l.chars().take(SNIPPET_LINE_CHARS).collect();
            if l.chars().count() > SNIPPET_LINE_CHARS {
                line.push('…');
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n");
    (from as u32 + begin as u32 + 1, text)
}
