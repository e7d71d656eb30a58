//! Embeddings: Ollama's `/api/embed` and the OpenAI-compatible `/v1/embeddings`, and which of
//! a server's models make embeddings (Ollama's `/api/show` lists `embedding` among a model's
//! capabilities; OpenAI-compatible servers say nothing, so their models are known by name).
//! Retried with backoff like chat requests, since an index sends many of them.

use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::stream::{backoff, check_status, send};
use crate::{LlmConfig, LlmError};

/// The most texts sent in one request: large batches time out on a small machine.
pub const MAX_BATCH: usize = 64;

/// Whether a model's name says it makes embeddings (`nomic-embed-text`, `text-embedding-3-small`,
/// `mxbai-embed-large`, `bge-m3`, `all-minilm`): for servers that do not list capabilities.
pub fn looks_like_embedding_model(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("embed") || n.starts_with("bge-") || n.contains("minilm") || n.contains("/bge")
}

fn check_input(model: &str, input: &[String]) -> Result<(), LlmError> {
    if model.trim().is_empty() {
        return Err(LlmError::InvalidRequest("no embedding model was given".into()));
    }
    if input.len() > MAX_BATCH {
        return Err(LlmError::InvalidRequest(format!(
            "at most {MAX_BATCH} texts can be embedded at once, not {}",
            input.len()
        )));
    }
    Ok(())
}

/// Sends `body` to `url` and reads the JSON answer, retrying what is worth retrying.
async fn post_json(
    client: &reqwest::Client,
    endpoint: &str,
    url: &str,
    bearer: Option<&str>,
    config: &LlmConfig,
    model: &str,
    body: &Value,
) -> Result<Value, LlmError> {
    let never = CancellationToken::new();
    let mut waits = backoff(config.retry_min_delay, config.retry_max_delay, config.max_retries);
    loop {
        let mut request = client.post(url).json(body);
        if let Some(key) = bearer {
            request = request.bearer_auth(key);
        }
        // An embedding of a batch is quick once the model is loaded; loading may take a while.
        let attempt = async {
            let response = send(endpoint, request, config.first_byte_timeout, &never).await?;
            let response = check_status(endpoint, model, response).await?;
            response
                .json::<Value>()
                .await
                .map_err(|e| LlmError::Stream { endpoint: endpoint.to_owned(), message: e.to_string() })
        };
        match attempt.await {
            Ok(value) => return Ok(value),
            Err(e) if e.retryable() => match waits.next() {
                Some(wait) => tokio::time::sleep(wait.min(Duration::from_secs(10))).await,
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

fn vectors(
    endpoint: &str,
    rows: Option<&Vec<Value>>,
    expected: usize,
    pick: impl Fn(&Value) -> &Value,
) -> Result<Vec<Vec<f32>>, LlmError> {
    let bad = |what: &str| LlmError::Stream {
        endpoint: endpoint.to_owned(),
        message: format!("the embedding answer {what}"),
    };
    let rows = rows.ok_or_else(|| bad("holds no embeddings"))?;
    if rows.len() != expected {
        return Err(bad(&format!("holds {} embeddings for {expected} texts", rows.len())));
    }
    rows.iter()
        .map(|row| {
            pick(row)
                .as_array()
                .ok_or_else(|| bad("has an embedding that is not a list of numbers"))?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(|| bad("has a value that is not a number")))
                .collect()
        })
        .collect()
}

/// Ollama's `/api/embed`: `{model, input: [..]}` answers `{embeddings: [[..], ..]}`.
pub(crate) async fn ollama_embed(
    client: &reqwest::Client,
    endpoint: &str,
    config: &LlmConfig,
    model: &str,
    input: &[String],
) -> Result<Vec<Vec<f32>>, LlmError> {
    check_input(model, input)?;
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let body = json!({ "model": model, "input": input, "truncate": true });
    let answer =
        post_json(client, endpoint, &format!("{endpoint}/api/embed"), None, config, model, &body).await?;
    vectors(endpoint, answer["embeddings"].as_array(), input.len(), |row| row)
}

/// The models of an Ollama server whose `/api/show` capabilities include `embedding` (or,
/// for servers too old to list capabilities, whose name says so), in the server's order.
pub(crate) async fn ollama_embedding_models(
    client: &reqwest::Client,
    endpoint: &str,
    config: &LlmConfig,
    names: Vec<String>,
) -> Result<Vec<String>, LlmError> {
    let never = CancellationToken::new();
    let checks = names.into_iter().map(|name| {
        let never = never.clone();
        async move {
            let request = client.post(format!("{endpoint}/api/show")).json(&json!({ "model": name }));
            let show: Option<Value> = match send(endpoint, request, config.connect_timeout * 2, &never).await
            {
                Ok(response) if response.status().is_success() => response.json().await.ok(),
                _ => None,
            };
            let embeds = match show.as_ref().and_then(|s| s["capabilities"].as_array()) {
                Some(caps) => caps.iter().any(|c| c == "embedding"),
                None => looks_like_embedding_model(&name),
            };
            embeds.then_some(name)
        }
    });
    Ok(futures::future::join_all(checks).await.into_iter().flatten().collect())
}

/// The OpenAI-compatible `/v1/embeddings`: `{model, input: [..]}` answers
/// `{data: [{index, embedding: [..]}, ..]}`, put back in the order of the input.
pub(crate) async fn openai_embed(
    client: &reqwest::Client,
    endpoint: &str,
    api_key: Option<&str>,
    config: &LlmConfig,
    model: &str,
    input: &[String],
) -> Result<Vec<Vec<f32>>, LlmError> {
    check_input(model, input)?;
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let body = json!({ "model": model, "input": input, "encoding_format": "float" });
    let answer =
        post_json(client, endpoint, &format!("{endpoint}/embeddings"), api_key, config, model, &body).await?;
    let mut rows: Vec<Value> = answer["data"].as_array().cloned().unwrap_or_default();
    rows.sort_by_key(|r| r["index"].as_u64().unwrap_or(u64::MAX));
    vectors(endpoint, Some(&rows), input.len(), |row| &row["embedding"])
}
