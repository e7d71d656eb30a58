//! Integration tests for atelier-store, against real SQLite files in temp dirs.

// Tests may unwrap: a failure is the test failing, with the error in the panic message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod connections;
mod crud;
mod history;
mod schema;
mod search;
mod workflow;

use atelier_store::{MessageRole, MessageRow, MessageStatus, ProjectRow, SessionRow, Store, new_id, now};
use tempfile::TempDir;

/// A fresh store in its own temp dir; keep the dir alive as long as the store.
pub fn temp_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("atelier.db")).unwrap();
    (dir, store)
}

pub fn project(name: &str) -> ProjectRow {
    ProjectRow {
        id: new_id("prj"),
        name: name.to_owned(),
        path: format!("/home/user/code/{name}"),
        created_at: now(),
    }
}

pub fn session(project_id: Option<&str>) -> SessionRow {
    SessionRow {
        id: new_id("ses"),
        project_id: project_id.map(str::to_owned),
        agent: "chat".to_owned(),
        title: "New chat".to_owned(),
        model: Some("qwen3:8b".to_owned()),
        created_at: now(),
        tools: false,
    }
}

pub fn message(session_id: &str, role: MessageRole, content: &str) -> MessageRow {
    let at = now();
    MessageRow {
        id: new_id("msg"),
        session_id: session_id.to_owned(),
        role,
        content: content.to_owned(),
        reasoning: String::new(),
        status: MessageStatus::Complete,
        error: None,
        model: None,
        created_at: at.clone(),
        updated_at: at,
        tool: Default::default(),
    }
}

/// A store holding one session (in no project); returns the session id.
pub async fn store_with_session() -> (TempDir, Store, String) {
    let (dir, store) = temp_store();
    let s = session(None);
    let id = s.id.clone();
    store.insert_session(s, Vec::new()).await.unwrap();
    (dir, store, id)
}
