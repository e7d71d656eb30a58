-- 0005: chats whose agent uses tools. A message may now have the role 'tool' (a tool's result,
-- answering one call), an assistant turn keeps the calls it made, and a summary that replaced
-- the middle of a long conversation is a message of kind 'summary' (the messages it replaced
-- stay, in the history and in search; ordinary messages have no kind).
-- Shipped migrations are append-only: never edit this file, add a new numbered one.

-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the same seq
-- values (the full-text index is keyed by them), then its indexes and triggers are made again.
CREATE TABLE messages_v5 (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content      TEXT NOT NULL,
    reasoning    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'interrupted', 'failed')),
    error        TEXT,
    model        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- An assistant turn's calls: a JSON array of {id, name, arguments}.
    tool_calls   TEXT,
    -- A tool message: the call it answers, the tool, and how the call ended.
    tool_call_id TEXT,
    tool_name    TEXT,
    tool_status  TEXT CHECK (tool_status IN ('ok', 'error', 'denied')),
    kind         TEXT CHECK (kind IN ('summary')),
    -- A summary: the id of the newest message it stands for (older ones are not sent to the
    -- model again; they stay in the history and in search).
    covers_until TEXT
) STRICT;

INSERT INTO messages_v5 (seq, id, session_id, role, content, reasoning, status, error, model, created_at, updated_at)
SELECT seq, id, session_id, role, content, reasoning, status, error, model, created_at, updated_at FROM messages;

DROP TABLE messages;
ALTER TABLE messages_v5 RENAME TO messages;

CREATE INDEX messages_by_session ON messages (session_id, seq);
CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
WHEN old.content IS NOT new.content BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;

-- Whether a session's agent may use tools (sessions.create {tools}, sessions.update).
ALTER TABLE sessions ADD COLUMN tools INTEGER NOT NULL DEFAULT 0;
