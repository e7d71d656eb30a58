//! Integration tests for atelier-tools: the built-in tools on real folders and real processes,
//! and the agent loop against the testkit's model server speaking each wire format.

// In tests a failed expect is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent;
mod builtin;
mod run;

use std::path::Path;
use std::sync::Arc;

use atelier_sandbox::{Policy, Sandbox, SandboxSetting};
use atelier_tools::{CommandRunner, SandboxRunner};

/// Commands run as the product runs them: in the strongest sandbox this machine has.
pub fn runner(root: &Path) -> Arc<dyn CommandRunner> {
    let sandbox = Sandbox::detect(SandboxSetting::Auto).expect("a sandbox (or none) is detected");
    Arc::new(SandboxRunner { sandbox: Arc::new(sandbox), policy: Policy::new(root) })
}
