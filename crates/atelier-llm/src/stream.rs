//! What the providers share: sending a request under cancellation and timeouts, turning HTTP
//! failures into [`LlmError`]s, reading a body chunk by chunk, and the retry loop.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::{Completion, Delta, LlmConfig, LlmError};

pub(crate) fn http_client(config: &LlmConfig) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| LlmError::InvalidRequest(format!("cannot build the HTTP client: {e}")))
}

pub(crate) fn map_send_error(endpoint: &str, e: &reqwest::Error) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout { endpoint: endpoint.to_owned(), what: "a connection" }
    } else {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        LlmError::Unreachable { endpoint: endpoint.to_owned(), reason }
    }
}

/// Sends `request`, waiting at most `first_byte` for the response head.
pub(crate) async fn send(
    endpoint: &str,
    request: reqwest::RequestBuilder,
    first_byte: Duration,
    cancel: &CancellationToken,
) -> Result<reqwest::Response, LlmError> {
    tokio::select! {
        () = cancel.cancelled() => Err(LlmError::Cancelled),
        sent = tokio::time::timeout(first_byte, request.send()) => match sent {
            Err(_) => Err(LlmError::Timeout { endpoint: endpoint.to_owned(), what: "the reply to start" }),
            Ok(Err(e)) => Err(map_send_error(endpoint, &e)),
            Ok(Ok(response)) => Ok(response),
        },
    }
}

/// The message in an error body: `{"error": "..."}` (Ollama) or `{"error": {"message": ...}}`
/// (OpenAI), else the body's text.
pub(crate) fn error_text(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v["error"].as_str().map(str::to_owned).or_else(|| v["error"]["message"].as_str().map(str::to_owned))
    });
    let text = message.unwrap_or_else(|| body.trim().to_owned());
    text.chars().take(500).collect()
}

/// A wrong URL also answers 404 ("404 page not found"); only a message about a model means
/// the model is missing.
pub(crate) fn looks_like_missing_model(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("model")
        && (m.contains("not found") || m.contains("does not exist") || m.contains("model_not_found"))
}

/// The longest `Retry-After` honoured; past it the error goes to the caller instead of a wait
/// nobody expects.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The waits between tries: exponential from `min` to `max` with jitter, `times` of them.
pub(crate) fn backoff(min: Duration, max: Duration, times: usize) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_max_times(times)
        .with_jitter()
        .build()
}

/// A non-success response, read whole so a provider can look at it before it becomes an error.
pub(crate) struct Failure {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

impl Failure {
    pub async fn read(response: reqwest::Response) -> Failure {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await.unwrap_or_default();
        Failure { status, retry_after, body }
    }

    /// The error every provider agrees on for this status.
    pub fn into_error(self, endpoint: &str, model: &str) -> LlmError {
        let message = error_text(&self.body);
        let endpoint = endpoint.to_owned();
        match self.status {
            401 | 403 => LlmError::Unauthorized { endpoint },
            404 if looks_like_missing_model(&message) => LlmError::ModelNotFound { model: model.to_owned() },
            429 => LlmError::RateLimited { endpoint, retry_after: self.retry_after },
            status => LlmError::Http { endpoint, status, body: message },
        }
    }
}

/// Turns a non-success response into the matching error.
pub(crate) async fn check_status(
    endpoint: &str,
    model: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response, LlmError> {
    if response.status().is_success() {
        return Ok(response);
    }
    Err(Failure::read(response).await.into_error(endpoint, model))
}

/// Reads the next server-sent event: `first_byte` applies until something arrived, `idle`
/// after. `Ok(None)` is the end of the stream.
pub(crate) async fn next_event<S>(
    endpoint: &str,
    events: &mut S,
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<Option<eventsource_stream::Event>, LlmError>
where
    S: Stream<Item = Result<eventsource_stream::Event, eventsource_stream::EventStreamError<reqwest::Error>>>
        + Unpin,
{
    tokio::select! {
        () = cancel.cancelled() => Err(LlmError::Cancelled),
        next = tokio::time::timeout(wait, events.next()) => match next {
            Err(_) => Err(LlmError::Timeout { endpoint: endpoint.to_owned(), what: "the next part of the reply" }),
            Ok(None) => Ok(None),
            Ok(Some(Err(e))) => Err(LlmError::Stream { endpoint: endpoint.to_owned(), message: format!("the connection broke: {e}") }),
            Ok(Some(Ok(event))) => Ok(Some(event)),
        },
    }
}

/// The error for a stream that ended before the server said the reply was complete.
pub(crate) fn cut_short(endpoint: &str) -> LlmError {
    LlmError::Stream {
        endpoint: endpoint.to_owned(),
        message: "the connection closed before the reply finished".into(),
    }
}

/// Reads the next chunk of a body: `first_byte` applies until something arrived, `idle` after.
pub(crate) async fn next_chunk<S>(
    endpoint: &str,
    stream: &mut S,
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<Option<Bytes>, LlmError>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Unpin,
{
    tokio::select! {
        () = cancel.cancelled() => Err(LlmError::Cancelled),
        next = tokio::time::timeout(wait, stream.next()) => match next {
            Err(_) => Err(LlmError::Timeout { endpoint: endpoint.to_owned(), what: "the next part of the reply" }),
            Ok(None) => Ok(None),
            Ok(Some(Err(e))) => Err(LlmError::Stream { endpoint: endpoint.to_owned(), message: format!("the connection broke: {e}") }),
            Ok(Some(Ok(bytes))) => Ok(Some(bytes)),
        },
    }
}

/// Passes deltas on and remembers whether any went out (after which a retry would repeat them).
pub(crate) struct Emitter<'a> {
    pub on_delta: &'a mut (dyn FnMut(Delta) + Send),
    pub emitted: bool,
    pub completion: Completion,
}

impl Emitter<'_> {
    pub fn emit(&mut self, delta: Delta) {
        match &delta {
            Delta::Content(t) => self.completion.content.push_str(t),
            Delta::Reasoning(t) => self.completion.reasoning.push_str(t),
        }
        self.emitted = true;
        (self.on_delta)(delta);
    }
}

/// Runs `attempt` until it succeeds, fails for good, or has sent deltas (which a retry would
/// repeat). Waits between attempts follow an exponential backoff with jitter, or the server's
/// `Retry-After` when it is longer.
pub(crate) async fn with_retries<'a, F, Fut>(
    config: &LlmConfig,
    cancel: &CancellationToken,
    on_delta: &'a mut (dyn FnMut(Delta) + Send),
    mut attempt: F,
) -> Result<Completion, LlmError>
where
    F: FnMut(Emitter<'a>) -> Fut,
    Fut: Future<Output = (Emitter<'a>, Result<(), LlmError>)>,
{
    let mut backoff = backoff(config.retry_min_delay, config.retry_max_delay, config.max_retries);
    let mut emitter = Emitter { on_delta, emitted: false, completion: Completion::default() };
    loop {
        emitter.completion = Completion::default();
        let (back, result) = attempt(emitter).await;
        emitter = back;
        let error = match result {
            Ok(()) => return Ok(emitter.completion),
            Err(e) => e,
        };
        if emitter.emitted || !error.retryable() {
            return Err(error);
        }
        let Some(mut wait) = backoff.next() else { return Err(error) };
        if let LlmError::RateLimited { retry_after: Some(after), .. } = &error {
            if *after > MAX_RETRY_AFTER {
                return Err(error);
            }
            wait = wait.max(*after);
        }
        tracing::debug!(error = %error, wait_ms = wait.as_millis() as u64, "retrying the model request");
        tokio::select! {
            () = cancel.cancelled() => return Err(LlmError::Cancelled),
            () = tokio::time::sleep(wait) => {}
        }
    }
}
