-- One email can be about several registrations: the lost-links email (SPEC §7) lists every
-- registration its address is a contact of, and each of their staff pages shows it among "every
-- email sent about it" (SPEC §3). `outbox.submission_id` stays the first of them; this table
-- holds the others. Emails queued before it keep only their first registration.
CREATE TABLE outbox_about (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    outbox_id     INTEGER NOT NULL REFERENCES outbox (id),
    PRIMARY KEY (submission_id, outbox_id)
) WITHOUT ROWID;
