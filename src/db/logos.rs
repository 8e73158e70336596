//! Logos: stored once re-encoded. A logo that passed its checks on a form that had other errors
//! is held under a token until the form is sent again; unclaimed ones expire.

use sqlx::SqliteConnection;

use crate::auth::sha256_hex;
use crate::domain::registration::LogoId;

/// How long a held logo waits for its form.
pub const HOLD_SECONDS: i64 = 24 * 60 * 60;

/// Store a checked logo: held under `hold_token` (only its hash is stored) for a form that
/// had other errors, or, with no token, claimed at once by the submission being written in
/// the same transaction.
pub async fn insert(
    conn: &mut SqliteConnection,
    id: &LogoId,
    hold_token: Option<&str>,
    png: &[u8],
    side: u32,
    now: i64,
) -> sqlx::Result<()> {
    let hold_token_hash = hold_token.map(sha256_hex);
    let claimed = hold_token.is_none();
    sqlx::query!(
        "INSERT INTO logos (id, hold_token_hash, png, side, claimed, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
        id.0,
        hold_token_hash,
        png,
        side,
        claimed,
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The held logo behind a token from a form, if it has not expired.
pub async fn find_held(
    conn: &mut SqliteConnection,
    hold_token: &str,
    now: i64,
) -> sqlx::Result<Option<LogoId>> {
    let hash = sha256_hex(hold_token);
    let since = now - HOLD_SECONDS;
    let id = sqlx::query_scalar!(
        r#"SELECT id AS "id!" FROM logos
           WHERE hold_token_hash = ? AND claimed = 0 AND created_at > ?"#,
        hash,
        since,
    )
    .fetch_optional(conn)
    .await?;
    Ok(id.map(LogoId))
}

/// Claim a held logo for the submission written in the same transaction. `false` when it is
/// not held any more: it expired, or the sweep (`expire_unclaimed`) deleted it, after the form
/// found it (`find_held`). A logo already claimed by a twin of this form, sent twice at once, is
/// claimed again: both submissions were sent with it.
pub async fn claim(conn: &mut SqliteConnection, id: &LogoId, now: i64) -> sqlx::Result<bool> {
    let since = now - HOLD_SECONDS;
    let done = sqlx::query!(
        "UPDATE logos SET claimed = 1, hold_token_hash = NULL WHERE id = ? AND created_at > ?",
        id.0,
        since,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Only claimed logos are served: a held one belongs to a form nobody has sent yet.
pub async fn png(conn: &mut SqliteConnection, id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!("SELECT png FROM logos WHERE id = ? AND claimed = 1", id)
        .fetch_optional(conn)
        .await
}

pub async fn held_png(conn: &mut SqliteConnection, id: &LogoId) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar!("SELECT png FROM logos WHERE id = ?", id.0)
        .fetch_optional(conn)
        .await
}

pub async fn expire_unclaimed(conn: &mut SqliteConnection, now: i64) -> sqlx::Result<u64> {
    let until = now - HOLD_SECONDS;
    let done = sqlx::query!(
        "DELETE FROM logos WHERE claimed = 0 AND created_at <= ?",
        until
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// How many logos are stored, and how many of them a submission has claimed.
pub async fn counts(conn: &mut SqliteConnection) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"SELECT COUNT(*) AS "stored!: i64", COALESCE(SUM(claimed), 0) AS "claimed!: i64"
           FROM logos"#
    )
    .fetch_one(conn)
    .await?;
    Ok((row.stored, row.claimed))
}
