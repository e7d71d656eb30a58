//! `/ws`: the WebSocket transport. A connection is two halves: the reader answers requests in
//! order (one JSON-RPC message per frame); the writer sends responses and the client's events.
//! A slow client fills only its own bounded queues: its events turn into a `stream.gap`, and its
//! reader stops pulling requests until its responses drain. Other clients never wait for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use atelier_core::{Client, ClientLimits};
use atelier_protocol::{Response as RpcResponse, RpcError};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::connections::Slot;
use crate::guard::{origin_ok, token_ok};
use crate::{Limits, ServerState};

/// The answer to a request without a valid token.
pub(crate) const TOKEN_REQUIRED: &str = "a valid token is required: `Authorization: Bearer TOKEN` \
     or `?token=TOKEN` (atelier serve prints it)";

/// Events written in one go before the writer flushes and looks at its other duties.
const EVENT_BATCH: usize = 256;

pub(crate) async fn upgrade(
    State(state): State<ServerState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    slot: Option<Extension<Slot>>,
    ws: WebSocketUpgrade,
) -> Response {
    let config = &state.config;
    if !token_ok(config, &headers, query.get("token").map(String::as_str)) {
        return (StatusCode::UNAUTHORIZED, TOKEN_REQUIRED).into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| origin_ok(config, o));
        if !allowed {
            return (
                StatusCode::FORBIDDEN,
                "this Origin may not connect; start atelier serve with --allow-origin ORIGIN to \
                 accept it",
            )
                .into_response();
        }
    }
    // Shown the token: this connection keeps its place under the connection cap, for as long
    // as the WebSocket lives.
    let slot = slot.map(|Extension(slot)| slot);
    if let Some(slot) = &slot {
        slot.promote();
    }
    let limits = config.limits.clone();
    // Small buffers keep idle connections cheap; they grow only while a large message passes.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(limits.hard_max_frame * 2)
        .max_message_size(limits.hard_max_frame)
        .max_frame_size(limits.hard_max_frame)
        .on_upgrade(move |socket| async move {
            connection(socket, state, limits).await;
            drop(slot);
        })
}

/// The close frame for a message the WebSocket layer could not read: invalid UTF-8 in a text
/// frame is 1007, a message over the size limit 1009, any other breach of RFC 6455 (an unmasked
/// client frame, an unknown opcode, a bad continuation) 1002.
fn close_for(error: axum::Error) -> Option<CloseFrame> {
    let inner = error.into_inner();
    let error = inner.downcast_ref::<tungstenite::Error>()?;
    let (code, reason) = match error {
        tungstenite::Error::Utf8(_) => (close_code::INVALID, "a text frame was not valid UTF-8"),
        tungstenite::Error::Capacity(_) => (close_code::SIZE, "the message is over the 4 MiB limit"),
        tungstenite::Error::Protocol(_) => (close_code::PROTOCOL, "the frame broke the WebSocket protocol"),
        _ => return None,
    };
    Some(CloseFrame { code, reason: reason.into() })
}

/// Milliseconds since the connection opened when the peer was last heard from.
struct LastSeen {
    start: Instant,
    at_ms: AtomicU64,
}

impl LastSeen {
    fn touch(&self) {
        self.at_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silent_for(&self) -> std::time::Duration {
        let now = self.start.elapsed().as_millis() as u64;
        std::time::Duration::from_millis(now.saturating_sub(self.at_ms.load(Ordering::Relaxed)))
    }
}

async fn connection(socket: WebSocket, state: ServerState, limits: Limits) {
    let client = Arc::new(state.app.connect(ClientLimits::remote()));
    tracing::debug!(client = client.id(), "client connected");
    let (sink, mut stream) = socket.split();
    let (responses, queued) = mpsc::channel::<Message>(limits.send_queue);
    let closing = CancellationToken::new();
    let seen = Arc::new(LastSeen { start: Instant::now(), at_ms: AtomicU64::new(0) });
    // When the client last asked for something (a request or a ping of its own; not the pong
    // every WebSocket library sends by itself).
    let active = Arc::new(LastSeen { start: Instant::now(), at_ms: AtomicU64::new(0) });
    let close_with = Arc::new(std::sync::Mutex::new(None::<CloseFrame>));
    let writer = tokio::spawn(write_loop(
        sink,
        queued,
        client.clone(),
        limits.clone(),
        Watch { seen: seen.clone(), active: active.clone(), close_with: close_with.clone() },
        state.shutdown.clone(),
        closing.clone(),
    ));
    loop {
        let message = tokio::select! {
            m = stream.next() => m,
            () = closing.cancelled() => break,
            () = state.shutdown.cancelled() => break,
        };
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(e)) => {
                tracing::debug!(client = client.id(), error = %e, "unreadable WebSocket frame");
                *close_with.lock().unwrap_or_else(|p| p.into_inner()) = close_for(e);
                break;
            }
            None => break,
        };
        seen.touch();
        if !matches!(message, Message::Pong(_)) {
            active.touch();
        }
        let reply = match message {
            Message::Text(text) if text.len() > limits.max_frame => Some(too_large(text.len(), &limits)),
            Message::Binary(bytes) if bytes.len() > limits.max_frame => Some(too_large(bytes.len(), &limits)),
            Message::Text(text) => client.handle_text(text.as_str()).await,
            Message::Binary(bytes) => client.handle_bytes(&bytes).await,
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => None,
        };
        if let Some(reply) = reply
            && responses.send(Message::Text(reply.into())).await.is_err()
        {
            break;
        }
    }
    closing.cancel();
    client.close();
    if let Err(e) = writer.await {
        tracing::warn!(error = %e, "connection writer ended abnormally");
    }
    tracing::debug!(client = client.id(), "client disconnected");
}

fn too_large(len: usize, limits: &Limits) -> String {
    let error = RpcError::new(
        atelier_protocol::ErrorKind::InvalidInput,
        format!("the message is {len} bytes; the limit is {} bytes (split it up)", limits.max_frame),
    )
    .with_code(atelier_protocol::codes::INVALID_REQUEST);
    serde_json::to_string(&RpcResponse::err(serde_json::Value::Null, error)).unwrap_or_default()
}

/// What the writer watches besides its queues: when the peer was last heard from and last
/// active, and the close frame the reader wants sent.
struct Watch {
    seen: Arc<LastSeen>,
    active: Arc<LastSeen>,
    close_with: Arc<std::sync::Mutex<Option<CloseFrame>>>,
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut responses: mpsc::Receiver<Message>,
    client: Arc<Client>,
    limits: Limits,
    watch: Watch,
    shutdown: CancellationToken,
    closing: CancellationToken,
) {
    let Watch { seen, active, close_with } = watch;
    let mut ping = tokio::time::interval(limits.ping_every.min(limits.idle_after));
    ping.reset();
    loop {
        let sent = tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                let frame = CloseFrame { code: close_code::AWAY, reason: "server shutting down".into() };
                if let Err(e) = sink.send(Message::Close(Some(frame))).await {
                    tracing::debug!(error = %e, "close frame not sent");
                }
                break;
            }
            () = closing.cancelled() => {
                let frame = close_with.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(frame) = frame
                    && let Err(e) = sink.send(Message::Close(Some(frame))).await
                {
                    tracing::debug!(error = %e, "close frame not sent");
                }
                break;
            }
            response = responses.recv() => match response {
                Some(message) => sink.send(message).await,
                None => break,
            },
            event = client.next_event() => match event {
                Some(event) => send_events(&mut sink, &client, event.json.clone()).await,
                None => break,
            },
            _ = ping.tick() => {
                if seen.silent_for() > limits.dead_after {
                    tracing::debug!(client = client.id(), "dropping a silent peer");
                    break;
                }
                if client.topic_count() == 0 && active.silent_for() > limits.idle_after {
                    tracing::debug!(client = client.id(), "closing an idle connection");
                    let frame = CloseFrame {
                        code: close_code::NORMAL,
                        reason: "idle: no subscription and no request".into(),
                    };
                    if let Err(e) = sink.send(Message::Close(Some(frame))).await {
                        tracing::debug!(error = %e, "close frame not sent");
                    }
                    break;
                }
                sink.send(Message::Ping(Default::default())).await
            }
        };
        if sent.is_err() {
            break;
        }
    }
    closing.cancel();
}

/// Writes `first` and whatever else is queued (up to a batch), then flushes once.
async fn send_events(
    sink: &mut SplitSink<WebSocket, Message>,
    client: &Client,
    first: String,
) -> Result<(), axum::Error> {
    sink.feed(Message::Text(first.into())).await?;
    for _ in 1..EVENT_BATCH {
        match client.try_next_event() {
            Some(event) => sink.feed(Message::Text(event.json.clone().into())).await?,
            None => break,
        }
    }
    sink.flush().await
}
