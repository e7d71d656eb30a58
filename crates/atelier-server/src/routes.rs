//! Plain HTTP routes: `/health`, `/download/{id}` and the web UI's files.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};

use crate::ServerState;
use crate::connections::Slot;
use crate::guard::token_ok;

/// `GET /health`: without a token, the overall status and each check's name and status only
/// (no versions, model names or details: the contract says it reveals no names); with the
/// token (`Authorization: Bearer` or `?token=`), everything `system.health` says.
pub(crate) async fn health(
    State(state): State<ServerState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let mut health = state.app.health().await;
    if !token_ok(&state.config, &headers, query.get("token").map(String::as_str)) {
        health.version = None;
        for check in &mut health.checks {
            check.detail = None;
        }
    }
    Json(health)
}

/// `GET /auth/check`: 204 when the token (as for `/ws`) is valid, else 401 with `/ws`'s answer.
/// A browser cannot see why a WebSocket upgrade failed; this tells a stale token from a server
/// that is down.
pub(crate) async fn auth_check(
    State(state): State<ServerState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if token_ok(&state.config, &headers, query.get("token").map(String::as_str)) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::UNAUTHORIZED, crate::ws::TOKEN_REQUIRED).into_response()
    }
}

/// The built web UI (`ui/dist`): embedded in release builds, read from disk in debug builds
/// so `npm run build` is seen without a rebuild.
#[derive(rust_embed::Embed)]
#[folder = "$CARGO_MANIFEST_DIR/../../ui/dist"]
#[allow_missing = true]
struct Ui;

/// Shown when the binary was built before the UI was.
const NO_UI: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Atelier</title>\
    </head><body><h1>Atelier</h1><p>The Atelier server is running, but this build has no web UI. \
    Build it with <code>npm --prefix ui ci && npm --prefix ui run build</code> (a release build \
    embeds it). Clients can use the JSON-RPC API at <code>/ws</code>; <code>/health</code> \
    reports health.</p></body></html>";

/// Every other `GET`: the UI's files; paths without a file get `index.html` (the UI routes
/// in the browser), except missing `/assets/…`, which are 404.
pub(crate) async fn ui(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let (file, path) = match Ui::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (file, path),
        None if path.starts_with("assets/") => return (StatusCode::NOT_FOUND, "not found").into_response(),
        None => match Ui::get("index.html") {
            Some(file) => (file, "index.html"),
            None => return Html(NO_UI).into_response(),
        },
    };
    // Vite names assets by content hash: they never change; the entry page always may.
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    (
        [
            (header::CONTENT_TYPE, file.metadata.mimetype().to_owned()),
            (header::CACHE_CONTROL, cache.to_owned()),
        ],
        file.data,
    )
        .into_response()
}

/// `GET /download/{project_id}`: the project as a zip, streamed from a temporary file. Token
/// required; `?ignored=1` includes what `.gitignore` ignores.
pub(crate) async fn download(
    State(state): State<ServerState>,
    Path(project_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    slot: Option<Extension<Slot>>,
) -> Response {
    if !token_ok(&state.config, &headers, query.get("token").map(String::as_str)) {
        return (StatusCode::UNAUTHORIZED, "a valid token is required").into_response();
    }
    // A download may take a while: it keeps its connection's place under the cap.
    if let Some(Extension(slot)) = slot {
        slot.promote();
    }
    let include_ignored = query.get("ignored").is_some_and(|v| v == "1" || v == "true");
    match state.app.export_project(&project_id, include_ignored).await {
        Ok((file, name)) => {
            let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
            let disposition = format!("attachment; filename=\"{}\"", name.replace('"', ""));
            (
                [
                    (header::CONTENT_TYPE, "application/zip".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Err(e) => {
            let status = match e.kind() {
                atelier_protocol::ErrorKind::NotFound => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, e.user_message()).into_response()
        }
    }
}
