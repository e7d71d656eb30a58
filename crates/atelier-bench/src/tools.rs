//! `tools`: what the agent loop adds per tool call, the model excluded — read tools called
//! through the registry as the loop calls them (argument reading, the resolver, the work, the
//! cut to size) on a project of 2,000 files; and `find PATTERN DIR`, one `find_in_files` search
//! as a process of its own, to be timed against `rg` with `farm-bench --vs`.

use std::sync::Arc;
use std::time::Instant;

use atelier_sandbox::{Policy, Sandbox, SandboxSetting};
use atelier_tools::{Registry, SandboxRunner, ToolContext};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn run() -> anyhow::Result<()> {
    println!("== tools: engine overhead per tool call (model excluded)");
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("p");
    for i in 0..2_000 {
        let folder = root.join(format!("src/m{}", i % 40));
        std::fs::create_dir_all(&folder)?;
        let body: String =
            (0..60).map(|l| format!("pub fn f{i}_{l}(x: u32) -> u32 {{ x + {l} }}\n")).collect();
        std::fs::write(folder.join(format!("f{i}.rs")), body)?;
    }
    let sandbox = Arc::new(Sandbox::detect(SandboxSetting::Auto)?);
    let ctx = ToolContext {
        runner: Arc::new(SandboxRunner { sandbox, policy: Policy::new(&root) }),
        root: root.clone(),
        cancel: CancellationToken::new(),
        max_result_chars: 38_000,
    };
    let registry = Registry::with_builtins();
    let cases = [
        ("read_file (60 lines)", "read_file", json!({ "path": "src/m7/f7.rs" }), 2_000),
        (
            "read_file (a range)",
            "read_file",
            json!({ "path": "src/m7/f7.rs", "start_line": "10", "end_line": 20 }),
            2_000,
        ),
        ("list_files (one folder)", "list_files", json!({ "path": "src/m3" }), 1_000),
        (
            "find_in_files (2,000 files)",
            "find_in_files",
            json!({ "pattern": "f1234_5\\b", "regex": true }),
            100,
        ),
        ("search_code (2,000 files, words)", "search_code", json!({ "query": "f777_1 x" }), 30),
    ];
    for (label, name, args, runs) in cases {
        let tool = registry.get(name).ok_or_else(|| anyhow::anyhow!("no tool {name}"))?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let output = tool.call(&ctx, args.clone(), &mut |_| {}).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(output.status == atelier_tools::CallStatus::Ok, "{name}: {}", output.content);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{label:36} p50 {:8.3} ms   p99 {:8.3} ms   ({runs} calls)",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    Ok(())
}

/// One `find_in_files` search of `pattern` (plain text) in `dir`, printing the number of
/// matching lines: for `farm-bench --vs 'rg -c …'`.
pub fn find(args: &[String]) -> anyhow::Result<()> {
    let (Some(pattern), Some(dir)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: atelier-bench find PATTERN DIR");
    };
    let options = atelier_files::SearchOptions { limit: usize::MAX, ..Default::default() };
    let result = atelier_files::search(std::path::Path::new(dir), pattern, &options)?;
    println!("{} matching lines in {} files searched", result.matches.len(), result.files_searched);
    Ok(())
}
