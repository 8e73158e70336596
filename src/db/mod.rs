//! Storage: the pool, and one file per table group. Functions take a connection or a
//! transaction, so callers decide what happens atomically.

pub mod accounts;
pub mod audit;
pub mod credentials;
pub mod invitations;
pub mod logos;
pub mod mfa;
pub mod outbox;
pub mod staff;
pub mod submissions;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Does the database answer? (`/healthz`)
pub async fn ping(pool: &SqlitePool) -> sqlx::Result<()> {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .map(drop)
}

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
        // Deleted and overwritten content is zeroed in the file, not just marked free: a
        // plaintext token replaced by its hash (`hash_stored_tokens`), a held logo's token
        // or an outbox link removed once sent leaves no bytes behind.
        .pragma("secure_delete", "on")
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    hash_stored_tokens(&pool).await?;
    make_files_private(&pool).await?;
    Ok(pool)
}

/// The data half of migration `20261202110000_tokens_hashed` (SQLite has no SHA-256): a
/// database from before it holds status and held-logo tokens in plain; replace each by its
/// hash. Idempotent: a submission with a `status_tokens` row and a logo with no `hold_token`
/// are done. Returns how many tokens were hashed.
pub async fn hash_stored_tokens(pool: &SqlitePool) -> anyhow::Result<usize> {
    use crate::auth::sha256_hex;

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let submissions: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, token, created_at FROM submissions s
         WHERE NOT EXISTS (SELECT 1 FROM status_tokens t WHERE t.submission_id = s.id)",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, token, created_at) in &submissions {
        let hash = sha256_hex(token);
        sqlx::query(
            "INSERT INTO status_tokens (token_hash, submission_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(&hash)
        .bind(id)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE submissions SET token = ? WHERE id = ?")
            .bind(&hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let held: Vec<(String, String)> =
        sqlx::query_as("SELECT id, hold_token FROM logos WHERE hold_token IS NOT NULL")
            .fetch_all(&mut *tx)
            .await?;
    for (id, token) in &held {
        sqlx::query("UPDATE logos SET hold_token_hash = ?, hold_token = NULL WHERE id = ?")
            .bind(sha256_hex(token))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let hashed = submissions.len() + held.len();
    if hashed > 0 {
        // The old pages, tokens and all, may still sit in the WAL: copy the new ones into the
        // database file (secure_delete zeroed the old content there) and empty the WAL.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await?;
        tracing::info!(hashed, "stored tokens replaced by their hashes");
    }
    Ok(hashed)
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
