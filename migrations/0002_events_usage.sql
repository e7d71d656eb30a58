-- 0002: durable bus events, the usage ledger and key/value settings.
-- Shipped migrations are append-only: never edit this file, add a new numbered one.

-- `seq` is given by the event bus (global and increasing), not by SQLite.
CREATE TABLE events (
    seq   INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    type  TEXT NOT NULL,
    time  TEXT NOT NULL,
    data  TEXT NOT NULL
) STRICT;

-- Replaying one topic reads its events in seq order.
CREATE INDEX events_by_topic ON events (topic, seq);

-- One row per model call. No foreign keys: the ledger outlives the sessions and workflows it
-- counted, so deleting a chat does not rewrite what was spent.
CREATE TABLE usage (
    id                TEXT PRIMARY KEY NOT NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    session_id        TEXT,
    workflow_id       TEXT,
    agent_id          TEXT,
    prompt_tokens     INTEGER NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0),
    total_ms          INTEGER NOT NULL CHECK (total_ms >= 0),
    load_ms           INTEGER NOT NULL CHECK (load_ms >= 0),
    prompt_eval_ms    INTEGER NOT NULL CHECK (prompt_eval_ms >= 0),
    eval_ms           INTEGER NOT NULL CHECK (eval_ms >= 0),
    created_at        TEXT NOT NULL
) STRICT;

CREATE INDEX usage_by_session ON usage (session_id);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
