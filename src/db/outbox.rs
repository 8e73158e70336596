//! The email outbox: rows are written in the transaction that causes them and sent later by
//! the worker in `mail::worker`.

use sqlx::{FromRow, SqliteConnection};

use crate::mail::messages::Email;

/// Queue one rendered email to one recipient.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    submission_id: Option<i64>,
    email: &Email,
    recipient: &str,
    message_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (submission_id, kind, recipient, subject, text_body, html_body,
            message_id, state, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)",
    )
    .bind(submission_id)
    .bind(email.kind)
    .bind(recipient)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(message_id)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub submission_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub message_id: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

pub async fn for_submission(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as(
        "SELECT id, submission_id, kind, recipient, subject, text_body, html_body, message_id,
                state, attempts, next_attempt_at, last_error, created_at, sent_at
         FROM outbox WHERE submission_id = ? ORDER BY id",
    )
    .bind(submission_id)
    .fetch_all(conn)
    .await
}
