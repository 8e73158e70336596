-- Staff accounts and sessions, the login throttle, and credential issuance.

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,            -- Argon2id, PHC string
    created_at    INTEGER NOT NULL
);

-- Server-side sessions: the cookie holds a random id; only its SHA-256 is stored, so a copy of
-- the database opens no session.
CREATE TABLE staff_sessions (
    id_hash      TEXT PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE login_failures (
    email TEXT NOT NULL COLLATE NOCASE,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, at);

-- One-time links to a confidential client's secret. Only the link token's hash is stored; the
-- secret itself is generated when the link is used, and only its hash is kept (on submissions).
CREATE TABLE credential_links (
    token_hash    TEXT PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER,
    revoked_at    INTEGER                   -- replaced by a newer link (rotation)
) WITHOUT ROWID;
CREATE INDEX credential_links_by_submission ON credential_links (submission_id);

ALTER TABLE submissions ADD COLUMN secret_hash TEXT;        -- 'sha256:<hex>' of the current secret
ALTER TABLE submissions ADD COLUMN secret_issued_at INTEGER;
ALTER TABLE submissions ADD COLUMN decided_by TEXT;          -- staff name of the last decision
