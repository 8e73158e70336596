//! Secrets expire (SPEC §8): the contacts are reminded 30 and 7 days before, each once, and
//! when a secret reaches its expiry a `client.secret_expired` event is recorded. A background
//! sweep does both, on a timer and whenever the clock is moved.

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use url::Url;

use crate::db;
use crate::db::secrets::{DueSecret, Reminder};
use crate::feed::{self, EventType};
use crate::mail::Outbox;
use crate::mail::messages::SecretExpiring;
use crate::state::AppState;

/// How often the sweep looks when nothing wakes it.
const SWEEP_EVERY: Duration = Duration::from_secs(300);

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub reminders: usize,
    pub expired: usize,
}

/// Send the reminders that are due and record the expiries that happened, each in its own
/// transaction with its email or event.
pub async fn sweep(
    pool: &SqlitePool,
    public_url: &Url,
    outbox: &Outbox,
    now: i64,
) -> anyhow::Result<Swept> {
    let mut swept = Swept::default();
    // 7 days first: a secret already within 7 days gets only that reminder, not both at once.
    for reminder in [Reminder::SevenDays, Reminder::ThirtyDays] {
        let due = {
            let mut conn = pool.acquire().await?;
            db::secrets::due_reminder(&mut conn, reminder, now).await?
        };
        for secret in due {
            if remind(pool, public_url, outbox, &secret, reminder, now).await? {
                swept.reminders += 1;
            }
        }
    }
    let expired = {
        let mut conn = pool.acquire().await?;
        db::secrets::newly_expired(&mut conn, now).await?
    };
    for secret in expired {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        if db::secrets::mark_expiry_recorded(&mut tx, secret.id, now).await? {
            feed::record(
                &mut tx,
                public_url,
                secret.submission_id,
                EventType::SecretExpired,
                now,
            )
            .await?;
            db::submissions::add_event(
                &mut tx,
                secret.submission_id,
                "portal",
                "secret_expired",
                None,
                now,
            )
            .await?;
            swept.expired += 1;
        }
        tx.commit().await?;
    }
    Ok(swept)
}

async fn remind(
    pool: &SqlitePool,
    public_url: &Url,
    outbox: &Outbox,
    secret: &DueSecret,
    reminder: Reminder,
    now: i64,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // Marked in the same transaction as the email is queued: each reminder goes once.
    if !db::secrets::mark_reminded(&mut tx, secret.id, reminder, now).await? {
        return Ok(false);
    }
    if reminder == Reminder::SevenDays {
        // Past the 30-day mark too: that reminder is no longer worth sending.
        db::secrets::mark_reminded(&mut tx, secret.id, Reminder::ThirtyDays, now).await?;
    }
    let submission = db::submissions::find(&mut tx, secret.submission_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("secret {} has no submission", secret.id))?;
    let revision = db::submissions::current_revision(&mut tx, &submission).await?;
    let status_token = db::submissions::new_status_token(&mut tx, submission.id, now).await?;
    let email = SecretExpiring {
        client_name: revision.client_name.form_text(),
        client_id: submission.client_id.clone().unwrap_or_default(),
        days: reminder.days(),
        expires_at: utc_text(secret.expires_at),
        status_url: public_url
            .join(&format!("submissions/{status_token}"))
            .expect("a path")
            .to_string(),
    }
    .render()?;
    outbox
        .queue(
            &mut tx,
            submission.id,
            &email,
            &revision.contacts.lines(),
            now,
        )
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Run the sweep in the background: every few minutes, and at once when the clock moves.
pub fn spawn(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut moved = state.clock.watch();
        loop {
            match sweep(
                &state.db.write,
                &state.public_url,
                &state.outbox,
                state.clock.now(),
            )
            .await
            {
                Ok(swept) if swept != Swept::default() => {
                    tracing::info!(?swept, "secret expiry sweep");
                    state.outbox.wake_worker();
                    state.feed_wake.notify_one();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "secret expiry sweep failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
                changed = moved.changed() => if changed.is_err() { return },
            }
        }
    });
}

/// "2027-03-04 02:25 UTC", for the email text.
fn utc_text(seconds: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| seconds.to_string())
}
