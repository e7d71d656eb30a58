//! `atelier backup` (a copy of the database now, even while the app runs; `--list` shows the
//! backups) and `atelier restore ID` (only while no Atelier uses the data folder).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// List the backups (newest first) instead of making one.
    #[arg(long)]
    list: bool,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup to restore (`atelier backup --list` shows them).
    id: String,
}

fn size(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub async fn backup(args: BackupArgs, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let list = args.list;
    let done = tokio::task::spawn_blocking(move || {
        if list {
            atelier_core::list_data_dir_backups(&data_dir)
        } else {
            atelier_core::backup_data_dir(&data_dir).map(|b| vec![b])
        }
    })
    .await??;
    if list && done.is_empty() {
        println!("no backups yet; `atelier backup` makes one");
    }
    for b in &done {
        println!("{}  {}  {}  {}", b.id, b.time, size(b.bytes), b.path);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(args: RestoreArgs, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let id = args.id.clone();
    let kept = tokio::task::spawn_blocking(move || atelier_core::restore_data_dir(&data_dir, &id)).await??;
    println!("restored backup {}; the database as it was is kept as backup {}", args.id, kept.id);
    Ok(ExitCode::SUCCESS)
}
