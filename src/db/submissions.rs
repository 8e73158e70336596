//! Submissions, their revisions (every version the partner sent) and their history.

use sqlx::{FromRow, SqliteConnection};

use crate::auth::{random_token, sha256_hex};

use crate::domain::client_name::ClientName;
use crate::domain::contacts::ContactList;
use crate::domain::redirect_uri::RedirectUris;
use crate::domain::registration::{ClientType, LogoId, Pkce, Registration};
use crate::domain::revision::{Revision, STORED_RULES, Stored};
use crate::domain::scopes::{ScopeSet, SubjectType};
use crate::domain::status::{ProposalState, Status};
use crate::domain::web_url::WebUrl;

#[derive(Debug, Clone, FromRow)]
pub struct SubmissionRow {
    pub id: i64,
    pub status: Status,
    pub revision: i64,
    pub client_name: String,
    pub contacts: String,
    pub client_id: Option<String>,
    pub status_note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub decided_by: Option<String>,
    /// A live client's proposed change: its revision's number, where it stands, and the
    /// reviewer's message when it was sent back (all three `None` without a proposal).
    pub proposal: Option<i64>,
    pub proposal_state: Option<ProposalState>,
    pub proposal_note: Option<String>,
}

impl SubmissionRow {
    /// The proposed change waiting beside the live revision, if there is one.
    pub fn proposal(&self) -> Option<(i64, ProposalState)> {
        self.proposal.zip(self.proposal_state)
    }
}

/// One revision as the table holds it; read only through [`Revision::from`].
struct RevisionRecord {
    submission_id: i64,
    number: i64,
    client_name: String,
    client_uri: String,
    logo_id: String,
    tos_uri: String,
    policy_uri: String,
    contacts: String,
    initiation_uri: String,
    settings_uri: String,
    client_type: String,
    redirect_uris: String,
    scopes: String,
    scope_reason: Option<String>,
    pkce: String,
    pkce_exception: Option<String>,
    subject_type: Option<String>,
    created_at: i64,
}

/// A JSON list column as the form holds it, one item per line; the JSON text itself when it
/// is not a list of strings (shown to staff as stored).
fn json_list<T, E: std::fmt::Display>(
    json: &str,
    parse: impl FnOnce(&[String]) -> Result<T, E>,
) -> Stored<T> {
    match serde_json::from_str::<Vec<String>>(json) {
        Ok(items) => Stored::of(&items.join("\n"), |_| parse(&items)),
        Err(e) => Stored::Unparsable {
            raw: json.to_owned(),
            error: format!("not a list: {e}"),
        },
    }
}

impl From<RevisionRecord> for Revision {
    fn from(r: RevisionRecord) -> Revision {
        let url = |raw: &str| Stored::of(raw, |v| WebUrl::parse(v, STORED_RULES));
        Revision {
            submission_id: r.submission_id,
            number: r.number,
            client_name: Stored::of(&r.client_name, ClientName::parse),
            client_uri: url(&r.client_uri),
            logo: LogoId(r.logo_id),
            tos_uri: url(&r.tos_uri),
            policy_uri: url(&r.policy_uri),
            contacts: json_list(&r.contacts, |items| ContactList::parse(&items.join("\n"))),
            initiation_uri: url(&r.initiation_uri),
            settings_uri: url(&r.settings_uri),
            client_type: Stored::of(&r.client_type, |v| {
                ClientType::parse(v).ok_or("not a client type")
            }),
            redirect_uris: json_list(&r.redirect_uris, |items| {
                RedirectUris::parse(&items.join("\n"), STORED_RULES).map_err(|e| e.join(" "))
            }),
            scopes: json_list(&r.scopes, ScopeSet::from_stored),
            scope_reason: r.scope_reason,
            pkce: Stored::of(&r.pkce, |v| Pkce::parse(v).ok_or("not a PKCE answer")),
            pkce_exception: r.pkce_exception,
            subject_type: r.subject_type.map(SubjectType::from_stored),
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub note: Option<String>,
}

/// A new submission with its first revision, opened by the status token `token` (only its
/// hash is stored); returns its id.
pub async fn insert(
    conn: &mut SqliteConnection,
    token: &str,
    registration: &Registration,
    now: i64,
) -> sqlx::Result<i64> {
    let token_hash = sha256_hex(token);
    let client_name = registration.client_name.as_str();
    let contacts = registration.contacts.as_strings().join(", ");
    let id = sqlx::query_scalar!(
        "INSERT INTO submissions (token, status, revision, client_name, contacts, created_at, updated_at)
         VALUES (?, 'pending', 1, ?, ?, ?, ?) RETURNING id",
        token_hash,
        client_name,
        contacts,
        now,
        now,
    )
    .fetch_one(&mut *conn)
    .await?;
    add_status_token(&mut *conn, &token_hash, id, now).await?;
    insert_revision(&mut *conn, id, 1, registration, now).await?;
    add_event(conn, id, "partner", "submitted", None, now).await?;
    Ok(id)
}

async fn add_status_token(
    conn: &mut SqliteConnection,
    token_hash: &str,
    submission_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO status_tokens (token_hash, submission_id, created_at) VALUES (?, ?, ?)",
        token_hash,
        submission_id,
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A fresh status token for an email about `submission_id`: the stored hashes cannot be
/// turned back into a link. Earlier tokens keep working.
pub async fn new_status_token(
    conn: &mut SqliteConnection,
    submission_id: i64,
    now: i64,
) -> sqlx::Result<String> {
    let token = random_token(24);
    add_status_token(conn, &sha256_hex(&token), submission_id, now).await?;
    Ok(token)
}

pub async fn insert_revision(
    conn: &mut SqliteConnection,
    submission_id: i64,
    number: i64,
    r: &Registration,
    now: i64,
) -> sqlx::Result<()> {
    let json = |v: Vec<String>| serde_json::to_string(&v).expect("strings serialise");
    let (client_name, client_uri, tos_uri, policy_uri) = (
        r.client_name.as_str(),
        r.client_uri.as_str(),
        r.tos_uri.as_str(),
        r.policy_uri.as_str(),
    );
    let (initiation_uri, settings_uri) = (r.initiation_uri.as_str(), r.settings_uri.as_str());
    let contacts = json(r.contacts.as_strings());
    let redirect_uris = json(r.redirect_uris.as_strings());
    let scopes = json(r.scopes.iter().map(str::to_owned).collect());
    let (client_type, pkce) = (r.client_type.as_str(), r.pkce.as_str());
    let subject_type = r.subject_type.as_ref().map(SubjectType::as_str);
    sqlx::query!(
        "INSERT INTO revisions (submission_id, number, client_name, client_uri, logo_id, tos_uri,
            policy_uri, contacts, initiation_uri, settings_uri, client_type, redirect_uris, scopes,
            scope_reason, pkce, pkce_exception, subject_type, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        submission_id,
        number,
        client_name,
        client_uri,
        r.logo.0,
        tos_uri,
        policy_uri,
        contacts,
        initiation_uri,
        settings_uri,
        client_type,
        redirect_uris,
        scopes,
        r.scope_reason,
        pkce,
        r.pkce_exception,
        subject_type,
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Move a submission from `from` to `to` with the reviewer's note; false when it is no longer
/// in `from` (someone decided it a moment ago).
pub async fn set_status(
    conn: &mut SqliteConnection,
    id: i64,
    change: (Status, Status),
    note: Option<&str>,
    staff_name: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let (from, to) = change;
    let changed = sqlx::query!(
        "UPDATE submissions SET status = ?, status_note = ?, decided_by = ?, updated_at = ?
         WHERE id = ? AND status = ?",
        to,
        note,
        staff_name,
        now,
        id,
        from,
    )
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

pub async fn set_client_id(
    conn: &mut SqliteConnection,
    id: i64,
    client_id: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE submissions SET client_id = ? WHERE id = ?",
        client_id,
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn add_event(
    conn: &mut SqliteConnection,
    submission_id: i64,
    actor: &str,
    kind: &str,
    note: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO events (submission_id, at, actor, kind, note) VALUES (?, ?, ?, ?, ?)",
        submission_id,
        now,
        actor,
        kind,
        note,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_by_token(
    conn: &mut SqliteConnection,
    token: &str,
) -> sqlx::Result<Option<SubmissionRow>> {
    let hash = sha256_hex(token);
    sqlx::query_as!(
        SubmissionRow,
        r#"SELECT s.id AS "id!", s.status AS "status: Status", s.revision, s.client_name, s.contacts, s.client_id,
            s.status_note, s.created_at, s.updated_at,
            s.decided_by, s.proposal, s.proposal_state AS "proposal_state: ProposalState",
            s.proposal_note
         FROM status_tokens t JOIN submissions s ON s.id = t.submission_id
         WHERE t.token_hash = ?"#,
        hash,
    )
    .fetch_optional(conn)
    .await
}

pub async fn find(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<SubmissionRow>> {
    sqlx::query_as!(
        SubmissionRow,
        r#"SELECT s.id AS "id!", s.status AS "status: Status", s.revision, s.client_name, s.contacts, s.client_id,
            s.status_note, s.created_at, s.updated_at,
            s.decided_by, s.proposal, s.proposal_state AS "proposal_state: ProposalState",
            s.proposal_note
         FROM submissions s WHERE s.id = ?"#,
        id,
    )
    .fetch_optional(conn)
        .await
}

/// Every revision, newest first.
pub async fn revisions(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Vec<Revision>> {
    let records = sqlx::query_as!(
        RevisionRecord,
        "SELECT * FROM revisions WHERE submission_id = ? ORDER BY number DESC",
        submission_id,
    )
    .fetch_all(conn)
    .await?;
    Ok(records.into_iter().map(Revision::from).collect())
}

/// The revision the submission is at: for a client, the live one (a proposal waits beside it).
pub async fn current_revision(
    conn: &mut SqliteConnection,
    submission: &SubmissionRow,
) -> sqlx::Result<Revision> {
    revision(conn, submission.id, submission.revision).await
}

/// The history, oldest first.
pub async fn events(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        "SELECT at, actor, kind, note FROM events WHERE submission_id = ? ORDER BY id",
        submission_id,
    )
    .fetch_all(conn)
    .await
}

pub const PAGE_SIZE: i64 = 50;

/// One line of the staff queue: only what the list shows. sqlx copies every selected value
/// of every row, so the queue selects these eight columns rather than `s.*` (sixteen):
/// `ONLY=c scripts/bench.sh`, docs/benchmarks.md.
#[derive(Debug, Clone, FromRow)]
pub struct QueueRow {
    pub id: i64,
    pub status: Status,
    pub revision: i64,
    pub client_name: String,
    pub contacts: String,
    pub client_id: Option<String>,
    pub updated_at: i64,
    pub proposal_state: Option<ProposalState>,
}

/// The columns of a [`QueueRow`], for both halves of the pending queue's compound SELECT.
const QUEUE_COLUMNS: &str = "s.id, s.status, s.revision, s.client_name, s.contacts, s.client_id, s.updated_at, s.proposal_state";

/// One page of the staff queue, newest first. Keyset pagination: `before` is the smallest id
/// of the previous page, so a page costs the same however deep it is.
pub async fn queue(
    conn: &mut SqliteConnection,
    status: Option<Status>,
    search: Option<&str>,
    before: Option<i64>,
) -> sqlx::Result<Vec<QueueRow>> {
    // Runtime SQL, not a checked macro: a fixed query with `(? IS NULL OR …)` filters makes
    // SQLite plan for every filter at once and loses the index range scan; the shapes below
    // differ in their FROM clause and ORDER BY key, which no bound parameter can switch.
    // Built per request so each filter is a plain indexed condition: with (status, id) the
    // queue is an index range scan whatever the page depth, and a search walks the trigram
    // index newest first instead of scanning the table.
    let mut query = sqlx::QueryBuilder::new(format!("SELECT {QUEUE_COLUMNS} FROM "));
    // What the page is ordered and cut by, and how "older than `before`" reads on it. A
    // search orders by the trigram index's own rowid, so SQLite walks the index and stops at
    // a full page (ordering by s.id instead sorted every match: ~100 ms for a common term).
    // That rowid is minus the submission's id (migration 20261204104500): ascending is
    // newest first, the direction FTS5 reads fastest.
    let (key, older_than, order) = match search.map(SearchTerm::of) {
        Some(SearchTerm::Trigrams(phrase)) => {
            query
                .push("submission_search JOIN submissions s ON s.id = -submission_search.rowid")
                .push(" WHERE submission_search MATCH ")
                .push_bind(phrase);
            ("submission_search.rowid", " > -", "ASC")
        }
        Some(SearchTerm::Short(pattern)) => {
            query
                .push("submissions s WHERE (s.client_name LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR s.contacts LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR s.client_id LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
            ("s.id", " < ", "DESC")
        }
        None => {
            query.push("submissions s WHERE 1 = 1");
            ("s.id", " < ", "DESC")
        }
    };
    // *Pending review* also lists live clients' pending proposals (SPEC §7).
    let with_proposals = status == Some(Status::Pending);
    match status {
        Some(Status::Pending) if search.is_some() => {
            query.push(" AND (s.status = 'pending' OR s.proposal_state = 'pending')");
        }
        Some(status) => {
            query.push(" AND s.status = ").push_bind(status);
        }
        None => {}
    }
    if let Some(before) = before {
        query
            .push(format!(" AND {key}{older_than}"))
            .push_bind(before);
    }
    if with_proposals && search.is_none() {
        // Two index range scans merged newest first (SQLite's MERGE of a compound SELECT),
        // so a page still stops at 51 rows; an OR would sort every pending submission.
        query.push(format!(
            " UNION ALL SELECT {QUEUE_COLUMNS} FROM submissions s WHERE s.proposal_state = 'pending'"
        ));
        if let Some(before) = before {
            query.push(" AND s.id < ").push_bind(before);
        }
        query.push(" ORDER BY id DESC LIMIT ");
    } else {
        query.push(format!(" ORDER BY {key} {order} LIMIT "));
    }
    query.push_bind(PAGE_SIZE + 1);
    query.build_query_as().fetch_all(conn).await
}

/// How many live clients have a proposal waiting for review (a partial index holds just them).
pub async fn pending_proposals(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM submissions WHERE proposal_state = 'pending'"#
    )
    .fetch_one(conn)
    .await
}

/// A staff search term as SQL matches it: any part of the name, contacts or Client ID, in
/// any case, with nothing in the term special (`%`, `_`, quotes are plain characters).
enum SearchTerm {
    /// Three characters or more: an FTS5 phrase over the trigram index.
    Trigrams(String),
    /// Shorter terms have no trigram: a LIKE pattern. Such terms match so many rows that
    /// the scan, newest first, fills a page almost at once.
    Short(String),
}

impl SearchTerm {
    fn of(q: &str) -> SearchTerm {
        if q.chars().count() >= 3 {
            SearchTerm::Trigrams(format!("\"{}\"", q.replace('"', "\"\"")))
        } else {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            SearchTerm::Short(format!("%{escaped}%"))
        }
    }
}

/// How many submissions are in each status (kept by triggers: counting the index on every
/// queue page took ~14 ms at 100,000 submissions).
pub async fn counts(conn: &mut SqliteConnection) -> sqlx::Result<Vec<(Status, i64)>> {
    let rows = sqlx::query!(r#"SELECT status AS "status: Status", n FROM submission_counts"#)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}

pub async fn find_by_client_id(
    conn: &mut SqliteConnection,
    client_id: &str,
) -> sqlx::Result<Option<SubmissionRow>> {
    sqlx::query_as!(
        SubmissionRow,
        r#"SELECT s.id AS "id!", s.status AS "status: Status", s.revision, s.client_name, s.contacts, s.client_id,
            s.status_note, s.created_at, s.updated_at,
            s.decided_by, s.proposal, s.proposal_state AS "proposal_state: ProposalState",
            s.proposal_note
         FROM submissions s
         WHERE s.client_id = ? AND s.status IN ('approved', 'suspended', 'revoked')"#,
        client_id,
    )
    .fetch_optional(conn)
        .await
}

/// Clients that were approved, oldest first: only the active ones, or (`all`) the suspended
/// and revoked ones too.
pub async fn clients(conn: &mut SqliteConnection, all: bool) -> sqlx::Result<Vec<SubmissionRow>> {
    sqlx::query_as!(
        SubmissionRow,
        r#"SELECT s.id AS "id!", s.status AS "status: Status", s.revision, s.client_name, s.contacts, s.client_id,
            s.status_note, s.created_at, s.updated_at,
            s.decided_by, s.proposal, s.proposal_state AS "proposal_state: ProposalState",
            s.proposal_note
         FROM submissions s
         WHERE s.status = 'approved' OR (? AND s.status IN ('suspended', 'revoked'))
         ORDER BY s.id"#,
        all,
    )
    .fetch_all(conn)
    .await
}

/// (id, client name, the contact as stored) of every registration whose current revision
/// lists `email` as a contact, in any case. The trigram index narrows the rows; the JSON list
/// decides.
pub async fn with_contact(
    conn: &mut SqliteConnection,
    email: &str,
) -> sqlx::Result<Vec<(i64, String, String)>> {
    let phrase = format!("contacts : \"{}\"", email.replace('"', "\"\""));
    let rows = sqlx::query!(
        r#"SELECT s.id AS "id!", s.client_name, r.contacts
         FROM submissions s JOIN revisions r ON r.submission_id = s.id AND r.number = s.revision
         WHERE s.id IN (SELECT -rowid FROM submission_search WHERE submission_search MATCH ?)
           AND EXISTS (SELECT 1 FROM json_each(r.contacts) c WHERE lower(c.value) = lower(?))
         ORDER BY s.id"#,
        phrase,
        email,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let stored = serde_json::from_str::<Vec<String>>(&r.contacts)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.eq_ignore_ascii_case(email))
                .unwrap_or_else(|| email.to_owned());
            (r.id, r.client_name, stored)
        })
        .collect())
}

/// A resubmission after changes were requested: a new revision, back to pending. Returns
/// false if the submission was not waiting for changes any more.
pub async fn resubmit(
    conn: &mut SqliteConnection,
    submission: &SubmissionRow,
    registration: &Registration,
    now: i64,
) -> sqlx::Result<bool> {
    let number = submission.revision + 1;
    let client_name = registration.client_name.as_str();
    let contacts = registration.contacts.as_strings().join(", ");
    let changed = sqlx::query!(
        "UPDATE submissions SET status = 'pending', revision = ?, client_name = ?, contacts = ?,
            status_note = NULL, updated_at = ?
         WHERE id = ? AND status = 'changes_requested' AND revision = ?",
        number,
        client_name,
        contacts,
        now,
        submission.id,
        submission.revision,
    )
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() != 1 {
        return Ok(false);
    }
    insert_revision(&mut *conn, submission.id, number, registration, now).await?;
    add_event(conn, submission.id, "partner", "resubmitted", None, now).await?;
    Ok(true)
}

/// A proposed change to an active client (SPEC §7): a new revision beside the live one, which
/// stays what the export shows. It replaces the proposal `submission` was read with (if any).
/// Returns the new revision's number, or `None` when the client moved on since it was read
/// (a decision, a suspension, another proposal sent at the same moment).
pub async fn propose(
    conn: &mut SqliteConnection,
    submission: &SubmissionRow,
    registration: &Registration,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let number = submission.proposal.unwrap_or(0).max(submission.revision) + 1;
    let changed = sqlx::query!(
        "UPDATE submissions SET proposal = ?, proposal_state = 'pending', proposal_note = NULL,
            updated_at = ?
         WHERE id = ? AND status = 'approved' AND revision = ? AND proposal IS ?",
        number,
        now,
        submission.id,
        submission.revision,
        submission.proposal,
    )
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() != 1 {
        return Ok(None);
    }
    insert_revision(&mut *conn, submission.id, number, registration, now).await?;
    let kind = if submission.proposal.is_some() {
        "change_replaced"
    } else {
        "change_proposed"
    };
    add_event(conn, submission.id, "partner", kind, None, now).await?;
    Ok(Some(number))
}

/// Staff approve the pending proposal `number`: it becomes the live revision (the queue and
/// search copy its name and contacts). False when it is no longer the pending proposal of an
/// active client.
pub async fn approve_proposal(
    conn: &mut SqliteConnection,
    id: i64,
    proposal: &Revision,
    staff_name: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let client_name = proposal.client_name.form_text();
    let contacts = proposal.contacts.lines().join(", ");
    let changed = sqlx::query!(
        "UPDATE submissions SET revision = proposal, client_name = ?, contacts = ?,
            proposal = NULL, proposal_state = NULL, proposal_note = NULL,
            decided_by = ?, updated_at = ?
         WHERE id = ? AND status = 'approved' AND proposal = ? AND proposal_state = 'pending'",
        client_name,
        contacts,
        staff_name,
        now,
        id,
        proposal.number,
    )
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Send the proposal `number` back to the partner with the reviewer's message. False when it is
/// no longer pending.
pub async fn send_back_proposal(
    conn: &mut SqliteConnection,
    id: i64,
    number: i64,
    message: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let changed = sqlx::query!(
        "UPDATE submissions SET proposal_state = 'changes_requested', proposal_note = ?,
            updated_at = ?
         WHERE id = ? AND status = 'approved' AND proposal = ? AND proposal_state = 'pending'",
        message,
        now,
        id,
        number,
    )
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Discard the proposal `number` (rejected), or with `None` whatever proposal there is (the
/// client is revoked). Its revision stays in the history; the live one is untouched. False
/// when there was no such proposal.
pub async fn discard_proposal(
    conn: &mut SqliteConnection,
    id: i64,
    number: Option<i64>,
    now: i64,
) -> sqlx::Result<bool> {
    let changed = sqlx::query!(
        "UPDATE submissions SET proposal = NULL, proposal_state = NULL, proposal_note = NULL,
            updated_at = ?
         WHERE id = ? AND proposal IS NOT NULL AND (? IS NULL OR proposal = ?)",
        now,
        id,
        number,
        number,
    )
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// The revision numbered `number` of submission `id`.
pub async fn revision(conn: &mut SqliteConnection, id: i64, number: i64) -> sqlx::Result<Revision> {
    let record = sqlx::query_as!(
        RevisionRecord,
        "SELECT * FROM revisions WHERE submission_id = ? AND number = ?",
        id,
        number,
    )
    .fetch_one(conn)
    .await?;
    Ok(record.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AppEnv;
    use crate::domain::registration::RegistrationInput;
    use crate::domain::scopes::ScopeCatalogue;

    /// A revision as a row would hold it, with `change` applied first.
    fn stored(change: impl FnOnce(&mut RevisionRecord)) -> Revision {
        let mut record = RevisionRecord {
            submission_id: 1,
            number: 1,
            client_name: "Ledgerly".into(),
            client_uri: "https://ledgerly.example/".into(),
            logo_id: "logo".into(),
            tos_uri: "https://ledgerly.example/terms".into(),
            policy_uri: "https://ledgerly.example/privacy".into(),
            contacts: r#"["dev@ledgerly.example"]"#.into(),
            initiation_uri: "https://ledgerly.example/connect".into(),
            settings_uri: "https://ledgerly.example/settings".into(),
            client_type: "confidential".into(),
            redirect_uris: r#"["https://ledgerly.example/cb"]"#.into(),
            scopes: r#"["users:read"]"#.into(),
            scope_reason: None,
            pkce: "supported".into(),
            pkce_exception: None,
            subject_type: None,
            created_at: 0,
        };
        change(&mut record);
        Revision::from(record)
    }

    fn titles(r: &Revision) -> Vec<String> {
        r.flags(&ScopeCatalogue::builtin())
            .into_iter()
            .map(|f| format!("{}: {}", f.title, f.detail))
            .collect()
    }

    #[test]
    fn a_stored_value_that_no_longer_parses_is_kept_as_stored_and_flagged() {
        let r = stored(|r| r.redirect_uris = r#"["ftp://ledgerly.example/cb"]"#.into());
        assert!(matches!(r.redirect_uris, Stored::Unparsable { .. }));
        // Shown, not dropped: the pages, the edit form and the export all get the raw value.
        assert_eq!(r.redirect_uris.lines(), ["ftp://ledgerly.example/cb"]);
        assert_eq!(r.to_input().redirect_uris, "ftp://ledgerly.example/cb");
        let flags = titles(&r);
        assert!(
            flags.iter().any(|f| f.starts_with(
                "Redirect URIs no longer passes the rules: ftp://ledgerly.example/cb ("
            )),
            "{flags:?}"
        );
    }

    #[test]
    fn a_column_that_is_not_a_json_list_is_shown_as_stored() {
        let r = stored(|r| r.contacts = "dev@ledgerly.example".into());
        assert_eq!(r.contacts.form_text(), "dev@ledgerly.example");
        assert!(
            titles(&r)
                .iter()
                .any(|f| f.starts_with("Contacts no longer passes"))
        );
    }

    #[test]
    fn an_http_loopback_redirect_is_flagged_whatever_app_env_is_today() {
        // Accepted under staging; production's rules refuse it, and before, the staff page of a
        // production portal dropped it from the flags.
        let r = stored(|r| r.redirect_uris = r#"["http://127.0.0.1:9000/cb"]"#.into());
        assert!(r.redirect_uris.parsed().is_some());
        assert!(titles(&r).contains(&"http redirect URIs: http://127.0.0.1:9000/cb".to_owned()));
    }

    #[test]
    fn the_flags_come_from_the_typed_values() {
        let r = stored(|r| {
            r.client_type = "public".into();
            r.pkce = "not_supported".into();
            r.pkce_exception = Some("PM-7".into());
            r.scopes = r#"["users:write", "retired:read"]"#.into();
            r.redirect_uris = r#"["https://ledgerly.example/cb?next=/home"]"#.into();
        });
        let flags = titles(&r);
        for expected in [
            "Write scopes: users:write",
            "Scopes no longer in the catalogue: retired:read",
            "Query looks like an open redirector: https://ledgerly.example/cb?next=/home (next)",
            "Public client without PKCE: Exception reference: PM-7",
            "Scope reason: None given",
        ] {
            assert!(
                flags.contains(&expected.to_owned()),
                "{expected} in {flags:?}"
            );
        }
        assert!(!r.is_confidential());
        assert!(!r.supports_pkce());
        // A confidential client with PKCE raises none of those.
        let plain = titles(&stored(|_| {}));
        assert_eq!(plain, ["Scope reason: None given"]);
    }

    #[test]
    fn a_proposal_is_flagged_only_for_what_it_adds_to_the_live_revision() {
        let live = stored(|r| {
            r.scopes = r#"["users:write"]"#.into();
            r.redirect_uris = r#"["http://127.0.0.1:9000/cb"]"#.into();
        });
        let proposed = stored(|r| {
            r.number = 2;
            r.scopes = r#"["users:write", "accounts:write", "users:read"]"#.into();
            r.redirect_uris = r#"["http://127.0.0.1:9000/cb", "http://localhost/cb",
                "https://ledgerly.example/cb?next=/home"]"#
                .into();
        });
        let added: Vec<String> = proposed
            .flags_added_since(&live)
            .into_iter()
            .map(|f| format!("{}: {}", f.title, f.detail))
            .collect();
        assert_eq!(
            added,
            [
                "New write scopes: accounts:write",
                "New http redirect URIs: http://localhost/cb",
                "New redirect URI whose query looks like an open redirector: https://ledgerly.example/cb?next=/home (next)",
            ]
        );
        assert!(live.flags_added_since(&live).is_empty());
        let changed: Vec<&str> = proposed
            .side_by_side(&live)
            .into_iter()
            .filter(|c| c.changed)
            .map(|c| c.change.field)
            .collect();
        assert_eq!(changed, ["Redirect URIs", "Scopes"]);
    }

    #[test]
    fn the_diff_lists_changed_fields_by_their_labels_in_form_order() {
        let before = stored(|_| {});
        let after = stored(|r| {
            r.logo_id = "other".into();
            r.client_name = "Ledgerly Two".into();
            r.scopes = r#"["users:read", "expenses:read"]"#.into();
        });
        let changes: Vec<(&str, String, String)> = after
            .changes_since(&before)
            .into_iter()
            .map(|c| (c.field, c.before, c.after))
            .collect();
        assert_eq!(
            changes,
            [
                ("Client name", "Ledgerly".into(), "Ledgerly Two".into()),
                ("Logo", "previous logo".into(), "new logo".into()),
                (
                    "Scopes",
                    "users:read".into(),
                    "expenses:read\nusers:read".into()
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_registration_reads_back_into_the_same_types_and_edits_round_trip() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        crate::db::migrate(&mut conn).await.unwrap();
        let logo = LogoId("logo-1".into());
        crate::db::logos::insert(&mut conn, &logo, None, b"png", 64, 1)
            .await
            .unwrap();
        let input = RegistrationInput {
            client_name: "Ledgerly".into(),
            client_uri: "https://ledgerly.example".into(),
            tos_uri: "https://ledgerly.example/terms".into(),
            policy_uri: "https://ledgerly.example/privacy".into(),
            contacts: "dev@ledgerly.example, ops@ledgerly.example".into(),
            initiation_uri: "https://ledgerly.example/connect".into(),
            settings_uri: "https://ledgerly.example/settings".into(),
            client_type: "public".into(),
            redirect_uris: "https://ledgerly.example/callback\nhttp://127.0.0.1/cb".into(),
            scopes: vec!["users:read".into(), "expenses:read".into()],
            scope_reason: "Reports".into(),
            pkce: "supported".into(),
            pkce_exception: String::new(),
            subject_type: "company".into(),
        };
        let catalogue = ScopeCatalogue::builtin();
        let parse = |input: &RegistrationInput| {
            Registration::parse(input, Ok(logo.clone()), AppEnv::Staging, &catalogue).unwrap()
        };
        let registration = parse(&input);
        let id = insert(&mut conn, "token", &registration, 1).await.unwrap();
        let submission = find(&mut conn, id).await.unwrap().unwrap();
        assert_eq!(submission.status, Status::Pending);
        let revision = current_revision(&mut conn, &submission).await.unwrap();

        assert_eq!(
            revision.redirect_uris.parsed(),
            Some(&registration.redirect_uris)
        );
        assert_eq!(revision.contacts.parsed(), Some(&registration.contacts));
        assert_eq!(revision.scopes.parsed(), Some(&registration.scopes));
        assert_eq!(revision.client_type.parsed(), Some(&ClientType::Public));
        assert!(revision.unparsable().is_empty());
        let again = parse(&revision.to_input());
        assert_eq!(again.redirect_uris, registration.redirect_uris);
        assert_eq!(again.client_uri, registration.client_uri);
        assert_eq!(again.subject_type, registration.subject_type);
    }
}
