//! The provisioning feed's events and their delivery state.

use sqlx::SqliteConnection;

#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: i64,
    pub submission_id: i64,
    pub r#type: String,
    pub timestamp: i64,
    pub data: String,
    pub webhook_id: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
}

pub async fn insert(
    conn: &mut SqliteConnection,
    submission_id: i64,
    kind: &str,
    timestamp: i64,
    data: &str,
    webhook_id: &str,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        r#"INSERT INTO feed_events (submission_id, type, timestamp, data, webhook_id, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id AS "id!""#,
        submission_id,
        kind,
        timestamp,
        data,
        webhook_id,
        timestamp,
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Events after `after`, oldest first, at most `limit`.
pub async fn after(
    conn: &mut SqliteConnection,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT id AS "id!", submission_id, type AS "type", timestamp, data, webhook_id, state,
            attempts, next_attempt_at, last_error, delivered_at
         FROM feed_events WHERE id > ? ORDER BY id LIMIT ?"#,
        after,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// The events of one submission, oldest first (the staff page's delivery state).
pub async fn of_submission(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT id AS "id!", submission_id, type AS "type", timestamp, data, webhook_id, state,
            attempts, next_attempt_at, last_error, delivered_at
         FROM feed_events WHERE submission_id = ? ORDER BY id"#,
        submission_id,
    )
    .fetch_all(conn)
    .await
}

/// The next event to deliver: for each client only its oldest undelivered event may go (a
/// later one waits while an earlier one fails), and only once its retry time has come.
pub async fn next_due(conn: &mut SqliteConnection, now: i64) -> sqlx::Result<Option<EventRow>> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.id AS "id!", e.submission_id, e.type AS "type", e.timestamp, e.data, e.webhook_id,
            e.state, e.attempts, e.next_attempt_at, e.last_error, e.delivered_at
         FROM feed_events e
         WHERE e.state = 'pending' AND e.next_attempt_at <= ?
           AND e.id = (SELECT MIN(f.id) FROM feed_events f
                       WHERE f.submission_id = e.submission_id AND f.state = 'pending')
         ORDER BY e.id LIMIT 1"#,
        now,
    )
    .fetch_optional(conn)
    .await
}

/// The earliest retry time among clients' head events (when the worker should look again).
pub async fn next_attempt_at(conn: &mut SqliteConnection) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"SELECT MIN(next_attempt_at) AS "at: i64" FROM feed_events WHERE state = 'pending'"#
    )
    .fetch_one(conn)
    .await
}

pub async fn mark_delivered(conn: &mut SqliteConnection, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE feed_events SET state = 'delivered', delivered_at = ?, attempts = attempts + 1,
            last_error = NULL WHERE id = ?",
        now,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_failed(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    next_attempt_at: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE feed_events SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
         WHERE id = ?",
        error,
        next_attempt_at,
        id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Staff asked to retry a client's deliveries now: its pending events are due at once.
pub async fn retry_now(
    conn: &mut SqliteConnection,
    submission_id: i64,
    now: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "UPDATE feed_events SET next_attempt_at = ? WHERE submission_id = ? AND state = 'pending'",
        now,
        submission_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
