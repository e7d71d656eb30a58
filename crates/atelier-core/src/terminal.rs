//! `terminals.*`: shells in the project folder through atelier-terminal; output goes out on
//! `terminal/<id>` as base64 (never JSON number arrays).

use std::path::PathBuf;
use std::sync::Arc;

use atelier_protocol::TerminalScrollback;
use atelier_terminal::{Sink, TerminalError};
use base64::Engine as _;
use serde_json::json;

use crate::App;
use crate::bus::EventBus;
use crate::error::{CoreError, CoreResult};

/// How many terminals one project may have open.
pub(crate) const PER_PROJECT: usize = 8;
/// How many terminals may be open at once in all projects.
pub(crate) const IN_ALL: usize = 32;

pub(crate) struct BusSink(pub EventBus);

impl Sink for BusSink {
    fn output(&self, id: &str, offset: u64, data: &[u8]) {
        let data_b64 = base64::engine::general_purpose::STANDARD.encode(data);
        self.0.publish(
            &format!("terminal/{id}"),
            "terminal.output",
            json!({ "data_b64": data_b64, "offset": offset }),
        );
    }

    fn exited(&self, id: &str, code: Option<u32>) {
        self.0.publish(&format!("terminal/{id}"), "terminal.exited", json!({ "code": code }));
    }
}

impl From<TerminalError> for CoreError {
    fn from(e: TerminalError) -> Self {
        match e {
            TerminalError::NotFound(id) => CoreError::NotFound { what: "terminal", id },
            TerminalError::TooMany(_) | TerminalError::TooManyInAll(_) => CoreError::Conflict(e.to_string()),
            TerminalError::BadSize { .. } => CoreError::InvalidInput(e.to_string()),
            TerminalError::Start(_) | TerminalError::Io { .. } => CoreError::Internal(e.to_string()),
        }
    }
}

impl App {
    pub async fn open_terminal(&self, project_id: &str, cols: u16, rows: u16) -> CoreResult<String> {
        let root = PathBuf::from(self.store().get_project(project_id).await?.path);
        let terminals = self.inner.terminals.clone();
        let sink: Arc<dyn Sink> = Arc::new(BusSink(self.bus().clone()));
        let owner = project_id.to_owned();
        let id = tokio::task::spawn_blocking(move || terminals.open(&owner, &root, cols, rows, sink))
            .await
            .map_err(|e| CoreError::Internal(format!("terminal task failed: {e}")))??;
        Ok(id)
    }

    /// The project's open terminals, oldest first.
    pub async fn list_terminals(&self, project_id: &str) -> CoreResult<Vec<atelier_protocol::TerminalInfo>> {
        self.store().get_project(project_id).await?;
        Ok(self
            .inner
            .terminals
            .list(project_id)
            .into_iter()
            .map(|t| atelier_protocol::TerminalInfo { terminal_id: t.id, cols: t.cols, rows: t.rows })
            .collect())
    }

    pub fn write_terminal(&self, id: &str, data: &str) -> CoreResult<()> {
        Ok(self.inner.terminals.write(id, data.as_bytes())?)
    }

    pub fn resize_terminal(&self, id: &str, cols: u16, rows: u16) -> CoreResult<()> {
        Ok(self.inner.terminals.resize(id, cols, rows)?)
    }

    pub fn close_terminal(&self, id: &str) -> CoreResult<()> {
        Ok(self.inner.terminals.close(id)?)
    }

    pub fn terminal_scrollback(&self, id: &str) -> CoreResult<TerminalScrollback> {
        let (bytes, offset) = self.inner.terminals.scrollback(id)?;
        Ok(TerminalScrollback { data_b64: base64::engine::general_purpose::STANDARD.encode(bytes), offset })
    }
}
