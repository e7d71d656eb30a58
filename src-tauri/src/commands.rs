//! The Tauri commands: adapters that hand the UI's messages to the engine (see `shell`).

use tauri::State;
use tauri::ipc::{Channel, InvokeResponseBody, Response};

use crate::shell::{CloseGuard, Desktop, LaunchFolder, ServerStatus};

/// One JSON-RPC message (a request, a notification or a batch) as text; the answer is the
/// response as JSON, `null` for notifications. Sent as raw JSON, never re-encoded.
#[tauri::command]
pub async fn rpc(request: String, desktop: State<'_, Desktop>) -> Result<Response, String> {
    let answer = desktop.client().handle_text(&request).await.unwrap_or_else(|| "null".to_owned());
    Ok(Response::new(InvokeResponseBody::Json(answer)))
}

/// Registers the window's event channel and returns at once; every event of the window's
/// subscriptions follows on it as a JSON-RPC `event` notification. A later call (the page was
/// reloaded) replaces the connection and its subscriptions.
#[tauri::command]
pub fn events(channel: Channel<InvokeResponseBody>, desktop: State<'_, Desktop>) {
    desktop.attach(move |json| channel.send(InvokeResponseBody::Json(json)).is_ok());
}

/// The embedded server's state: whether it runs, where, and its token.
#[tauri::command]
pub async fn server_status(desktop: State<'_, Desktop>) -> Result<ServerStatus, String> {
    Ok(desktop.server_status().await)
}

/// Starts, restarts or stops the embedded server (`public` binds every interface, which the UI
/// confirms first); the choice is kept for the next start.
#[tauri::command]
pub async fn server_set(
    enabled: bool,
    port: u16,
    public: bool,
    desktop: State<'_, Desktop>,
) -> Result<ServerStatus, String> {
    desktop.set_server(enabled, port, public).await.map_err(|e| format!("{e:#}"))
}

/// What to ask before the window closes (the editor's unsaved files, in the UI's words), or
/// `null`: close at once. The shell asks it itself, so closing works whatever the page is doing.
#[tauri::command]
pub fn set_close_question(question: Option<String>, guard: State<'_, CloseGuard>) {
    guard.set(question);
}

/// The folder named on the command line, once (later calls answer `null`); the UI opens it as
/// a project. Folders named by later launches arrive as the `open-folder` event.
#[tauri::command]
pub fn take_launch_folder(launch: State<'_, LaunchFolder>) -> Option<String> {
    launch.take()
}
