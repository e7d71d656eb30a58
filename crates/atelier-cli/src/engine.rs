//! Starting the engine from the command line: the data folder, the model provider and the
//! default model, each from flags, then the environment, then defaults.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use atelier_core::Client;
use atelier_core::keychain::Keychain;
use atelier_core::{App, Config};
use atelier_llm::{
    AnthropicProvider, EndpointPool, GeminiProvider, LlmConfig, OllamaProvider, OpenAiCompatProvider,
    PoolConfig, Provider, Url,
};
use serde_json::{Value, json};

/// The application's identifier: the desktop app's bundle id and the name of its folders.
pub const IDENTIFIER: &str = "dev.atelier.atelier";

/// The data folder: `--data-dir`, `ATELIER_DATA_DIR`, else the platform's app-data folder
/// (`~/.local/share/dev.atelier.atelier`, `~/Library/Application Support/dev.atelier.atelier`,
/// `%APPDATA%\dev.atelier.atelier`), the same one the desktop app uses, so both see the same
/// projects and history.
pub fn data_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    let Some(base) = directories::BaseDirs::new() else {
        bail!("cannot find a home folder for Atelier's data; pass --data-dir DIR")
    };
    let dir = base.data_dir().join(IDENTIFIER);
    // Before the desktop app, the command kept its data in `<data>/atelier` (Linux) or
    // `<data>/dev.atelier.atelier` (macOS, the same folder); keep using an existing one.
    let legacy =
        directories::ProjectDirs::from("dev", "atelier", "atelier").map(|d| d.data_dir().to_path_buf());
    if let Some(legacy) = legacy
        && !dir.exists()
        && legacy.join("atelier.db").exists()
    {
        return Ok(legacy);
    }
    Ok(dir)
}

/// The model provider, from the environment: `ATELIER_PROVIDER` = `ollama` | `openai` |
/// `anthropic` | `gemini` | `deepseek`, with keys from `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`,
/// `GEMINI_API_KEY`, `DEEPSEEK_API_KEY` and base URLs from `ATELIER_OPENAI_BASE_URL`,
/// `ATELIER_ANTHROPIC_BASE_URL`, `ATELIER_GEMINI_BASE_URL`. Without `ATELIER_PROVIDER`:
/// an OpenAI-compatible server when `ATELIER_OPENAI_BASE_URL` is set, else Ollama at
/// `OLLAMA_HOST`. `ATELIER_ENDPOINTS` (a comma-separated list of Ollama hosts and
/// `openai+URL` servers) makes a pool of them instead, `ATELIER_ENDPOINT_CONCURRENCY` requests
/// at a time on each (default 2).
///
/// A key's environment variable wins; without it, the key stored in the OS keychain
/// (`settings.set_key`) is used.
pub fn provider() -> anyhow::Result<Arc<dyn Provider>> {
    let keychain = keychain();
    provider_from(&|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()), &|provider| {
        keychain.get(provider).map_err(|e| anyhow!("{e}"))
    })
}

/// The OS keychain, under `ATELIER_KEYCHAIN_SERVICE` when set (tests, or two installations
/// that must not share keys), else Atelier's own service name.
pub fn keychain() -> Keychain {
    match std::env::var("ATELIER_KEYCHAIN_SERVICE") {
        Ok(service) if !service.trim().is_empty() => Keychain::new(service.trim()),
        _ => Keychain::default(),
    }
}

/// Where a key can come from besides the environment: `provider` -> the stored key.
type Stored<'a> = &'a dyn Fn(&str) -> anyhow::Result<Option<String>>;

fn provider_from(
    env: &dyn Fn(&str) -> Option<String>,
    stored: Stored<'_>,
) -> anyhow::Result<Arc<dyn Provider>> {
    let config = LlmConfig::default();
    let url = |var: &str, default: &str| -> anyhow::Result<Url> {
        let value = env(var).unwrap_or_else(|| default.to_owned());
        value.parse().with_context(|| format!("{var} `{value}` is not a URL"))
    };
    // A key is read only here and handed to the provider; errors name the variable, never
    // the value.
    let key = |var: &str, provider: &str| -> anyhow::Result<String> {
        if let Some(key) = env(var) {
            return Ok(key);
        }
        match stored(provider) {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(anyhow!(
                "ATELIER_PROVIDER={provider} needs an API key: set {var}, or store one in Settings \
                 (settings.set_key) while Atelier runs with another provider"
            )),
            Err(e) => Err(anyhow!("ATELIER_PROVIDER={provider} needs an API key: {e}")),
        }
    };
    // An optional key (a local OpenAI-compatible server): the environment, else the keychain
    // when it has one.
    let optional_key = |var: &str, provider: &str| env(var).or_else(|| stored(provider).ok().flatten());
    if let Some(spec) = env("ATELIER_ENDPOINTS") {
        return pool(env, &spec, optional_key("OPENAI_API_KEY", "openai"), config);
    }
    let chosen = env("ATELIER_PROVIDER").map(|p| p.trim().to_ascii_lowercase());
    let chosen = chosen.as_deref().unwrap_or(if env("ATELIER_OPENAI_BASE_URL").is_some() {
        "openai"
    } else {
        "ollama"
    });
    Ok(match chosen {
        "ollama" => Arc::new(OllamaProvider::new(atelier_llm::ollama_host_from_env(), config)?),
        "openai" => {
            // A local OpenAI-compatible server (vLLM, LM Studio) needs no key; OpenAI itself does.
            let custom = env("ATELIER_OPENAI_BASE_URL").is_some();
            let base = url("ATELIER_OPENAI_BASE_URL", "https://api.openai.com/v1")?;
            let key = if custom {
                optional_key("OPENAI_API_KEY", "openai")
            } else {
                Some(key("OPENAI_API_KEY", "openai")?)
            };
            Arc::new(OpenAiCompatProvider::new(base, key, config)?)
        }
        "deepseek" => {
            let key = key("DEEPSEEK_API_KEY", "deepseek")?;
            let base = DEEPSEEK_BASE_URL.parse().context("DeepSeek's base URL")?;
            Arc::new(OpenAiCompatProvider::new(base, Some(key), config)?)
        }
        "anthropic" => {
            let key = key("ANTHROPIC_API_KEY", "anthropic")?;
            let base = url("ATELIER_ANTHROPIC_BASE_URL", AnthropicProvider::DEFAULT_BASE_URL)?;
            Arc::new(AnthropicProvider::new(base, key, config)?)
        }
        "gemini" => {
            let key = key("GEMINI_API_KEY", "gemini")?;
            let base = url("ATELIER_GEMINI_BASE_URL", GeminiProvider::DEFAULT_BASE_URL)?;
            Arc::new(GeminiProvider::new(base, key, config)?)
        }
        other => bail!(
            "ATELIER_PROVIDER `{other}` is not a provider Atelier knows; use ollama, openai, anthropic, gemini or deepseek"
        ),
    })
}

/// The endpoint pool `ATELIER_ENDPOINTS` describes.
fn pool(
    env: &dyn Fn(&str) -> Option<String>,
    spec: &str,
    openai_key: Option<String>,
    config: LlmConfig,
) -> anyhow::Result<Arc<dyn Provider>> {
    if let Some(provider) = env("ATELIER_PROVIDER").filter(|p| !matches!(p.trim(), "ollama" | "openai")) {
        bail!(
            "ATELIER_ENDPOINTS pools Ollama and OpenAI-compatible servers; it cannot be combined with \
             ATELIER_PROVIDER={provider}"
        );
    }
    let per_endpoint = match env("ATELIER_ENDPOINT_CONCURRENCY") {
        None => PoolConfig::default().per_endpoint,
        Some(value) => {
            value.trim().parse::<usize>().ok().filter(|n| (1..=256).contains(n)).ok_or_else(|| {
                anyhow!("ATELIER_ENDPOINT_CONCURRENCY `{value}` is not a number from 1 to 256")
            })?
        }
    };
    let pool_config = PoolConfig { per_endpoint, ..PoolConfig::default() };
    let pool = EndpointPool::from_spec(spec, openai_key, config, pool_config)
        .map_err(|e| anyhow!("ATELIER_ENDPOINTS: {e}"))?;
    Ok(Arc::new(pool))
}

/// DeepSeek's OpenAI-compatible API.
const DEEPSEEK_BASE_URL: &str = "https://api.deepseek.com/v1";

/// Starts the engine on `data_dir`. `model` (a flag) wins over `ATELIER_MODEL`.
pub async fn start(data_dir: PathBuf, model: Option<String>) -> anyhow::Result<App> {
    start_with(data_dir, model, true).await
}

/// [`start`], with the enabled MCP servers started only when `mcp_autostart` (a command that
/// only lists or edits them leaves them be).
pub async fn start_with(
    data_dir: PathBuf,
    model: Option<String>,
    mcp_autostart: bool,
) -> anyhow::Result<App> {
    let default_model = model.or_else(|| std::env::var("ATELIER_MODEL").ok().filter(|m| !m.is_empty()));
    let config = Config {
        default_model,
        keychain: keychain(),
        mcp_autostart,
        ..Config::new(data_dir.clone(), provider()?)
    };
    App::start(config).await.with_context(|| format!("starting Atelier on {}", data_dir.display()))
}

/// Calls one API method through an in-process client, as any JSON-RPC client would; an error
/// answer becomes an error with the server's message.
pub async fn call(client: &Client, method: &str, params: Value) -> anyhow::Result<Value> {
    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let text =
        client.handle_text(&request.to_string()).await.ok_or_else(|| anyhow!("no answer to {method}"))?;
    let mut response: Value = serde_json::from_str(&text).context("decoding the answer")?;
    if let Some(error) = response.get("error") {
        bail!("{}", error.get("message").and_then(Value::as_str).unwrap_or("request failed"));
    }
    Ok(response["result"].take())
}

/// The async runtime the command and the desktop app run the engine on. File, git and database
/// work goes to the blocking pool; 64 threads are plenty on any machine, and far fewer than
/// tokio's default of 512, each of which keeps its own stack and allocator arena alive for
/// a while after a burst of requests.
pub fn runtime_builder() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().max_blocking_threads(64);
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(vars: &[(&str, &str)]) -> anyhow::Result<Arc<dyn Provider>> {
        select_with(vars, &|_| Ok(None))
    }

    fn select_with(vars: &[(&str, &str)], stored: Stored<'_>) -> anyhow::Result<Arc<dyn Provider>> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        provider_from(&move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()), stored)
    }

    #[test]
    fn a_key_comes_from_the_environment_first_then_the_keychain() {
        let in_keychain = |provider: &str| Ok((provider == "anthropic").then(|| "sk-ant-stored".to_owned()));
        let chosen =
            select_with(&[("ATELIER_PROVIDER", "anthropic")], &in_keychain).expect("key from the keychain");
        assert_eq!(chosen.name(), "anthropic");
        let error =
            select_with(&[("ATELIER_PROVIDER", "gemini")], &in_keychain).err().map(|e| format!("{e:#}"));
        assert!(error.is_some_and(|e| e.contains("set GEMINI_API_KEY") && e.contains("settings.set_key")));
        // No keychain service: the environment still works, and without it the error says so.
        let no_service = |_: &str| -> anyhow::Result<Option<String>> {
            Err(anyhow!("no keychain service is running; set ANTHROPIC_API_KEY instead"))
        };
        let vars = [("ATELIER_PROVIDER", "anthropic"), ("ANTHROPIC_API_KEY", "sk-ant-env")];
        assert!(select_with(&vars, &no_service).is_ok());
        let error = select_with(&vars[..1], &no_service).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(error.contains("no keychain service is running; set ANTHROPIC_API_KEY instead"), "{error}");
    }

    fn chosen(vars: &[(&str, &str)]) -> (String, String) {
        let provider = select(vars).unwrap_or_else(|e| panic!("{vars:?}: {e:#}"));
        (provider.name().to_owned(), provider.endpoint().to_owned())
    }

    #[test]
    fn the_provider_comes_from_the_environment() {
        assert_eq!(chosen(&[]).0, "ollama");
        assert_eq!(
            chosen(&[("ATELIER_OPENAI_BASE_URL", "http://127.0.0.1:8000")]),
            ("openai".into(), "http://127.0.0.1:8000/v1".into())
        );
        assert_eq!(
            chosen(&[("ATELIER_PROVIDER", "openai"), ("OPENAI_API_KEY", "sk-x")]).1,
            "https://api.openai.com/v1"
        );
        assert_eq!(
            chosen(&[("ATELIER_PROVIDER", "deepseek"), ("DEEPSEEK_API_KEY", "sk-x")]),
            ("openai".into(), "https://api.deepseek.com/v1".into())
        );
        assert_eq!(
            chosen(&[("ATELIER_PROVIDER", "Anthropic"), ("ANTHROPIC_API_KEY", "sk-ant")]),
            ("anthropic".into(), "https://api.anthropic.com".into())
        );
        assert_eq!(
            chosen(&[
                ("ATELIER_PROVIDER", "gemini"),
                ("GEMINI_API_KEY", "AIza"),
                ("ATELIER_GEMINI_BASE_URL", "http://127.0.0.1:9/")
            ]),
            ("gemini".into(), "http://127.0.0.1:9".into())
        );
    }

    #[test]
    fn endpoints_make_a_pool_with_its_concurrency() {
        let provider = select(&[
            ("ATELIER_ENDPOINTS", "gpu-box:11434, openai+http://10.0.0.5:8000/v1"),
            ("ATELIER_ENDPOINT_CONCURRENCY", "3"),
        ])
        .expect("pool");
        let pool = provider.pool().expect("a pool");
        let status = pool.status();
        assert_eq!(status.len(), 2);
        assert_eq!(
            (status[0].kind.as_str(), status[0].endpoint.as_str()),
            ("ollama", "http://gpu-box:11434")
        );
        assert_eq!(
            (status[1].kind.as_str(), status[1].endpoint.as_str()),
            ("openai", "http://10.0.0.5:8000/v1")
        );
        assert!(status.iter().all(|s| s.limit == 3));
        let error = |vars: &[(&str, &str)]| select(vars).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(
            error(&[("ATELIER_ENDPOINTS", "a:1"), ("ATELIER_ENDPOINT_CONCURRENCY", "0")])
                .contains("ATELIER_ENDPOINT_CONCURRENCY `0`")
        );
        assert!(error(&[("ATELIER_ENDPOINTS", "ftp://a:1")]).contains("ATELIER_ENDPOINTS"));
        assert!(
            error(&[("ATELIER_ENDPOINTS", "a:1"), ("ATELIER_PROVIDER", "anthropic")])
                .contains("cannot be combined")
        );
    }

    #[test]
    fn a_missing_key_or_unknown_provider_is_a_clear_error() {
        for (provider, var) in [
            ("anthropic", "ANTHROPIC_API_KEY"),
            ("gemini", "GEMINI_API_KEY"),
            ("deepseek", "DEEPSEEK_API_KEY"),
            ("openai", "OPENAI_API_KEY"),
        ] {
            let error = select(&[("ATELIER_PROVIDER", provider)]).err().map(|e| format!("{e:#}"));
            assert!(error.as_deref().is_some_and(|e| e.contains(var)), "{provider}: {error:?}");
        }
        let error =
            select(&[("ATELIER_PROVIDER", "bard")]).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(error.contains("bard") && error.contains("anthropic"), "{error}");
        let secret =
            select(&[("ATELIER_PROVIDER", "anthropic"), ("ANTHROPIC_API_KEY", "sk-ant-secret")]).expect("ok");
        assert!(!format!("{secret:?}").contains("sk-ant-secret"));
    }
}
