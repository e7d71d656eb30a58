//! Finding the npm peers and starting servers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use atelier_mcp::{Mcp, NoEvents, Options, ServerSpec, ServerState, StdioSpec, Transport};

/// `tests/mcp-peers/node_modules` of the workspace.
pub fn peers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/mcp-peers/node_modules/@modelcontextprotocol")
}

/// The path of a peer server's entry point, or `None` (said loudly) when the peers are not
/// installed here. CI installs them (scripts/setup.sh), so there a missing peer fails.
pub fn peer(package: &str) -> Option<String> {
    let path = peers().join(package).join("dist/index.js");
    if path.is_file() {
        return Some(path.to_string_lossy().into_owned());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: run `npm ci` in tests/mcp-peers (scripts/setup.sh does)",
        path.display()
    );
    eprintln!("SKIPPED: {} is missing; run `npm ci` in tests/mcp-peers", path.display());
    None
}

/// Short timings so that failures show within seconds.
pub fn quick() -> Options {
    Options {
        handshake_timeout: Duration::from_secs(20),
        call_timeout: Duration::from_secs(20),
        max_failures: 5,
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        ..Options::default()
    }
}

pub fn mcp(options: Options) -> Mcp {
    Mcp::new(options, Arc::new(NoEvents))
}

pub fn stdio(name: &str, command: &str, args: &[&str]) -> ServerSpec {
    ServerSpec {
        name: name.into(),
        transport: Transport::Stdio(StdioSpec {
            command: command.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: BTreeMap::new(),
            cwd: None,
            sandbox: false,
        }),
    }
}

pub fn everything(name: &str) -> Option<ServerSpec> {
    Some(stdio(name, "node", &[&peer("server-everything")?, "stdio"]))
}

pub async fn ready(mcp: &Mcp, name: &str) -> ServerState {
    let state = mcp.wait_settled(name, Duration::from_secs(30)).await.unwrap();
    assert_eq!(state.status, atelier_mcp::Status::Ready, "{state:#?}");
    state
}

/// The process group ids of every process now running (from /proc).
#[cfg(target_os = "linux")]
pub fn process_groups() -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid pgrp …`: comm may hold spaces, so read after the last `)`.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") {
            continue;
        }
        if let Some(pgrp) = fields.get(2).and_then(|g| g.parse().ok()) {
            out.push((pid, pgrp));
        }
    }
    out
}
