//! The audit log: append-only (triggers refuse UPDATE and DELETE), written in the transaction
//! of the action it records.

use sqlx::SqliteConnection;

/// Who did something, and from where (the same client address as the limits and the log).
#[derive(Debug, Clone)]
pub struct Actor {
    /// `None` for a failed login with an email that has no account.
    pub staff_id: Option<i64>,
    /// The account's email, or the email as typed.
    pub email: String,
    pub name: String,
    pub client: String,
}

/// What an entry records. One list, so the page's filter and the writers agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Login,
    Logout,
    LoginFailed,
    MfaFailed,
    MfaEnabled,
    MfaReset,
    RecoveryCodeUsed,
    PasswordChanged,
    Approved,
    Rejected,
    ChangesRequested,
    SecretRotated,
    Invited,
    InvitationAccepted,
    Disabled,
    Enabled,
    RoleChanged,
    Suspended,
    Reinstated,
    Revoked,
    ChangeApproved,
    ChangeRejected,
    ChangeSentBack,
    EmailRetried,
    FeedRetried,
}

impl Kind {
    pub const ALL: [Kind; 25] = [
        Kind::Login,
        Kind::Logout,
        Kind::LoginFailed,
        Kind::MfaFailed,
        Kind::MfaEnabled,
        Kind::MfaReset,
        Kind::RecoveryCodeUsed,
        Kind::PasswordChanged,
        Kind::Approved,
        Kind::Rejected,
        Kind::ChangesRequested,
        Kind::SecretRotated,
        Kind::Invited,
        Kind::InvitationAccepted,
        Kind::Disabled,
        Kind::Enabled,
        Kind::RoleChanged,
        Kind::Suspended,
        Kind::Reinstated,
        Kind::Revoked,
        Kind::ChangeApproved,
        Kind::ChangeRejected,
        Kind::ChangeSentBack,
        Kind::EmailRetried,
        Kind::FeedRetried,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Logout => "logout",
            Kind::LoginFailed => "login_failed",
            Kind::MfaFailed => "mfa_failed",
            Kind::MfaEnabled => "mfa_enabled",
            Kind::MfaReset => "mfa_reset",
            Kind::RecoveryCodeUsed => "recovery_code_used",
            Kind::PasswordChanged => "password_changed",
            Kind::Approved => "approved",
            Kind::Rejected => "rejected",
            Kind::ChangesRequested => "changes_requested",
            Kind::SecretRotated => "secret_rotated",
            Kind::Invited => "invited",
            Kind::InvitationAccepted => "invitation_accepted",
            Kind::Disabled => "disabled",
            Kind::Enabled => "enabled",
            Kind::RoleChanged => "role_changed",
            Kind::Suspended => "suspended",
            Kind::Reinstated => "reinstated",
            Kind::Revoked => "revoked",
            Kind::ChangeApproved => "change_approved",
            Kind::ChangeRejected => "change_rejected",
            Kind::ChangeSentBack => "change_sent_back",
            Kind::EmailRetried => "email_retried",
            Kind::FeedRetried => "feed_retried",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Login => "Signed in",
            Kind::Logout => "Signed out",
            Kind::LoginFailed => "Failed sign-in",
            Kind::MfaFailed => "Failed second factor",
            Kind::MfaEnabled => "Second factor turned on",
            Kind::MfaReset => "Second factor cleared",
            Kind::RecoveryCodeUsed => "Recovery code used",
            Kind::PasswordChanged => "Password changed",
            Kind::Approved => "Approved",
            Kind::Rejected => "Rejected",
            Kind::ChangesRequested => "Changes requested",
            Kind::SecretRotated => "Secret rotated",
            Kind::Invited => "Invited",
            Kind::InvitationAccepted => "Invitation accepted",
            Kind::Disabled => "Account disabled",
            Kind::Enabled => "Account enabled",
            Kind::RoleChanged => "Role changed",
            Kind::Suspended => "Client suspended",
            Kind::Reinstated => "Client reinstated",
            Kind::Revoked => "Client revoked",
            Kind::ChangeApproved => "Proposed change approved",
            Kind::ChangeRejected => "Proposed change rejected",
            Kind::ChangeSentBack => "Proposed change sent back",
            Kind::EmailRetried => "Email sent again",
            Kind::FeedRetried => "Feed delivery retried",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

pub async fn record(
    conn: &mut SqliteConnection,
    by: &Actor,
    kind: Kind,
    target: Option<&str>,
    detail: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let kind = kind.as_str();
    sqlx::query!(
        "INSERT INTO audit_log (at, staff_id, actor, client, kind, target, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        now,
        by.staff_id,
        by.email,
        by.client,
        kind,
        target,
        detail
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct EntryRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub client: String,
    pub kind: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

/// Newest first, `limit` entries older than `before` (keyset), for one person (email, any
/// case) and one kind when given.
pub async fn page(
    conn: &mut SqliteConnection,
    before: Option<i64>,
    person: Option<&str>,
    kind: Option<Kind>,
    limit: i64,
) -> sqlx::Result<Vec<EntryRow>> {
    let before = before.unwrap_or(i64::MAX);
    let kind = kind.map(Kind::as_str);
    sqlx::query_as!(
        EntryRow,
        r#"SELECT id AS "id!", at, actor, client, kind, target, detail FROM audit_log
         WHERE id < ?1 AND (?2 IS NULL OR actor = ?2 COLLATE NOCASE) AND (?3 IS NULL OR kind = ?3)
         ORDER BY id DESC LIMIT ?4"#,
        before,
        person,
        kind,
        limit
    )
    .fetch_all(conn)
    .await
}
