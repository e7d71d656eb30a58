//! Starting the engine from the command line: the data folder, the model provider and the
//! default model, each from flags, then the environment, then defaults.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use atelier_core::Client;
use atelier_core::{App, Config};
use atelier_llm::{LlmConfig, OllamaProvider, OpenAiCompatProvider, Provider};
use serde_json::{Value, json};

/// The data folder: `--data-dir`, `ATELIER_DATA_DIR`, else the platform's default.
pub fn data_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    match directories::ProjectDirs::from("dev", "atelier", "atelier") {
        Some(dirs) => Ok(dirs.data_dir().to_path_buf()),
        None => bail!("cannot find a home folder for Atelier's data; pass --data-dir DIR"),
    }
}

/// The model provider: Ollama at `OLLAMA_HOST` by default; an OpenAI-compatible server (vLLM,
/// LM Studio, llama.cpp's server, DeepSeek) when `ATELIER_OPENAI_BASE_URL` is set, with
/// `OPENAI_API_KEY` as its key when present.
pub fn provider() -> anyhow::Result<Arc<dyn Provider>> {
    let config = LlmConfig::default();
    if let Ok(base) = std::env::var("ATELIER_OPENAI_BASE_URL") {
        let url = base.parse().with_context(|| format!("ATELIER_OPENAI_BASE_URL `{base}` is not a URL"))?;
        let key = std::env::var("OPENAI_API_KEY").ok().filter(|k| !k.is_empty());
        return Ok(Arc::new(OpenAiCompatProvider::new(url, key, config)?));
    }
    Ok(Arc::new(OllamaProvider::new(atelier_llm::ollama_host_from_env(), config)?))
}

/// Starts the engine on `data_dir`. `model` (a flag) wins over `ATELIER_MODEL`.
pub async fn start(data_dir: PathBuf, model: Option<String>) -> anyhow::Result<App> {
    let default_model = model.or_else(|| std::env::var("ATELIER_MODEL").ok().filter(|m| !m.is_empty()));
    let config = Config { data_dir: data_dir.clone(), provider: provider()?, default_model };
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
