//! Audit entries for failed password sign-ins, written in batches.
//!
//! A failed sign-in changes nothing but its throttle row, which is committed before the password
//! is checked (so parallel guesses are counted). Its audit entry is known only after the check,
//! and a commit of its own per failure (an fsync each, through the one write connection) slowed
//! every sign-in behind it: under a burst of wrong passwords the writes, not the hashing pool,
//! became the queue. So these entries go to one writer task that commits whatever has arrived
//! in one transaction. Reading the log (`flush`) waits until everything sent is written.

use tokio::sync::{mpsc, oneshot};

use crate::db::audit::{Actor, Kind};
use crate::db::{self, Db};

struct Failure {
    by: Actor,
    detail: Option<&'static str>,
    at: i64,
}

enum Message {
    Failure(Failure),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct FailedLogins {
    sender: mpsc::UnboundedSender<Message>,
}

impl FailedLogins {
    /// Start the writer on the current runtime.
    pub fn start(db: Db) -> FailedLogins {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = receiver.try_recv() {
                    batch.push(more);
                }
                if let Err(e) = write(&db, &batch).await {
                    tracing::error!(error = %e, entries = batch.len(), "audit entries for failed sign-ins were not written");
                }
                for message in batch {
                    if let Message::Flush(done) = message {
                        let _ = done.send(());
                    }
                }
            }
        });
        FailedLogins { sender }
    }

    /// Record a failed sign-in by `by` (the email as typed).
    pub fn record(&self, by: Actor, detail: Option<&'static str>) {
        let failure = Failure {
            by,
            detail,
            at: db::now(),
        };
        if self.sender.send(Message::Failure(failure)).is_err() {
            tracing::error!("the failed sign-in writer has stopped");
        }
    }

    /// Wait until every failure recorded so far is in the database.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write(db: &Db, batch: &[Message]) -> sqlx::Result<()> {
    if !batch.iter().any(|m| matches!(m, Message::Failure(_))) {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for message in batch {
        if let Message::Failure(f) = message {
            db::audit::record(&mut tx, &f.by, Kind::LoginFailed, None, f.detail, f.at).await?;
        }
    }
    tx.commit().await
}
