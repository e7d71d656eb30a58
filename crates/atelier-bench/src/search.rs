//! `files-search [FILES]`: find in files through the engine (`files.search` over JSON-RPC, as
//! the editor calls it) against ripgrep (`rg`, a process per search) on the same tree of 50,000
//! files, each run several times; prints both medians and their ratio (goal ≤ 1.5× rg). For a
//! whole-process comparison, `find PATTERN DIR` runs the same search as a process of its own:
//! `farm-bench --vs 'rg -c PATTERN DIR' -- atelier-bench find PATTERN DIR`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use atelier_core::{App, ClientLimits, Config};
use atelier_llm::{LlmConfig, OllamaProvider};
use serde_json::json;

use crate::rpc::call;
use crate::stats::summarize;

const RUNS: usize = 15;

/// A tree of `files` source files in 500 folders, with a `.gitignore`d `target/` as projects
/// have. The word `needle_7` is on one line of every 97th file.
pub fn make_tree(root: &Path, files: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(root.join("target/debug"))?;
    std::fs::write(root.join(".gitignore"), "target/\n")?;
    for i in 0..200 {
        std::fs::write(root.join(format!("target/debug/junk{i}.rs")), "needle_7 in an ignored file\n")?;
    }
    for i in 0..files {
        let dir = root.join(format!("src/m{}/n{}", i % 50, i % 10));
        std::fs::create_dir_all(&dir)?;
        let mut body = String::with_capacity(2_500);
        for l in 0..60 {
            body.push_str(&format!("pub fn item_{i}_{l}(value: u32) -> u32 {{ value.wrapping_mul({l}) }}\n"));
        }
        if i % 97 == 0 {
            body.push_str("// needle_7 marks this file\n");
        }
        std::fs::write(dir.join(format!("f{i}.rs")), body)?;
    }
    Ok(())
}

pub async fn run(files: usize) -> anyhow::Result<()> {
    println!("== files-search: files.search through the engine vs rg, {files} files");
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("tree");
    let t = Instant::now();
    make_tree(&root, files)?;
    println!("tree made in {:.1} s", t.elapsed().as_secs_f64());
    let provider = OllamaProvider::new("http://127.0.0.1:9".parse()?, LlmConfig::default())?;
    let app = App::start(Config::new(dir.path().join("data"), Arc::new(provider))).await?;
    // Registered straight in the store: `projects.import` would start indexing the tree, which
    // would compete with the searches for the CPU.
    let id = atelier_store::new_id("prj");
    app.store()
        .insert_project(atelier_store::ProjectRow {
            id: id.clone(),
            name: "tree".into(),
            path: root.to_string_lossy().into_owned(),
            created_at: atelier_store::now(),
        })
        .await?;
    let client = app.connect(ClientLimits::local());
    let params = json!({ "project_id": id, "query": "needle_7", "case_sensitive": true, "limit": 10_000 });
    let expected = files.div_ceil(97);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    // Warm-up of both (the page cache), then alternate so drift hits both alike.
    call(&client, "files.search", params.clone()).await?;
    rg(&root)?;
    for _ in 0..RUNS {
        let t = Instant::now();
        let found = call(&client, "files.search", params.clone()).await?;
        ours.push(t.elapsed());
        let n = found["matches"].as_array().map_or(0, Vec::len);
        anyhow::ensure!(n == expected, "files.search found {n} lines, expected {expected}");
        let t = Instant::now();
        let n = rg(&root)?;
        theirs.push(t.elapsed());
        anyhow::ensure!(n == expected, "rg found {n} lines, expected {expected}");
    }
    let (ours, theirs) = (summarize(ours), summarize(theirs));
    println!("files.search (engine, JSON-RPC): {ours}");
    println!("rg -c (a process each):           {theirs}");
    println!(
        "ratio of medians: {:.2}x rg (goal <= 1.5x); {} threads available",
        ours.p50.as_secs_f64() / theirs.p50.as_secs_f64().max(1e-9),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    app.shutdown().await;
    Ok(())
}

/// `rg -c needle_7` in the tree; the number of matching lines.
fn rg(root: &Path) -> anyhow::Result<usize> {
    let out = Command::new("rg")
        .args(["-c", "--no-messages", "--no-require-git", "-s", "needle_7"])
        .current_dir(root)
        .output()
        .context("running rg (install ripgrep: scripts/setup.sh does)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().filter_map(|l| l.rsplit(':').next()?.parse::<usize>().ok()).sum())
}

/// `make-tree DIR [FILES]`: the same tree, kept, for `farm-bench`.
pub fn make(args: &[String]) -> anyhow::Result<()> {
    let dir = args.get(1).context("usage: atelier-bench make-tree DIR [FILES]")?;
    let files = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(50_000);
    make_tree(Path::new(dir), files)?;
    println!("{files} files in {dir}");
    Ok(())
}
