//! Embeddings through Ollama's `/api/embed`, the OpenAI-compatible `/v1/embeddings` and a pool,
//! against the testkit's deterministic embedding model.

use std::sync::Arc;

use atelier_llm::{EndpointPool, LlmError, OpenAiCompatProvider, PoolConfig, Provider};
use atelier_testkit::{TestLlm, TestModel};

use crate::{config, setup};

fn models() -> Vec<TestModel> {
    vec![TestModel::new("test-model", 8192), TestModel::embedding("nomic-embed-text")]
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn ollama_embeds_each_text_in_order_and_names_its_embedding_models() {
    let (llm, provider) = setup().await;
    llm.set_models(models());
    assert_eq!(provider.embedding_models().await.unwrap(), ["nomic-embed-text"]);
    let input = texts(&["choose the context window", "choose context window size", "zip export"]);
    let vectors = provider.embed("nomic-embed-text", &input).await.unwrap();
    assert_eq!(vectors.len(), 3);
    assert_eq!(vectors[0], atelier_testkit::embed::vector(&input[0]));
    assert!(cosine(&vectors[0], &vectors[1]) > cosine(&vectors[0], &vectors[2]));
    let sent = llm.requests().into_iter().find(|r| r.path == "/api/embed").unwrap();
    assert_eq!(sent.body["input"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_chat_model_or_a_missing_one_is_refused_clearly() {
    let (llm, provider) = setup().await;
    llm.set_models(models());
    let err = provider.embed("test-model", &texts(&["x"])).await.unwrap_err();
    assert!(err.to_string().contains("does not support embeddings"), "{err}");
    let err = provider.embed("missing-embed", &texts(&["x"])).await.unwrap_err();
    assert!(matches!(err, LlmError::ModelNotFound { .. }), "{err:?}");
    assert!(provider.embed("nomic-embed-text", &vec!["x".to_owned(); 65]).await.is_err());
    assert!(provider.embed("nomic-embed-text", &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn openai_compatible_servers_embed_and_are_known_by_name() {
    let llm = TestLlm::start().await.unwrap();
    llm.set_models(models());
    let provider =
        OpenAiCompatProvider::new(llm.url().parse().unwrap(), Some("sk-x".into()), config()).unwrap();
    assert_eq!(provider.embedding_models().await.unwrap(), ["nomic-embed-text"]);
    let vectors = provider.embed("nomic-embed-text", &texts(&["a b", "c d"])).await.unwrap();
    assert_eq!(vectors[1], atelier_testkit::embed::vector("c d"));
    let sent = llm.requests().into_iter().find(|r| r.path == "/v1/embeddings").unwrap();
    assert_eq!(sent.header("authorization"), Some("Bearer sk-x"));
}

#[tokio::test]
async fn a_pool_embeds_on_an_endpoint_that_answers() {
    let down = TestLlm::start().await.unwrap();
    let down_url = down.url();
    down.shutdown().await;
    let up = TestLlm::start().await.unwrap();
    up.set_models(models());
    let spec = format!("{down_url},{}", up.url());
    let llm = atelier_llm::LlmConfig { max_retries: 0, ..config() };
    let pool = Arc::new(EndpointPool::from_spec(&spec, None, llm, PoolConfig::default()).unwrap());
    assert_eq!(pool.embedding_models().await.unwrap(), ["nomic-embed-text"]);
    let vectors = pool.embed("nomic-embed-text", &texts(&["hello"])).await.unwrap();
    assert_eq!(vectors.len(), 1);
    // Providers without embeddings say so.
    let anthropic =
        atelier_llm::AnthropicProvider::new(up.url().parse().unwrap(), "k".into(), config()).unwrap();
    assert!(anthropic.embed("x", &texts(&["a"])).await.is_err());
    assert!(anthropic.embedding_models().await.unwrap().is_empty());
}
