//! The model server the person points Atelier at from the UI (the setting `model_server`),
//! applied at once: the provider every part holds is a [`Switch`] that forwards to the server
//! of the environment (as `atelier` was started) until the setting names another one.
//!
//! `model_server` is an Ollama URL (`http://gpu-box:11434`), `openai+<URL>` for an
//! OpenAI-compatible server (LM Studio, vLLM, llama.cpp), or a cloud provider's name
//! (`openai`, `anthropic`, `gemini`, `deepseek`) whose key is in the OS keychain or the
//! environment. Empty goes back to the environment's server.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use atelier_llm::{
    AnthropicProvider, ChatRequest, Completion, Delta, EndpointPool, GeminiProvider, LlmConfig, LlmError,
    ModelCapabilities, ModelInfo, OllamaProvider, OpenAiCompatProvider, Provider, PullProgress, Url,
};
use tokio_util::sync::CancellationToken;

use crate::error::{CoreError, CoreResult};
use crate::keychain::{Keychain, key_variable};

const DEEPSEEK_BASE_URL: &str = "https://api.deepseek.com/v1";

/// The provider parts hold: the environment's, or the one the setting chose.
#[derive(Debug)]
pub struct Switch {
    initial: Arc<dyn Provider>,
    chosen: RwLock<Option<Arc<dyn Provider>>>,
    /// `name()` and `endpoint()` hand out `&str`: the chosen server's are kept here for the
    /// life of the process (one short string per server the person ever typed).
    names: Mutex<HashSet<&'static str>>,
}

impl Switch {
    pub fn new(initial: Arc<dyn Provider>) -> Switch {
        Switch { initial, chosen: RwLock::new(None), names: Mutex::default() }
    }

    fn current(&self) -> Arc<dyn Provider> {
        self.chosen.read().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_else(|| self.initial.clone())
    }

    /// Uses `provider` from now on (`None`: the environment's again).
    pub fn set(&self, provider: Option<Arc<dyn Provider>>) {
        *self.chosen.write().unwrap_or_else(|p| p.into_inner()) = provider;
    }

    fn chosen(&self) -> bool {
        self.chosen.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn keep(&self, text: &str) -> &'static str {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = names.get(text) {
            return kept;
        }
        let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
        names.insert(kept);
        kept
    }
}

#[async_trait::async_trait]
impl Provider for Switch {
    fn name(&self) -> &str {
        if self.chosen() { self.keep(self.current().name()) } else { self.initial.name() }
    }
    fn endpoint(&self) -> &str {
        if self.chosen() { self.keep(self.current().endpoint()) } else { self.initial.endpoint() }
    }
    fn pool(&self) -> Option<&EndpointPool> {
        // A pool comes only from the environment (`ATELIER_ENDPOINTS`).
        if self.chosen() { None } else { self.initial.pool() }
    }
    async fn chat(
        &self,
        req: &ChatRequest,
        cancel: &CancellationToken,
        on_delta: &mut (dyn FnMut(Delta) + Send),
    ) -> Result<Completion, LlmError> {
        self.current().chat(req, cancel, on_delta).await
    }
    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        self.current().list_models().await
    }
    async fn model_names(&self) -> Result<Vec<String>, LlmError> {
        self.current().model_names().await
    }
    async fn context_length(&self, model: &str) -> Result<Option<u32>, LlmError> {
        self.current().context_length(model).await
    }
    async fn capabilities(&self, model: &str) -> Result<ModelCapabilities, LlmError> {
        self.current().capabilities(model).await
    }
    async fn version(&self) -> Result<String, LlmError> {
        self.current().version().await
    }
    async fn pull_model(
        &self,
        name: &str,
        cancel: &CancellationToken,
        on_progress: &mut (dyn FnMut(PullProgress) + Send),
    ) -> Result<(), LlmError> {
        self.current().pull_model(name, cancel, on_progress).await
    }
    async fn delete_model(&self, name: &str) -> Result<(), LlmError> {
        self.current().delete_model(name).await
    }
    async fn embed(&self, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        self.current().embed(model, input).await
    }
    async fn embedding_models(&self) -> Result<Vec<String>, LlmError> {
        self.current().embedding_models().await
    }
}

/// The provider `spec` names (see the module's documentation), with keys from the environment
/// or the keychain. A spec that names nothing usable is `invalid_input` saying what would do.
pub fn provider_for(spec: &str, keychain: &Keychain) -> CoreResult<Arc<dyn Provider>> {
    let spec = spec.trim();
    let config = LlmConfig::default();
    let invalid = |why: String| CoreError::InvalidInput(why);
    let url = |text: &str| -> CoreResult<Url> {
        let parsed: Url = text.parse().map_err(|_| {
            invalid(format!("`{text}` is not a URL; give one such as http://localhost:11434"))
        })?;
        if !["http", "https"].contains(&parsed.scheme()) {
            return Err(invalid(format!("`{text}` is not an http(s) URL")));
        }
        Ok(parsed)
    };
    let key = |provider: &str| -> CoreResult<Option<String>> {
        let variable = key_variable(provider)?;
        match std::env::var(variable).ok().filter(|v| !v.trim().is_empty()) {
            Some(key) => Ok(Some(key)),
            None => keychain.get(provider),
        }
    };
    let needs_key = |provider: &str| -> CoreResult<String> {
        key(provider)?.ok_or_else(|| {
            invalid(format!("{provider} needs an API key: store one first (Settings → API keys)"))
        })
    };
    let llm = |e: LlmError| invalid(format!("{e}"));
    let provider: Arc<dyn Provider> = match spec {
        "openai" => Arc::new(
            OpenAiCompatProvider::new(url("https://api.openai.com/v1")?, Some(needs_key("openai")?), config)
                .map_err(llm)?,
        ),
        "deepseek" => Arc::new(
            OpenAiCompatProvider::new(url(DEEPSEEK_BASE_URL)?, Some(needs_key("deepseek")?), config)
                .map_err(llm)?,
        ),
        "anthropic" => Arc::new(
            AnthropicProvider::new(
                url(AnthropicProvider::DEFAULT_BASE_URL)?,
                needs_key("anthropic")?,
                config,
            )
            .map_err(llm)?,
        ),
        "gemini" => Arc::new(
            GeminiProvider::new(url(GeminiProvider::DEFAULT_BASE_URL)?, needs_key("gemini")?, config)
                .map_err(llm)?,
        ),
        other => match other.strip_prefix("openai+") {
            // A local OpenAI-compatible server needs no key; one stored for `openai` is sent.
            Some(base) => {
                let key = key("openai").ok().flatten();
                Arc::new(OpenAiCompatProvider::new(url(base)?, key, config).map_err(llm)?)
            }
            None => {
                let with_scheme =
                    if other.contains("://") { other.to_owned() } else { format!("http://{other}") };
                Arc::new(OllamaProvider::new(url(&with_scheme)?, config).map_err(llm)?)
            }
        },
    };
    Ok(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_their_servers_and_bad_ones_say_why() {
        let keychain = Keychain::new("atelier-test-server-specs");
        let ollama = provider_for("gpu-box:11434", &keychain).unwrap();
        assert_eq!((ollama.name(), ollama.endpoint()), ("ollama", "http://gpu-box:11434"));
        let local = provider_for("openai+http://127.0.0.1:1234/v1", &keychain).unwrap();
        assert_eq!(local.name(), "openai");
        let err = provider_for("ftp://x", &keychain).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("not an http(s) URL"), "{err}");
        let err = provider_for("http://exa mple", &keychain).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("is not a URL"), "{err}");
    }
}
