//! The email outbox: rows are written in the transaction that causes them and sent later by
//! the worker in `mail::worker`.

use sqlx::{FromRow, SqliteConnection};

use crate::domain::delivery::DeliveryState;
use crate::mail::seal::SealedEmail;

/// A message is given up (state `failed`) after this many transient failures.
pub const MAX_ATTEMPTS: i64 = 10;

/// One message as it is queued: links already sealed (`mail::seal`).
pub struct Queued<'a> {
    pub submission_id: Option<i64>,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a SealedEmail,
    pub message_id: &'a str,
    /// Recorded as skipped, with this reason for staff, instead of queued.
    pub skipped: Option<&'a str>,
}

/// Queue one rendered email to one recipient; returns its row id.
pub async fn enqueue(conn: &mut SqliteConnection, m: &Queued<'_>, now: i64) -> sqlx::Result<i64> {
    let state = if m.skipped.is_some() {
        "skipped"
    } else {
        "queued"
    };
    let done = sqlx::query!(
        "INSERT INTO outbox (submission_id, kind, recipient, subject, text_body, html_body,
            links_sealed, message_id, state, attempts, next_attempt_at, last_error, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        m.submission_id,
        m.kind,
        m.recipient,
        m.subject,
        m.body.text,
        m.body.html,
        m.body.links,
        m.message_id,
        state,
        now,
        m.skipped,
        now,
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.last_insert_rowid())
}

/// The email `outbox_id` is also about `submission_id` (besides its own `submission_id`), so
/// that registration's staff page lists it too.
pub async fn add_about(
    conn: &mut SqliteConnection,
    outbox_id: i64,
    submission_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT OR IGNORE INTO outbox_about (submission_id, outbox_id) VALUES (?, ?)",
        submission_id,
        outbox_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Messages of `kinds` queued to `recipient` (any case) since `since`, up to `limit`; skipped
/// ones are not counted: they reached nobody.
pub async fn recent_to(
    conn: &mut SqliteConnection,
    recipient: &str,
    kinds: &[&str],
    since: i64,
    limit: i64,
) -> sqlx::Result<i64> {
    let kinds = serde_json::to_string(kinds).expect("strings serialise");
    // Counting stops at `limit`: an address that is being flooded has ever more skipped rows,
    // and counting them all made every registration slower than the one before (bench (b)
    // halved). The index walks oldest first, so the first `limit` found end the scan.
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM (SELECT 1 FROM outbox
         WHERE recipient = ? COLLATE NOCASE AND created_at > ? AND state <> 'skipped'
           AND kind IN (SELECT value FROM json_each(?)) LIMIT ?)"#,
        recipient,
        since,
        kinds,
        limit,
    )
    .fetch_one(conn)
    .await
}

/// `FromRow` too: the API tests read the whole table.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub submission_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub links_sealed: Option<Vec<u8>>,
    pub message_id: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl OutboxRow {
    /// The bodies and sealed links, as `LinkSeal::open` takes them.
    pub fn body(&self) -> SealedEmail {
        SealedEmail {
            text: self.text_body.clone(),
            html: self.html_body.clone(),
            links: self.links_sealed.clone(),
        }
    }

    /// Where it stands. An unknown state (none is written) reads as queued.
    pub fn delivery(&self) -> DeliveryState {
        let error = || {
            self.last_error
                .clone()
                .unwrap_or_else(|| "no error recorded".into())
        };
        match self.state.as_str() {
            "sent" => DeliveryState::Sent {
                at: self.sent_at.unwrap_or(self.next_attempt_at),
            },
            "failed" => DeliveryState::Failed { error: error() },
            "skipped" => DeliveryState::Skipped { reason: error() },
            "sending" => DeliveryState::Sending {
                attempt: self.attempts,
                of: MAX_ATTEMPTS,
            },
            _ if self.attempts == 0 => DeliveryState::Queued,
            _ => DeliveryState::Retrying {
                attempt: self.attempts + 1,
                of: MAX_ATTEMPTS,
                next_at: self.next_attempt_at,
                error: error(),
            },
        }
    }
}

/// Claim up to `limit` due messages for `lease` seconds: queued ones whose time has come, or
/// ones whose sender's lease ran out (it crashed mid-send). One statement, so two workers can
/// never claim the same row, and nothing stays locked while the messages are on the wire.
pub async fn claim(
    conn: &mut SqliteConnection,
    now: i64,
    lease: i64,
    limit: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    let lease_until = now + lease;
    let mut rows = sqlx::query_as!(
        OutboxRow,
        r#"UPDATE outbox SET state = 'sending', lease_until = ?, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox
                      WHERE (state = 'queued' AND next_attempt_at <= ?)
                         OR (state = 'sending' AND lease_until <= ?)
                      ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING id AS "id!", submission_id, kind, recipient, subject, text_body, html_body, links_sealed, message_id,
            state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at"#,
        lease_until,
        now,
        now,
        limit,
    )
    .fetch_all(conn)
    .await?;
    // RETURNING gives no order: send the oldest first.
    rows.sort_by_key(|row| (row.next_attempt_at, row.id));
    Ok(rows)
}

// The outcome is recorded only by the claim that is still current (same attempt, still
// sending): a worker that outlived its lease must not overwrite the newer claim's result.

pub async fn mark_sent(
    conn: &mut SqliteConnection,
    claimed: &OutboxRow,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE outbox SET state = 'sent', sent_at = ?, lease_until = NULL, last_error = NULL,
            links_sealed = NULL
         WHERE id = ? AND state = 'sending' AND attempts = ?",
        now,
        claimed.id,
        claimed.attempts,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_retry(
    conn: &mut SqliteConnection,
    claimed: &OutboxRow,
    next_attempt_at: i64,
    error: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE outbox SET state = 'queued', next_attempt_at = ?, lease_until = NULL, last_error = ?
         WHERE id = ? AND state = 'sending' AND attempts = ?",
        next_attempt_at,
        error,
        claimed.id,
        claimed.attempts,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_failed(
    conn: &mut SqliteConnection,
    claimed: &OutboxRow,
    error: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = ?
         WHERE id = ? AND state = 'sending' AND attempts = ?",
        error,
        claimed.id,
        claimed.attempts,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Give back a claimed message that was not tried (the batch stopped early): queued again,
/// due now, and the claim's attempt not counted.
pub async fn release(conn: &mut SqliteConnection, claimed: &OutboxRow) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE outbox SET state = 'queued', lease_until = NULL, attempts = attempts - 1
         WHERE id = ? AND state = 'sending' AND attempts = ?",
        claimed.id,
        claimed.attempts,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Staff "retry": put a failed message back in the queue, due now, with a fresh set of
/// attempts (whatever made it fail has presumably been fixed). The last error stays visible
/// until the next attempt replaces it. False when the row is not failed (or does not exist).
pub async fn retry(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<bool> {
    let now = crate::db::now();
    let done = sqlx::query!(
        "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, lease_until = NULL
         WHERE id = ? AND state = 'failed'",
        now,
        id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The submission an outbox row is about, if any.
pub async fn submission_of(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<i64>> {
    let found = sqlx::query_scalar!("SELECT submission_id FROM outbox WHERE id = ?", id)
        .fetch_optional(conn)
        .await?;
    Ok(found.flatten())
}

/// Every email about a submission, oldest first: its own, and those that cover it among
/// others (`outbox_about`).
pub async fn for_submission(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as!(
        OutboxRow,
        r#"SELECT id AS "id!", submission_id, kind, recipient, subject, text_body, html_body, links_sealed, message_id,
            state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at
         FROM outbox
         WHERE submission_id = ?1
            OR id IN (SELECT outbox_id FROM outbox_about WHERE submission_id = ?1)
         ORDER BY id"#,
        submission_id,
    )
    .fetch_all(conn)
    .await
}

/// Every message, oldest first.
pub async fn all(conn: &mut SqliteConnection) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as!(
        OutboxRow,
        r#"SELECT id AS "id!", submission_id, kind, recipient, subject, text_body, html_body, links_sealed, message_id,
            state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at
         FROM outbox ORDER BY id"#,
    )
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, attempts: i64, last_error: Option<&str>) -> OutboxRow {
        OutboxRow {
            id: 1,
            submission_id: Some(1),
            kind: "receipt".into(),
            recipient: "dev@ledgerly.example".into(),
            subject: "We received your registration of Ledgerly".into(),
            text_body: String::new(),
            html_body: String::new(),
            links_sealed: None,
            message_id: "<1@localhost>".into(),
            state: state.into(),
            attempts,
            next_attempt_at: 1_795_980_180, // 2026-11-29 19:23 UTC
            lease_until: None,
            last_error: last_error.map(str::to_owned),
            created_at: 1_795_980_100,
            sent_at: (state == "sent").then_some(1_795_980_180),
        }
    }

    #[test]
    fn the_delivery_state_says_what_staff_need_to_know() {
        assert_eq!(row("queued", 0, None).delivery(), DeliveryState::Queued);
        assert_eq!(
            row("sent", 1, None).delivery(),
            DeliveryState::Sent { at: 1_795_980_180 }
        );
        assert_eq!(
            row("queued", 1, Some("Connection error: refused")).delivery(),
            DeliveryState::Retrying {
                attempt: 2,
                of: 10,
                next_at: 1_795_980_180,
                error: "Connection error: refused".into()
            }
        );
        assert_eq!(
            row("failed", 1, Some("permanent error (554): no")).delivery(),
            DeliveryState::Failed {
                error: "permanent error (554): no".into()
            }
        );
        assert_eq!(
            row(
                "skipped",
                0,
                Some("3 such emails went to this address in 24 hours")
            )
            .delivery(),
            DeliveryState::Skipped {
                reason: "3 such emails went to this address in 24 hours".into()
            }
        );
        // A staff retry starts afresh: it reads as queued until it is tried.
        assert_eq!(
            row("queued", 0, Some("old error")).delivery(),
            DeliveryState::Queued
        );
    }
}
