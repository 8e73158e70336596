//! Staff invitations: a one-time link (only its token's hash is stored), valid 72 hours.

use sqlx::SqliteConnection;

pub struct InvitationRow {
    pub email: String,
    pub name: String,
    pub role: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut SqliteConnection,
    token_hash: &str,
    email: &str,
    name: &str,
    role: &str,
    invited_by: i64,
    now: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO staff_invitations
             (token_hash, email, name, role, invited_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        token_hash,
        email,
        name,
        role,
        invited_by,
        now,
        expires_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut SqliteConnection,
    token_hash: &str,
) -> sqlx::Result<Option<InvitationRow>> {
    sqlx::query_as!(
        InvitationRow,
        "SELECT email, name, role, expires_at, used_at FROM staff_invitations
         WHERE token_hash = ?",
        token_hash
    )
    .fetch_optional(conn)
    .await
}

/// Use the invitation: true once, and only before it expires.
pub async fn consume(
    conn: &mut SqliteConnection,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE staff_invitations SET used_at = ?
         WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        now,
        token_hash,
        now
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
