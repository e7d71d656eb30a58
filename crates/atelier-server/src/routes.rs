//! Plain HTTP routes: `/health` and the UI's entry page.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::ServerState;
use crate::guard::token_ok;

/// `GET /health`: no token needed; reveals no paths, names or secrets.
pub(crate) async fn health(State(state): State<ServerState>) -> impl IntoResponse {
    Json(state.app.health().await)
}

/// `GET /`: the web UI comes with its own issue; until then this page says what is here.
pub(crate) async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Atelier</title></head>\
         <body><h1>Atelier</h1><p>The Atelier server is running. Clients speak JSON-RPC 2.0 over \
         the WebSocket at <code>/ws</code> (see docs/protocol.md); <code>/health</code> reports \
         its health.</p></body></html>",
    )
}

/// `GET /download/{project_id}`: the project as a zip, streamed from a temporary file. Token
/// required; `?ignored=1` includes what `.gitignore` ignores.
pub(crate) async fn download(
    State(state): State<ServerState>,
    Path(project_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !token_ok(&state.config, &headers, query.get("token").map(String::as_str)) {
        return (StatusCode::UNAUTHORIZED, "a valid token is required").into_response();
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
