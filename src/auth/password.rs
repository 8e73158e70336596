//! Staff passwords: Argon2id with the argon2 crate's defaults (OWASP's minimum: 19 MiB, t=2,
//! p=1), hashed and verified on a blocking thread so the async workers keep serving.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

pub const MIN_PASSWORD_CHARS: usize = 12;

/// A password that meets the rules; only its hash is ever stored.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn parse(raw: SecretString) -> Result<NewPassword, String> {
        let chars = raw.expose_secret().chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(format!(
                "The password must be at least {MIN_PASSWORD_CHARS} characters; it has {chars}."
            ));
        }
        if raw.expose_secret().chars().count() > 1024 {
            return Err("The password must be at most 1024 characters.".into());
        }
        Ok(NewPassword(raw))
    }

    /// Hash on a blocking thread, outside any pool: for `staff add`, which runs one.
    pub async fn hash(self) -> anyhow::Result<String> {
        tokio::task::spawn_blocking(move || self.hash_now()).await?
    }

    fn hash_now(&self) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    }
}

/// Password hashing and verification for the server, on `workers` threads of its own with at
/// most `queue` more jobs waiting. Each Argon2 run holds 19 MiB: unbounded, 200 concurrent
/// logins for unknown emails drove a release build to 7.8 GB of resident memory, still held
/// after the flood. Bounded to 2 at a time it still peaked at 286 MB (scripts/bench.sh (f)):
/// each run's freed 19 MiB was taken over by small allocations of other threads, so the next
/// run grew the heap again. So each thread here allocates its Argon2 memory once and reuses it
/// for every check. A login that finds
/// the queue full is refused at once (`Busy`, a 503 with `Retry-After`) instead of waiting in
/// memory.
pub struct HashingPool {
    jobs: SyncSender<Job>,
}

/// A job gets its thread's Argon2 memory, kept from one check to the next.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Why a hash or check did not happen.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("every password-hashing slot is taken")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// How many hashes run at once, and how many more may wait.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    pub workers: usize,
    pub queue: usize,
}

impl PoolSize {
    /// One thread per core, at least 2 and at most 4, and 8 jobs waiting.
    pub fn for_this_machine() -> PoolSize {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PoolSize {
            workers: cores.clamp(2, 4),
            queue: 8,
        }
    }
}

impl HashingPool {
    pub fn with_size(size: PoolSize) -> std::io::Result<HashingPool> {
        HashingPool::start(size.workers, size.queue)
    }

    /// Starts `workers` threads; they stop when the pool is dropped.
    pub fn start(workers: usize, queue: usize) -> std::io::Result<HashingPool> {
        let (jobs, waiting) = sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..workers {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        // The lock is held only while waiting for a job, never while hashing.
                        let job = match waiting.lock() {
                            Ok(waiting) => waiting.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return, // the pool was dropped
                        }
                    }
                })?;
        }
        Ok(HashingPool { jobs })
    }

    /// Queue `work` if there is room (never waiting for it), and wait for its answer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // A client that went away no longer listens; the work is done either way.
            let _ = reply.send(work(memory));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HashError::Busy,
            TrySendError::Disconnected(_) => {
                HashError::Failed(anyhow::anyhow!("the password threads stopped"))
            }
        })?;
        let result = answer
            .await
            .map_err(|_| HashError::Failed(anyhow::anyhow!("a password thread stopped")))?;
        Ok(result?)
    }

    pub async fn hash(&self, password: NewPassword) -> Result<String, HashError> {
        // Rare (the setup page): Argon2 allocates its own memory here.
        self.run(move |_| password.hash_now()).await
    }

    /// Verify `password` against `stored`, or the dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        self.run(move |memory| verify_with(memory, &password, stored))
            .await
    }
}

/// A hash of a random password nobody knows: verifying against it for an unknown email takes
/// as long as for a real account, so timing does not reveal which emails have accounts.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(crate::auth::random_token(32).as_bytes(), &salt)
            .expect("hashing a random password")
            .to_string()
    })
}

/// Argon2's own `verify_password`, but in `memory` (grown to the hash's size once, then
/// reused) instead of a fresh 19 MiB allocation per check.
fn verify_with(
    memory: &mut Vec<Block>,
    password: &SecretString,
    stored: Option<String>,
) -> anyhow::Result<bool> {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("bad password hash: {e}");
    let parsed = PasswordHash::new(&stored).map_err(|e| bad(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| bad(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| bad(&e))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| bad(&e))?;
    let expected = parsed.hash.ok_or_else(|| bad(&"no hash"))?;
    let salt = parsed.salt.ok_or_else(|| bad(&"no salt"))?;
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(|e| bad(&e))?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt,
            &mut out,
            &mut memory[..blocks],
        )
        .map_err(|e| bad(&e))?;
    let ok: bool = out.ct_eq(expected.as_bytes()).into();
    Ok(known && ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_password_is_refused_with_its_length() {
        let err = NewPassword::parse(SecretString::from("short"))
            .err()
            .unwrap();
        assert!(err.contains("12") && err.contains("5"));
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_and_verifies_only_its_password() {
        let pool = HashingPool::start(1, 1).unwrap();
        let hash = NewPassword::parse(SecretString::from("correct horse battery"))
            .unwrap()
            .hash()
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let verify = |password: &str, stored: Option<String>| {
            pool.verify(SecretString::from(password.to_owned()), stored)
        };
        assert!(
            verify("correct horse battery", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse battery", Some(hash)).await.unwrap());
        assert!(!verify("anything at all", None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_verify_in_the_same_reused_memory() {
        let pool = HashingPool::start(1, 4).unwrap();
        for m_kib in [64, 19 * 1024, 256] {
            let argon = Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m_kib, 2, 1, None).unwrap(),
            );
            let salt = SaltString::generate(&mut OsRng);
            let hash = argon
                .hash_password(b"correct horse battery", &salt)
                .unwrap()
                .to_string();
            let right = SecretString::from("correct horse battery");
            let wrong = SecretString::from("correct horse battery!");
            assert!(pool.verify(right, Some(hash.clone())).await.unwrap());
            assert!(!pool.verify(wrong, Some(hash)).await.unwrap());
        }
    }

    #[tokio::test]
    async fn beyond_its_workers_and_queue_the_pool_is_busy_at_once() {
        let pool = Arc::new(HashingPool::start(1, 1).unwrap());
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    pool.verify(SecretString::from("anything at all"), None)
                        .await
                })
            })
            .collect();
        let mut busy = 0;
        for run in runs {
            match run.await.unwrap() {
                Ok(ok) => assert!(!ok),
                Err(HashError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        // One runs, at most one waits, the rest are turned away at once.
        assert!((2..=3).contains(&busy), "{busy} turned away");
    }
}
