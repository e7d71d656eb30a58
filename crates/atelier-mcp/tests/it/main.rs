//! atelier-mcp against real MCP servers from the npm registry (`tests/mcp-peers`, installed by
//! `scripts/setup.sh` with `npm ci`) and small misbehaving ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad;
mod everything;
mod support;
