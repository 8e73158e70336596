//! Client secrets: only hashes, each with its expiry (SPEC §8). A secret is valid while it has
//! not ended and has not expired.

use sqlx::SqliteConnection;

/// One valid secret as the export shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRow {
    pub hash: String,
    pub expires_at: i64,
}

/// A secret whose reminder or expiry is due, with what the email needs.
#[derive(Debug, Clone)]
pub struct DueSecret {
    pub id: i64,
    pub submission_id: i64,
    pub expires_at: i64,
}

/// The valid secrets of a submission, newest first.
pub async fn valid(
    conn: &mut SqliteConnection,
    submission_id: i64,
    now: i64,
) -> sqlx::Result<Vec<SecretRow>> {
    sqlx::query_as!(
        SecretRow,
        "SELECT hash, expires_at FROM client_secrets
         WHERE submission_id = ? AND ended_at IS NULL AND expires_at > ?
         ORDER BY issued_at DESC, id DESC",
        submission_id,
        now,
    )
    .fetch_all(conn)
    .await
}

/// Store a newly revealed secret. With `overlap`, the secret it replaces stays valid for
/// `overlap_seconds` more (no longer than it would have anyway); without, nothing else is
/// valid any more. Either way at most two secrets are valid afterwards.
pub async fn issue(
    conn: &mut SqliteConnection,
    submission_id: i64,
    hash: &str,
    now: i64,
    expires_at: i64,
    overlap: Option<i64>,
) -> sqlx::Result<()> {
    match overlap {
        Some(seconds) => {
            // Keep only the newest valid one as the overlapping secret; any older one ends.
            sqlx::query!(
                "UPDATE client_secrets SET ended_at = ?
                 WHERE submission_id = ? AND ended_at IS NULL AND expires_at > ?
                   AND id <> (SELECT id FROM client_secrets
                              WHERE submission_id = ? AND ended_at IS NULL AND expires_at > ?
                              ORDER BY issued_at DESC, id DESC LIMIT 1)",
                now,
                submission_id,
                now,
                submission_id,
                now,
            )
            .execute(&mut *conn)
            .await?;
            let until = now + seconds;
            sqlx::query!(
                "UPDATE client_secrets SET expires_at = MIN(expires_at, ?)
                 WHERE submission_id = ? AND ended_at IS NULL AND expires_at > ?",
                until,
                submission_id,
                now,
            )
            .execute(&mut *conn)
            .await?;
        }
        None => {
            end_all(&mut *conn, submission_id, now).await?;
        }
    }
    sqlx::query!(
        "INSERT INTO client_secrets (submission_id, hash, issued_at, expires_at) VALUES (?, ?, ?, ?)",
        submission_id,
        hash,
        now,
        expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Every valid secret of the client stops now (an immediate rotation; a revocation).
/// Returns how many did.
pub async fn end_all(
    conn: &mut SqliteConnection,
    submission_id: i64,
    now: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "UPDATE client_secrets SET ended_at = ?
         WHERE submission_id = ? AND ended_at IS NULL AND expires_at > ?",
        now,
        submission_id,
        now,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The valid hashes of an approved client, by Client ID (what a token endpoint checks).
pub async fn valid_hashes_of_client(
    conn: &mut SqliteConnection,
    client_id: &str,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "SELECT c.hash FROM client_secrets c JOIN submissions s ON s.id = c.submission_id
         WHERE s.client_id = ? AND s.status = 'approved' AND c.ended_at IS NULL AND c.expires_at > ?",
        client_id,
        now,
    )
    .fetch_all(conn)
    .await
}

/// Valid secrets that expire within the reminder's horizon and have not had it yet. Only a
/// client's newest secret is reminded of: an older one is ending because it was replaced.
/// Only an active client is reminded: the email says how to rotate, which a suspended client
/// cannot. Its reminders stay due, so the one still due goes out once it is reinstated (a
/// revoked client's secrets have all ended, so it gets none).
pub async fn due_reminder(
    conn: &mut SqliteConnection,
    days: Reminder,
    now: i64,
) -> sqlx::Result<Vec<DueSecret>> {
    let horizon = now + days.seconds();
    match days {
        Reminder::ThirtyDays => {
            sqlx::query_as!(
                DueSecret,
                "SELECT id, submission_id, expires_at FROM client_secrets
                 WHERE ended_at IS NULL AND expires_at > ? AND expires_at <= ?
                   AND reminded_30_at IS NULL AND reminded_7_at IS NULL
                   AND id = (SELECT n.id FROM client_secrets n
                             WHERE n.submission_id = client_secrets.submission_id AND n.ended_at IS NULL
                             ORDER BY n.issued_at DESC, n.id DESC LIMIT 1)
                   AND (SELECT s.status FROM submissions s
                        WHERE s.id = client_secrets.submission_id) = 'approved'",
                now,
                horizon,
            )
            .fetch_all(conn)
            .await
        }
        Reminder::SevenDays => {
            sqlx::query_as!(
                DueSecret,
                "SELECT id, submission_id, expires_at FROM client_secrets
                 WHERE ended_at IS NULL AND expires_at > ? AND expires_at <= ?
                   AND reminded_7_at IS NULL
                   AND id = (SELECT n.id FROM client_secrets n
                             WHERE n.submission_id = client_secrets.submission_id AND n.ended_at IS NULL
                             ORDER BY n.issued_at DESC, n.id DESC LIMIT 1)
                   AND (SELECT s.status FROM submissions s
                        WHERE s.id = client_secrets.submission_id) = 'approved'",
                now,
                horizon,
            )
            .fetch_all(conn)
            .await
        }
    }
}

/// Two reminders per secret, each sent once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    ThirtyDays,
    SevenDays,
}

impl Reminder {
    pub fn days(self) -> i64 {
        match self {
            Reminder::ThirtyDays => 30,
            Reminder::SevenDays => 7,
        }
    }

    pub fn seconds(self) -> i64 {
        self.days() * 86_400
    }
}

/// Mark a reminder sent; false when another sweep already did.
pub async fn mark_reminded(
    conn: &mut SqliteConnection,
    id: i64,
    reminder: Reminder,
    now: i64,
) -> sqlx::Result<bool> {
    let done = match reminder {
        Reminder::ThirtyDays => sqlx::query!(
            "UPDATE client_secrets SET reminded_30_at = ? WHERE id = ? AND reminded_30_at IS NULL",
            now,
            id,
        )
        .execute(conn)
        .await?,
        Reminder::SevenDays => sqlx::query!(
            "UPDATE client_secrets SET reminded_7_at = ? WHERE id = ? AND reminded_7_at IS NULL",
            now,
            id,
        )
        .execute(conn)
        .await?,
    };
    Ok(done.rows_affected() == 1)
}

/// Secrets that reached their expiry (not ended early) whose expiry is not recorded yet.
pub async fn newly_expired(conn: &mut SqliteConnection, now: i64) -> sqlx::Result<Vec<DueSecret>> {
    sqlx::query_as!(
        DueSecret,
        "SELECT id, submission_id, expires_at FROM client_secrets
         WHERE ended_at IS NULL AND expires_at <= ? AND expiry_recorded_at IS NULL
         ORDER BY expires_at, id",
        now,
    )
    .fetch_all(conn)
    .await
}

/// Record that a secret's expiry was handled; false when another sweep already did.
pub async fn mark_expiry_recorded(
    conn: &mut SqliteConnection,
    id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE client_secrets SET expiry_recorded_at = ? WHERE id = ? AND expiry_recorded_at IS NULL",
        now,
        id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When the partner last started a rotation themselves (the once-a-day limit).
pub async fn last_partner_rotation(
    conn: &mut SqliteConnection,
    submission_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT MAX(at) AS \"at: i64\" FROM events WHERE submission_id = ? AND actor = 'partner' AND kind = 'secret_rotated'",
        submission_id,
    )
    .fetch_one(conn)
    .await
}
