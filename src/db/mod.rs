//! Storage: the pool, and one file per table group. Functions take a connection or a
//! transaction, so callers decide what happens atomically.

pub mod logos;
pub mod outbox;
pub mod staff;
pub mod submissions;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// SQLite lets one connection write at a time. A connection that finds the write lock taken
/// sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms) and does not notice when the lock is
/// freed: under a burst of registrations, with the mail worker writing too, a registration's
/// commit waited up to a second (p99 1.1 s at 300 registrations/s) with the cores partly idle.
/// The busy write paths (registrations, resubmissions, the mail worker) take this gate first,
/// then a connection, and are woken in turn the moment the previous writer is done (p99 40 ms
/// under the same load). Rare writers (staff decisions, sessions) still rely on the busy handler.
#[derive(Clone)]
pub struct WriteGate(Arc<Semaphore>);

impl Default for WriteGate {
    fn default() -> WriteGate {
        WriteGate(Arc::new(Semaphore::new(1)))
    }
}

impl WriteGate {
    /// Wait for our turn to write. Take it before acquiring a connection, and hold no other
    /// connection while holding it.
    pub async fn enter(&self) -> OwnedSemaphorePermit {
        self.0
            .clone()
            .acquire_owned()
            .await
            .expect("the gate's semaphore is never closed")
    }
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Open (creating if needed) the database and bring its schema up to date.
pub async fn connect(database_url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        // WAL lets the staff queue read while a registration writes.
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a registration that got its 303 survives a power cut, not just a crash.
        // The cost is one fsync of the WAL per commit: 20-30 % of registrations per second under
        // a sustained load (README, Benchmarks (b)), which we accept.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    make_files_private(&pool).await?;
    Ok(pool)
}

/// A database created before umask 077 (or copied in by a restore) may be world-readable:
/// make the file and its WAL and shared-memory files 0600. SQLite gives a new WAL or -shm
/// file the database file's mode, so this holds for those made later too.
async fn make_files_private(pool: &SqlitePool) -> anyhow::Result<()> {
    let files: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
        .fetch_all(pool)
        .await?;
    #[cfg(unix)]
    for (_, _, file) in files.iter().filter(|(_, _, file)| !file.is_empty()) {
        use std::os::unix::fs::PermissionsExt;
        for path in [file.clone(), format!("{file}-wal"), format!("{file}-shm")] {
            match std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(anyhow::Error::new(e).context(format!("cannot make {path} 0600")));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Seconds since the Unix epoch: every stored time.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A consistent copy of the whole database in one file, taken while the portal runs: SQLite's
/// `VACUUM INTO` reads in one transaction, so writers carry on (WAL) and the copy is a snapshot.
pub async fn backup(pool: &SqlitePool, file: &std::path::Path) -> anyhow::Result<()> {
    let path = file
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path is not UTF-8"))?;
    sqlx::query("VACUUM INTO ?")
        .bind(path)
        .execute(pool)
        .await?;
    Ok(())
}
