//! Running a command for an agent: a shell command in the project folder, confined by the
//! sandbox in force (atelier-sandbox: bubblewrap, Landlock, Seatbelt, a container, or nothing
//! when the person turned it off), its output streamed as it comes, a wall-clock timeout, an
//! output cap, and the whole process tree killed on timeout or cancel.

use std::sync::Arc;
use std::time::Duration;

use atelier_sandbox::{Policy, RunOutcome, RunSpec, Sandbox};
use tokio_util::sync::CancellationToken;

/// What to run (in the project folder).
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// A shell command line (`sh -c` on Unix, `cmd /C` on Windows).
    pub command: String,
    pub timeout: Duration,
    /// The most output kept; what comes after is counted, not kept.
    pub output_cap: usize,
}

/// How an agent's commands run. atelier-core gives the tools one that asks the settings for
/// the sandbox at each run (so a changed setting counts at once).
#[async_trait::async_trait]
pub trait CommandRunner: Send + Sync {
    /// Runs `request`, handing output to `on_output` as it arrives. Errors are for what kept
    /// the command from starting at all (a sandbox that cannot start), with why.
    async fn run(
        &self,
        request: RunRequest,
        cancel: &CancellationToken,
        on_output: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> Result<RunOutcome, String>;

    /// Whether commands are confined. Unconfined runs always ask the person, even when the
    /// setting `tools.auto_approve_run` is on (Windows, the sandbox turned off).
    fn confined(&self) -> bool;
}

/// Runs commands through a sandbox with a fixed policy.
#[derive(Debug, Clone)]
pub struct SandboxRunner {
    pub sandbox: Arc<Sandbox>,
    pub policy: Policy,
}

#[async_trait::async_trait]
impl CommandRunner for SandboxRunner {
    async fn run(
        &self,
        request: RunRequest,
        cancel: &CancellationToken,
        on_output: &mut (dyn for<'b> FnMut(&'b [u8]) + Send),
    ) -> Result<RunOutcome, String> {
        let spec = RunSpec {
            command: request.command,
            policy: self.policy.clone(),
            timeout: request.timeout,
            output_cap: request.output_cap,
            env: Vec::new(),
        };
        self.sandbox.run(spec, cancel, on_output).await.map_err(|e| e.to_string())
    }

    fn confined(&self) -> bool {
        self.sandbox.mode().is_confined()
    }
}
