-- Tokens are keys (SPEC §6): the database keeps only the SHA-256 (hex) of a status token or a
-- held logo's token, so a copy of the file opens no page.
--
-- A submission can have several status tokens: the server cannot rebuild a link from a hash,
-- so every email that carries one (a decision, later a lost-link email) mints a fresh token,
-- and earlier links keep working.
CREATE TABLE status_tokens (
    token_hash    TEXT PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX status_tokens_by_submission ON status_tokens (submission_id);

-- From now on submissions.token (NOT NULL UNIQUE, so it stays) holds the hash of the token
-- given at registration, never a token; pages are found through status_tokens.
-- logos.hold_token stays NULL; the hash goes here.
ALTER TABLE logos ADD COLUMN hold_token_hash TEXT;
CREATE UNIQUE INDEX logos_by_hold_token_hash ON logos (hold_token_hash);

-- Plaintext tokens of an existing database are hashed at start-up (db::hash_stored_tokens):
-- SQLite has no SHA-256 function.
