//! The web UI's TypeScript types are generated from these Rust types with ts-rs and committed
//! at `ui/src/protocol/generated.ts`. This test fails when that file is stale; run it with
//! `ATELIER_UPDATE_TS=1` to write the file anew.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use atelier_protocol::*;
use ts_rs::{Config, TS};

macro_rules! declarations {
    ($cfg:expr; $($t:ty),* $(,)?) => { vec![$((<$t>::name($cfg), <$t>::decl($cfg))),*] };
}

fn generated() -> String {
    // Counters and sizes stay far below 2^53: plain numbers, as JSON.parse gives them.
    let cfg = Config::new().with_large_int("number");
    let mut decls = declarations!(&cfg; serde_json::Value, Agent, ApiKeyStatus, AgentsList, Checkpoint, CheckpointRestored, CheckpointsRestore, ContextUsage, CoordinatorMetrics, Empty, ErrorData, ErrorKind, Event, EventNotification, FailureInfo, FileContent, FileEntry, FilesRead, FilesTree, FilesWrite, GitBranch, GitCheckout, GitCommit, GitDiff, GitLog, GitLogEntry, GitPaths, GitRemote, GitShow, GitShown, GitStatus, GitStatusEntry, Health, HealthCheck, HealthStatus, IdParams, ImportProgress, Message, MessageDelta, MessageEvent, MessageFailed, MessageStatus, MessagesList, MessagesRetried, MessagesRetry, MessagesSearch, MessagesSend, MessagesSent, MessagesStop, Model, ModelName, ModelPullProgress, ModelsList, Notification, Pong, Project, ProjectParams, ProjectsCreate, ProjectsDelete, ProjectsExport, ProjectExported, ProjectsImport, Response, Role, RpcError, SandboxStatus, SearchHit, Session, SessionsCreate, SessionsList, SessionsRename, SettingsDeleteKey, SettingsSet, SettingsSetKey, StreamGap, Subscribe, Subscribed, SystemMetrics, TerminalId, TerminalInfo, TerminalOpened, TerminalScrollback, TerminalsOpen, TerminalsResize, TerminalsWrite, Unsubscribe, UsageLine, Workflow, WorkflowUsage, WorkflowsApprove, WorkflowsControl, WorkflowsList, WorkflowsStart, WrittenFile, CodeHit, CodeRepoMap, CodeSearch, CodeSymbol, CodeSymbols, IndexProgress, IndexReady, IndexStatus, RepoMap, McpAdd, McpImport, McpList, McpName, McpServer, McpServerHealth, McpServerStatus, McpSetEnabled, McpTool, McpToolsChanged, McpUpdate, SessionsUpdate, ToolCallEvent, ToolCallInfo, ToolDecision, ToolDescription, ToolEffect, ToolOutputEvent, ToolResultEvent, ToolStatus, ToolsAllowed, ToolsApprove, ToolsList, ToolsPending, EditShare, WorkflowReview, FileChange, DiffHunk, ReviewAccept, WorkflowsReview, ReviewDone, SessionChange, SessionsChanges, SessionsChangePaths, SessionChangesEvent, ModelProbe, ModelsProbe, ModelsRecommended, RecommendedModel, );
    // The workspace essentials (API v1.2).
    decls.extend(declarations!(&cfg; FilesCreate, FilesRename, FilesDelete, FilesRenamed, FilesDeleted, FilesSearch, FileMatch, FilesFound, FilesReplace, ReplacedFile, FilesReplaced, GitCommitDetails, CommitFile, CommitDetails, ProjectsList, CleanupCandidate, ProjectsCleanup, ProjectsCleaned, Backup, BackupRestored));
    decls.sort();
    let mut out = String::from(
        "// Generated from crates/atelier-protocol by ts-rs; do not edit.\n\
         // Regenerate: ATELIER_UPDATE_TS=1 cargo test -p atelier-protocol --test typescript\n",
    );
    for (_, decl) in decls {
        out.push_str("\nexport ");
        out.push_str(decl.trim());
        out.push('\n');
    }
    out
}

#[test]
fn the_ui_types_match_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/protocol/generated.ts");
    let fresh = generated();
    if std::env::var_os("ATELIER_UPDATE_TS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale: run ATELIER_UPDATE_TS=1 cargo test -p atelier-protocol --test typescript",
        path.display()
    );
}
