-- Links in queued mail are sealed (SPEC §6, mail::seal): the bodies keep a placeholder where
-- a link was, `links_sealed` holds the links encrypted under a key derived from the session
-- key, and it is set to NULL once the message is sent.
--
-- Mail is no relay: a receipt beyond 3 to one address in 24 hours is recorded as `skipped`
-- and never sent. SQLite cannot widen a CHECK in place, so the table is rebuilt.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    submission_id   INTEGER REFERENCES submissions (id),
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    links_sealed    BLOB,
    message_id      TEXT NOT NULL UNIQUE,   -- stable across retries, so duplicates can be recognised
    state           TEXT NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
-- Rows queued before this migration and not yet sent keep their links in plain in the bodies
-- (links_sealed NULL, no placeholder): they are sent as written. Messages already sent lose
-- their bodies, which held those links: the portal never shows a body again, and the record
-- of what was sent to whom, and when, stays.
INSERT INTO outbox_new (id, submission_id, kind, recipient, subject, text_body, html_body,
        message_id, state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at)
    SELECT id, submission_id, kind, recipient, subject, text_body, html_body,
        message_id, state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at
    FROM outbox;
UPDATE outbox_new SET text_body = '', html_body = '' WHERE state = 'sent';
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_by_submission ON outbox (submission_id);
-- The per-address cap counts recent receipts to one recipient.
CREATE INDEX outbox_by_recipient ON outbox (recipient COLLATE NOCASE, kind, created_at);
