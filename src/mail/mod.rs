//! Email: the messages (askama templates), queuing them in the outbox, and the transport.

pub mod messages;
pub mod transport;
pub mod worker;

use sqlx::SqliteConnection;
use url::Url;

use crate::db;
use messages::Email;

/// Queue `email` once per recipient, in the caller's transaction.
pub async fn queue(
    conn: &mut SqliteConnection,
    submission_id: i64,
    email: &Email,
    recipients: &[String],
    public_url: &Url,
    now: i64,
) -> sqlx::Result<()> {
    let domain = public_url.host_str().unwrap_or("localhost");
    for recipient in recipients {
        // Stable for the row's life: a resend after a crash carries the same Message-ID.
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), domain);
        db::outbox::enqueue(
            &mut *conn,
            Some(submission_id),
            email,
            recipient,
            &message_id,
            now,
        )
        .await?;
    }
    Ok(())
}
