-- Files a chat's agent changed that the person has not kept or undone yet ("Changes" under
-- the chat): the checkpoint holds each file as it was before the chat's first edit of it.
CREATE TABLE session_changes (
    session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    path          TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (session_id, path)
) WITHOUT ROWID;
