//! The outbox worker. `send_batch` is one step: claim up to 16 due messages with a lease in one
//! write, send them with no transaction open, record the outcomes in one write. The server loops
//! over the step; tests call it (or `try_send_next`, a batch of one) directly.
//!
//! Delivery is at least once: if the process dies after the relay accepted a message but before
//! the outcome is stored, the lease runs out and the message is sent again, with the same
//! Message-ID so the duplicate can be recognised.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use rand::Rng;
use sqlx::SqlitePool;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::clock::Clock;
use crate::db;
use crate::db::outbox::{MAX_ATTEMPTS, OutboxRow};
use crate::mail::seal::LinkSeal;
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
/// Messages claimed and recorded together: two writes per batch instead of two per message.
/// One at a time, the worker queued for SQLite's write lock twice per message behind every
/// registration, and under a burst of registrations it fell minutes behind.
const BATCH: i64 = 16;
/// How long a stopping server waits for the message in flight; after that its lease returns it.
const STOP_GRACE: Duration = Duration::from_secs(25);

#[derive(Clone)]
pub struct Worker {
    /// The write pool: everything the worker does to the outbox is a write.
    db: SqlitePool,
    /// Rung after a commit that queued mail.
    wake: Arc<Notify>,
    transport: MailTransport,
    from: Mailbox,
    /// Opens the sealed links of a message just before it is sent.
    seal: LinkSeal,
    /// Mail queued at a moved clock's time is due by that clock.
    clock: Clock,
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
        wake: Arc<Notify>,
        transport: MailTransport,
        from: Mailbox,
        seal: LinkSeal,
        clock: Clock,
    ) -> Worker {
        Worker {
            db,
            wake,
            transport,
            from,
            seal,
            clock,
        }
    }

    /// Claim, send and record one due message; `None` when nothing is due.
    pub async fn try_send_next(&self) -> anyhow::Result<Option<Delivery>> {
        Ok(self.send_batch(1, || false).await?.into_iter().next())
    }

    /// Claim up to `limit` due messages, send them one after the other, and record every
    /// outcome in one transaction. Sending stops early (the rest are given back, their attempt
    /// not counted) when the relay has trouble, when `stopping()` says so, or when a send could
    /// no longer end inside the claim's lease. Returns what was tried; empty when nothing is due.
    pub async fn send_batch(
        &self,
        limit: i64,
        stopping: impl Fn() -> bool,
    ) -> anyhow::Result<Vec<Delivery>> {
        let claimed = {
            let mut conn = self.db.acquire().await?;
            db::outbox::claim(&mut conn, self.clock.now(), LEASE_SECS, limit).await?
        };
        let started = Instant::now();
        let mut tried = Vec::with_capacity(claimed.len());
        let mut untried = Vec::new();
        let mut relay_trouble = false;
        for row in claimed {
            let in_lease =
                started.elapsed() + SEND_DEADLINE < Duration::from_secs(LEASE_SECS as u64);
            if !in_lease || relay_trouble || stopping() {
                untried.push(row);
                continue;
            }
            let span = tracing::info_span!("deliver", outbox = row.id, kind = %row.kind, attempt = row.attempts);
            let outcome = self.deliver(&row).instrument(span).await;
            relay_trouble = matches!(outcome, Outcome::Retrying { .. });
            tried.push((row, outcome));
        }

        let mut tx = self.db.begin_with("BEGIN IMMEDIATE").await?;
        let mut recorded = Vec::with_capacity(tried.len());
        for (row, outcome) in &tried {
            recorded.push(match outcome {
                Outcome::Sent => db::outbox::mark_sent(&mut tx, row, self.clock.now()).await?,
                Outcome::Retrying {
                    next_attempt_at,
                    error,
                } => db::outbox::mark_retry(&mut tx, row, *next_attempt_at, error).await?,
                Outcome::Failed { error } => db::outbox::mark_failed(&mut tx, row, error).await?,
            });
        }
        for row in &untried {
            db::outbox::release(&mut tx, row).await?;
        }
        tx.commit().await?;

        Ok(tried
            .into_iter()
            .zip(recorded)
            .map(|((row, outcome), recorded)| {
                log_outcome(row.id, &outcome, recorded);
                Delivery {
                    outbox_id: row.id,
                    attempt: row.attempts,
                    outcome,
                }
            })
            .collect())
    }

    /// Send one claimed message and say what became of it.
    async fn deliver(&self, row: &OutboxRow) -> Outcome {
        let result = match self.build(row) {
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
        match result {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(error)) => Outcome::Failed { error },
            Err(SendError::Transient(error)) if row.attempts >= MAX_ATTEMPTS => Outcome::Failed {
                error: format!("gave up after {} attempts: {error}", row.attempts),
            },
            Err(SendError::Transient(error)) => Outcome::Retrying {
                next_attempt_at: self.clock.now() + backoff_secs(row.attempts),
                error,
            },
        }
    }

    fn build(&self, row: &OutboxRow) -> Result<Message, String> {
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| format!("bad recipient address ({e})"))?;
        // The links exist in plain only in this message, on its way to the relay.
        let (text, html) = self
            .seal
            .open(&row.body(), &row.message_id, &row.recipient)
            .map_err(|e| e.to_string())?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.as_str())
            // Stored with the row, so every attempt carries the same id.
            .message_id(Some(row.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("cannot build the message ({e})"))
    }

    /// Run steps in the background until stopped: back to back while messages are due, then
    /// wait to be woken by new mail, or for the next poll after `idle_poll` (retries come due
    /// by time, and nothing rings for them).
    pub fn spawn(self, idle_poll: Duration) -> WorkerHandle {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                // The step itself is never interrupted: stopping waits for it (see `stop`).
                let idle = match self.send_batch(BATCH, || *stopped.borrow()).await {
                    Ok(tried) => tried.is_empty(),
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
                        _ = tokio::time::sleep(idle_poll) => {}
                        _ = self.wake.notified() => {}
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

fn log_outcome(outbox: i64, outcome: &Outcome, recorded: bool) {
    match outcome {
        _ if !recorded => {
            tracing::warn!(
                outbox,
                ?outcome,
                "the claim ran out before the outcome was recorded"
            )
        }
        Outcome::Sent => tracing::info!(outbox, "email sent"),
        Outcome::Retrying {
            next_attempt_at,
            error,
        } => tracing::warn!(outbox, %error, next_attempt_at, "email not sent; will retry"),
        Outcome::Failed { error } => tracing::error!(outbox, %error, "email failed for good"),
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
