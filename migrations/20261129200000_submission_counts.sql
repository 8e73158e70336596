-- The staff queue shows how many submissions are in each status on every page. Counting them
-- with GROUP BY reads the whole (status, id) index: ~14 ms at 100,000 submissions, on every
-- view. These counts are kept by triggers instead, in the same transaction as the change.

CREATE TABLE submission_counts (
    status TEXT PRIMARY KEY
           CHECK (status IN ('pending', 'changes_requested', 'approved', 'rejected')),
    n      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO submission_counts (status, n)
SELECT s.status, (SELECT COUNT(*) FROM submissions WHERE status = s.status)
FROM (SELECT 'pending' AS status UNION ALL SELECT 'changes_requested'
      UNION ALL SELECT 'approved' UNION ALL SELECT 'rejected') AS s;

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
