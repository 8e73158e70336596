-- An approved client can later be suspended (and reinstated) or revoked (SPEC §7): two more
-- statuses. SQLite cannot widen a CHECK in place, so `submissions` and `submission_counts` are
-- rebuilt: copy, drop, rename, recreate the index and triggers. Other tables point at
-- submissions, so this runs with foreign-key enforcement off (db::migrate), which then checks
-- that every reference resolves to the rebuilt table (same name, same ids).

CREATE TABLE submissions_new (
    id          INTEGER PRIMARY KEY,
    token       TEXT NOT NULL UNIQUE,       -- the hash of the status token given at registration
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'changes_requested', 'approved', 'rejected',
                                  'suspended', 'revoked')),
    revision    INTEGER NOT NULL DEFAULT 1, -- the current revision's number
    client_name TEXT NOT NULL,              -- copied from the current revision for the queue and search
    contacts    TEXT NOT NULL,              -- likewise, comma-separated
    client_id   TEXT UNIQUE,                -- set on approval
    status_note TEXT,                       -- the reviewer's message or reason for the current status
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    secret_hash TEXT,                       -- 'sha256:<hex>' of the current secret
    secret_issued_at INTEGER,
    decided_by  TEXT                        -- staff name of the last decision
);
INSERT INTO submissions_new (id, token, status, revision, client_name, contacts, client_id,
    status_note, created_at, updated_at, secret_hash, secret_issued_at, decided_by)
SELECT id, token, status, revision, client_name, contacts, client_id,
    status_note, created_at, updated_at, secret_hash, secret_issued_at, decided_by
FROM submissions;
DROP TABLE submissions;
ALTER TABLE submissions_new RENAME TO submissions;
CREATE INDEX submissions_by_status ON submissions (status, id);

CREATE TABLE submission_counts_new (
    status TEXT PRIMARY KEY
           CHECK (status IN ('pending', 'changes_requested', 'approved', 'rejected',
                             'suspended', 'revoked')),
    n      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO submission_counts_new (status, n)
SELECT s.status, (SELECT COUNT(*) FROM submissions WHERE status = s.status)
FROM (SELECT 'pending' AS status UNION ALL SELECT 'changes_requested'
      UNION ALL SELECT 'approved' UNION ALL SELECT 'rejected'
      UNION ALL SELECT 'suspended' UNION ALL SELECT 'revoked') AS s;
DROP TABLE submission_counts;
ALTER TABLE submission_counts_new RENAME TO submission_counts;

CREATE TRIGGER submission_counts_insert AFTER INSERT ON submissions
BEGIN
    UPDATE submission_counts SET n = n + 1 WHERE status = NEW.status;
END;

CREATE TRIGGER submission_counts_delete AFTER DELETE ON submissions
BEGIN
    UPDATE submission_counts SET n = n - 1 WHERE status = OLD.status;
END;

CREATE TRIGGER submission_counts_update AFTER UPDATE OF status ON submissions
WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE submission_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE submission_counts SET n = n + 1 WHERE status = NEW.status;
END;

-- The trigram index keeps its rows: the ids did not change.
CREATE TRIGGER submission_search_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO submission_search (rowid, client_name, contacts, client_id)
    VALUES (NEW.id, NEW.client_name, NEW.contacts, NEW.client_id);
END;

CREATE TRIGGER submission_search_delete AFTER DELETE ON submissions
BEGIN
    INSERT INTO submission_search (submission_search, rowid, client_name, contacts, client_id)
    VALUES ('delete', OLD.id, OLD.client_name, OLD.contacts, OLD.client_id);
END;

CREATE TRIGGER submission_search_update AFTER UPDATE OF client_name, contacts, client_id
ON submissions
BEGIN
    INSERT INTO submission_search (submission_search, rowid, client_name, contacts, client_id)
    VALUES ('delete', OLD.id, OLD.client_name, OLD.contacts, OLD.client_id);
    INSERT INTO submission_search (rowid, client_name, contacts, client_id)
    VALUES (NEW.id, NEW.client_name, NEW.contacts, NEW.client_id);
END;
