//! Atelier's workflow engine: a master agent plans, manager agents refine each module, coder
//! agents write each file — streamed, durable, and under the person's control.
//!
//! [`plan`], [`extract`] and [`edit`] turn real models' messy output into validated values;
//! [`workflow`] runs the agents.

/// SEARCH/REPLACE edits, shared with the agents' `edit_file` tool.
pub use atelier_tools::edit;
pub mod extract;
pub mod plan;
pub mod workflow;

pub use workflow::{
    Accepted, Budget, Confine, Decision, Engine, Events, FileChange, Hunk, Knowledge, Options, WorkflowError,
    apply_hunks, change, pending_review, written_files,
};
