//! Delivers feed events to `PROVISION_URL`, signed the Standard Webhooks way. Any 2xx is
//! success; anything else is retried with backoff under the same `webhook-id`. One client's
//! events go in order: only its oldest undelivered event is ever tried (`db::feed::next_due`).
//! All state is in the database, so a restart carries on where it stopped.

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Provision;
use crate::db;
use crate::feed::Event;

const FIRST_RETRY_SECS: i64 = 30;
const MAX_RETRY_SECS: i64 = 6 * 60 * 60;
/// How long one POST may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct FeedWorker {
    db: SqlitePool,
    provision: Provision,
    http: reqwest::Client,
    clock: Clock,
    wake: Arc<Notify>,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub event_id: i64,
    pub delivered: bool,
}

/// Seconds before retry number `attempts` (1 after the first failure): doubling, capped.
pub fn backoff_secs(attempts: i64) -> i64 {
    (FIRST_RETRY_SECS << (attempts - 1).clamp(0, 20)).min(MAX_RETRY_SECS)
}

impl FeedWorker {
    pub fn new(
        db: SqlitePool,
        provision: Provision,
        clock: Clock,
        wake: Arc<Notify>,
    ) -> FeedWorker {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // The receiver's answer is the outcome; a redirect is not followed (not a 2xx).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        FeedWorker {
            db,
            provision,
            http,
            clock,
            wake,
        }
    }

    /// Try the next due event once; `None` when nothing is due.
    pub async fn try_deliver_next(&self) -> anyhow::Result<Option<Attempt>> {
        let now = self.clock.now();
        let row = {
            let mut conn = self.db.acquire().await?;
            db::feed::next_due(&mut conn, now).await?
        };
        let Some(row) = row else { return Ok(None) };
        let body = serde_json::to_vec(&Event::from_row(&row))?;
        let timestamp = self.clock.now();
        let signature = self.provision.key.sign(&row.webhook_id, timestamp, &body);
        let outcome = self
            .http
            .post(self.provision.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &row.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let error = match outcome {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("answered {}", response.status())),
            Err(e) => Some(format!("could not be reached ({})", without_url(&e))),
        };
        let mut conn = self.db.acquire().await?;
        let now = self.clock.now();
        match &error {
            None => db::feed::mark_delivered(&mut conn, row.id, now).await?,
            Some(error) => {
                let next = now + backoff_secs(row.attempts + 1);
                tracing::warn!(event = row.id, %error, "feed delivery failed");
                db::feed::mark_failed(&mut conn, row.id, error, next).await?
            }
        }
        Ok(Some(Attempt {
            event_id: row.id,
            delivered: error.is_none(),
        }))
    }

    /// Deliver in the background: whatever is due, then wait for a new event, a staff retry,
    /// the next retry time or a clock move.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let mut moved = self.clock.watch();
            loop {
                loop {
                    match self.try_deliver_next().await {
                        Ok(Some(_)) => continue,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "feed worker step failed");
                            break;
                        }
                    }
                }
                let wait = match self.db.acquire().await {
                    Ok(mut conn) => db::feed::next_attempt_at(&mut conn)
                        .await
                        .ok()
                        .flatten()
                        .map(|at| (at - self.clock.now()).clamp(1, 60))
                        .unwrap_or(60),
                    Err(_) => 60,
                };
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
                    changed = moved.changed() => if changed.is_err() { return },
                }
            }
        });
    }
}

/// What went wrong, without the URL (it may carry credentials in its userinfo).
fn without_url(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_secs(1), 30);
        assert_eq!(backoff_secs(2), 60);
        assert_eq!(backoff_secs(3), 120);
        assert_eq!(backoff_secs(40), MAX_RETRY_SECS);
    }
}
