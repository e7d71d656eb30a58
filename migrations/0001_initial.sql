-- 0001: projects, chat sessions, messages and their full-text index.
-- Shipped migrations are append-only: never edit this file, add a new numbered one.

CREATE TABLE projects (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    agent      TEXT NOT NULL,
    title      TEXT NOT NULL,
    model      TEXT,
    created_at TEXT NOT NULL
) STRICT;

-- Session lists are shown newest first (id breaks ties), either all of them or one project's.
CREATE INDEX sessions_by_created ON sessions (created_at, id);
CREATE INDEX sessions_by_project ON sessions (project_id, created_at, id);

-- `seq` is the rowid: it orders a session's messages and is the FTS content_rowid. The text id is
-- what the API hands out.
CREATE TABLE messages (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content    TEXT NOT NULL,
    reasoning  TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'interrupted', 'failed')),
    error      TEXT,
    model      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Paging through a session ("the newest N before X") walks this index backwards.
CREATE INDEX messages_by_session ON messages (session_id, seq);

-- Start-up turns leftover streaming replies into interrupted ones; a partial index keeps that
-- from scanning every message.
CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';

-- External-content FTS5 index over the message text; the triggers below keep it in step.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;

-- A streaming reply is updated about ten times a second, often only its status or reasoning:
-- re-index only when the text itself changed.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
WHEN old.content IS NOT new.content BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;
