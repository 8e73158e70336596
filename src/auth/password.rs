//! Staff passwords: Argon2id with the argon2 crate's defaults (OWASP's minimum: 19 MiB, t=2,
//! p=1), hashed and verified on a blocking thread so the async workers keep serving.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// Password hashing and verification for the server, at most `workers` at a time with at most
/// `queue` more waiting. Each Argon2 run holds 19 MiB: unbounded, 200 concurrent logins for
/// unknown emails drove a release build to 7.8 GB of resident memory, still held after the
/// flood. A login that finds the queue full is refused at once (`Busy`, a 503 with
/// `Retry-After`) instead of waiting in memory.
pub struct HashingPool {
    /// Running plus waiting: taken with `try_acquire`, so nobody waits for a place in line.
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

/// The pool is full; try again in a moment.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("every password-hashing slot is taken")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl HashingPool {
    /// At most 4 runs at once (one per core, at least 2), and 8 waiting.
    pub fn for_this_machine() -> HashingPool {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashingPool::new(cores.clamp(2, 4), 8)
    }

    pub fn new(workers: usize, queue: usize) -> HashingPool {
        HashingPool {
            admitted: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
        }
    }

    /// Wait for a worker (if there is room in the queue), then run `work` on a blocking thread.
    /// The permits move into the blocking task, so a client that goes away mid-hash frees
    /// its slot only when the hash is done, and the bound holds.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let place = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let worker: OwnedSemaphorePermit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError::Failed(e.into()))?;
        let result = tokio::task::spawn_blocking(move || {
            let result = work();
            drop((worker, place));
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.into()))?;
        Ok(result?)
    }

    pub async fn hash(&self, password: NewPassword) -> Result<String, HashError> {
        self.run(move || password.hash_now()).await
    }

    /// Verify `password` against `stored`, or the dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        self.run(move || verify_now(&password, stored)).await
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

fn verify_now(password: &SecretString, stored: Option<String>) -> anyhow::Result<bool> {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("bad hash: {e}"))?;
    let ok = Argon2::default()
        .verify_password(password.expose_secret().as_bytes(), &parsed)
        .is_ok();
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
        let pool = HashingPool::new(1, 0);
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
    async fn beyond_its_workers_and_queue_the_pool_is_busy_at_once() {
        let pool = Arc::new(HashingPool::new(1, 1));
        let runs: Vec<_> = (0..3)
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
        assert_eq!(busy, 1, "one runs, one waits, one is turned away");
    }
}
