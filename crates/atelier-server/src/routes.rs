//! Plain HTTP routes: `/health` and the UI's entry page.

use axum::Json;
use axum::extract::State;
use axum::response::{Html, IntoResponse};

use crate::ServerState;

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
