//! The sandbox's cost: the start-up of a sandboxed `true` against an unsandboxed one (200 runs of
//! each, interleaved, through `Sandbox::run` as agents' commands go), the cancel latency, and a
//! `cargo build` of a small crate inside and outside bubblewrap (clean each time, the target
//! folder inside the project, `~/.cargo` and `~/.rustup` read-only).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use atelier_sandbox::{Detect, Mode, Policy, RunSpec, Sandbox, SandboxSetting};
use tokio_util::sync::CancellationToken;

use crate::stats::summarize;

const STARTS: usize = 200;
const BUILDS: usize = 5;

pub async fn run() -> anyhow::Result<()> {
    let bubblewrap = Sandbox::detect(SandboxSetting::Bubblewrap).context("bubblewrap")?;
    let off = Sandbox::detect(SandboxSetting::Off)?;
    let landlock = Sandbox::detect_with(
        SandboxSetting::Auto,
        &Detect { bwrap: "/nonexistent/bwrap".into(), ..Detect::default() },
    )
    .ok()
    .filter(|s| s.mode() == &Mode::Landlock);
    let project = tempfile::tempdir()?;
    let policy = Policy::new(project.path());

    // Start-up: `true` run by each, in turn, so drift in the machine's speed hits all alike.
    // CPU time (of every process a run started, as the kernel accounts it) as well as wall
    // time: on a busy machine the wall time is mostly waiting for a turn on a core.
    let (mut plain, mut bwrap, mut lock) = (Vec::new(), Vec::new(), Vec::new());
    let (mut plain_cpu, mut bwrap_cpu) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..STARTS {
        let before = children_cpu();
        plain.push(timed(&off, &policy, "true").await?);
        let between = children_cpu();
        bwrap.push(timed(&bubblewrap, &policy, "true").await?);
        plain_cpu += between.saturating_sub(before);
        bwrap_cpu += children_cpu().saturating_sub(between);
        if let Some(l) = &landlock {
            lock.push(timed(l, &policy, "true").await?);
        }
    }
    let (plain, bwrap) = (summarize(plain), summarize(bwrap));
    println!("sandbox start-up, `true` through Sandbox::run, {STARTS} runs each (interleaved)");
    println!("  unsandboxed: {plain}");
    println!("  bubblewrap:  {bwrap}");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  bubblewrap overhead: p50 +{:.2} ms, p99 +{:.2} ms (goal p50 <= +15 ms)",
        ms(bwrap.p50) - ms(plain.p50),
        ms(bwrap.p99) - ms(plain.p99)
    );
    println!(
        "  CPU per run: unsandboxed {:.2} ms, bubblewrap {:.2} ms",
        ms(plain_cpu) / STARTS as f64,
        ms(bwrap_cpu) / STARTS as f64
    );
    if landlock.is_some() {
        let lock = summarize(lock);
        println!("  landlock:    {lock}");
        println!("  landlock overhead: p50 +{:.2} ms", ms(lock.p50) - ms(plain.p50));
    }

    // Cancel: from the token firing to `run` returning, the process tree gone.
    let mut cancels = Vec::new();
    for _ in 0..20 {
        let cancel = CancellationToken::new();
        let spec = spec(&policy, "echo up; sleep 30 & sleep 30");
        let trigger = cancel.clone();
        let fired = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
        let at = fired.clone();
        let mut on_output = move |_: &[u8]| {
            *at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            trigger.cancel();
        };
        bubblewrap.run(spec, &cancel, &mut on_output).await?;
        let ended = Instant::now();
        if let Some(at) = *fired.lock().unwrap_or_else(|p| p.into_inner()) {
            cancels.push(ended - at);
        }
    }
    println!("cancel → returned, tree killed (bubblewrap, 20 runs): {} (goal <= 100 ms)", summarize(cancels));

    // A small crate built from clean, inside and outside.
    let Some(home) = Detect::default().home else {
        println!("cargo build: skipped (no home folder to find ~/.cargo in)");
        return Ok(());
    };
    let krate = tempfile::tempdir()?;
    write_crate(krate.path())?;
    let allowed = atelier_sandbox::default_read_only(&home);
    let build_policy = Policy { read_only: allowed, ..Policy::new(krate.path()) };
    let command = "rm -rf target && CARGO_TARGET_DIR=target cargo build --offline --quiet";
    let (mut outside, mut inside) = (Vec::new(), Vec::new());
    for _ in 0..BUILDS {
        outside.push(timed(&off, &build_policy, command).await?);
        inside.push(timed(&bubblewrap, &build_policy, command).await?);
    }
    let (outside, inside) = (summarize(outside), summarize(inside));
    println!("cargo build of a small crate (~2,000 lines, no dependencies), from clean, {BUILDS} runs each");
    println!("  outside:    {outside}");
    println!("  bubblewrap: {inside}");
    println!(
        "  ratio of medians: {:.3}× (goal <= 1.1×)",
        inside.p50.as_secs_f64() / outside.p50.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// User and system time of every child process reaped so far (and of what they reaped).
fn children_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(usage) => {
            let t = |tv: nix::sys::time::TimeVal| {
                Duration::from_secs(tv.tv_sec().max(0) as u64)
                    + Duration::from_micros(tv.tv_usec().max(0) as u64)
            };
            t(usage.user_time()) + t(usage.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}

fn spec(policy: &Policy, command: &str) -> RunSpec {
    RunSpec {
        command: command.into(),
        policy: policy.clone(),
        timeout: Duration::from_secs(600),
        output_cap: 64 * 1024,
        env: Vec::new(),
    }
}

async fn timed(sandbox: &Sandbox, policy: &Policy, command: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let out = sandbox.run(spec(policy, command), &CancellationToken::new(), &mut |_| {}).await?;
    let took = started.elapsed();
    anyhow::ensure!(out.success(), "`{command}` failed in {}: {}", sandbox.mode(), out.output);
    Ok(took)
}

/// A library crate of generated code: enough for rustc to have real work, nothing to download.
fn write_crate(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"bench-small\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )?;
    let mut lib = String::new();
    for m in 0..20 {
        lib.push_str(&format!("pub mod m{m} {{\n"));
        for f in 0..20 {
            lib.push_str(&format!(
                "    pub fn f{f}(xs: &[u64]) -> u64 {{\n        xs.iter().map(|x| x.wrapping_mul({f}) ^ {m}).fold(0, |a, b| a.wrapping_add(b))\n    }}\n"
            ));
        }
        lib.push_str(&format!(
            "    pub fn all(xs: &[u64]) -> Vec<u64> {{ vec![{}] }}\n}}\n",
            (0..20).map(|f| format!("f{f}(xs)")).collect::<Vec<_>>().join(", ")
        ));
    }
    std::fs::write(dir.join("src/lib.rs"), lib)?;
    Ok(())
}
