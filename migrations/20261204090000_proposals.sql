-- A live client's proposed change (SPEC §7): the partner's new revision waits beside the live
-- one (`revision`), which the export, the feed and the status page keep showing until staff
-- approve the proposal. At most one proposal per client: a second one replaces it.
ALTER TABLE submissions ADD COLUMN proposal INTEGER;          -- the proposed revision's number
ALTER TABLE submissions ADD COLUMN proposal_state TEXT
    CHECK (proposal_state IN ('pending', 'changes_requested'));
ALTER TABLE submissions ADD COLUMN proposal_note TEXT;        -- the reviewer's message when sent back

-- The *Pending review* queue lists these beside pending submissions; there are few of them.
CREATE INDEX submissions_pending_proposals ON submissions (id) WHERE proposal_state = 'pending';
