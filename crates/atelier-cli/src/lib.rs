//! What the `atelier` command and the desktop app share: starting the engine (data folder,
//! model provider, default model) and logging.

pub mod engine;
pub mod logging;
