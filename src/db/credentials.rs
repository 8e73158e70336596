//! One-time credentials links. Only the SHA-256 of a link's token is stored.

use sqlx::SqliteConnection;

use crate::domain::status::Status;

/// A link and the client it is for.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub submission_id: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The link came from an overlapping rotation: its secret starts the overlap.
    pub overlap: bool,
    pub client_id: Option<String>,
    pub client_name: String,
    /// The client's status now: a revoked client's links are dead for that reason, whatever
    /// else happened to them.
    pub status: Status,
}

pub async fn insert(
    conn: &mut SqliteConnection,
    token_hash: &str,
    submission_id: i64,
    now: i64,
    expires_at: i64,
    overlap: bool,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO credential_links (token_hash, submission_id, created_at, expires_at, overlap)
         VALUES (?, ?, ?, ?, ?)",
        token_hash,
        submission_id,
        now,
        expires_at,
        overlap,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut SqliteConnection, token_hash: &str) -> sqlx::Result<Option<LinkRow>> {
    sqlx::query_as!(
        LinkRow,
        r#"SELECT l.submission_id, l.expires_at, l.used_at, l.revoked_at,
            l.overlap AS "overlap: bool", s.client_id, s.client_name,
            s.status AS "status: Status"
         FROM credential_links l JOIN submissions s ON s.id = l.submission_id
         WHERE l.token_hash = ?"#,
        token_hash,
    )
    .fetch_optional(conn)
    .await
}

/// Spend a link; false when it was already spent.
pub async fn mark_used(
    conn: &mut SqliteConnection,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE credential_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        now,
        token_hash,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revoke every link of a submission that has not been used yet (a new one replaces them).
pub async fn revoke_unused(
    conn: &mut SqliteConnection,
    submission_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE credential_links SET revoked_at = ?
         WHERE submission_id = ? AND used_at IS NULL AND revoked_at IS NULL",
        now,
        submission_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How many credentials links a submission has had (used, replaced and ready ones alike).
pub async fn count_for(conn: &mut SqliteConnection, submission_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM credential_links WHERE submission_id = ?"#,
        submission_id
    )
    .fetch_one(conn)
    .await
}
