//! API keys in the operating system's keychain through the `keyring` crate: macOS's Keychain,
//! Windows' Credential Manager, and on Linux the kernel's key store (keyutils), which needs no
//! desktop session. Keys never go to SQLite, logs or events; the API only says whether one is
//! stored. At start-up a provider's key comes from its environment variable first, else from
//! here.
//!
//! Calls are blocking (a system call or an IPC round trip): async callers use
//! `spawn_blocking`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{CoreError, CoreResult};

/// The keychain service Atelier's keys are stored under (the user name is the provider).
pub const SERVICE: &str = "dev.atelier";

/// The providers that take an API key, with the environment variable that wins over a stored
/// key.
pub const KEY_PROVIDERS: &[(&str, &str)] = &[
    ("openai", "OPENAI_API_KEY"),
    ("anthropic", "ANTHROPIC_API_KEY"),
    ("gemini", "GEMINI_API_KEY"),
    ("deepseek", "DEEPSEEK_API_KEY"),
];

/// The environment variable for `provider`'s key; an unknown provider is `invalid_input`.
pub fn key_variable(provider: &str) -> CoreResult<&'static str> {
    KEY_PROVIDERS.iter().find(|(p, _)| *p == provider).map(|(_, var)| *var).ok_or_else(|| {
        let known: Vec<&str> = KEY_PROVIDERS.iter().map(|(p, _)| *p).collect();
        CoreError::InvalidInput(format!(
            "`{}` is not a provider that takes an API key; those are {}",
            provider.chars().take(40).collect::<String>(),
            known.join(", ")
        ))
    })
}

/// Atelier's entries in the OS keychain, under one service name (tests use their own). Cheap
/// to clone; clones share their entry handles (an in-memory store, like `keyring`'s mock,
/// keeps a credential per handle).
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
    entries: Arc<Mutex<HashMap<String, Arc<keyring::Entry>>>>,
}

impl Default for Keychain {
    fn default() -> Self {
        Keychain::new(SERVICE)
    }
}

impl Keychain {
    pub fn new(service: &str) -> Keychain {
        Keychain { service: service.to_owned(), entries: Arc::default() }
    }

    fn entry(&self, provider: &str) -> CoreResult<Arc<keyring::Entry>> {
        let var = key_variable(provider)?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get(provider) {
            return Ok(entry.clone());
        }
        let entry = Arc::new(keyring::Entry::new(&self.service, provider).map_err(|e| unavailable(&e, var))?);
        entries.insert(provider.to_owned(), entry.clone());
        Ok(entry)
    }

    /// The key stored for `provider`, if any.
    pub fn get(&self, provider: &str) -> CoreResult<Option<String>> {
        let var = key_variable(provider)?;
        match self.entry(provider)?.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&e, var)),
        }
    }

    /// Stores (or replaces) `provider`'s key.
    pub fn set(&self, provider: &str, key: &str) -> CoreResult<()> {
        let var = key_variable(provider)?;
        self.entry(provider)?.set_password(key).map_err(|e| unavailable(&e, var))
    }

    /// The secrets stored under `user` (not a provider: e.g. `mcp:<server>`), if any.
    pub fn get_secret(&self, user: &str) -> CoreResult<Option<String>> {
        match self.secret_entry(user)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(secret_unavailable(&e)),
        }
    }

    /// Stores (or replaces) the secrets under `user`.
    pub fn set_secret(&self, user: &str, secret: &str) -> CoreResult<()> {
        self.secret_entry(user)?.set_password(secret).map_err(|e| secret_unavailable(&e))
    }

    /// Removes the secrets under `user`; `false` when none were stored.
    pub fn delete_secret(&self, user: &str) -> CoreResult<bool> {
        match self.secret_entry(user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(secret_unavailable(&e)),
        }
    }

    fn secret_entry(&self, user: &str) -> CoreResult<Arc<keyring::Entry>> {
        if KEY_PROVIDERS.iter().any(|(p, _)| *p == user) {
            return Err(CoreError::Internal(format!("`{user}` is a provider's key, not a secret name")));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get(user) {
            return Ok(entry.clone());
        }
        let entry = Arc::new(keyring::Entry::new(&self.service, user).map_err(|e| secret_unavailable(&e))?);
        entries.insert(user.to_owned(), entry.clone());
        Ok(entry)
    }

    /// Removes `provider`'s key; `false` when none was stored.
    pub fn delete(&self, provider: &str) -> CoreResult<bool> {
        let var = key_variable(provider)?;
        match self.entry(provider)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(unavailable(&e, var)),
        }
    }
}

/// A keychain that cannot be used, said so that a person knows the way around it. The
/// library's own words go to the log at debug level (they never hold the key).
fn unavailable(error: &keyring::Error, var: &str) -> CoreError {
    tracing::debug!(error = %error, "keychain");
    match error {
        keyring::Error::TooLong(..) | keyring::Error::Invalid(..) => {
            CoreError::InvalidInput(format!("the keychain refused the key ({error}); set {var} instead"))
        }
        _ => CoreError::Unavailable(format!("no keychain service is running; set {var} instead")),
    }
}

/// A keychain that cannot keep other secrets (MCP servers' environment and header values).
fn secret_unavailable(error: &keyring::Error) -> CoreError {
    tracing::debug!(error = %error, "keychain");
    match error {
        keyring::Error::TooLong(..) | keyring::Error::Invalid(..) => CoreError::InvalidInput(format!(
            "the keychain refused the values ({error}); use fewer or shorter environment or header values"
        )),
        _ => CoreError::Unavailable(
            "no keychain service is running, and environment and header values of MCP servers are              kept only there; start one (or add the server without them)"
                .into(),
        ),
    }
}

/// Checks a key before it is stored: text without spaces or control characters, of a
/// plausible length. The message never repeats the key.
pub fn check_key(key: &str) -> CoreResult<&str> {
    let key = key.trim();
    if key.is_empty() {
        return Err(CoreError::InvalidInput("the key is empty".into()));
    }
    if key.len() > 4096 {
        return Err(CoreError::InvalidInput("the key is longer than 4,096 characters".into()));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CoreError::InvalidInput(
            "the key has spaces or control characters; paste it again without them".into(),
        ));
    }
    Ok(key)
}
