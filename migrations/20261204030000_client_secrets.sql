-- A client may hold two valid secrets at once (an overlapping rotation, SPEC §8), and every
-- secret expires, so secrets move out of `submissions` into their own table. Only the hash of a
-- secret is kept ('sha256:<hex>' of the secret exactly as shown).
CREATE TABLE client_secrets (
    id                  INTEGER PRIMARY KEY,
    submission_id       INTEGER NOT NULL REFERENCES submissions (id),
    hash                TEXT NOT NULL UNIQUE,
    issued_at           INTEGER NOT NULL,   -- when the partner revealed it
    -- SECRET_LIFETIME_DAYS after issue; brought forward to 7 days after the next secret is
    -- revealed when that one came from an overlapping rotation.
    expires_at          INTEGER NOT NULL,
    ended_at            INTEGER,            -- stopped before expiry: an immediate rotation or a revocation
    reminded_30_at      INTEGER,            -- the 30-day and 7-day reminders went out (each once)
    reminded_7_at       INTEGER,
    expiry_recorded_at  INTEGER             -- client.secret_expired was recorded for it
);
CREATE INDEX client_secrets_by_submission ON client_secrets (submission_id, expires_at);

-- Secrets revealed before this migration get the default lifetime (365 days) from their issue.
INSERT INTO client_secrets (submission_id, hash, issued_at, expires_at)
SELECT id, secret_hash, secret_issued_at, secret_issued_at + 365 * 86400
FROM submissions WHERE secret_hash IS NOT NULL AND secret_issued_at IS NOT NULL;

ALTER TABLE submissions DROP COLUMN secret_hash;
ALTER TABLE submissions DROP COLUMN secret_issued_at;

-- How a pending credentials link came about: after an overlapping rotation the secret it
-- reveals starts the 7-day overlap; otherwise (approval, immediate rotation) nothing overlaps.
ALTER TABLE credential_links ADD COLUMN overlap INTEGER NOT NULL DEFAULT 0 CHECK (overlap IN (0, 1));

-- The provisioning feed (SPEC §8): every change to an approved client, in order, with the
-- client's export entry at that moment, and its delivery to PROVISION_URL.
CREATE TABLE feed_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: consumers page with ?after=
    submission_id   INTEGER NOT NULL REFERENCES submissions (id),
    type            TEXT NOT NULL CHECK (type IN ('client.approved', 'client.updated',
                        'client.secret_issued', 'client.secret_rotated', 'client.secret_expired',
                        'client.suspended', 'client.reinstated', 'client.revoked')),
    timestamp       INTEGER NOT NULL,
    data            TEXT NOT NULL,                      -- JSON: the client's export entry
    webhook_id      TEXT NOT NULL UNIQUE,               -- kept across retries
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    delivered_at    INTEGER
);
CREATE INDEX feed_events_pending ON feed_events (state, submission_id, id);
