-- Submissions, their revisions, logos, history and the email outbox.
-- Times are Unix seconds (UTC).

CREATE TABLE logos (
    id          TEXT PRIMARY KEY,           -- random, public: /logos/{id}.png
    hold_token  TEXT UNIQUE,                -- set while the logo waits for its form to be fixed
    png         BLOB NOT NULL,              -- the re-encoded copy, the only one kept
    side        INTEGER NOT NULL,
    claimed     INTEGER NOT NULL DEFAULT 0, -- 1 once a revision uses it; unclaimed ones expire
    created_at  INTEGER NOT NULL
);

CREATE TABLE submissions (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,       -- the partner's unguessable status-page token
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'changes_requested', 'approved', 'rejected')),
    revision    INTEGER NOT NULL DEFAULT 1, -- the current revision's number
    client_name TEXT NOT NULL,              -- copied from the current revision for the queue and search
    contacts    TEXT NOT NULL,              -- likewise, comma-separated
    client_id   TEXT UNIQUE,                -- set on approval
    status_note TEXT,                       -- the reviewer's message or reason for the current status
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The staff queue: one status, newest first, keyset-paginated on id.
CREATE INDEX submissions_by_status ON submissions (status, id);

CREATE TABLE revisions (
    submission_id  INTEGER NOT NULL REFERENCES submissions (id),
    number         INTEGER NOT NULL,
    client_name    TEXT NOT NULL,
    client_uri     TEXT NOT NULL,
    logo_id        TEXT NOT NULL REFERENCES logos (id),
    tos_uri        TEXT NOT NULL,
    policy_uri     TEXT NOT NULL,
    contacts       TEXT NOT NULL,           -- JSON array of addresses
    initiation_uri TEXT NOT NULL,
    settings_uri   TEXT NOT NULL,
    client_type    TEXT NOT NULL CHECK (client_type IN ('confidential', 'public')),
    redirect_uris  TEXT NOT NULL,           -- JSON array
    scopes         TEXT NOT NULL,           -- JSON array
    scope_reason   TEXT,
    pkce           TEXT NOT NULL CHECK (pkce IN ('supported', 'not_supported')),
    pkce_exception TEXT,
    subject_type   TEXT,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (submission_id, number)
) WITHOUT ROWID;

-- What happened to a submission, and who did it: the history on both status pages.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    at            INTEGER NOT NULL,
    actor         TEXT NOT NULL,            -- 'partner' or a staff member's name
    kind          TEXT NOT NULL,            -- submitted, resubmitted, approved, rejected, changes_requested, secret_rotated, secret_revealed
    note          TEXT
);
CREATE INDEX events_by_submission ON events (submission_id, id);

-- Emails are rendered and queued here in the transaction that causes them; a worker sends them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    submission_id   INTEGER REFERENCES submissions (id),
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,   -- stable across retries, so duplicates can be recognised
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_by_submission ON outbox (submission_id);
