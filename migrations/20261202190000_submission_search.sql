-- Staff search (the queue's `q`) matches any part of a client's name, its contacts or its
-- Client ID. A LIKE '%…%' scan reads rows until a page is full: at 100,000 submissions a
-- rare term read them all (p99 16–22 ms). A trigram index finds the same substrings
-- directly; it is kept by triggers, like the counts, in the same transaction as the change.
-- External content: the text stays in `submissions`, the index holds only trigrams.
CREATE VIRTUAL TABLE submission_search USING fts5 (
    client_name, contacts, client_id,
    content = 'submissions', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO submission_search (submission_search) VALUES ('rebuild');

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
