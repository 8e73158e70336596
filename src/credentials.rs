//! One-time credentials links. The Client Secret is generated when the partner uses the link
//! (POST), shown once, and only its hash is kept: it never exists at rest, not even before it is
//! revealed, and never in an email.

use secrecy::{ExposeSecret, SecretString};
use sqlx::{FromRow, SqlitePool};
use subtle::ConstantTimeEq;

use crate::auth::{random_token, sha256_hex};
use crate::db;

/// How the stored hash says what it is (the export shows it as is).
const HASH_PREFIX: &str = "sha256:";

#[derive(Debug, Clone, FromRow)]
struct LinkRow {
    submission_id: i64,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    client_id: Option<String>,
    client_name: String,
}

/// What a link can do right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Ready { expires_at: i64 },
    Used { at: i64 },
    Expired { at: i64 },
    Replaced { at: i64 },
}

#[derive(Debug, Clone)]
pub struct Link {
    pub client_name: String,
    pub client_id: String,
    pub state: LinkState,
}

pub struct Revealed {
    pub client_name: String,
    pub client_id: String,
    pub secret: SecretString,
}

fn state_of(row: &LinkRow, now: i64) -> LinkState {
    match (row.used_at, row.revoked_at) {
        (Some(at), _) => LinkState::Used { at },
        (None, Some(at)) => LinkState::Replaced { at },
        (None, None) if row.expires_at <= now => LinkState::Expired { at: row.expires_at },
        (None, None) => LinkState::Ready {
            expires_at: row.expires_at,
        },
    }
}

async fn find(conn: &mut sqlx::SqliteConnection, token: &str) -> sqlx::Result<Option<LinkRow>> {
    sqlx::query_as(
        "SELECT l.submission_id, l.expires_at, l.used_at, l.revoked_at, s.client_id, s.client_name
         FROM credential_links l JOIN submissions s ON s.id = l.submission_id
         WHERE l.token_hash = ?",
    )
    .bind(sha256_hex(token))
    .fetch_optional(conn)
    .await
}

/// Look at a link without using it (mail scanners follow links; GET must not spend it).
pub async fn inspect(pool: &SqlitePool, token: &str) -> sqlx::Result<Option<Link>> {
    let mut conn = pool.acquire().await?;
    Ok(find(&mut conn, token).await?.map(|row| Link {
        state: state_of(&row, db::now()),
        client_id: row.client_id.unwrap_or_default(),
        client_name: row.client_name,
    }))
}

/// Use the link: generate the secret, store its hash, spend the link, all in one transaction.
/// `Ok(Err(state))` says why the link can no longer be used.
pub async fn reveal(
    pool: &SqlitePool,
    token: &str,
) -> sqlx::Result<Option<Result<Revealed, LinkState>>> {
    let now = db::now();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let Some(row) = find(&mut tx, token).await? else {
        return Ok(None);
    };
    let state = state_of(&row, now);
    if !matches!(state, LinkState::Ready { .. }) {
        return Ok(Some(Err(state)));
    }
    sqlx::query("UPDATE credential_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL")
        .bind(now)
        .bind(sha256_hex(token))
        .execute(&mut *tx)
        .await?;
    // 256 bits of OS randomness, base64url.
    let secret = SecretString::from(random_token(32));
    sqlx::query(
        "UPDATE submissions SET secret_hash = ?, secret_issued_at = ?, updated_at = ? WHERE id = ?",
    )
    .bind(hash_secret(&secret))
    .bind(now)
    .bind(now)
    .bind(row.submission_id)
    .execute(&mut *tx)
    .await?;
    db::submissions::add_event(
        &mut tx,
        row.submission_id,
        "partner",
        "secret_revealed",
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Ok(Revealed {
        client_name: row.client_name,
        client_id: row.client_id.unwrap_or_default(),
        secret,
    })))
}

pub fn hash_secret(secret: &SecretString) -> String {
    format!("{HASH_PREFIX}{}", sha256_hex(secret.expose_secret()))
}

/// Does `secret` belong to `client_id` now? What a token endpoint asks; compared in constant
/// time.
pub async fn verify_secret(pool: &SqlitePool, client_id: &str, secret: &str) -> sqlx::Result<bool> {
    let stored: Option<Option<String>> = sqlx::query_scalar(
        "SELECT secret_hash FROM submissions WHERE client_id = ? AND status = 'approved'",
    )
    .bind(client_id)
    .fetch_optional(pool)
    .await?;
    let Some(Some(stored)) = stored else {
        return Ok(false);
    };
    let candidate = hash_secret(&SecretString::from(secret.to_owned()));
    Ok(bool::from(stored.as_bytes().ct_eq(candidate.as_bytes())))
}
