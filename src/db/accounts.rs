//! Managing staff accounts (admins, SPEC §9): the list, disabling, roles.

use sqlx::SqliteConnection;

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub public_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub mfa_enabled: bool,
    pub disabled_at: Option<i64>,
    pub last_login_at: Option<i64>,
}

pub async fn list(conn: &mut SqliteConnection) -> sqlx::Result<Vec<AccountRow>> {
    sqlx::query_as!(
        AccountRow,
        r#"SELECT id AS "id!", public_id AS "public_id!", email, name, role,
                totp_enabled_at IS NOT NULL AS "mfa_enabled!: bool", disabled_at, last_login_at
         FROM staff ORDER BY email"#
    )
    .fetch_all(conn)
    .await
}

pub async fn find(
    conn: &mut SqliteConnection,
    public_id: &str,
) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query_as!(
        AccountRow,
        r#"SELECT id AS "id!", public_id AS "public_id!", email, name, role,
                totp_enabled_at IS NOT NULL AS "mfa_enabled!: bool", disabled_at, last_login_at
         FROM staff WHERE public_id = ?"#,
        public_id
    )
    .fetch_optional(conn)
    .await
}

/// Active admins other than `staff_id`: the last one may be neither disabled nor demoted.
pub async fn other_active_admins(conn: &mut SqliteConnection, staff_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT COUNT(*) AS "n!: i64" FROM staff
         WHERE role = 'admin' AND disabled_at IS NULL AND id <> ?"#,
        staff_id
    )
    .fetch_one(conn)
    .await
}

pub async fn set_disabled(
    conn: &mut SqliteConnection,
    staff_id: i64,
    disabled_at: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE staff SET disabled_at = ? WHERE id = ?",
        disabled_at,
        staff_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The locked-out case (`staff disable --email`): true when an account had that email.
pub async fn disable_by_email(
    conn: &mut SqliteConnection,
    email: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"UPDATE staff SET disabled_at = coalesce(disabled_at, ?) WHERE email = ?
         RETURNING id AS "id!""#,
        now,
        email
    )
    .fetch_optional(conn)
    .await
}

pub async fn set_role(conn: &mut SqliteConnection, staff_id: i64, role: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE staff SET role = ? WHERE id = ?", role, staff_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut SqliteConnection,
    staff_id: i64,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE staff SET password_hash = ? WHERE id = ?",
        password_hash,
        staff_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn password_hash(conn: &mut SqliteConnection, staff_id: i64) -> sqlx::Result<String> {
    sqlx::query_scalar!("SELECT password_hash FROM staff WHERE id = ?", staff_id)
        .fetch_one(conn)
        .await
}

pub async fn set_last_login(
    conn: &mut SqliteConnection,
    staff_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE staff SET last_login_at = ? WHERE id = ?",
        now,
        staff_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
