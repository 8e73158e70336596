//! Staff accounts, their sessions and the login throttle.

use sqlx::SqliteConnection;

use crate::auth::mfa::Role;
use crate::auth::random_token;

#[derive(Debug, Clone)]
pub struct StaffRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub disabled_at: Option<i64>,
    /// Whether a second factor is on (its key confirmed with a code).
    pub mfa_enabled: bool,
}

pub async fn count(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM staff"#)
        .fetch_one(conn)
        .await
}

/// Returns `None` when the email is taken. The account is an admin when `role` says so or when
/// it is the first one (SPEC §9), decided in the same statement.
pub async fn insert(
    conn: &mut SqliteConnection,
    email: &str,
    name: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let public_id = random_token(16);
    let role = role.as_str();
    sqlx::query_scalar!(
        r#"INSERT INTO staff (email, name, password_hash, created_at, public_id, role)
         SELECT ?, ?, ?, ?, ?,
                CASE WHEN NOT EXISTS (SELECT 1 FROM staff) THEN 'admin' ELSE ? END
         WHERE true
         ON CONFLICT (email) DO NOTHING RETURNING id AS "id!""#,
        email,
        name,
        password_hash,
        now,
        public_id,
        role
    )
    .fetch_optional(conn)
    .await
}

/// The first account only: inserted if the table is empty, in one statement (SQLite runs it
/// under the write lock), so of two concurrent first-run setups exactly one gets an id.
pub async fn insert_first(
    conn: &mut SqliteConnection,
    email: &str,
    name: &str,
    password_hash: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let public_id = random_token(16);
    sqlx::query_scalar!(
        r#"INSERT INTO staff (email, name, password_hash, created_at, public_id, role)
         SELECT ?, ?, ?, ?, ?, 'admin' WHERE NOT EXISTS (SELECT 1 FROM staff) RETURNING id AS "id!""#,
        email,
        name,
        password_hash,
        now,
        public_id
    )
    .fetch_optional(conn)
    .await
}

pub async fn find_by_email(
    conn: &mut SqliteConnection,
    email: &str,
) -> sqlx::Result<Option<StaffRow>> {
    sqlx::query_as!(
        StaffRow,
        r#"SELECT id AS "id!", email, name, password_hash, disabled_at,
                totp_enabled_at IS NOT NULL AS "mfa_enabled!: bool"
         FROM staff WHERE email = ?"#,
        email
    )
    .fetch_optional(conn)
    .await
}

/// Login attempts for `email` (case-insensitive, as typed) since `since` that still count:
/// failures, and attempts whose check is still running.
pub async fn recent_attempts(
    conn: &mut SqliteConnection,
    email: &str,
    since: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM login_failures WHERE email = ? AND at > ?"#,
        email,
        since,
    )
    .fetch_one(conn)
    .await
}

/// Count an attempt as failed before its password is checked (so parallel guesses are
/// counted too); returns its row, which `forget_attempt` takes back if it succeeds.
pub async fn record_attempt(
    conn: &mut SqliteConnection,
    email: &str,
    now: i64,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        r#"INSERT INTO login_failures (email, at) VALUES (?, ?) RETURNING rowid AS "rowid!: i64""#,
        email,
        now,
    )
    .fetch_one(&mut *conn)
    .await?;
    // Old failures no longer count; keep the table small.
    let day_ago = now - 24 * 60 * 60;
    sqlx::query!("DELETE FROM login_failures WHERE at < ?", day_ago)
        .execute(conn)
        .await?;
    Ok(id)
}

/// An attempt that succeeded, or was never checked, is no failure.
pub async fn forget_attempt(conn: &mut SqliteConnection, attempt: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM login_failures WHERE rowid = ?", attempt)
        .execute(conn)
        .await?;
    Ok(())
}

/// `stage` is `password` for a login waiting for its second factor, else `signed_in`.
pub async fn create_session(
    conn: &mut SqliteConnection,
    id_hash: &str,
    staff_id: i64,
    stage: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO staff_sessions (id_hash, staff_id, created_at, last_seen_at, stage)
         VALUES (?, ?, ?, ?, ?)",
        id_hash,
        staff_id,
        now,
        now,
        stage
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub staff_id: i64,
    pub public_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub mfa_enabled: bool,
    pub stage: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A session of an account that is not disabled.
pub async fn find_session(
    conn: &mut SqliteConnection,
    id_hash: &str,
) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"SELECT s.staff_id, st.public_id AS "public_id!", st.email, st.name, st.role,
                st.totp_enabled_at IS NOT NULL AS "mfa_enabled!: bool", s.stage,
                s.created_at, s.last_seen_at
         FROM staff_sessions s JOIN staff st ON st.id = s.staff_id
         WHERE s.id_hash = ? AND st.disabled_at IS NULL"#,
        id_hash
    )
    .fetch_optional(conn)
    .await
}

/// End every session of an account but `keep` (the one changing its own password).
pub async fn delete_sessions_of(
    conn: &mut SqliteConnection,
    staff_id: i64,
    keep: Option<&str>,
) -> sqlx::Result<u64> {
    let keep = keep.unwrap_or("");
    let done = sqlx::query!(
        "DELETE FROM staff_sessions WHERE staff_id = ? AND id_hash <> ?",
        staff_id,
        keep
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn touch_session(
    conn: &mut SqliteConnection,
    id_hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE staff_sessions SET last_seen_at = ? WHERE id_hash = ?",
        now,
        id_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut SqliteConnection, id_hash: &str) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM staff_sessions WHERE id_hash = ?", id_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sessions past their idle or absolute timeout, and logins that waited for their second
/// factor since before `waiting_before`.
pub async fn delete_expired_sessions(
    conn: &mut SqliteConnection,
    idle_before: i64,
    created_before: i64,
    waiting_before: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM staff_sessions WHERE last_seen_at < ? OR created_at < ?
         OR (stage = 'password' AND created_at < ?)",
        idle_before,
        created_before,
        waiting_before
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// How many sessions are stored (signed out and expired ones are deleted).
pub async fn session_count(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM staff_sessions"#)
        .fetch_one(conn)
        .await
}

/// Failed (or still running) login attempts on record, for every email.
pub async fn failure_count(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT COUNT(*) AS "n!: i64" FROM login_failures"#)
        .fetch_one(conn)
        .await
}
