//! Staff passwords: Argon2id with the argon2 crate's defaults (OWASP's minimum: 19 MiB, t=2,
//! p=1), hashed and verified on a blocking thread so the async workers keep serving.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};

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

    pub async fn hash(self) -> anyhow::Result<String> {
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(self.0.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
        })
        .await?
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

/// Verify `password` against `stored` (or the dummy hash when there is no account).
pub async fn verify(password: SecretString, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("bad hash: {e}"))?;
        let ok = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await?
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
        let hash = NewPassword::parse(SecretString::from("correct horse battery"))
            .unwrap()
            .hash()
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify(
                SecretString::from("correct horse battery"),
                Some(hash.clone())
            )
            .await
            .unwrap()
        );
        assert!(
            !verify(SecretString::from("wrong horse battery"), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !verify(SecretString::from("anything at all"), None)
                .await
                .unwrap()
        );
    }
}
