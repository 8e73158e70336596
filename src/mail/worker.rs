//! The outbox worker. `try_send_next` is one step: claim one due message with a lease, send it
//! with no transaction open, record the outcome. The server loops over the step; tests call it
//! directly.
//!
//! Delivery is at least once: if the process dies after the relay accepted a message but before
//! the outcome is stored, the lease runs out and the message is sent again, with the same
//! Message-ID so the duplicate can be recognised.

use std::time::Duration;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use rand::Rng;
use sqlx::SqlitePool;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::db;
use crate::db::WriteGate;
use crate::db::outbox::{MAX_ATTEMPTS, OutboxRow};
use crate::mail::transport::{MailTransport, SendError};

/// How long a claim keeps other workers off a message. A claim older than this is taken to be
/// a crashed send and is picked up again.
pub const LEASE_SECS: i64 = 120;
/// A whole send (connect, TLS, every command) is cut off well inside the lease, so a slow relay
/// can never make a live send look crashed. lettre's own async timeout covers only connecting:
/// without this, a relay that stops answering mid-conversation would hold the worker forever.
const SEND_DEADLINE: Duration = Duration::from_secs(90);
/// The first retry waits this long; each later one twice as long as the one before.
const FIRST_RETRY_SECS: i64 = 30;
/// How often an idle worker looks for due messages.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// How long a stopping server waits for the message in flight; after that its lease returns it.
const STOP_GRACE: Duration = Duration::from_secs(25);

#[derive(Clone)]
pub struct Worker {
    db: SqlitePool,
    write_gate: WriteGate,
    transport: MailTransport,
    from: Mailbox,
}

/// What one step did with the message it claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub outbox_id: i64,
    /// 1 for the first try.
    pub attempt: i64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Retrying { next_attempt_at: i64, error: String },
    Failed { error: String },
}

/// The running loop: stop it to let the message in flight finish.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(STOP_GRACE, self.task).await.is_err() {
            tracing::warn!("mail worker still sending at shutdown; its lease returns the message");
        }
    }
}

impl Worker {
    pub fn new(
        db: SqlitePool,
        write_gate: WriteGate,
        transport: MailTransport,
        from: Mailbox,
    ) -> Worker {
        Worker {
            db,
            write_gate,
            transport,
            from,
        }
    }

    /// Claim, send and record one due message; `None` when nothing is due.
    pub async fn try_send_next(&self) -> anyhow::Result<Option<Delivery>> {
        let claimed = {
            let _gate = self.write_gate.enter().await;
            let mut conn = self.db.acquire().await?;
            db::outbox::claim(&mut conn, db::now(), LEASE_SECS).await?
        };
        let Some(row) = claimed else {
            return Ok(None);
        };
        let span = tracing::info_span!("deliver", outbox = row.id, kind = %row.kind, attempt = row.attempts);
        self.deliver(row).instrument(span).await.map(Some)
    }

    async fn deliver(&self, row: OutboxRow) -> anyhow::Result<Delivery> {
        let result = match self.build(&row) {
            // A message that cannot be built never will be (say, a malformed stored address).
            Err(e) => Err(SendError::Permanent(e)),
            Ok(message) => {
                match tokio::time::timeout(SEND_DEADLINE, self.transport.send(&message)).await {
                    Ok(result) => result,
                    Err(_) => Err(SendError::Transient(format!(
                        "no answer from the mail server within {} s",
                        SEND_DEADLINE.as_secs()
                    ))),
                }
            }
        };

        let now = db::now();
        let outcome = match result {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(error)) => Outcome::Failed { error },
            Err(SendError::Transient(error)) if row.attempts >= MAX_ATTEMPTS => Outcome::Failed {
                error: format!("gave up after {} attempts: {error}", row.attempts),
            },
            Err(SendError::Transient(error)) => Outcome::Retrying {
                next_attempt_at: now + backoff_secs(row.attempts),
                error,
            },
        };

        let gate = self.write_gate.enter().await;
        let mut conn = self.db.acquire().await?;
        let recorded = match &outcome {
            Outcome::Sent => db::outbox::mark_sent(&mut conn, &row, now).await?,
            Outcome::Retrying {
                next_attempt_at,
                error,
            } => db::outbox::mark_retry(&mut conn, &row, *next_attempt_at, error).await?,
            Outcome::Failed { error } => db::outbox::mark_failed(&mut conn, &row, error).await?,
        };
        drop(conn);
        drop(gate);
        match &outcome {
            _ if !recorded => {
                tracing::warn!(
                    ?outcome,
                    "the claim ran out before the outcome was recorded"
                )
            }
            Outcome::Sent => tracing::info!("email sent"),
            Outcome::Retrying {
                next_attempt_at,
                error,
            } => tracing::warn!(%error, next_attempt_at, "email not sent; will retry"),
            Outcome::Failed { error } => tracing::error!(%error, "email failed for good"),
        }
        Ok(Delivery {
            outbox_id: row.id,
            attempt: row.attempts,
            outcome,
        })
    }

    fn build(&self, row: &OutboxRow) -> Result<Message, String> {
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| format!("bad recipient address ({e})"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.as_str())
            // Stored with the row, so every attempt carries the same id.
            .message_id(Some(row.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                row.text_body.clone(),
                row.html_body.clone(),
            ))
            .map_err(|e| format!("cannot build the message ({e})"))
    }

    /// Run steps in the background until stopped: back to back while messages are due, then
    /// a poll every few seconds.
    pub fn spawn(self) -> WorkerHandle {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                // The step itself is never interrupted: stopping waits for it (see `stop`).
                let idle = match self.try_send_next().await {
                    Ok(Some(_)) => false,
                    Ok(None) => true,
                    Err(e) => {
                        tracing::error!(error = format!("{e:#}"), "mail worker step failed");
                        true
                    }
                };
                if *stopped.borrow() {
                    break;
                }
                if idle {
                    tokio::select! {
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                        // Also when the handle is dropped: nobody can stop us any more.
                        _ = stopped.changed() => break,
                    }
                }
            }
            self.transport.shutdown().await;
            tracing::info!("mail worker stopped");
        });
        WorkerHandle { stop, task }
    }
}

/// Seconds before the next try after `attempts` tries: 30 s doubling each time, plus up to a
/// fifth more at random so messages that failed together do not all retry together.
fn backoff_secs(attempts: i64) -> i64 {
    let base = FIRST_RETRY_SECS << (attempts - 1).clamp(0, 20);
    base + rand::thread_rng().gen_range(0..=base / 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_30_seconds_and_doubles_with_some_jitter() {
        for (attempts, base) in [(1, 30), (2, 60), (3, 120), (9, 7680)] {
            for _ in 0..50 {
                let delay = backoff_secs(attempts);
                assert!(
                    (base..=base + base / 5).contains(&delay),
                    "{attempts}: {delay}"
                );
            }
        }
    }
}
