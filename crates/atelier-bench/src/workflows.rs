//! Workflows: the engine's own time per step (model time excluded), the speedup of parallel
//! coders, and how long a cancel takes to be persisted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atelier_agents::{Engine, Events, Options};
use atelier_llm::{ChatRequest, Completion, Delta, LlmConfig, LlmError, ModelInfo, OllamaProvider, Provider};
use atelier_store::{ProjectRow, Store, new_id, now};
use atelier_testkit::{Reply, Scenario, TestLlm};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::stats::summarize;

/// A provider that measures the time spent waiting for the model.
#[derive(Debug)]
struct Timed {
    inner: Arc<dyn Provider>,
    micros: AtomicU64,
    calls: AtomicU64,
}

#[async_trait::async_trait]
impl Provider for Timed {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn endpoint(&self) -> &str {
        self.inner.endpoint()
    }
    async fn chat(
        &self,
        req: &ChatRequest,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError> {
        let started = Instant::now();
        let result = self.inner.chat(req, cancel, on_delta).await;
        self.micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::Relaxed);
        result
    }
    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        self.inner.list_models().await
    }
    async fn context_length(&self, model: &str) -> Result<Option<u32>, LlmError> {
        self.inner.context_length(model).await
    }
    async fn capabilities(&self, model: &str) -> Result<atelier_llm::ModelCapabilities, LlmError> {
        self.inner.capabilities(model).await
    }
    async fn version(&self) -> Result<String, LlmError> {
        self.inner.version().await
    }
}

/// When each workflow reached each state.
#[derive(Default)]
struct States {
    seen: Mutex<Vec<(String, String, Instant)>>,
}

impl Events for States {
    /// States as they are named; stages (from `workflow.progress`) as `stage:<name>`.
    fn publish(&self, topic: &str, kind: &str, data: Value) {
        let reached = match kind {
            "workflow.state" => data["state"].as_str().unwrap_or_default().to_owned(),
            "workflow.progress" => format!("stage:{}", data["stage"].as_str().unwrap_or_default()),
            _ => return,
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((topic.to_owned(), reached, Instant::now()));
        }
    }
}

impl States {
    fn reached(&self, id: &str, state: &str) -> Option<Instant> {
        let topic = format!("workflow/{id}");
        self.seen.lock().ok()?.iter().find(|(t, s, _)| *t == topic && s == state).map(|(_, _, at)| *at)
    }
}

pub(crate) fn script(llm: &TestLlm, files: usize, token_delay: Duration) {
    llm.route("Your module:", Scenario::Reply(Reply::text("spec")));
    let paths: Vec<Value> =
        (0..files).map(|i| json!({ "path": format!("src/f{i}.txt"), "purpose": "text" })).collect();
    let plan =
        json!({ "summary": "Bench", "modules": [{ "name": "m", "responsibility": "r", "files": paths }] });
    llm.route("Write the file", Scenario::Reply(Reply::repeat("word ", 20).delay(token_delay)));
    // Last: every prompt contains the request, so the more specific routes must come first.
    llm.route("BENCH", Scenario::Reply(Reply::text(&plan.to_string())));
}

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    project: String,
    root: PathBuf,
}

async fn env() -> anyhow::Result<Env> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("p");
    std::fs::create_dir_all(&root)?;
    atelier_git::ensure_repository(&root)?;
    let store = Store::open(&dir.path().join("atelier.db"))?;
    let project = ProjectRow {
        id: new_id("prj"),
        name: "bench".into(),
        path: root.to_string_lossy().into(),
        created_at: now(),
    };
    store.insert_project(project.clone()).await?;
    Ok(Env { _dir: dir, store, project: project.id, root })
}

async fn until_done(store: &Store, id: &str) -> anyhow::Result<String> {
    loop {
        let state = store.get_workflow(id).await?.state;
        if ["completed", "failed", "cancelled"].contains(&state.as_str()) {
            return Ok(state);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One workflow as `script` planned it; returns (wall time, model time, model calls, time of
/// the coders' stage).
async fn one(llm: &TestLlm, parallel: usize) -> anyhow::Result<(Duration, Duration, u64, Duration)> {
    one_on(Arc::new(OllamaProvider::new(llm.url().parse()?, LlmConfig::default())?), parallel).await
}

/// One workflow as `script` planned it, through `inner` (a server or a pool of them).
pub(crate) async fn one_on(
    inner: Arc<dyn Provider>,
    parallel: usize,
) -> anyhow::Result<(Duration, Duration, u64, Duration)> {
    let env = env().await?;
    let provider = Arc::new(Timed { inner, micros: AtomicU64::new(0), calls: AtomicU64::new(0) });
    let states = Arc::new(States::default());
    let engine = Engine::new(
        env.store.clone(),
        provider.clone(),
        states.clone(),
        Some("test-model".into()),
        sandbox()?,
    );
    let started = Instant::now();
    let options = Options { max_parallel: parallel, ..Options::default() };
    let wf = engine.start(&env.project, env.root.clone(), "BENCH", options).await?;
    let state = until_done(&env.store, &wf.id).await?;
    anyhow::ensure!(state == "completed", "workflow ended {state}");
    let wall = started.elapsed();
    let coders = match (states.reached(&wf.id, "stage:write"), states.reached(&wf.id, "stage:commit")) {
        (Some(from), Some(to)) => to.saturating_duration_since(from),
        _ => wall,
    };
    let model = Duration::from_micros(provider.micros.load(Ordering::Relaxed));
    Ok((wall, model, provider.calls.load(Ordering::Relaxed), coders))
}

pub async fn run() -> anyhow::Result<()> {
    println!("== workflows");
    let llm = TestLlm::start().await?;

    // Orchestration overhead: everything sequential, an instant model; wall time minus the time
    // spent in model calls, per step (a step is one model call and its effect).
    script(&llm, 16, Duration::ZERO);
    one(&llm, 1).await?;
    let mut per_step = Vec::new();
    for _ in 0..10 {
        let (wall, model, calls, _) = one(&llm, 1).await?;
        per_step.push(wall.saturating_sub(model) / calls as u32);
    }
    println!("engine time per step, model time excluded (16 files, sequential): {}", summarize(per_step));

    // Parallel speedup: 16 files, 20 tokens each at 5 ms per token.
    let llm = TestLlm::start().await?;
    script(&llm, 16, Duration::from_millis(5));
    let mut base = None;
    for parallel in [1usize, 4, 8] {
        let (wall, _, _, coders) = one(&llm, parallel).await?;
        let (w1, c1) = *base.get_or_insert((wall, coders));
        let speedup = c1.as_secs_f64() / coders.as_secs_f64();
        println!(
            "16 files, max_parallel {parallel}: whole workflow {:.2} s ({:.2}x); coders' stage {:.2} s, speedup {:.2}x = {:.2} of ideal",
            wall.as_secs_f64(),
            w1.as_secs_f64() / wall.as_secs_f64(),
            coders.as_secs_f64(),
            speedup,
            speedup / parallel as f64
        );
    }

    // Cancel latency: cancel while 4 coders stream; time until `cancelled` is saved.
    let llm = TestLlm::start().await?;
    script(&llm, 16, Duration::from_millis(5));
    let env = env().await?;
    let states = Arc::new(States::default());
    let provider = Arc::new(OllamaProvider::new(llm.url().parse()?, LlmConfig::default())?);
    let engine =
        Engine::new(env.store.clone(), provider, states.clone(), Some("test-model".into()), sandbox()?);
    let mut latencies = Vec::new();
    for i in 0..50u64 {
        let options = Options { max_parallel: 4, ..Options::default() };
        let wf = engine.start(&env.project, env.root.clone(), "BENCH", options).await?;
        while states.reached(&wf.id, "running").is_none() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(20 + (i * 7) % 60)).await;
        let asked = Instant::now();
        engine.control(&wf.id, "cancel").await?;
        let cancelled = loop {
            if let Some(at) = states.reached(&wf.id, "cancelled") {
                break at;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        latencies.push(cancelled.saturating_duration_since(asked));
    }
    println!("cancel to state saved and announced: {} (goal p99 <= 100 ms)", summarize(latencies));
    Ok(())
}

/// The sandbox checks would run in (these benchmarks run none, but the engine needs one).
fn sandbox() -> anyhow::Result<Arc<dyn atelier_agents::Confine>> {
    let sandbox = Arc::new(atelier_sandbox::Sandbox::detect(atelier_sandbox::SandboxSetting::Auto)?);
    Ok(Arc::new(
        move |project: &std::path::Path| -> Result<(Arc<atelier_sandbox::Sandbox>, atelier_sandbox::Policy), String> {
            Ok((sandbox.clone(), atelier_sandbox::Policy::new(project)))
        },
    ))
}
