//! Email: the messages (askama templates), queuing them in the outbox, and the transport.

pub mod messages;
pub mod seal;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use sqlx::SqliteConnection;
use tokio::sync::Notify;
use url::Url;

use crate::db;
use crate::db::outbox::Queued;
use messages::Email;
use seal::LinkSeal;

/// Mail is no relay (SPEC §6): anyone can make the portal send a receipt to any address, so
/// at most this many messages of a [`CAPPED_KINDS`] kind go to one address in
/// [`CAP_WINDOW_SECS`]. The rest are recorded as skipped, shown to staff, and never sent.
pub const CAP_PER_ADDRESS: i64 = 3;
pub const CAP_WINDOW_SECS: i64 = 24 * 60 * 60;
/// The messages a stranger can trigger (a proposal's receipt: whoever holds a status link, as
/// often as they like). Decisions are sent by staff, so they are not capped.
pub const CAPPED_KINDS: &[&str] = &["receipt", "lost_links", "change_received"];

/// Queues email in the caller's transaction: seals its links, names it, applies the cap.
#[derive(Clone)]
pub struct Outbox {
    seal: LinkSeal,
    /// The domain part of every Message-ID: the portal's own host.
    domain: String,
    /// Rung once queued mail is committed, so the worker sends it at once instead of at its
    /// next poll.
    wake: Arc<Notify>,
}

impl Outbox {
    pub fn new(seal: LinkSeal, public_url: &Url) -> Outbox {
        Outbox {
            seal,
            domain: public_url.host_str().unwrap_or("localhost").to_owned(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Call after committing a transaction that queued mail (`queue` runs inside the
    /// caller's transaction, so it cannot know when the mail becomes visible).
    pub fn wake_worker(&self) {
        self.wake.notify_one();
    }

    /// What the worker waits on between polls.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Queue `email` once per recipient, in the caller's transaction.
    pub async fn queue(
        &self,
        conn: &mut SqliteConnection,
        submission_id: i64,
        email: &Email,
        recipients: &[String],
        now: i64,
    ) -> sqlx::Result<()> {
        self.queue_about(conn, Some(submission_id), email, recipients, now)
            .await?;
        Ok(())
    }

    /// Queue `email`, which is about every one of `submission_ids` (the lost-links email), once
    /// per recipient: each of those registrations' staff pages lists it. Nothing is queued
    /// when `submission_ids` is empty.
    pub async fn queue_covering(
        &self,
        conn: &mut SqliteConnection,
        submission_ids: &[i64],
        email: &Email,
        recipients: &[String],
        now: i64,
    ) -> sqlx::Result<()> {
        let Some((&first, others)) = submission_ids.split_first() else {
            return Ok(());
        };
        let queued = self
            .queue_about(conn, Some(first), email, recipients, now)
            .await?;
        for outbox_id in queued {
            for &other in others {
                db::outbox::add_about(&mut *conn, outbox_id, other).await?;
            }
        }
        Ok(())
    }

    /// Queue an email about no submission (a staff invitation), in the caller's transaction.
    pub async fn queue_to_staff(
        &self,
        conn: &mut SqliteConnection,
        email: &Email,
        recipient: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        self.queue_about(conn, None, email, &[recipient.to_owned()], now)
            .await?;
        Ok(())
    }

    /// Returns the rows' ids, one per recipient.
    async fn queue_about(
        &self,
        conn: &mut SqliteConnection,
        submission_id: Option<i64>,
        email: &Email,
        recipients: &[String],
        now: i64,
    ) -> sqlx::Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            // Stable for the row's life: a resend after a crash carries the same Message-ID.
            let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), self.domain);
            let mut stored = self.seal.seal(email, &message_id, recipient);
            let capped = CAPPED_KINDS.contains(&email.kind)
                && db::outbox::recent_to(
                    &mut *conn,
                    recipient,
                    CAPPED_KINDS,
                    now - CAP_WINDOW_SECS,
                    CAP_PER_ADDRESS,
                )
                .await?
                    >= CAP_PER_ADDRESS;
            if capped {
                // Never sent, so its links need not be kept at all.
                stored.links = None;
                tracing::warn!(
                    submission = ?submission_id,
                    kind = email.kind,
                    "email skipped: per-address cap"
                );
            }
            let reason = format!("{CAP_PER_ADDRESS} such emails went to this address in 24 hours");
            let queued = Queued {
                submission_id,
                kind: email.kind,
                recipient,
                subject: &email.subject,
                body: &stored,
                message_id: &message_id,
                skipped: capped.then_some(reason.as_str()),
            };
            ids.push(db::outbox::enqueue(&mut *conn, &queued, now).await?);
        }
        Ok(ids)
    }

    pub fn seal(&self) -> &LinkSeal {
        &self.seal
    }
}
