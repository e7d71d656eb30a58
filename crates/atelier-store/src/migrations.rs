//! The schema: numbered SQL files from the workspace's `migrations/` folder, embedded at build time.

use rusqlite_migration::{M, Migrations};

/// Every shipped migration as `(file name, SQL)`, in order. Append-only: a shipped file is never
/// edited (a test compares their hashes), a change is a new numbered file added here.
pub const MIGRATION_FILES: &[(&str, &str)] = &[
    ("0001_initial.sql", include_str!("../../../migrations/0001_initial.sql")),
    ("0002_events_usage.sql", include_str!("../../../migrations/0002_events_usage.sql")),
    ("0003_workflows.sql", include_str!("../../../migrations/0003_workflows.sql")),
    ("0004_mcp_servers.sql", include_str!("../../../migrations/0004_mcp_servers.sql")),
    ("0005_tools.sql", include_str!("../../../migrations/0005_tools.sql")),
    ("0006_session_changes.sql", include_str!("../../../migrations/0006_session_changes.sql")),
    ("0007_archive.sql", include_str!("../../../migrations/0007_archive.sql")),
];

const STEPS: &[M<'static>] = &[
    M::up(MIGRATION_FILES[0].1).comment(MIGRATION_FILES[0].0),
    M::up(MIGRATION_FILES[1].1).comment(MIGRATION_FILES[1].0),
    M::up(MIGRATION_FILES[2].1).comment(MIGRATION_FILES[2].0),
    M::up(MIGRATION_FILES[3].1).comment(MIGRATION_FILES[3].0),
    M::up(MIGRATION_FILES[4].1).comment(MIGRATION_FILES[4].0),
    M::up(MIGRATION_FILES[5].1).comment(MIGRATION_FILES[5].0),
    M::up(MIGRATION_FILES[6].1).comment(MIGRATION_FILES[6].0),
];

/// The migrations [`crate::Store::open`] applies. Public so tests (and tools) can build a database
/// at an older version with `to_version` and check that opening upgrades it.
pub fn migrations() -> Migrations<'static> {
    Migrations::from_slice(STEPS)
}

// Adding a file to one list and not the other would silently skip or misnumber a migration.
const _: () = assert!(STEPS.len() == MIGRATION_FILES.len());
