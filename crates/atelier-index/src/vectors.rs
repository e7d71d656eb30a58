//! Embeddings in a flat table (`vectors`: one normalised f32 blob per chunk), searched by a
//! scan in Rust over a copy kept in memory until the index changes. Chosen over `sqlite-vec`
//! by measurement (docs/benchmarks.md): a project's few thousand to tens of thousands of
//! chunks scan in milliseconds, and no SQLite extension has to be loaded (which would need
//! `unsafe` registration, denied in this workspace).

use std::sync::Arc;

use rusqlite::params;

use crate::db::{meta, set_meta};
use crate::{Index, Result, lock};

/// All stored embeddings, row after row.
pub(crate) struct Matrix {
    ids: Vec<i64>,
    dim: usize,
    values: Vec<f32>,
}

fn normalised(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() { v.iter().map(|x| x / norm).collect() } else { v.to_vec() }
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> impl Iterator<Item = f32> + '_ {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl Index {
    /// Makes `model` the embeddings' model; stored vectors of another model are dropped (they
    /// cannot be compared with the new model's).
    pub fn set_embedding_model(&self, model: &str) -> Result<()> {
        let current = self.read(|c| meta(c, "embedding_model"))?;
        if current.as_deref() == Some(model) {
            return Ok(());
        }
        self.write(|conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM vectors", [])?;
            set_meta(&tx, "embedding_model", model)?;
            tx.commit()
        })
    }

    /// Up to `limit` chunks that have no embedding yet, with their text (at most `max_chars`).
    pub fn pending_embeddings(&self, limit: usize, max_chars: usize) -> Result<Vec<(i64, String)>> {
        let ids: Vec<i64> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT c.id FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id WHERE v.chunk_id IS NULL \
                 ORDER BY c.id LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| r.get(0))?;
            rows.collect()
        })?;
        self.chunk_texts(&ids, max_chars)
    }

    /// Stores embeddings of chunks (those removed meanwhile are skipped).
    pub fn store_embeddings(&self, items: &[(i64, Vec<f32>)]) -> Result<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR REPLACE INTO vectors (chunk_id, vec) SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?1)",
                )?;
                for (id, v) in items {
                    stmt.execute(params![id, to_blob(&normalised(v))])?;
                }
            }
            tx.commit()
        })
    }

    fn matrix(&self) -> Result<Arc<Matrix>> {
        let generation = self.generation();
        if let Some((g, m)) = lock(&self.inner.vectors).as_ref()
            && *g == generation
        {
            return Ok(m.clone());
        }
        let matrix = self.read(|conn| {
            let mut stmt = conn.prepare("SELECT chunk_id, vec FROM vectors ORDER BY chunk_id")?;
            let mut rows = stmt.query([])?;
            let mut m = Matrix { ids: Vec::new(), dim: 0, values: Vec::new() };
            while let Some(row) = rows.next()? {
                let blob = row.get_ref(1)?.as_blob()?;
                let dim = blob.len() / 4;
                if m.dim == 0 {
                    m.dim = dim;
                }
                // Vectors of another length (a model changed mid-way) cannot be compared.
                if dim != m.dim {
                    continue;
                }
                m.ids.push(row.get(0)?);
                m.values.extend(from_blob(blob));
            }
            Ok(m)
        })?;
        let matrix = Arc::new(matrix);
        *lock(&self.inner.vectors) = Some((generation, matrix.clone()));
        Ok(matrix)
    }

    /// The `k` chunks whose embeddings are nearest to `vector` (cosine), nearest first.
    pub(crate) fn nearest(&self, vector: &[f32], k: usize) -> Result<Vec<i64>> {
        let matrix = self.matrix()?;
        if matrix.dim == 0 || matrix.dim != vector.len() {
            return Ok(Vec::new());
        }
        let q = normalised(vector);
        let mut scored: Vec<(f32, i64)> = matrix
            .values
            .chunks_exact(matrix.dim)
            .zip(&matrix.ids)
            .map(|(row, id)| (row.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>(), *id))
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(k);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(scored.into_iter().map(|(_, id)| id).collect())
    }
}
