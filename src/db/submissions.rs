//! Submissions, their revisions (every version the partner sent) and their history.

use sqlx::{FromRow, SqliteConnection};

use crate::auth::{random_token, sha256_hex};

use crate::domain::registration::{Registration, RegistrationInput};
use crate::domain::status::Status;

#[derive(Debug, Clone, FromRow)]
pub struct SubmissionRow {
    pub id: i64,
    pub status: String,
    pub revision: i64,
    pub client_name: String,
    pub contacts: String,
    pub client_id: Option<String>,
    pub status_note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub secret_hash: Option<String>,
    pub secret_issued_at: Option<i64>,
    pub decided_by: Option<String>,
}

impl SubmissionRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Pending)
    }
}

/// One stored revision, as strings: what the pages show and what the edit form starts from.
#[derive(Debug, Clone, FromRow)]
pub struct RevisionRow {
    pub submission_id: i64,
    pub number: i64,
    pub client_name: String,
    pub client_uri: String,
    pub logo_id: String,
    pub tos_uri: String,
    pub policy_uri: String,
    #[sqlx(json)]
    pub contacts: Vec<String>,
    pub initiation_uri: String,
    pub settings_uri: String,
    pub client_type: String,
    #[sqlx(json)]
    pub redirect_uris: Vec<String>,
    #[sqlx(json)]
    pub scopes: Vec<String>,
    pub scope_reason: Option<String>,
    pub pkce: String,
    pub pkce_exception: Option<String>,
    pub subject_type: Option<String>,
    pub created_at: i64,
}

impl RevisionRow {
    pub fn to_input(&self) -> RegistrationInput {
        RegistrationInput {
            client_name: self.client_name.clone(),
            client_uri: self.client_uri.clone(),
            tos_uri: self.tos_uri.clone(),
            policy_uri: self.policy_uri.clone(),
            contacts: self.contacts.join("\n"),
            initiation_uri: self.initiation_uri.clone(),
            settings_uri: self.settings_uri.clone(),
            client_type: self.client_type.clone(),
            redirect_uris: self.redirect_uris.join("\n"),
            scopes: self.scopes.clone(),
            scope_reason: self.scope_reason.clone().unwrap_or_default(),
            pkce: self.pkce.clone(),
            pkce_exception: self.pkce_exception.clone().unwrap_or_default(),
            subject_type: self.subject_type.clone().unwrap_or_default(),
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

impl EventRow {
    pub fn describe(&self) -> &'static str {
        match self.kind.as_str() {
            "submitted" => "Submitted for review",
            "resubmitted" => "Resubmitted with changes",
            "approved" => "Approved",
            "rejected" => "Rejected",
            "changes_requested" => "Changes requested",
            "secret_revealed" => "Client secret retrieved",
            "secret_rotated" => "Client secret rotated",
            _ => "Updated",
        }
    }
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
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO submissions (token, status, revision, client_name, contacts, created_at, updated_at)
         VALUES (?, 'pending', 1, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&token_hash)
    .bind(registration.client_name.as_str())
    .bind(registration.contacts.as_strings().join(", "))
    .bind(now)
    .bind(now)
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
    sqlx::query(
        "INSERT INTO status_tokens (token_hash, submission_id, created_at) VALUES (?, ?, ?)",
    )
    .bind(token_hash)
    .bind(submission_id)
    .bind(now)
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
    sqlx::query(
        "INSERT INTO revisions (submission_id, number, client_name, client_uri, logo_id, tos_uri,
            policy_uri, contacts, initiation_uri, settings_uri, client_type, redirect_uris, scopes,
            scope_reason, pkce, pkce_exception, subject_type, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(submission_id)
    .bind(number)
    .bind(r.client_name.as_str())
    .bind(r.client_uri.as_str())
    .bind(&r.logo.0)
    .bind(r.tos_uri.as_str())
    .bind(r.policy_uri.as_str())
    .bind(json(r.contacts.as_strings()))
    .bind(r.initiation_uri.as_str())
    .bind(r.settings_uri.as_str())
    .bind(r.client_type.as_str())
    .bind(json(r.redirect_uris.as_strings()))
    .bind(json(r.scopes.iter().map(str::to_owned).collect()))
    .bind(r.scope_reason.as_deref())
    .bind(r.pkce.as_str())
    .bind(r.pkce_exception.as_deref())
    .bind(r.subject_type.as_deref())
    .bind(now)
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
    let changed = sqlx::query(
        "UPDATE submissions SET status = ?, status_note = ?, decided_by = ?, updated_at = ?
         WHERE id = ? AND status = ?",
    )
    .bind(to.as_str())
    .bind(note)
    .bind(staff_name)
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

pub async fn set_client_id(
    conn: &mut SqliteConnection,
    id: i64,
    client_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE submissions SET client_id = ? WHERE id = ?")
        .bind(client_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Store the hash of a newly revealed secret (issued now), or `None`: no secret works.
pub async fn set_secret_hash(
    conn: &mut SqliteConnection,
    id: i64,
    hash: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE submissions SET secret_hash = ?, secret_issued_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(hash)
    .bind(hash.map(|_| now))
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stored hash of an approved client's secret, if one has been revealed.
pub async fn secret_hash(
    conn: &mut SqliteConnection,
    client_id: &str,
) -> sqlx::Result<Option<String>> {
    let stored: Option<Option<String>> = sqlx::query_scalar(
        "SELECT secret_hash FROM submissions WHERE client_id = ? AND status = 'approved'",
    )
    .bind(client_id)
    .fetch_optional(conn)
    .await?;
    Ok(stored.flatten())
}

pub async fn add_event(
    conn: &mut SqliteConnection,
    submission_id: i64,
    actor: &str,
    kind: &str,
    note: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO events (submission_id, at, actor, kind, note) VALUES (?, ?, ?, ?, ?)")
        .bind(submission_id)
        .bind(now)
        .bind(actor)
        .bind(kind)
        .bind(note)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_by_token(
    conn: &mut SqliteConnection,
    token: &str,
) -> sqlx::Result<Option<SubmissionRow>> {
    sqlx::query_as(
        "SELECT s.* FROM status_tokens t JOIN submissions s ON s.id = t.submission_id
         WHERE t.token_hash = ?",
    )
    .bind(sha256_hex(token))
    .fetch_optional(conn)
    .await
}

pub async fn find(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<SubmissionRow>> {
    sqlx::query_as("SELECT * FROM submissions WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Every revision, newest first.
pub async fn revisions(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Vec<RevisionRow>> {
    sqlx::query_as("SELECT * FROM revisions WHERE submission_id = ? ORDER BY number DESC")
        .bind(submission_id)
        .fetch_all(conn)
        .await
}

pub async fn current_revision(
    conn: &mut SqliteConnection,
    submission: &SubmissionRow,
) -> sqlx::Result<RevisionRow> {
    sqlx::query_as("SELECT * FROM revisions WHERE submission_id = ? AND number = ?")
        .bind(submission.id)
        .bind(submission.revision)
        .fetch_one(conn)
        .await
}

/// The history, oldest first.
pub async fn events(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as("SELECT at, actor, kind, note FROM events WHERE submission_id = ? ORDER BY id")
        .bind(submission_id)
        .fetch_all(conn)
        .await
}

pub const PAGE_SIZE: i64 = 50;

/// One page of the staff queue, newest first. Keyset pagination: `before` is the smallest id
/// of the previous page, so a page costs the same however deep it is.
pub async fn queue(
    conn: &mut SqliteConnection,
    status: Option<Status>,
    search: Option<&str>,
    before: Option<i64>,
) -> sqlx::Result<Vec<SubmissionRow>> {
    // Built per request so each filter is a plain indexed condition: with (status, id) the
    // queue is an index range scan whatever the page depth, and a search walks the trigram
    // index (migration 20261202190000) newest first instead of scanning the table.
    let mut query = sqlx::QueryBuilder::new("SELECT s.* FROM ");
    // The id the page is ordered and cut by. For a search it is the index's own rowid, so
    // SQLite walks the trigram index newest first and stops at a full page (ordering by
    // s.id instead sorted every match: ~100 ms for a common term).
    let key = match search.map(SearchTerm::of) {
        Some(SearchTerm::Trigrams(phrase)) => {
            query
                .push("submission_search JOIN submissions s ON s.id = submission_search.rowid")
                .push(" WHERE submission_search MATCH ")
                .push_bind(phrase);
            "submission_search.rowid"
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
            "s.id"
        }
        None => {
            query.push("submissions s WHERE 1 = 1");
            "s.id"
        }
    };
    if let Some(status) = status {
        query.push(" AND s.status = ").push_bind(status.as_str());
    }
    if let Some(before) = before {
        query.push(format!(" AND {key} < ")).push_bind(before);
    }
    query
        .push(format!(" ORDER BY {key} DESC LIMIT "))
        .push_bind(PAGE_SIZE + 1);
    query.build_query_as().fetch_all(conn).await
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
pub async fn counts(conn: &mut SqliteConnection) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT status, n FROM submission_counts")
        .fetch_all(conn)
        .await
}

pub async fn find_by_client_id(
    conn: &mut SqliteConnection,
    client_id: &str,
) -> sqlx::Result<Option<SubmissionRow>> {
    sqlx::query_as("SELECT * FROM submissions WHERE client_id = ? AND status = 'approved'")
        .bind(client_id)
        .fetch_optional(conn)
        .await
}

pub async fn approved(conn: &mut SqliteConnection) -> sqlx::Result<Vec<SubmissionRow>> {
    sqlx::query_as("SELECT * FROM submissions WHERE status = 'approved' ORDER BY id")
        .fetch_all(conn)
        .await
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
    let changed = sqlx::query(
        "UPDATE submissions SET status = 'pending', revision = ?, client_name = ?, contacts = ?,
            status_note = NULL, updated_at = ?
         WHERE id = ? AND status = 'changes_requested' AND revision = ?",
    )
    .bind(number)
    .bind(registration.client_name.as_str())
    .bind(registration.contacts.as_strings().join(", "))
    .bind(now)
    .bind(submission.id)
    .bind(submission.revision)
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() != 1 {
        return Ok(false);
    }
    insert_revision(&mut *conn, submission.id, number, registration, now).await?;
    add_event(conn, submission.id, "partner", "resubmitted", None, now).await?;
    Ok(true)
}
