//! `settings.get` / `settings.set`: the few choices a person makes in Settings, kept in SQLite.
//! Never secrets: API keys come from the environment (or the OS keychain), not from here.

use std::collections::BTreeMap;

use crate::App;
use crate::error::{CoreError, CoreResult};

/// The settings there are, with what each means (the error for an unknown key lists them).
pub const KEYS: &[(&str, &str)] = &[
    ("default_model", "the model for chats and workflows that name none"),
    ("resume_workflows", "`continue` (default) or `paused`: what unfinished workflows do at start-up"),
    ("model.master", "the master's model in workflows (planning)"),
    ("model.manager", "the managers' model in workflows"),
    ("model.coder", "the coders' model in workflows (writing files)"),
    ("server.enabled", "`true` to run the desktop app's embedded server (set from its Settings)"),
    ("server.port", "the desktop app's embedded server's port (default 7777; 0 picks a free one)"),
    (
        "server.public",
        "`true` to bind the desktop app's embedded server to every interface, not loopback only",
    ),
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
        if ["server.enabled", "server.public"].contains(&key)
            && !["", "true", "false"].contains(&value.as_str())
        {
            return Err(CoreError::InvalidInput(format!("{key} is `true` or `false`")));
        }
        if key == "server.port" && !value.is_empty() && value.parse::<u16>().is_err() {
            return Err(CoreError::InvalidInput("server.port is a port number, 0 to 65535".into()));
        }
        if value.len() > 200 {
            return Err(CoreError::InvalidInput("a setting's value is at most 200 characters".into()));
        }
        self.store().set_setting(key, value).await?;
        Ok(())
    }
}
