//! Integration tests for atelier-core: the engine against real SQLite files and the testkit's
//! real HTTP model server, driven through the JSON-RPC API as clients use it.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bus;
mod chat;
mod fuzz;
mod hardening;
mod index;
mod keychain;
mod maintenance;
mod mcp;
mod rpc;
mod sandbox;
mod support;
mod system;
mod tools;
mod workflow;
mod workspace;
