//! Tokens, anti-forgery and (later) staff authentication.

pub mod accounts;
pub mod csrf;
pub mod mfa;
pub mod password;
pub mod session;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// `bytes` of OS randomness, base64url without padding: status tokens, logo ids, session ids.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Does `s` look like something `random_token` made? Refuses junk before it reaches SQL.
pub fn is_token_shaped(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A token taken from a URL (status page, credentials link, logo id). Only something shaped
/// like a `random_token` gets into a handler as `web::Path<Token>`; anything else fails to
/// deserialize and is a 404 (`routes::path_config`) before it reaches SQL.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Token(String);

impl TryFrom<String> for Token {
    type Error = &'static str;

    fn try_from(s: String) -> Result<Token, Self::Error> {
        if is_token_shaped(&s) {
            Ok(Token(s))
        } else {
            Err("not a token")
        }
    }
}

impl std::ops::Deref for Token {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hex SHA-256: how session ids, link tokens and client secrets are stored. They are 256-bit
/// random values, so a fast hash is right (no dictionary to guess from).
pub fn sha256_hex(value: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
