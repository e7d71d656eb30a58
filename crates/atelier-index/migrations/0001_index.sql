-- A project's code index. One file per project (<data dir>/index/<project id>.db), so that
-- indexing never waits for the main database's writer. Append-only: change it with a new file.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    language TEXT,
    lines INTEGER NOT NULL,
    -- The names the file uses and how often, one "name count" per line: the repo map's edges.
    refs TEXT NOT NULL DEFAULT ''
) STRICT;

-- Chunk text is not stored: it is read from the file when shown or embedded, which keeps the
-- index smaller than the source.
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    symbol TEXT,
    kind TEXT
) STRICT;
CREATE INDEX chunks_file ON chunks(file_id);

CREATE TABLE symbols (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    signature TEXT NOT NULL
) STRICT;
CREATE INDEX symbols_file ON symbols(file_id);
CREATE INDEX symbols_name ON symbols(name COLLATE NOCASE);

-- One embedding per chunk for the model named in meta `embedding_model`: little-endian f32,
-- normalised to length 1.
CREATE TABLE vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    vec BLOB NOT NULL
) STRICT;

-- Full text over each chunk's path, definition names, text and the other spellings of its
-- compound identifiers. Contentless (rowid = chunks.id): the text lives in the files.
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    path, symbols, body, words,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
