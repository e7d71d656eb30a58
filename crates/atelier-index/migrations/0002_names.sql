-- The names of each chunk (its path and the definitions in it, with their other spellings) in
-- a second, much smaller full-text table: a search for words that half the project uses ranks
-- the chunks whose names hold them without scoring every chunk whose text does. Contentless,
-- rowid = chunks.id. Chunks indexed before this file existed are added by the index when it
-- opens (it needs the identifier splitting, which SQL has not): `names_fts` is 'pending' until then.
CREATE VIRTUAL TABLE names_fts USING fts5(
    path, symbols,
    content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO meta (key, value) VALUES ('names_fts', 'pending')
    ON CONFLICT(key) DO UPDATE SET value = excluded.value;
