//! The code index (issue 18): a full keyword index of a generated 10,000-file tree (time,
//! memory, size against the source), re-indexing one saved file from the watcher's event,
//! `code.search` at 200,000 chunks, the repo map of 10,000 files, the flat vector scan, and
//! recall@5 for plain-words questions about this repository's own code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use atelier_core::{App, ClientLimits, Config};
use atelier_index::{Index, Limits, Mode};
use atelier_llm::{LlmConfig, OllamaProvider, Provider};
use atelier_testkit::{TestLlm, TestModel};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::rpc::call;
use crate::stats::summarize;

const WORDS: &[&str] = &[
    "user", "session", "token", "message", "config", "stream", "buffer", "cache", "index", "search",
    "project", "file", "path", "model", "reply", "event", "queue", "limit", "retry", "socket", "store",
    "query", "chunk", "symbol", "parse", "render", "update", "delete", "create", "load", "save", "watch",
    "build", "check", "merge", "split", "count", "format", "encode", "decode", "open", "close", "read",
    "write", "start", "stop", "send",
];

fn ident(rng: &mut StdRng, camel: bool) -> String {
    let n = rng.random_range(2..4);
    let parts: Vec<&str> = (0..n).map(|_| WORDS[rng.random_range(0..WORDS.len())]).collect();
    if camel {
        let mut out = parts[0].to_owned();
        for p in &parts[1..] {
            out.push_str(&p[..1].to_uppercase());
            out.push_str(&p[1..]);
        }
        out
    } else {
        parts.join("_")
    }
}

/// A generated source file: `functions` functions of about `body` lines each, calling
/// functions of other files (so the repo map has a graph), in Rust, Python or TypeScript.
fn source(
    rng: &mut StdRng,
    i: usize,
    files: usize,
    functions: usize,
    body: usize,
    names: &[String],
) -> (String, String) {
    let lang = i % 3;
    let mut out = String::new();
    for f in 0..functions {
        let name = format!("{}_{i}_{f}", names[(i * 7 + f) % names.len()]);
        // Another file's function: a few files are called a lot, most rarely (as in real code).
        let j = (rng.random_range(0.0f64..1.0).powi(3) * files as f64) as usize;
        let g = rng.random_range(0..functions);
        let callee = format!("{}_{j}_{g}", names[(j * 7 + g) % names.len()]);
        match lang {
            0 => out.push_str(&format!("/// Does {name}.\npub fn {name}(input: &str) -> usize {{\n")),
            1 => out.push_str(&format!("def {name}(value):\n    \"\"\"Does {name}.\"\"\"\n")),
            _ => out.push_str(&format!("export function {name}(value: string): number {{\n")),
        }
        for l in 0..body {
            // Most lines are short, as in real code; every fourth calls another file.
            if l % 4 != 0 {
                out.push_str(if lang == 1 { "    value += 1\n" } else { "    n += 1;\n" });
                continue;
            }
            let var = ident(rng, lang == 2);
            let line = match lang {
                0 => format!("    let {var} = {callee}(input) + {l};\n"),
                1 => format!("    {var} = {callee}(value) + {l}\n"),
                _ => format!("  const {var} = {callee}(value) + {l};\n"),
            };
            out.push_str(&line);
        }
        match lang {
            0 => out.push_str("    0\n}\n\n"),
            1 => out.push_str("    return 0\n\n"),
            _ => out.push_str("  return 0;\n}\n\n"),
        }
    }
    let ext = ["rs", "py", "ts"][lang];
    (format!("src/m{:02}/f{i:05}.{ext}", i % 100), out)
}

/// Writes a tree of `files` files; returns its size in bytes.
fn generate(root: &Path, files: usize, functions: usize, body: usize) -> anyhow::Result<u64> {
    let mut rng = StdRng::seed_from_u64(18);
    let names: Vec<String> = (0..500).map(|_| ident(&mut rng, false)).collect();
    let mut bytes = 0u64;
    for i in 0..files {
        let (path, text) = source(&mut rng, i, files, functions, body, &names);
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().context("no parent")?)?;
        bytes += text.len() as u64;
        std::fs::write(full, text)?;
    }
    std::fs::write(root.join(".gitignore"), "target/\n")?;
    Ok(bytes)
}

fn vm(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Peak resident memory so far is VmHWM; writing 5 to clear_refs resets it (Linux).
fn reset_peak() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("cannot reset the peak memory mark: {e}");
    }
}

/// CPU time this process has used (user + system), from /proc/self/stat: on a machine shared
/// with other builds, wall time says more about the neighbours than about the index.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    // utime and stime are fields 14 and 15 (1-based), 11 and 12 after the name; clock ticks of 10 ms.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn dir_size(path: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .sum()
        })
        .unwrap_or(0)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// `parts`: any of `full`, `save`, `search`, `vectors`, `quality` (all when empty). `save` and
/// `vectors` use the tree `full` generates, so they bring it along.
pub async fn run(parts: &[String]) -> anyhow::Result<()> {
    let all = parts.is_empty();
    let wants = |p: &str| all || parts.iter().any(|x| x == p);
    // ATELIER_BENCH_DIR keeps the trees and index files there (to look at them afterwards).
    let temp = tempfile::tempdir()?;
    let kept = std::env::var_os("ATELIER_BENCH_DIR").map(PathBuf::from);
    if let Some(kept) = &kept {
        std::fs::create_dir_all(kept)?;
    }
    let dir = kept.as_deref().map_or(temp.path(), |k| k);
    if wants("full") || wants("save") || wants("vectors") {
        full_index(dir).await?;
    }
    if wants("save") {
        save_one_file(dir).await?;
    }
    if wants("vectors") {
        vectors(dir).await?;
    }
    if wants("search") {
        search_200k(dir).await?;
    }
    if wants("quality") {
        quality().await?;
    }
    Ok(())
}

async fn full_index(dir: &Path) -> anyhow::Result<()> {
    let root = dir.join("tree10k");
    let source_bytes = tokio::task::spawn_blocking({
        let root = root.clone();
        move || generate(&root, 10_000, 8, 30)
    })
    .await??;
    println!("index: generated 10,000 files, {:.1} MiB of source", mib(source_bytes));
    let db = dir.join("tree10k.db");
    let (elapsed, peak, counts, map_cold, map_warm, map_len, rss_before) = tokio::task::spawn_blocking({
        let (root, db) = (root.clone(), db.clone());
        move || -> anyhow::Result<_> {
            reset_peak();
            let rss_before = vm("VmRSS:");
            let index = Index::open(&db, &root, Limits::default())?;
            let started = Instant::now();
            let cpu = cpu_time();
            index.sync(&mut |_| {}, &Default::default())?;
            let elapsed = (started.elapsed(), cpu_time().saturating_sub(cpu));
            let peak = vm("VmHWM:");
            let counts = index.counts()?;
            let started = Instant::now();
            let map = index.repo_map(&[], &[], 1_500)?;
            let cold = started.elapsed();
            let mut warm = Vec::new();
            for i in 0..20 {
                let started = Instant::now();
                index.repo_map(&[format!("src/m{:02}/f{:05}.rs", i, i * 3)], &["load_user".into()], 1_500)?;
                warm.push(started.elapsed());
            }
            let searches = search_samples(&index)?;
            println!("index: code.search (keyword, top 20) at {} chunks: {searches}", counts.chunks);
            Ok((elapsed, peak, counts, cold, summarize(warm), map.len(), rss_before))
        }
    })
    .await??;
    let index_bytes = dir_size(dir, "tree10k.db");
    println!(
        "index: full keyword index of 10,000 files: {:.2} s wall, {:.2} s CPU ({} chunks, {} definitions) (goal <= 20 s)",
        elapsed.0.as_secs_f64(),
        elapsed.1.as_secs_f64(),
        counts.chunks,
        counts.symbols
    );
    println!(
        "index: peak memory {:.0} MiB (process peak, {:.0} MiB before) (goal <= 300 MB)",
        mib(peak),
        mib(rss_before)
    );
    println!(
        "index: index size {:.1} MiB = {:.2}x the source (goal <= 1.5x)",
        mib(index_bytes),
        index_bytes as f64 / source_bytes as f64
    );
    println!(
        "index: repo map of 10,000 files: first {:.1} ms (loads the graph), then {} ({} chars) (goal <= 200 ms)",
        map_cold.as_secs_f64() * 1e3,
        map_warm,
        map_len
    );
    Ok(())
}

/// Through the engine: the project is opened (watched and indexed), then one file is saved
/// by another program 50 times; measured from the watcher's `files.changed` to `index.updated`.
async fn save_one_file(dir: &Path) -> anyhow::Result<()> {
    let root = dir.join("tree10k");
    let provider = OllamaProvider::new("http://127.0.0.1:9".parse()?, LlmConfig::default())?;
    let app = App::start(Config::new(dir.join("data"), Arc::new(provider))).await?;
    let client = app.connect(ClientLimits::local());
    let project = call(&client, "projects.import", json!({ "path": root })).await?;
    let id = project["id"].as_str().context("no id")?.to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("project/{id}")] })).await?;
    let started = Instant::now();
    loop {
        let event =
            tokio::time::timeout(Duration::from_secs(300), client.next_event()).await?.context("closed")?;
        if event.event.kind == "index.ready" {
            break;
        }
    }
    println!("index: the engine's first pass over the same tree: {:.2} s", started.elapsed().as_secs_f64());
    let path = "src/m07/f00007.py";
    let mut samples = Vec::new();
    for round in 0..50 {
        let text = format!("def saved_{round}(value):\n    return value + {round}\n");
        std::fs::write(root.join(path), text)?;
        let mut changed_at = None;
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), client.next_event())
                .await?
                .context("closed")?;
            match event.event.kind.as_str() {
                "files.changed" if changed_at.is_none() => changed_at = Some(Instant::now()),
                "index.updated"
                    if event.event.data["paths"].as_array().is_some_and(|p| p.iter().any(|x| x == path)) =>
                {
                    if let Some(at) = changed_at {
                        samples.push(at.elapsed());
                    }
                    break;
                }
                _ => {}
            }
        }
        let hits = call(
            &client,
            "code.search",
            json!({ "project_id": id, "query": format!("saved_{round}"), "mode": "keyword" }),
        )
        .await?;
        anyhow::ensure!(hits[0]["path"] == path, "round {round}: the saved file is not found first: {hits}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "index: re-index after saving one file, from the watcher's event: {} (goal p99 <= 300 ms)",
        summarize(samples)
    );
    app.shutdown().await;
    Ok(())
}

async fn search_200k(dir: &Path) -> anyhow::Result<()> {
    let root = dir.join("tree200k");
    // 10,000 files of 20 functions of 42 lines: too long to merge, so one chunk each.
    let bytes = tokio::task::spawn_blocking({
        let root = root.clone();
        move || generate(&root, 10_000, 20, 42)
    })
    .await??;
    let db = dir.join("tree200k.db");
    let (elapsed, counts, samples) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let limits = Limits { max_total_bytes: 4 * 1024 * 1024 * 1024, ..Limits::default() };
        let index = Index::open(&db, &root, limits)?;
        let started = Instant::now();
        index.sync(&mut |_| {}, &Default::default())?;
        let elapsed = started.elapsed();
        let counts = index.counts()?;
        Ok((elapsed, counts, search_samples(&index)?))
    })
    .await??;
    println!(
        "index: 10,000 files of 20 long functions ({:.0} MiB) indexed in {:.1} s: {} chunks; index {:.0} MiB",
        mib(bytes),
        elapsed.as_secs_f64(),
        counts.chunks,
        mib(dir_size(dir, "tree200k.db"))
    );
    println!(
        "index: code.search (keyword, top 20) at {} chunks: {samples} (goal p99 <= 30 ms)",
        counts.chunks
    );
    Ok(())
}

/// 300 searches of mixed kinds: identifiers in both spellings, plain words, exact names.
fn search_samples(index: &Index) -> anyhow::Result<crate::stats::Summary> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut samples = Vec::new();
    for i in 0..300 {
        let query = match i % 4 {
            0 => ident(&mut rng, true),
            1 => ident(&mut rng, false),
            2 => format!(
                "where is the {} {}",
                WORDS[rng.random_range(0..WORDS.len())],
                WORDS[rng.random_range(0..WORDS.len())]
            ),
            _ => format!("{}_{}_3", ident(&mut rng, false), rng.random_range(0..10_000)),
        };
        let started = Instant::now();
        let hits = index.search(&query, 20, Mode::Keyword, None)?;
        samples.push(started.elapsed());
        anyhow::ensure!(!hits.is_empty(), "no hits for {query}");
    }
    Ok(summarize(samples))
}

/// The flat vector scan that hybrid search does, at two sizes of 768-dimension embeddings.
async fn vectors(dir: &Path) -> anyhow::Result<()> {
    let root = dir.join("tree10k");
    let db = dir.join("tree10k.db");
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let index = Index::open(&db, &root, Limits::default())?;
        index.set_embedding_model("bench-768")?;
        let mut rng = StdRng::seed_from_u64(3);
        let mut stored = 0usize;
        loop {
            let pending = index.pending_embeddings(1_000, 10)?;
            if pending.is_empty() {
                break;
            }
            let items: Vec<(i64, Vec<f32>)> =
                pending.iter().map(|(id, _)| (*id, (0..768).map(|_| rng.random_range(-1.0..1.0)).collect())).collect();
            stored += items.len();
            index.store_embeddings(&items)?;
        }
        let query: Vec<f32> = (0..768).map(|_| rng.random_range(-1.0..1.0)).collect();
        let started = Instant::now();
        index.search("load user", 20, Mode::Semantic, Some(&query))?;
        let cold = started.elapsed();
        let mut samples = Vec::new();
        for _ in 0..50 {
            let started = Instant::now();
            index.search("load user session", 20, Mode::Hybrid, Some(&query))?;
            samples.push(started.elapsed());
        }
        println!(
            "index: hybrid search over {stored} embeddings of 768 dimensions (flat scan): first {:.0} ms (loads them), then {}",
            cold.as_secs_f64() * 1e3,
            summarize(samples)
        );
        Ok(())
    })
    .await?
}

/// Plain-words questions about this repository and the file that answers each.
const QUESTIONS: &[(&str, &str)] = &[
    ("how big a context window to ask the model for", "crates/atelier-llm/src/lib.rs"),
    ("where are api keys kept in the operating system keychain", "crates/atelier-core/src/keychain.rs"),
    ("parse the OLLAMA_HOST environment variable", "crates/atelier-llm/src/host.rs"),
    ("split reasoning think tags from the reply", "crates/atelier-llm/src/think.rs"),
    ("several model servers as one pool with failover", "crates/atelier-llm/src/pool.rs"),
    ("event bus replay buffer and stream gap for slow subscribers", "crates/atelier-core/src/bus.rs"),
    ("rate limit requests of a remote client", "crates/atelier-core/src/rpc.rs"),
    ("watch a project folder for outside edits", "crates/atelier-files/src/watch.rs"),
    ("export the project as a zip archive", "crates/atelier-files/src/lib.rs"),
    ("checkpoints on hidden refs that can be restored", "crates/atelier-git/src/lib.rs"),
    ("push and pull with ssh agent credentials", "crates/atelier-git/src/lib.rs"),
    ("terminal scrollback of the last megabyte", "crates/atelier-terminal/src/lib.rs"),
    ("the master plans modules and files as json", "crates/atelier-agents/src/plan.rs"),
    ("apply search and replace edit blocks from a model", "crates/atelier-agents/src/edit.rs"),
    ("pull the code out of a fenced block in the reply", "crates/atelier-agents/src/extract.rs"),
    ("what the master is told about the project files", "crates/atelier-agents/src/workflow/prompt.rs"),
    ("database migrations applied at open", "crates/atelier-store/src/migrations.rs"),
    ("one writer thread for sqlite", "crates/atelier-store/src/writer.rs"),
    ("full text search of chat messages", "crates/atelier-store/src/search.rs"),
    ("token origin and host checks of the websocket server", "crates/atelier-server/src/guard.rs"),
    ("identifier splitting camel case and snake case", "crates/atelier-index/src/words.rs"),
    ("pagerank over the files that use each name", "crates/atelier-index/src/repo_map.rs"),
    ("cut a file into chunks along definitions", "crates/atelier-index/src/chunk.rs"),
    ("health check of the disk holding the data folder", "crates/atelier-core/src/system.rs"),
    ("refuse a second engine on the same data folder lock", "crates/atelier-core/src/lib.rs"),
];

async fn quality() -> anyhow::Result<()> {
    let repo: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize()?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("repo.db");
    let index = tokio::task::spawn_blocking({
        let repo = repo.clone();
        move || -> anyhow::Result<Index> {
            let index = Index::open(&db, &repo, Limits::default())?;
            index.sync(&mut |_| {}, &Default::default())?;
            Ok(index)
        }
    })
    .await??;
    // Hybrid with the testkit's embeddings: a hashed bag of words, not a real model, so this
    // figure says that the fusion works, not what a real embedding model adds.
    let llm = TestLlm::start().await?;
    llm.set_models(vec![TestModel::embedding("nomic-embed-text")]);
    let provider = OllamaProvider::new(llm.url().parse()?, LlmConfig::default())?;
    index.set_embedding_model("nomic-embed-text")?;
    loop {
        let pending = {
            let index = index.clone();
            tokio::task::spawn_blocking(move || index.pending_embeddings(64, 2_000)).await??
        };
        if pending.is_empty() {
            break;
        }
        let texts: Vec<String> = pending.iter().map(|(_, t)| t.clone()).collect();
        let vectors = provider.embed("nomic-embed-text", &texts).await?;
        let items: Vec<(i64, Vec<f32>)> = pending.iter().map(|(id, _)| *id).zip(vectors).collect();
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.store_embeddings(&items)).await??;
    }
    let (mut keyword, mut hybrid) = (0, 0);
    let mut missed = Vec::new();
    for (question, answer) in QUESTIONS {
        let vector = provider.embed("nomic-embed-text", &[(*question).to_owned()]).await?.pop();
        let (k, h) = {
            let index = index.clone();
            let q = (*question).to_owned();
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                Ok((
                    index.search(&q, 5, Mode::Keyword, None)?,
                    index.search(&q, 5, Mode::Hybrid, vector.as_deref())?,
                ))
            })
            .await??
        };
        let found = |hits: &[atelier_index::Hit]| hits.iter().any(|h| h.path == *answer);
        keyword += usize::from(found(&k));
        hybrid += usize::from(found(&h));
        if !found(&k) {
            missed.push(format!(
                "{question} -> {answer} (got {})",
                k.first().map(|h| h.path.as_str()).unwrap_or("nothing")
            ));
        }
    }
    let n = QUESTIONS.len();
    println!(
        "index: recall@5 on {n} questions about this repository: keyword {keyword}/{n} = {:.2}",
        keyword as f64 / n as f64
    );
    println!(
        "index: recall@5 hybrid with the testkit's bag-of-words embeddings (not a real model): {hybrid}/{n} = {:.2}",
        hybrid as f64 / n as f64
    );
    for m in missed {
        println!("index:   keyword missed: {m}");
    }
    Ok(())
}
