//! Standard Webhooks signing (https://www.standardwebhooks.com/): `v1,` and the base64
//! HMAC-SHA256, keyed with the decoded `whsec_` secret, over `{id}.{timestamp}.{body}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// `PROVISION_SECRET`: `whsec_` and base64 of the key.
pub struct SigningKey(SecretBox<Vec<u8>>);

impl SigningKey {
    pub fn parse(raw: &str) -> Result<SigningKey, String> {
        let encoded = raw
            .strip_prefix("whsec_")
            .ok_or("it must start with whsec_ (the Standard Webhooks form)")?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "after whsec_ it must be base64")?;
        if key.len() < 24 {
            return Err(format!(
                "the key must be at least 24 bytes (192 bits); it is {}",
                key.len()
            ));
        }
        Ok(SigningKey(SecretBox::new(Box::new(key))))
    }

    /// The `webhook-signature` header value.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.0.expose_secret()).expect("any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference test vectors.
    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn refuses_a_key_that_is_not_whsec() {
        assert!(SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningKey::parse("whsec_!!!").is_err());
        assert!(SigningKey::parse("whsec_c2hvcnQ=").is_err());
    }
}
