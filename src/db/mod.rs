//! Storage: the pool, and one file per table group. Functions take a connection or a
//! transaction, so callers decide what happens atomically.

pub mod accounts;
pub mod audit;
pub mod credentials;
pub mod feed;
pub mod invitations;
pub mod logos;
pub mod mfa;
pub mod outbox;
pub mod secrets;
pub mod staff;
pub mod submissions;

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Does the database answer? (`/healthz`)
pub async fn ping(pool: &SqlitePool) -> sqlx::Result<()> {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .map(drop)
}

/// The database, as two pools over one file.
///
/// SQLite lets one connection write at a time. A connection that finds the write lock taken
/// sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms) and does not notice when the lock is
/// freed: under a burst of registrations, with the mail worker writing too, a commit waited up
/// to a second. So every write goes through `write`, a pool of exactly one connection: writers
/// queue for it in process, in order, and each is handed the connection the moment the one
/// before is done. Reads go through `read`, whose connections are `query_only`, so a write
/// sent there by mistake fails at once instead of racing the queue.
#[derive(Clone)]
pub struct Db {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

impl Db {
    /// Open (creating if needed) the database and bring its schema up to date.
    pub async fn open(database_url: &str) -> anyhow::Result<Db> {
        Db::open_with(database_url, SqliteSynchronous::Full).await
    }

    /// `open`, with another `synchronous` than FULL: only for measuring what FULL costs
    /// (`examples/bench_server.rs`).
    pub async fn open_with(
        database_url: &str,
        synchronous: SqliteSynchronous,
    ) -> anyhow::Result<Db> {
        let options = connect_options(database_url, synchronous)?;
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            // The one writer stays open: closing the last connection would checkpoint and
            // remove the WAL under the readers.
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            // A write waits its turn behind the others; minutes would mean something is wrong.
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        migrate(&mut *write.acquire().await?).await?;
        hash_stored_tokens(&write).await?;
        make_files_private(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.pragma("query_only", "on"))
            .await?;
        Ok(Db { read, write })
    }

    /// A write transaction that holds SQLite's write lock from its first statement, so a
    /// read-then-write inside it cannot be overtaken by another process (`staff add`).
    pub async fn begin(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Apply the migrations with foreign-key enforcement off, then check every key.
///
/// SQLite cannot widen a CHECK in place: the table is rebuilt (copy, drop, rename), and with
/// enforcement on, dropping a table that others point at fails even when the rebuilt one takes
/// its place. sqlx runs each migration in a transaction, where `PRAGMA foreign_keys` is a
/// no-op, so it is switched here, around them, as SQLite's ALTER TABLE documentation does it.
pub async fn migrate(conn: &mut sqlx::SqliteConnection) -> anyhow::Result<()> {
    sqlx::raw_sql("PRAGMA foreign_keys = OFF")
        .execute(&mut *conn)
        .await?;
    let migrated = MIGRATOR.run(&mut *conn).await;
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut *conn)
        .await?;
    sqlx::raw_sql("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    migrated?;
    if let Some((table,)) = broken.first() {
        anyhow::bail!("after the migrations, {table} has rows that point at nothing");
    }
    Ok(())
}

fn connect_options(
    database_url: &str,
    synchronous: SqliteSynchronous,
) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        // WAL lets the staff queue read while a registration writes.
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a registration that got its 303 survives a power cut, not just a crash.
        // The cost is one fsync of the WAL per commit (docs/benchmarks.md, FULL vs NORMAL).
        .synchronous(synchronous)
        .foreign_keys(true)
        // Deleted and overwritten content is zeroed in the file, not just marked free: a
        // plaintext token replaced by its hash (`hash_stored_tokens`), a held logo's token
        // or an outbox link removed once sent leaves no bytes behind.
        .pragma("secure_delete", "on")
        // Another process (`staff add`, `backup`) may hold the lock for a moment.
        .busy_timeout(Duration::from_secs(5)))
}

/// The data half of migration `20261202110000_tokens_hashed` (SQLite has no SHA-256): a
/// database from before it holds status and held-logo tokens in plain; replace each by its
/// hash. Idempotent: a submission with a `status_tokens` row and a logo with no `hold_token`
/// are done. Returns how many tokens were hashed.
pub async fn hash_stored_tokens(pool: &SqlitePool) -> anyhow::Result<usize> {
    use crate::auth::sha256_hex;

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let submissions = sqlx::query!(
        r#"SELECT id AS "id!", token, created_at FROM submissions s
         WHERE NOT EXISTS (SELECT 1 FROM status_tokens t WHERE t.submission_id = s.id)"#,
    )
    .fetch_all(&mut *tx)
    .await?;
    for s in &submissions {
        let hash = sha256_hex(&s.token);
        sqlx::query!(
            "INSERT INTO status_tokens (token_hash, submission_id, created_at) VALUES (?, ?, ?)",
            hash,
            s.id,
            s.created_at,
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("UPDATE submissions SET token = ? WHERE id = ?", hash, s.id)
            .execute(&mut *tx)
            .await?;
    }
    let held = sqlx::query!(
        r#"SELECT id AS "id!", hold_token AS "hold_token!" FROM logos WHERE hold_token IS NOT NULL"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for logo in &held {
        let hash = sha256_hex(&logo.hold_token);
        sqlx::query!(
            "UPDATE logos SET hold_token_hash = ?, hold_token = NULL WHERE id = ?",
            hash,
            logo.id,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let hashed = submissions.len() + held.len();
    if hashed > 0 {
        // PRAGMA and VACUUM statements stay runtime SQL here and below: sqlx cannot describe
        // them at compile time, and they read or write no table columns.
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
