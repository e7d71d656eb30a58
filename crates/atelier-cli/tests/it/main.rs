//! End-to-end tests of the `atelier` binary as a person runs it: real processes, a real
//! WebSocket, the testkit as the model server, and kill -9 in the middle of a reply.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod chat;
mod crash;
mod doctor;
mod mcp;
mod run;
mod serve;
mod support;
