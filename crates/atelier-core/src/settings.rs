//! `settings.get` / `settings.set`: the few choices a person makes in Settings, kept in SQLite.
//! Never secrets: API keys come from the environment or the OS keychain (`settings.set_key`,
//! `settings.delete_key`, kept by [`crate::keychain`]); settings only say whether one is stored.

use std::collections::BTreeMap;

use atelier_protocol::ApiKeyStatus;
use serde_json::Value;

use crate::App;
use crate::error::{CoreError, CoreResult};
use crate::keychain::{KEY_PROVIDERS, check_key, key_variable};

/// The settings there are, with what each means (the error for an unknown key lists them).
pub const KEYS: &[(&str, &str)] = &[
    ("default_model", "the model for chats and workflows that name none"),
    ("resume_workflows", "`continue` (default) or `paused`: what unfinished workflows do at start-up"),
    ("model.master", "the master's model in workflows (planning)"),
    ("model.manager", "the managers' model in workflows"),
    ("model.coder", "the coders' model in workflows (writing files)"),
    (
        "embedding_model",
        "the model that embeds code for hybrid search (default the first embedding model the server lists; `off` for keywords only)",
    ),
    ("server.enabled", "`true` to run the desktop app's embedded server (set from its Settings)"),
    ("server.port", "the desktop app's embedded server's port (default 7777; 0 picks a free one)"),
    (
        "server.public",
        "`true` to bind the desktop app's embedded server to every interface, not loopback only",
    ),
    (
        "tools.auto_approve_run",
        "`true` to let agents run commands without asking (only where a sandbox confines them)",
    ),
    (
        "max_context",
        "the largest context window agents use, in tokens (default 32768; small models get less)",
    ),
    ("sandbox", "where agents' commands run: `auto` (default), `bubblewrap`, `container` or `off`"),
    ("sandbox.network", "`true` to let agents' commands use the network (default `false`)"),
    (
        "sandbox.allow_read",
        "folders agents' commands may read, one per line (default: ~/.cargo, ~/.rustup, ~/.npm, … that exist)",
    ),
    ("sandbox.memory_mb", "a memory limit for agents' commands in MiB"),
    ("sandbox.cpus", "a CPU limit for agents' commands in cores (container mode)"),
    ("sandbox.image", "the image of the container mode (default docker.io/library/debian:stable-slim)"),
    (
        "workflows.review",
        "`true` to have workflows wait for your review of their changes before they commit (default `false`)",
    ),
    ("ui.theme", "the look: `system` (default, follows the system), `light` or `dark`"),
    (
        "model_server",
        "the model server: an Ollama URL, `openai+URL` for an OpenAI-compatible one, or `openai`/`anthropic`/`gemini`/`deepseek` (empty: as Atelier was started)",
    ),
    ("archive_after_days", "archive projects nobody opened for this many days (default 30; 0 never)"),
    (
        "cleanup_after_days",
        "offer to remove Atelier's records (never the files) of projects archived this many days (default 0, off)",
    ),
    ("backups.daily", "`true` (default) for a backup of the database every day"),
    ("backups.keep", "how many backups to keep, the oldest removed first (default 7)"),
];

impl App {
    /// Every setting, `null` when unset.
    pub async fn settings(&self) -> CoreResult<BTreeMap<String, Option<String>>> {
        let mut out = BTreeMap::new();
        for (key, _) in KEYS {
            out.insert((*key).to_owned(), self.setting(key).await?);
        }
        Ok(out)
    }

    /// A setting's value; unset and empty are the same.
    pub async fn setting(&self, key: &str) -> CoreResult<Option<String>> {
        Ok(self.store().get_setting(key).await?.filter(|v| !v.trim().is_empty()))
    }

    /// Sets (or with `None`, clears) a setting.
    pub async fn set_setting(&self, key: &str, value: Option<String>) -> CoreResult<()> {
        if !KEYS.iter().any(|(k, _)| *k == key) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(CoreError::InvalidInput(format!(
                "`{}` is not a setting; the settings are {}",
                key.chars().take(80).collect::<String>(),
                known.join(", ")
            )));
        }
        let value = value.map(|v| v.trim().to_owned()).unwrap_or_default();
        if key == "resume_workflows" && !["", "continue", "paused"].contains(&value.as_str()) {
            return Err(CoreError::InvalidInput("resume_workflows is `continue` or `paused`".into()));
        }
        if key == "ui.theme" && !["", "system", "light", "dark"].contains(&value.as_str()) {
            return Err(CoreError::InvalidInput("ui.theme is `system`, `light` or `dark`".into()));
        }
        if ["server.enabled", "server.public", "tools.auto_approve_run", "workflows.review"].contains(&key)
            && !["", "true", "false"].contains(&value.as_str())
        {
            return Err(CoreError::InvalidInput(format!("{key} is `true` or `false`")));
        }
        if key == "max_context"
            && !value.is_empty()
            && !value.parse::<u32>().is_ok_and(|n| (2048..=1_048_576).contains(&n))
        {
            return Err(CoreError::InvalidInput("max_context is a number of tokens, 2048 to 1048576".into()));
        }
        if key == "server.port" && !value.is_empty() && value.parse::<u16>().is_err() {
            return Err(CoreError::InvalidInput("server.port is a port number, 0 to 65535".into()));
        }
        // A list of folders is longer than a name or a number.
        let most = if key == "sandbox.allow_read" { 8000 } else { 200 };
        if value.len() > most {
            return Err(CoreError::InvalidInput(format!("{key}'s value is at most {most} characters")));
        }
        crate::sandbox::check_setting(key, &value)?;
        // A server that cannot be used is refused before anything changes.
        let server = if key == "model_server" && !value.is_empty() {
            let (spec, keychain) = (value.clone(), self.inner.config.keychain.clone());
            Some(
                tokio::task::spawn_blocking(move || crate::server::provider_for(&spec, &keychain))
                    .await
                    .map_err(|e| CoreError::Internal(format!("the server task: {e}")))??,
            )
        } else {
            None
        };
        crate::maintenance::check_setting(key, &value)?;
        self.store().set_setting(key, value.clone()).await?;
        if key == "model_server" {
            self.inner.server.set(server);
            self.model_server_changed();
        }
        if crate::sandbox::KEYS.contains(&key) {
            self.reload_sandbox().await?;
        }
        if key == "embedding_model" {
            self.indexes().set_embedding_setting(Some(value).filter(|v| !v.is_empty()));
        }
        Ok(())
    }
}

impl App {
    /// At start-up: the server the setting `model_server` names, else the environment's. One
    /// that cannot be used any more (a key removed) is said, and the environment's is used.
    pub(crate) async fn apply_model_server(&self) {
        let Ok(Some(spec)) = self.setting("model_server").await else { return };
        let keychain = self.inner.config.keychain.clone();
        let chosen = tokio::task::spawn_blocking(move || crate::server::provider_for(&spec, &keychain)).await;
        match chosen {
            Ok(Ok(provider)) => self.inner.server.set(Some(provider)),
            Ok(Err(e)) => tracing::warn!(error = %e, "the model server in Settings cannot be used"),
            Err(e) => tracing::warn!(error = %e, "the model server task failed"),
        }
    }

    /// After the server changed: what was learnt of the old one's models is forgotten, and
    /// clients are told to list models and check health again.
    fn model_server_changed(&self) {
        self.forget_model_facts();
        let bus = self.bus();
        bus.publish(
            atelier_protocol::topics::MODELS,
            atelier_protocol::event_types::MODELS_CHANGED,
            serde_json::json!({}),
        );
        let app = self.clone();
        self.spawn(async move {
            let health = app.health().await;
            app.bus().publish(
                atelier_protocol::topics::SYSTEM,
                atelier_protocol::event_types::SYSTEM_HEALTH,
                atelier_protocol::to_value(&health),
            );
        });
    }

    /// The settings with `api_keys`: per provider, whether a key is stored in the keychain and
    /// whether its environment variable is set (which wins). Never the keys.
    pub async fn settings_view(&self) -> CoreResult<Value> {
        let mut view = serde_json::Map::new();
        for (key, value) in self.settings().await? {
            view.insert(key, value.map_or(Value::Null, Value::String));
        }
        let keychain = self.inner.config.keychain.clone();
        let stored = tokio::task::spawn_blocking(move || {
            KEY_PROVIDERS
                .iter()
                // An unusable keychain holds no key; `settings.set_key` says why.
                .map(|(provider, _)| keychain.get(provider).map(|k| k.is_some()).unwrap_or(false))
                .collect::<Vec<bool>>()
        })
        .await
        .map_err(|e| CoreError::Internal(format!("keychain task failed: {e}")))?;
        let keys: serde_json::Map<String, Value> = KEY_PROVIDERS
            .iter()
            .zip(stored)
            .map(|((provider, var), key_stored)| {
                let env_set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
                ((*provider).to_owned(), atelier_protocol::to_value(&ApiKeyStatus { key_stored, env_set }))
            })
            .collect();
        view.insert("api_keys".into(), Value::Object(keys));
        Ok(Value::Object(view))
    }

    /// Stores `provider`'s API key in the OS keychain (used from the next start on, when its
    /// environment variable is not set).
    pub async fn set_api_key(&self, provider: &str, key: &str) -> CoreResult<()> {
        key_variable(provider)?;
        let key = check_key(key)?.to_owned();
        let (keychain, provider) = (self.inner.config.keychain.clone(), provider.to_owned());
        tokio::task::spawn_blocking(move || keychain.set(&provider, &key))
            .await
            .map_err(|e| CoreError::Internal(format!("keychain task failed: {e}")))?
    }

    /// Removes `provider`'s stored key; `not_found` when there is none.
    pub async fn delete_api_key(&self, provider: &str) -> CoreResult<()> {
        key_variable(provider)?;
        let (keychain, owned) = (self.inner.config.keychain.clone(), provider.to_owned());
        let deleted = tokio::task::spawn_blocking(move || keychain.delete(&owned))
            .await
            .map_err(|e| CoreError::Internal(format!("keychain task failed: {e}")))??;
        if deleted {
            Ok(())
        } else {
            Err(CoreError::NotFound { what: "stored API key for", id: provider.to_owned() })
        }
    }
}
