//! The provisioning feed (SPEC §8): every change to an approved client is an event, written in
//! the transaction of the change, carrying the client's export entry at that moment.

pub mod signature;
pub mod worker;

use serde::Serialize;
use sqlx::SqliteConnection;
use url::Url;

use crate::db;
use crate::export;

/// The eight kinds of change a consumer hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Approved,
    /// A proposal to a live client was approved.
    Updated,
    /// A secret was revealed: a new hash is valid.
    SecretIssued,
    /// A rotation started (overlap: nothing changes until the new secret is revealed;
    /// immediate: every secret stopped).
    SecretRotated,
    SecretExpired,
    Suspended,
    Reinstated,
    Revoked,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::Approved,
        EventType::Updated,
        EventType::SecretIssued,
        EventType::SecretRotated,
        EventType::SecretExpired,
        EventType::Suspended,
        EventType::Reinstated,
        EventType::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Approved => "client.approved",
            EventType::Updated => "client.updated",
            EventType::SecretIssued => "client.secret_issued",
            EventType::SecretRotated => "client.secret_rotated",
            EventType::SecretExpired => "client.secret_expired",
            EventType::Suspended => "client.suspended",
            EventType::Reinstated => "client.reinstated",
            EventType::Revoked => "client.revoked",
        }
    }
}

/// One event as `events.json` lists it and as the webhook body carries it.
#[derive(Debug, Serialize)]
pub struct Event {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: i64,
    pub data: serde_json::Value,
}

impl Event {
    pub fn from_row(row: &db::feed::EventRow) -> Event {
        Event {
            id: row.id,
            kind: row.r#type.clone(),
            timestamp: row.timestamp,
            // Written by `record` from a serialised entry, so it parses; an unreadable row
            // is shown as its text rather than hidden.
            data: serde_json::from_str(&row.data)
                .unwrap_or_else(|_| serde_json::Value::String(row.data.clone())),
        }
    }
}

/// Record an event about `submission_id` in the caller's transaction; `data` is the client's
/// export entry as the transaction sees it now. Returns the event's id.
pub async fn record(
    conn: &mut SqliteConnection,
    public_url: &Url,
    submission_id: i64,
    kind: EventType,
    now: i64,
) -> sqlx::Result<i64> {
    let submission = db::submissions::find(&mut *conn, submission_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let entry = export::entry(&mut *conn, public_url, &submission, now).await?;
    let data = serde_json::to_string(&entry).expect("an export entry serialises");
    // Standard Webhooks: the id is stable across retries, so a receiver can drop duplicates.
    let webhook_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    db::feed::insert(conn, submission_id, kind.as_str(), now, &data, &webhook_id).await
}
