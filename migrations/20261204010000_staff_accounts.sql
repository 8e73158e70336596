-- Staff accounts (SPEC §9): roles, disabling, a second factor, invitations and the audit log.

-- Paths name accounts by an opaque id, not by their row number.
ALTER TABLE staff ADD COLUMN public_id TEXT;
UPDATE staff SET public_id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX staff_by_public_id ON staff (public_id);
ALTER TABLE staff ADD COLUMN role TEXT NOT NULL DEFAULT 'reviewer'
    CHECK (role IN ('admin', 'reviewer'));
-- The first account is an admin.
UPDATE staff SET role = 'admin' WHERE id = (SELECT MIN(id) FROM staff);
ALTER TABLE staff ADD COLUMN disabled_at INTEGER;
ALTER TABLE staff ADD COLUMN last_login_at INTEGER;
-- The TOTP key, sealed (XChaCha20-Poly1305 under a key derived from the session key, which is
-- not in the database). Set with totp_enabled_at NULL while enrolment waits for its first code.
ALTER TABLE staff ADD COLUMN totp_key BLOB;
ALTER TABLE staff ADD COLUMN totp_enabled_at INTEGER;
-- The last time step whose code was accepted: a code is accepted once (no replay).
ALTER TABLE staff ADD COLUMN totp_last_step INTEGER;

-- 'password': the password was right and the second factor is awaited (5 minutes, then void);
-- 'signed_in': a full session. Only the latter opens a staff page.
ALTER TABLE staff_sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'signed_in'
    CHECK (stage IN ('password', 'signed_in'));
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

-- One-time recovery codes, SHA-256 (hex) only.
CREATE TABLE staff_recovery_codes (
    code_hash TEXT PRIMARY KEY,
    staff_id  INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    used_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX staff_recovery_codes_by_staff ON staff_recovery_codes (staff_id);

-- Invitations: a one-time link, valid 72 hours; only the token's hash is stored.
CREATE TABLE staff_invitations (
    token_hash TEXT PRIMARY KEY,
    email      TEXT NOT NULL COLLATE NOCASE,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'reviewer')),
    invited_by INTEGER NOT NULL REFERENCES staff (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) WITHOUT ROWID;

-- Every staff action, appended in the transaction of the action itself.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    -- Who: the account when known, and the email (as typed, for a failed login).
    staff_id  INTEGER REFERENCES staff (id),
    actor     TEXT NOT NULL,
    client    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    -- What it acted on: a submission ('submission 12') or an account's email.
    target    TEXT,
    detail    TEXT
);
CREATE INDEX audit_log_by_staff ON audit_log (staff_id, id);
CREATE INDEX audit_log_by_kind ON audit_log (kind, id);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
