//! Logs go to stderr and to a daily-rotated file in a log folder (`<data dir>/logs` for the
//! command, the platform's log folder for the desktop app; seven kept).
//! `ATELIER_LOG` (or `RUST_LOG`) sets the filter, e.g. `ATELIER_LOG=atelier_core=debug`.

use std::path::Path;

pub use tracing_appender::non_blocking::WorkerGuard as Guard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Sets up logging; the returned guard flushes the file when dropped. `quiet` keeps stderr to
/// errors (interactive commands print their own messages); the file still gets info.
pub fn init(logs: &Path, quiet: bool) -> Option<Guard> {
    let filter = |default: &str| {
        std::env::var("ATELIER_LOG")
            .or_else(|_| std::env::var("RUST_LOG"))
            .map(EnvFilter::new)
            .unwrap_or_else(|_| EnvFilter::new(default))
    };
    let stderr =
        fmt::layer().with_writer(std::io::stderr).with_filter(filter(if quiet { "error" } else { "info" }));
    if let Err(e) = std::fs::create_dir_all(logs) {
        eprintln!("warning: cannot create {}: {e}; logging to stderr only", logs.display());
    }
    let file = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("atelier")
        .filename_suffix("log")
        .max_log_files(7)
        .build(logs);
    // Logs name projects and files: the owner's only. (A new day's file is created with the
    // usual mode, inside this folder that nobody else can enter.)
    atelier_core::make_private(logs);
    match file {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file_layer = fmt::layer().with_ansi(false).with_writer(writer).with_filter(filter("info"));
            tracing_subscriber::registry().with(stderr).with(file_layer).init();
            Some(guard)
        }
        Err(e) => {
            tracing_subscriber::registry().with(stderr).init();
            tracing::warn!(error = %e, "no log file; logging to stderr only");
            None
        }
    }
}
