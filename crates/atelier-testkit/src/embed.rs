//! Embeddings for tests: Ollama's `/api/embed` and the OpenAI-compatible `/v1/embeddings`,
//! answering deterministic vectors (a hashed bag of words, so texts sharing words are near).
//! They are not a real model: similar meaning without shared words is not near. A model made
//! with [`TestModel::embedding`] lists `embedding` among its `/api/show` capabilities.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{Shared, TestModel, key_refusal, read_json, read_request};

/// The length of every test embedding.
pub const DIM: usize = 64;

/// Families whose models make embeddings (as Ollama reports `nomic-bert` for
/// `nomic-embed-text`).
const EMBEDDING_FAMILIES: &[&str] = &["nomic-bert", "bert"];

impl TestModel {
    /// An embedding model (e.g. `nomic-embed-text`): it embeds, and does not chat.
    pub fn embedding(name: &str) -> TestModel {
        TestModel {
            family: "nomic-bert".to_owned(),
            quantization: "F16".to_owned(),
            ..TestModel::new(name, 2048)
        }
    }

    pub fn is_embedding(&self) -> bool {
        EMBEDDING_FAMILIES.contains(&self.family.as_str())
    }
}

/// `/api/show`'s `capabilities` for a model.
pub(crate) fn capabilities(model: &TestModel) -> Value {
    if model.is_embedding() { json!(["embedding"]) } else { json!(["completion"]) }
}

/// The words of a text, lower case, identifiers split (`chooseNumCtx` is three words).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in text.split(|c: char| !c.is_alphanumeric()) {
        let mut current = String::new();
        let mut prev_lower = false;
        for c in piece.chars() {
            if c.is_uppercase() && prev_lower && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            current.extend(c.to_lowercase());
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

fn fnv(word: &str) -> u64 {
    word.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

/// The test embedding of `text`: each word adds ±1 at a place chosen by its hash; the sum is
/// normalised. Deterministic, and texts sharing words have a high cosine.
pub fn vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    for word in words(text) {
        let h = fnv(&word);
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[(h % DIM as u64) as usize] += sign;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn inputs(body: &Value) -> Vec<String> {
    match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().map(|i| i.as_str().unwrap_or_default().to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// The model named in `body`, if the server has it: `Err` is the answer for a missing model
/// or one that does not embed.
fn embedding_model(shared: &Shared, body: &Value, openai: bool) -> Result<String, Box<Response>> {
    let name = body["model"].as_str().unwrap_or_default().to_owned();
    let model = shared
        .script()
        .models
        .iter()
        .find(|m| m.name == name || format!("{}:latest", m.name) == name)
        .cloned();
    let error = |status: StatusCode, message: String| {
        let body = if openai {
            json!({ "error": { "message": message, "type": "invalid_request_error", "code": "model_not_found" } })
        } else {
            json!({ "error": message })
        };
        Err(Box::new((status, axum::Json(body)).into_response()))
    };
    match model {
        None => error(StatusCode::NOT_FOUND, format!("model \"{name}\" not found, try pulling it first")),
        Some(m) if !m.is_embedding() => {
            error(StatusCode::BAD_REQUEST, format!("\"{name}\" does not support embeddings"))
        }
        Some(_) => Ok(name),
    }
}

/// `/api/embed`: `{model, input}` → `{model, embeddings}`.
pub(crate) async fn ollama_embed(State(shared): State<Shared>, request: Request) -> Response {
    let body = read_json(&shared, request).await;
    let model = match embedding_model(&shared, &body, false) {
        Ok(m) => m,
        Err(response) => return *response,
    };
    let embeddings: Vec<Vec<f32>> = inputs(&body).iter().map(|t| vector(t)).collect();
    axum::Json(json!({ "model": model, "embeddings": embeddings, "total_duration": 1_000_000, "prompt_eval_count": 1 }))
        .into_response()
}

/// `/v1/embeddings`: `{model, input}` → `{object: "list", data: [{index, embedding}], model, usage}`.
pub(crate) async fn openai_embeddings(State(shared): State<Shared>, request: Request) -> Response {
    let recorded = read_request(&shared, request).await;
    if let Some(refusal) = key_refusal(&shared, crate::Api::OpenAi, &recorded) {
        return refusal;
    }
    let model = match embedding_model(&shared, &recorded.body, true) {
        Ok(m) => m,
        Err(response) => return *response,
    };
    let data: Vec<Value> = inputs(&recorded.body)
        .iter()
        .enumerate()
        .map(|(index, t)| json!({ "object": "embedding", "index": index, "embedding": vector(t) }))
        .collect();
    axum::Json(json!({ "object": "list", "data": data, "model": model, "usage": { "prompt_tokens": 1, "total_tokens": 1 } }))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn texts_sharing_words_are_nearer_than_others() {
        let a = vector("choose the context window size");
        let b = vector("chooseContextWindow size");
        let c = vector("export a zip archive");
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.3, "{} {}", cosine(&a, &b), cosine(&a, &c));
        assert_eq!(vector("same words"), vector("same words"));
    }
}
