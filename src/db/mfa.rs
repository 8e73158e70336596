//! The staff second factor: the sealed TOTP key, the last step accepted, recovery codes.

use sqlx::SqliteConnection;

/// The sealed key, and whether it is confirmed (on) or waits for enrolment's first code.
pub struct TotpRow {
    pub sealed_key: Vec<u8>,
    pub enabled: bool,
    pub last_step: Option<i64>,
}

pub async fn find(conn: &mut SqliteConnection, staff_id: i64) -> sqlx::Result<Option<TotpRow>> {
    let row = sqlx::query!(
        r#"SELECT totp_key, totp_enabled_at IS NOT NULL AS "enabled!: bool", totp_last_step
         FROM staff WHERE id = ?"#,
        staff_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        r.totp_key.map(|sealed_key| TotpRow {
            sealed_key,
            enabled: r.enabled,
            last_step: r.totp_last_step,
        })
    }))
}

/// A new key for enrolment, replacing one not yet confirmed; never one that is on.
pub async fn set_pending_key(
    conn: &mut SqliteConnection,
    staff_id: i64,
    sealed_key: &[u8],
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE staff SET totp_key = ?, totp_last_step = NULL
         WHERE id = ? AND totp_enabled_at IS NULL",
        sealed_key,
        staff_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Accept `step` if it is later than every step accepted before: true once per step, so two
/// uses of one code (even at once) get one success.
pub async fn accept_step(
    conn: &mut SqliteConnection,
    staff_id: i64,
    step: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE staff SET totp_last_step = ?
         WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
        step,
        staff_id,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turn the second factor on with its recovery codes (hashes), replacing any earlier ones.
pub async fn enable(
    conn: &mut SqliteConnection,
    staff_id: i64,
    code_hashes: &[String],
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE staff SET totp_enabled_at = ? WHERE id = ?",
        now,
        staff_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM staff_recovery_codes WHERE staff_id = ?",
        staff_id
    )
    .execute(&mut *conn)
    .await?;
    for hash in code_hashes {
        sqlx::query!(
            "INSERT INTO staff_recovery_codes (code_hash, staff_id) VALUES (?, ?)",
            hash,
            staff_id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Use a recovery code: true once for each code of this account.
pub async fn use_recovery_code(
    conn: &mut SqliteConnection,
    staff_id: i64,
    code_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE staff_recovery_codes SET used_at = ?
         WHERE code_hash = ? AND staff_id = ? AND used_at IS NULL",
        now,
        code_hash,
        staff_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unused_recovery_codes(
    conn: &mut SqliteConnection,
    staff_id: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM staff_recovery_codes
         WHERE staff_id = ? AND used_at IS NULL"#,
        staff_id
    )
    .fetch_one(conn)
    .await
}

/// Clear a lost second factor (an admin's reset): key, step and recovery codes.
pub async fn clear(conn: &mut SqliteConnection, staff_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE staff SET totp_key = NULL, totp_enabled_at = NULL, totp_last_step = NULL
         WHERE id = ?",
        staff_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM staff_recovery_codes WHERE staff_id = ?",
        staff_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
