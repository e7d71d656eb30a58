-- 0004: MCP servers the person added, imported, or that a project's .mcp.json names.
-- Shipped migrations are append-only: never edit this file, add a new numbered one.

-- `env_keys` and `header_keys` are JSON lists of names only: their values are secrets kept in
-- the OS keychain, never here. A project's server goes with its project.
CREATE TABLE mcp_servers (
    name        TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT REFERENCES projects (id) ON DELETE CASCADE,
    transport   TEXT NOT NULL CHECK (transport IN ('stdio', 'http')),
    command     TEXT,
    args        TEXT NOT NULL DEFAULT '[]',
    url         TEXT,
    env_keys    TEXT NOT NULL DEFAULT '[]',
    header_keys TEXT NOT NULL DEFAULT '[]',
    enabled     INTEGER NOT NULL DEFAULT 1,
    trusted     INTEGER NOT NULL DEFAULT 0,
    sandbox     INTEGER NOT NULL DEFAULT 0,
    origin      TEXT NOT NULL DEFAULT 'user' CHECK (origin IN ('user', 'project_file')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE INDEX mcp_servers_by_project ON mcp_servers (project_id);
