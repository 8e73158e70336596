//! One-time credentials links. The Client Secret is generated when the partner uses the link
//! (POST), shown once, and only its hash is kept: it never exists at rest, not even before it is
//! revealed, and never in an email.

use secrecy::{ExposeSecret, SecretString};
use sqlx::SqlitePool;

use crate::auth::{random_token, sha256_hex};
use crate::db;
use crate::db::credentials::LinkRow;
use crate::domain::status::Status;
use crate::feed::{self, EventType};
use url::Url;

/// How the stored hash says what it is (the export shows it as is).
const HASH_PREFIX: &str = "sha256:";

/// What a link can do right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Ready {
        expires_at: i64,
    },
    Used {
        at: i64,
    },
    Expired {
        at: i64,
    },
    Replaced {
        at: i64,
    },
    /// The client was revoked (final): no link of it reveals a secret again, and staff cannot
    /// rotate one either, unlike every other state.
    ClientRevoked,
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
    // Revoking a client also revokes its unused links, so `revoked_at` alone would read as
    // "replaced by rotation"; the client's status says which it was.
    if row.status == Status::Revoked {
        return LinkState::ClientRevoked;
    }
    match (row.used_at, row.revoked_at) {
        (Some(at), _) => LinkState::Used { at },
        (None, Some(at)) => LinkState::Replaced { at },
        (None, None) if row.expires_at <= now => LinkState::Expired { at: row.expires_at },
        (None, None) => LinkState::Ready {
            expires_at: row.expires_at,
        },
    }
}

/// Look at a link without using it (mail scanners follow links; GET must not spend it).
pub async fn inspect(pool: &SqlitePool, token: &str, now: i64) -> sqlx::Result<Option<Link>> {
    let mut conn = pool.acquire().await?;
    let found = db::credentials::find(&mut conn, &sha256_hex(token)).await?;
    Ok(found.map(|row| Link {
        state: state_of(&row, now),
        client_id: row.client_id.unwrap_or_default(),
        client_name: row.client_name,
    }))
}

/// After an overlapping rotation the earlier secret keeps working this long once the new one
/// is revealed (SPEC §8).
pub const OVERLAP_SECONDS: i64 = 7 * 24 * 60 * 60;

/// What revealing a secret needs besides the database.
pub struct Issue<'a> {
    pub now: i64,
    /// `SECRET_LIFETIME_DAYS`, in seconds.
    pub lifetime: i64,
    /// For the feed event's export entry.
    pub public_url: &'a Url,
}

/// Use the link: generate the secret, store its hash, spend the link, record the feed event,
/// all in one transaction. `Ok(Err(state))` says why the link can no longer be used.
pub async fn reveal(
    pool: &SqlitePool,
    token: &str,
    issue: &Issue<'_>,
) -> sqlx::Result<Option<Result<Revealed, LinkState>>> {
    let now = issue.now;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let token_hash = sha256_hex(token);
    let Some(row) = db::credentials::find(&mut tx, &token_hash).await? else {
        return Ok(None);
    };
    let state = state_of(&row, now);
    if !matches!(state, LinkState::Ready { .. }) {
        return Ok(Some(Err(state)));
    }
    // Under the write lock the link was ready a moment ago, so this spends it.
    db::credentials::mark_used(&mut tx, &token_hash, now).await?;
    // 256 bits of OS randomness, base64url.
    let secret = SecretString::from(random_token(32));
    let hash = hash_secret(&secret);
    db::secrets::issue(
        &mut tx,
        row.submission_id,
        &hash,
        now,
        now + issue.lifetime,
        row.overlap.then_some(OVERLAP_SECONDS),
    )
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
    feed::record(
        &mut tx,
        issue.public_url,
        row.submission_id,
        EventType::SecretIssued,
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
