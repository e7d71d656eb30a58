-- 0003: agent workflows, their agents, and their durable steps.
-- Shipped migrations are append-only: never edit this file, add a new numbered one.

-- One request turned into a plan and written into a project. `options`, `plan` and the agents'
-- `metrics` are JSON documents owned by atelier-agents.
CREATE TABLE workflows (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    request    TEXT NOT NULL,
    options    TEXT NOT NULL DEFAULT '{}',
    state      TEXT NOT NULL,
    stage      TEXT NOT NULL DEFAULT '',
    progress   REAL NOT NULL DEFAULT 0,
    plan       TEXT,
    summary    TEXT,
    commit_id  TEXT,
    error      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE INDEX workflows_by_project ON workflows (project_id, created_at);
-- Start-up looks for workflows that did not finish; a partial index keeps that cheap.
CREATE INDEX workflows_unfinished ON workflows (state)
    WHERE state NOT IN ('completed', 'failed', 'cancelled');

CREATE TABLE workflow_agents (
    id          TEXT PRIMARY KEY NOT NULL,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('master', 'manager', 'coder')),
    name        TEXT NOT NULL,
    parent_id   TEXT,
    status      TEXT NOT NULL,
    task        TEXT NOT NULL DEFAULT '',
    metrics     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE INDEX workflow_agents_by_workflow ON workflow_agents (workflow_id, created_at);

-- A step's result is recorded under its idempotency key before its effect is applied, so a
-- resumed workflow reuses every recorded model call and applies no effect twice.
CREATE TABLE workflow_steps (
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    result      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (workflow_id, key)
) STRICT, WITHOUT ROWID;
