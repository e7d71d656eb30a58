//! Model management: the provider's models, downloads with progress (`model.pull_progress`
//! on `models`, cancellable, resumed by pulling again) and removal; `models.changed` whenever
//! the list changes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use atelier_llm::{LlmError, PullProgress};
use atelier_protocol::{Empty, FailureInfo, Model, ModelPullProgress, event_types as ev, to_value, topics};
use tokio_util::sync::CancellationToken;

use crate::App;
use crate::error::{CoreError, CoreResult};

/// The downloads under way, by model name.
#[derive(Default)]
pub(crate) struct Pulls {
    running: Mutex<HashMap<String, CancellationToken>>,
}

impl Pulls {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Progress lines closer together than this are merged (a fast download sends hundreds a
/// second); steps and the end always go out.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

impl App {
    /// The models the configured server(s) offer; with `provider`, only that provider's
    /// (`ollama`, `openai`, … as each model's `provider` says).
    pub async fn list_models(&self, provider: Option<&str>) -> CoreResult<Vec<Model>> {
        let models = self.provider().list_models().await?;
        let mut out = Vec::new();
        for m in models.into_iter().filter(|m| provider.is_none_or(|p| m.provider == p)) {
            let probe = self.remembered_probe(&m.name).await;
            out.push(Model {
                name: m.name,
                provider: m.provider,
                size: m.size,
                context_length: m.context_length,
                family: m.family,
                quantization: m.quantization,
                probe,
            });
        }
        Ok(out)
    }

    /// Starts downloading `name`; answers at once. A second pull of a model already being
    /// pulled is a `conflict`.
    pub fn pull_model(&self, name: &str) -> CoreResult<Empty> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_whitespace) {
            return Err(CoreError::InvalidInput(
                "give a model name such as `llama3.2` or `qwen2.5-coder:7b`".into(),
            ));
        }
        let cancel = self.inner.shutdown.child_token();
        {
            let mut running = self.inner.pulls.running();
            if running.contains_key(&name) {
                return Err(CoreError::Conflict(format!("`{name}` is already being pulled")));
            }
            running.insert(name.clone(), cancel.clone());
        }
        let app = self.clone();
        self.spawn(async move {
            let result = app.run_pull(&name, &cancel).await;
            app.inner.pulls.running().remove(&name);
            let publish = |status: &str, error: Option<FailureInfo>| {
                let progress = ModelPullProgress {
                    name: name.clone(),
                    status: status.into(),
                    completed: None,
                    total: None,
                    error,
                };
                app.bus().publish(topics::MODELS, ev::MODEL_PULL_PROGRESS, to_value(&progress));
            };
            match result {
                Ok(()) => {
                    app.bus().publish(topics::MODELS, ev::MODELS_CHANGED, serde_json::json!({}));
                }
                Err(LlmError::Cancelled) => publish("cancelled", None),
                Err(e) => {
                    tracing::warn!(model = %name, error = %e, "pull failed");
                    let missing = matches!(e, LlmError::ModelNotFound { .. });
                    let e = CoreError::from(e);
                    let message = if missing {
                        format!(
                            "There is no model `{name}` to download. Check the name (for example \
                             `llama3.2` or `qwen2.5-coder:7b`)."
                        )
                    } else {
                        e.user_message()
                    };
                    publish("error", Some(FailureInfo { message, kind: e.kind(), retryable: e.retryable() }));
                }
            }
        });
        Ok(Empty {})
    }

    async fn run_pull(&self, name: &str, cancel: &CancellationToken) -> Result<(), LlmError> {
        let bus = self.bus().clone();
        let mut last_sent: Option<(Instant, String)> = None;
        let mut on_progress = |p: PullProgress| {
            let now = Instant::now();
            let quiet = last_sent
                .as_ref()
                .is_some_and(|(at, status)| *status == p.status && now.duration_since(*at) < PROGRESS_EVERY);
            if quiet && p.completed != p.total {
                return;
            }
            last_sent = Some((now, p.status.clone()));
            let progress = ModelPullProgress {
                name: name.to_owned(),
                status: p.status,
                completed: p.completed,
                total: p.total,
                error: None,
            };
            bus.publish(topics::MODELS, ev::MODEL_PULL_PROGRESS, to_value(&progress));
        };
        self.provider().pull_model(name, cancel, &mut on_progress).await
    }

    /// Stops a download; what was downloaded stays, and pulling again resumes it.
    pub fn cancel_pull(&self, name: &str) -> CoreResult<Empty> {
        match self.inner.pulls.running().get(name.trim()) {
            Some(cancel) => {
                cancel.cancel();
                Ok(Empty {})
            }
            None => Err(CoreError::NotFound { what: "download of model", id: name.trim().to_owned() }),
        }
    }

    pub async fn delete_model(&self, name: &str) -> CoreResult<Empty> {
        self.provider().delete_model(name.trim()).await?;
        self.bus().publish(topics::MODELS, ev::MODELS_CHANGED, serde_json::json!({}));
        Ok(Empty {})
    }
}
