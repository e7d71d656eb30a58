//! Integration tests for atelier-agents: messy model output turned into values, and whole
//! workflows against the testkit, a real SQLite store and a real git repository.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod output;
mod workflow;
