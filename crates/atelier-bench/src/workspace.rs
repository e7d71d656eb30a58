//! Workspace services: terminal throughput against a raw PTY read, git status against git
//! itself on a large repository, and how fast an outside edit is noticed.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use anyhow::Context;
use atelier_core::{App, ClientLimits, Config};
use atelier_llm::{LlmConfig, OllamaProvider};
use base64::Engine as _;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use serde_json::json;

use crate::rpc::call;
use crate::stats::summarize;

const MB: usize = 1024 * 1024;

/// `cat` of the file in a bare PTY, read until EOF: the machine's own speed.
fn raw_pty(file: &Path) -> anyhow::Result<Duration> {
    let pair = native_pty_system()
        .openpty(PtySize { rows: 24, cols: 80, pixel_width: 0, pixel_height: 0 })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut cmd = CommandBuilder::new("cat");
    cmd.arg(file);
    let started = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    let elapsed = started.elapsed();
    child.wait().ok();
    anyhow::ensure!(total >= 100 * MB, "raw read got only {total} bytes");
    Ok(elapsed)
}

/// The same `cat` through Atelier's terminal to a subscribed client, until the end marker.
async fn through_atelier(dir: &Path) -> anyhow::Result<Duration> {
    let provider = OllamaProvider::new("http://127.0.0.1:9".parse()?, LlmConfig::default())?;
    let app = App::start(Config::new(dir.join("data"), Arc::new(provider))).await?;
    let client = app.connect(ClientLimits::local());
    let project = call(&client, "projects.import", json!({ "path": dir })).await?;
    let opened =
        call(&client, "terminals.open", json!({ "project_id": project["id"], "cols": 80, "rows": 24 }))
            .await?;
    let id = opened["terminal_id"].as_str().context("id")?.to_owned();
    call(&client, "subscribe", json!({ "topics": [format!("terminal/{id}")] })).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    while client.try_next_event().is_some() {}
    let started = Instant::now();
    call(
        &client,
        "terminals.write",
        json!({ "terminal_id": id, "data": "cat big.txt; printf '\\074\\074E\\076\\076'\n" }),
    )
    .await?;
    let mut total = 0usize;
    let mut tail = Vec::new();
    loop {
        let event =
            tokio::time::timeout(Duration::from_secs(120), client.next_event()).await?.context("closed")?;
        if event.event.kind != "terminal.output" {
            continue;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(event.event.data["data_b64"].as_str().unwrap_or_default())?;
        total += bytes.len();
        tail.extend_from_slice(&bytes);
        if tail.len() > 16 {
            tail.drain(..tail.len() - 16);
        }
        if tail.windows(5).any(|w| w == b"<<E>>") {
            break;
        }
    }
    let elapsed = started.elapsed();
    anyhow::ensure!(total >= 100 * MB, "got only {total} bytes");
    app.shutdown().await;
    Ok(elapsed)
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("git").args(args).current_dir(dir).status()?;
    anyhow::ensure!(status.success(), "git {args:?} failed");
    Ok(())
}

pub async fn run() -> anyhow::Result<()> {
    println!("== workspace services");
    let dir = tempfile::tempdir()?;
    // 100 MB of text (the PTY turns each \n into \r\n, so a bit more arrives).
    let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_+=!?\n";
    std::fs::write(dir.path().join("big.txt"), line.repeat(100 * MB / line.len() + 1))?;
    let file = dir.path().join("big.txt");
    let raw = tokio::task::spawn_blocking(move || raw_pty(&file)).await??;
    let ours = through_atelier(dir.path()).await?;
    let speed = |d: Duration| 100.0 / d.as_secs_f64();
    println!(
        "cat 100 MB: raw PTY read {:.2} s ({:.0} MB/s); through Atelier to a subscriber {:.2} s ({:.0} MB/s) = {:.2}x of raw (goal >= 0.8x)",
        raw.as_secs_f64(),
        speed(raw),
        ours.as_secs_f64(),
        speed(ours),
        raw.as_secs_f64() / ours.as_secs_f64()
    );

    // git status on 50,000 files, 100 of them modified.
    let repo = tempfile::tempdir()?;
    for d in 0..100 {
        let sub = repo.path().join(format!("d{d:03}"));
        std::fs::create_dir_all(&sub)?;
        for f in 0..500 {
            std::fs::write(sub.join(format!("f{f:03}.txt")), format!("{d} {f}\n"))?;
        }
    }
    git(repo.path(), &["init", "-q", "-b", "main"])?;
    git(repo.path(), &["-c", "user.name=b", "-c", "user.email=b@b", "add", "-A"])?;
    git(repo.path(), &["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "files"])?;
    for d in 0..100 {
        std::fs::write(repo.path().join(format!("d{d:03}/f000.txt")), "changed\n")?;
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let t = Instant::now();
        let status = atelier_git::status(repo.path())?;
        ours.push(t.elapsed());
        anyhow::ensure!(status.entries.len() == 100, "expected 100 changes, got {}", status.entries.len());
        let t = Instant::now();
        let out = Command::new("git").args(["status", "--porcelain=v2"]).current_dir(repo.path()).output()?;
        theirs.push(t.elapsed());
        anyhow::ensure!(out.status.success(), "git status failed");
    }
    let (o, t) = (summarize(ours).p50, summarize(theirs).p50);
    println!(
        "git status, 50,000 files, 100 changed (median of 5): atelier {:.1} ms, git {:.1} ms = {:.2}x of git's time (goal <= 1.5x)",
        o.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e3,
        o.as_secs_f64() / t.as_secs_f64()
    );

    // Watcher latency: an outside write until the change is reported.
    let watched = tempfile::tempdir()?;
    let (tx, rx) = channel::<Instant>();
    let _watch = atelier_files::watch(watched.path(), move |_paths| {
        tx.send(Instant::now()).ok();
    })?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut latencies = Vec::new();
    for i in 0..100 {
        let t = Instant::now();
        std::fs::write(watched.path().join(format!("f{i}.txt")), "x")?;
        let seen = rx.recv_timeout(Duration::from_secs(5))?;
        latencies.push(seen.saturating_duration_since(t));
        tokio::time::sleep(Duration::from_millis(60)).await;
        while rx.try_recv().is_ok() {}
    }
    println!("watcher: outside write to files.changed {} (goal p99 <= 200 ms)", summarize(latencies));

    // A 100,000-file tree (1,000 folders) beside an ignored node_modules of 20,000 folders: how
    // long the watch takes to set up, what it costs, and how many watches it holds.
    let big = tempfile::tempdir()?;
    for d in 0..1_000 {
        let sub = big.path().join(format!("d{d:04}"));
        std::fs::create_dir_all(&sub)?;
        for f in 0..100 {
            std::fs::write(sub.join(format!("f{f:03}")), "x")?;
        }
    }
    std::fs::write(big.path().join(".gitignore"), "node_modules/\n")?;
    for p in 0..20_000 {
        std::fs::create_dir_all(big.path().join(format!("node_modules/p{p:05}")))?;
    }
    let inotify_watches = || -> usize {
        std::fs::read_dir("/proc/self/fdinfo")
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .map(|info| info.lines().filter(|l| l.starts_with("inotify wd:")).count())
                    .sum()
            })
            .unwrap_or(0)
    };
    let watches_before = inotify_watches();
    let rss = || -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix("VmRSS:").and_then(|v| v.split_whitespace().next()?.parse().ok())
                })
            })
            .unwrap_or(0)
    };
    let before = rss();
    let (tx, rx) = channel::<Vec<String>>();
    let t = Instant::now();
    let _big_watch = atelier_files::watch(big.path(), move |paths| {
        tx.send(paths).ok();
    })?;
    let setup = t.elapsed();
    let after = rss();
    let watches = inotify_watches() - watches_before;
    let t = Instant::now();
    std::fs::write(big.path().join("d0999/new.txt"), "x")?;
    let seen = rx.recv_timeout(Duration::from_secs(5))?;
    println!(
        "watcher on 100,000 files in 1,000 folders (+ an ignored node_modules of 20,000 folders): \
         set up in {:.0} ms, {watches} inotify watches, {:.1} MiB more memory, first change in {:.0} ms: {:?}",
        setup.as_secs_f64() * 1e3,
        after.saturating_sub(before) as f64 / 1024.0,
        t.elapsed().as_secs_f64() * 1e3,
        seen.iter().take(5).collect::<Vec<_>>()
    );
    Ok(())
}
