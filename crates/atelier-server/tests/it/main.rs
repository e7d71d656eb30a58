//! Integration tests for atelier-server over real TCP: WebSocket clients speaking JSON-RPC,
//! the token, Origin and Host checks, limits, and a whole chat against the testkit.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat;
mod guard;
mod hardening;
mod limits;
mod support;
