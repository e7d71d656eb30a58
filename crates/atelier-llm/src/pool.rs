//! An endpoint pool: several servers serving the same model (Ollama hosts, OpenAI-compatible
//! servers such as vLLM or llama.cpp's) presented as one [`Provider`].
//!
//! Each request goes to the healthy endpoint with the fewest requests in flight, within a
//! per-endpoint limit (a semaphore each); when every healthy endpoint is full, requests wait for
//! the first free slot on any of them. An endpoint that cannot be reached, or fails before the
//! first token, is taken out and the request moves on to the next one, so the caller sees no
//! error while another endpoint works. A taken-out endpoint is probed (its cheap version call)
//! after a backoff that doubles from `retry_min` to `retry_max`, and comes back when the probe
//! answers. A reply that breaks off mid-stream is not replayed here (its deltas are already
//! out): the error goes to the caller, the endpoint is taken out, and the caller's own retry
//! (workflow steps retry such failures) lands on a healthy endpoint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::stream::{MAX_RETRY_AFTER, backoff};
use crate::{
    ChatRequest, Completion, Delta, LlmConfig, LlmError, ModelCapabilities, ModelInfo, OllamaProvider,
    OpenAiCompatProvider, Provider, PullProgress,
};

/// How the pool spreads requests and takes failing endpoints out.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Requests in flight per endpoint.
    pub per_endpoint: usize,
    /// The first wait before a failed endpoint is probed again; it doubles on each failure.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// How long a probe may take.
    pub probe_timeout: Duration,
    /// Rounds over every endpoint (with backoff between them) before a request gives up, and
    /// the waits between rounds.
    pub max_rounds: usize,
    pub round_min_delay: Duration,
    pub round_max_delay: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        let llm = LlmConfig::default();
        Self {
            per_endpoint: 2,
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(5),
            max_rounds: llm.max_retries,
            round_min_delay: llm.retry_min_delay,
            round_max_delay: llm.retry_max_delay,
        }
    }
}

/// What the pool knows about one endpoint now (for health and `atelier doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// The member's base URL.
    pub endpoint: String,
    /// `ollama` or `openai`.
    pub kind: String,
    /// `false` while it is taken out after a failure.
    pub healthy: bool,
    pub in_flight: usize,
    pub limit: usize,
    /// Requests it answered successfully.
    pub served: u64,
    /// Why it was taken out (the error, which names the endpoint), while it is out.
    pub last_error: Option<String>,
    /// How long until it is probed again, while it is out.
    pub retry_in: Option<Duration>,
}

struct Health {
    healthy: bool,
    backoff: Duration,
    retry_at: Instant,
    probing: bool,
    last_error: Option<String>,
    served: u64,
}

struct Member {
    provider: Arc<dyn Provider>,
    slots: Arc<Semaphore>,
    limit: usize,
    health: Mutex<Health>,
}

impl Member {
    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn in_flight(&self) -> usize {
        self.limit - self.slots.available_permits()
    }

    fn succeeded(&self) {
        let mut health = self.health();
        if !health.healthy {
            tracing::info!(endpoint = self.provider.endpoint(), "model endpoint back in the pool");
        }
        health.healthy = true;
        health.last_error = None;
        health.served += 1;
    }

    /// Takes the endpoint out until a probe after a backoff (doubling while it keeps failing).
    fn failed(&self, error: &LlmError, config: &PoolConfig) {
        let mut health = self.health();
        health.backoff = if health.healthy {
            config.retry_min
        } else {
            (health.backoff * 2).clamp(config.retry_min, config.retry_max)
        };
        if health.healthy {
            tracing::warn!(endpoint = self.provider.endpoint(), error = %error, "model endpoint taken out of the pool");
        }
        health.healthy = false;
        health.retry_at = Instant::now() + health.backoff;
        health.last_error = Some(error.to_string());
    }
}

/// A request's slot on an endpoint; freeing it wakes the requests waiting for one.
struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    changed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.changed.notify_waiters();
    }
}

/// Several servers for the same model as one [`Provider`]; see the module documentation.
pub struct EndpointPool {
    members: Vec<Arc<Member>>,
    config: PoolConfig,
    /// Notified when a slot is freed or an endpoint comes back.
    changed: Arc<Notify>,
    /// Breaks ties between equally busy endpoints in turn.
    turn: AtomicUsize,
    name: String,
    endpoint: String,
}

impl std::fmt::Debug for EndpointPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointPool").field("endpoints", &self.endpoint).finish_non_exhaustive()
    }
}

impl EndpointPool {
    /// A pool of `members`, each allowed `config.per_endpoint` requests at once. Members should
    /// be built with `max_retries: 0`: moving on to another endpoint is the pool's retry.
    pub fn new(members: Vec<Arc<dyn Provider>>, config: PoolConfig) -> Result<EndpointPool, LlmError> {
        if members.is_empty() {
            return Err(LlmError::InvalidRequest("an endpoint pool needs at least one endpoint".into()));
        }
        if config.per_endpoint == 0 {
            return Err(LlmError::InvalidRequest("the concurrency per endpoint must be at least 1".into()));
        }
        let names: Vec<&str> = members.iter().map(|m| m.name()).collect();
        let name = if names.iter().all(|n| *n == names[0]) { names[0].to_owned() } else { "pool".to_owned() };
        let endpoint = members.iter().map(|m| m.endpoint()).collect::<Vec<_>>().join(", ");
        let members = members
            .into_iter()
            .map(|provider| {
                Arc::new(Member {
                    provider,
                    slots: Arc::new(Semaphore::new(config.per_endpoint)),
                    limit: config.per_endpoint,
                    health: Mutex::new(Health {
                        healthy: true,
                        backoff: config.retry_min,
                        retry_at: Instant::now(),
                        probing: false,
                        last_error: None,
                        served: 0,
                    }),
                })
            })
            .collect();
        Ok(EndpointPool {
            members,
            config,
            changed: Arc::new(Notify::new()),
            turn: AtomicUsize::new(0),
            name,
            endpoint,
        })
    }

    /// A pool from a list like `http://a:11434, openai+http://b:8000/v1`: each entry an Ollama
    /// host (as `OLLAMA_HOST` is written) or, prefixed `openai+`, an OpenAI-compatible server
    /// (sent `api_key` when given). `llm` configures each member's timeouts.
    pub fn from_spec(
        spec: &str,
        api_key: Option<String>,
        llm: LlmConfig,
        config: PoolConfig,
    ) -> Result<EndpointPool, LlmError> {
        let llm = LlmConfig { max_retries: 0, ..llm };
        let mut members: Vec<Arc<dyn Provider>> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Some(url) = entry.strip_prefix("openai+") {
                let base: Url = url.parse().map_err(|e| {
                    LlmError::InvalidRequest(format!("endpoint `{entry}` is not a URL ({e})"))
                })?;
                if !matches!(base.scheme(), "http" | "https") {
                    return Err(LlmError::InvalidRequest(format!(
                        "endpoint `{entry}`: after `openai+` comes an http:// or https:// URL"
                    )));
                }
                members.push(Arc::new(OpenAiCompatProvider::new(base, api_key.clone(), llm.clone())?));
            } else if let Some((scheme, _)) = entry.split_once("://")
                && !matches!(scheme, "http" | "https" | "ollama")
            {
                return Err(LlmError::InvalidRequest(format!(
                    "endpoint `{entry}`: use host:port or http://host:port for Ollama, \
                     openai+http://host:port/v1 for an OpenAI-compatible server"
                )));
            } else {
                let entry = entry.strip_prefix("ollama+").unwrap_or(entry);
                members.push(Arc::new(OllamaProvider::new(crate::parse_ollama_host(entry), llm.clone())?));
            }
        }
        if members.is_empty() {
            return Err(LlmError::InvalidRequest(
                "the endpoint list is empty; give URLs separated by commas".into(),
            ));
        }
        EndpointPool::new(members, config)
    }

    /// The endpoints and what the pool knows about each.
    pub fn status(&self) -> Vec<EndpointStatus> {
        let now = Instant::now();
        self.members
            .iter()
            .map(|m| {
                let health = m.health();
                EndpointStatus {
                    endpoint: m.provider.endpoint().to_owned(),
                    kind: m.provider.name().to_owned(),
                    healthy: health.healthy,
                    in_flight: m.in_flight(),
                    limit: m.limit,
                    served: health.served,
                    last_error: health.last_error.clone(),
                    retry_in: (!health.healthy).then(|| health.retry_at.saturating_duration_since(now)),
                }
            })
            .collect()
    }

    /// The member providers, in the order they were given.
    pub fn members(&self) -> Vec<Arc<dyn Provider>> {
        self.members.iter().map(|m| m.provider.clone()).collect()
    }

    /// Probes taken-out endpoints whose backoff is over (each at most once at a time); a probe
    /// that answers puts its endpoint back and wakes the waiting requests.
    fn probe_due(&self) {
        let now = Instant::now();
        for member in &self.members {
            {
                let mut health = member.health();
                if health.healthy || health.probing || health.retry_at > now {
                    continue;
                }
                health.probing = true;
            }
            let member = member.clone();
            let changed = self.changed.clone();
            let config = self.config.clone();
            tokio::spawn(async move {
                let answer = tokio::time::timeout(config.probe_timeout, member.provider.version()).await;
                match answer {
                    Ok(Ok(_)) => {
                        let mut health = member.health();
                        health.healthy = true;
                        health.last_error = None;
                        tracing::info!(
                            endpoint = member.provider.endpoint(),
                            "model endpoint back in the pool"
                        );
                    }
                    Ok(Err(e)) => member.failed(&e, &config),
                    Err(_) => member.failed(
                        &LlmError::Timeout {
                            endpoint: member.provider.endpoint().to_owned(),
                            what: "a probe",
                        },
                        &config,
                    ),
                }
                member.health().probing = false;
                changed.notify_waiters();
            });
        }
    }

    /// A slot on an endpoint this request has not tried yet: the least busy healthy one, or
    /// when none is healthy, any (the request is then the probe). Waits while every candidate
    /// is full. `None` when every endpoint was tried.
    async fn acquire(
        &self,
        tried: &[bool],
        cancel: &CancellationToken,
    ) -> Result<Option<(usize, Slot)>, LlmError> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            self.probe_due();
            let healthy: Vec<bool> = self.members.iter().map(|m| m.health().healthy).collect();
            let any_healthy = healthy.iter().any(|h| *h);
            let candidates: Vec<usize> =
                (0..self.members.len()).filter(|&i| !tried[i] && (healthy[i] || !any_healthy)).collect();
            if candidates.is_empty() {
                return Ok(None);
            }
            let n = self.members.len();
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            let mut order = candidates.clone();
            order.sort_by_key(|&i| (self.members[i].in_flight(), (i + n - turn % n) % n));
            for i in order {
                if let Ok(permit) = self.members[i].slots.clone().try_acquire_owned() {
                    return Ok(Some((i, Slot { permit: Some(permit), changed: self.changed.clone() })));
                }
            }
            // Every candidate is full: wait for a free slot, an endpoint coming back, or the next
            // probe being due.
            let next_probe = self
                .members
                .iter()
                .filter_map(|m| {
                    let h = m.health();
                    (!h.healthy && !h.probing).then_some(h.retry_at)
                })
                .min()
                .unwrap_or_else(|| Instant::now() + self.config.retry_max);
            tokio::select! {
                () = cancel.cancelled() => return Err(LlmError::Cancelled),
                () = &mut changed => {}
                () = tokio::time::sleep_until(next_probe.into()) => {}
            }
        }
    }
}

/// Whether an error says the endpoint itself is in trouble (rather than the request).
fn endpoint_failed(error: &LlmError) -> bool {
    match error {
        LlmError::Unreachable { .. } | LlmError::Timeout { .. } | LlmError::Stream { .. } => true,
        LlmError::Http { status, .. } => *status >= 500 || *status == 408,
        _ => false,
    }
}

/// The endpoints' lists merged, each name once; an error only when no endpoint answered.
fn union<T>(answers: Vec<Result<Vec<T>, LlmError>>, name: impl Fn(&T) -> &str) -> Result<Vec<T>, LlmError> {
    let mut merged: Vec<T> = Vec::new();
    let mut last_error = None;
    let mut answered = false;
    for answer in answers {
        match answer {
            Ok(list) => {
                answered = true;
                for item in list {
                    if !merged.iter().any(|m| name(m) == name(&item)) {
                        merged.push(item);
                    }
                }
            }
            Err(e) => last_error = Some(e),
        }
    }
    match last_error {
        Some(e) if !answered => Err(e),
        _ => Ok(merged),
    }
}

#[async_trait::async_trait]
impl Provider for EndpointPool {
    fn name(&self) -> &str {
        &self.name
    }

    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn pool(&self) -> Option<&EndpointPool> {
        Some(self)
    }

    async fn chat(
        &self,
        req: &ChatRequest,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError> {
        let mut rounds =
            backoff(self.config.round_min_delay, self.config.round_max_delay, self.config.max_rounds);
        let mut tried = vec![false; self.members.len()];
        let mut last_error: Option<LlmError> = None;
        loop {
            let Some((index, slot)) = self.acquire(&tried, cancel).await? else {
                // Every endpoint failed this request once: wait, then go round again.
                let error = last_error.take().unwrap_or_else(|| LlmError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    reason: "no endpoint of the pool is available".into(),
                });
                if !error.retryable() {
                    return Err(error);
                }
                let Some(mut wait) = rounds.next() else { return Err(error) };
                if let LlmError::RateLimited { retry_after: Some(after), .. } = &error {
                    if *after > MAX_RETRY_AFTER {
                        return Err(error);
                    }
                    wait = wait.max(*after);
                }
                tokio::select! {
                    () = cancel.cancelled() => return Err(LlmError::Cancelled),
                    () = tokio::time::sleep(wait) => {}
                }
                tried.fill(false);
                last_error = Some(error);
                continue;
            };
            let member = &self.members[index];
            let mut emitted = false;
            let result = {
                let mut forward = |delta: Delta| {
                    emitted = true;
                    on_delta(delta);
                };
                member.provider.chat(req, cancel, &mut forward).await
            };
            drop(slot);
            let error = match result {
                Ok(completion) => {
                    member.succeeded();
                    return Ok(completion);
                }
                Err(e) => e,
            };
            if endpoint_failed(&error) {
                member.failed(&error, &self.config);
            }
            // After deltas went out a retry would repeat them: the caller decides. Errors about
            // the request itself (a refused key, a cancel) would be the same anywhere.
            let moves_on = endpoint_failed(&error)
                || matches!(error, LlmError::RateLimited { .. } | LlmError::ModelNotFound { .. });
            if emitted || !moves_on {
                return Err(error);
            }
            tracing::debug!(endpoint = member.provider.endpoint(), error = %error, "moving the request to another endpoint");
            tried[index] = true;
            // A missing model on one endpoint says less than an unreachable one elsewhere.
            if !(matches!(error, LlmError::ModelNotFound { .. }) && last_error.is_some()) {
                last_error = Some(error);
            }
        }
    }

    /// Every model some endpoint has (a model on several endpoints is listed once).
    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let answers = futures::future::join_all(self.members.iter().map(|m| m.provider.list_models())).await;
        union(answers, |m| m.name.as_str())
    }

    async fn model_names(&self) -> Result<Vec<String>, LlmError> {
        let answers = futures::future::join_all(self.members.iter().map(|m| m.provider.model_names())).await;
        union(answers, String::as_str)
    }

    async fn context_length(&self, model: &str) -> Result<Option<u32>, LlmError> {
        let mut last_error = None;
        for member in &self.members {
            match member.provider.context_length(model).await {
                Ok(Some(n)) => return Ok(Some(n)),
                Ok(None) => last_error = None,
                Err(e) => last_error = Some(e),
            }
        }
        last_error.map_or(Ok(None), Err)
    }

    /// The first endpoint that knows whether the model takes tools says so; the context
    /// length is the first one given. Endpoints may differ (an old Ollama does not say), so
    /// one that does not know does not hide one that does.
    async fn capabilities(&self, model: &str) -> Result<ModelCapabilities, LlmError> {
        let mut known = ModelCapabilities::default();
        let mut last_error = None;
        let mut answered = false;
        for member in &self.members {
            match member.provider.capabilities(model).await {
                Ok(found) => {
                    answered = true;
                    known.tools = known.tools.or(found.tools);
                    known.context_length = known.context_length.or(found.context_length);
                    if known.tools.is_some() && known.context_length.is_some() {
                        break;
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        match last_error {
            Some(e) if !answered => Err(e),
            _ => Ok(known),
        }
    }

    /// The first endpoint that answers.
    async fn version(&self) -> Result<String, LlmError> {
        let mut last_error = None;
        for member in &self.members {
            match member.provider.version().await {
                Ok(v) => return Ok(v),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| LlmError::InvalidRequest("the pool has no endpoints".into())))
    }

    /// Pulls the model onto every endpoint in turn, reporting each one's progress.
    async fn pull_model(
        &self,
        name: &str,
        cancel: &CancellationToken,
        on_progress: &mut (dyn FnMut(PullProgress) + Send),
    ) -> Result<(), LlmError> {
        for member in &self.members {
            member.provider.pull_model(name, cancel, on_progress).await?;
        }
        Ok(())
    }

    /// The first endpoint that makes the embeddings (healthy ones first).
    async fn embed(&self, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let mut order: Vec<&Arc<Member>> = self.members.iter().collect();
        order.sort_by_key(|m| !m.health().healthy);
        let mut last_error = None;
        for member in order {
            match member.provider.embed(model, input).await {
                Ok(vectors) => return Ok(vectors),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| LlmError::InvalidRequest("the pool has no endpoints".into())))
    }

    /// Every endpoint's embedding models, each once.
    async fn embedding_models(&self) -> Result<Vec<String>, LlmError> {
        let answers =
            futures::future::join_all(self.members.iter().map(|m| m.provider.embedding_models())).await;
        union(answers, String::as_str)
    }

    /// Removes the model from every endpoint that has it.
    async fn delete_model(&self, name: &str) -> Result<(), LlmError> {
        let mut deleted = false;
        for member in &self.members {
            match member.provider.delete_model(name).await {
                Ok(()) => deleted = true,
                Err(LlmError::ModelNotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if deleted { Ok(()) } else { Err(LlmError::ModelNotFound { model: name.to_owned() }) }
    }
}
