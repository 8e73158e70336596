-- The staff search lists matches newest first, 50 a page. FTS5 keeps each trigram's rowids in
-- ascending order and reads them fastest in that order: forwards it skips through a long
-- doclist with its doclist index, backwards it steps through every page of it and builds an
-- array of offsets per page (allocating as it goes). So the index's rowid is now minus the
-- submission's id: ascending rowid is newest first, and `ORDER BY rowid LIMIT 51` reads
-- forwards. At 100,000 submissions (`scripts/bench.sh` (g), three A/B pairs, medians) the
-- p99 of a term that matches nothing went from 4.84 to 3.19 ms, of a common term from 4.25 to
-- 3.77 ms (docs/benchmarks.md).
--
-- Contentless, since an external-content table's rowid must be a column of its content table:
-- the text stays in `submissions` and the index holds only trigrams, as before. The triggers
-- keep it in the same transaction as the change; 'delete' gets the values that were indexed.
DROP TRIGGER submission_search_insert;
DROP TRIGGER submission_search_delete;
DROP TRIGGER submission_search_update;
DROP TABLE submission_search;

CREATE VIRTUAL TABLE submission_search USING fts5 (
    client_name, contacts, client_id,
    content = '', tokenize = 'trigram'
);
INSERT INTO submission_search (rowid, client_name, contacts, client_id)
SELECT -id, client_name, contacts, client_id FROM submissions;

CREATE TRIGGER submission_search_insert AFTER INSERT ON submissions
BEGIN
    INSERT INTO submission_search (rowid, client_name, contacts, client_id)
    VALUES (-NEW.id, NEW.client_name, NEW.contacts, NEW.client_id);
END;

CREATE TRIGGER submission_search_delete AFTER DELETE ON submissions
BEGIN
    INSERT INTO submission_search (submission_search, rowid, client_name, contacts, client_id)
    VALUES ('delete', -OLD.id, OLD.client_name, OLD.contacts, OLD.client_id);
END;

CREATE TRIGGER submission_search_update AFTER UPDATE OF client_name, contacts, client_id
ON submissions
BEGIN
    INSERT INTO submission_search (submission_search, rowid, client_name, contacts, client_id)
    VALUES ('delete', -OLD.id, OLD.client_name, OLD.contacts, OLD.client_id);
    INSERT INTO submission_search (rowid, client_name, contacts, client_id)
    VALUES (-NEW.id, NEW.client_name, NEW.contacts, NEW.client_id);
END;
