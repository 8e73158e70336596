//! The staff second factor (SPEC §9): TOTP keys (RFC 6238: SHA-1, 6 digits, 30 s, one step of
//! drift), sealed at rest, their enrolment QR code, and one-time recovery codes.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// 160 bits, the size RFC 4226 recommends.
pub const KEY_LEN: usize = 20;
/// Shown once when the second factor is turned on.
pub const RECOVERY_CODES: usize = 10;
const NONCE_LEN: usize = 24;

/// Whether every staff account must have a second factor (`STAFF_MFA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaPolicy {
    Required,
    Optional,
}

impl MfaPolicy {
    pub fn parse(raw: &str) -> Result<MfaPolicy, String> {
        match raw {
            "required" => Ok(MfaPolicy::Required),
            "optional" => Ok(MfaPolicy::Optional),
            other => Err(format!("{other:?} must be required or optional")),
        }
    }
}

/// What a staff member may do: admins also manage accounts and read the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Reviewer,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "admin" => Some(Role::Admin),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Reviewer => "Reviewer",
        }
    }
}

/// TOTP keys are sealed (XChaCha20-Poly1305) under a key of their own, derived from the session
/// key like the outbox's: a copy of the database alone yields no second factor. The account id
/// is the associated data, so a sealed key copied onto another account does not open.
#[derive(Clone)]
pub struct KeySeal {
    cipher: XChaCha20Poly1305,
}

impl KeySeal {
    pub fn new(session_key: &[u8]) -> KeySeal {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(session_key).expect("any key length");
        mac.update(b"partner-registry staff totp keys v1");
        KeySeal {
            cipher: XChaCha20Poly1305::new(&mac.finalize().into_bytes()),
        }
    }

    pub fn seal(&self, staff_id: i64, key: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = staff_id.to_be_bytes();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: key,
                    aad: &aad,
                },
            )
            .expect("encryption into a Vec cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// `None` when the blob was not sealed for this account under this key.
    pub fn open(&self, staff_id: i64, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let aad = staff_id.to_be_bytes();
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()
    }
}

pub fn new_key() -> Vec<u8> {
    let mut key = vec![0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

fn totp(key: &[u8], issuer: &str, account: &str) -> Totp {
    // The issuer and account name may not hold a colon (the URI's label separator).
    let clean = |s: &str| s.replace(':', " ");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(key.to_vec())
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account))
        .build()
        .expect("a 160-bit key and fixed RFC 6238 parameters are valid")
}

/// The time step a code is for, if `code` is right for `key` at `now` or one step either side.
/// The caller refuses a step at or before the last one accepted (no replay).
pub fn matching_step(key: &[u8], code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    totp(key, "-", "-")
        .check(&code, now)
        .and_then(|step| i64::try_from(step).ok())
}

/// What the enrolment page shows: the same key three ways.
pub struct Enrolment {
    pub base32: String,
    pub uri: String,
    /// An inline `<svg>` element.
    pub qr_svg: String,
}

impl Enrolment {
    pub fn new(key: &[u8], issuer: &str, account: &str) -> Enrolment {
        let totp = totp(key, issuer, account);
        let uri = totp
            .to_url()
            .expect("an account name is set, so the URI can be written");
        let qr_svg = qrcode::QrCode::new(uri.as_bytes())
            .map(|code| {
                code.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .dark_color(qrcode::render::svg::Color("#000000"))
                    .light_color(qrcode::render::svg::Color("#ffffff"))
                    .build()
            })
            .unwrap_or_default();
        // The renderer writes a standalone document; the page wants only the element.
        let qr_svg = qr_svg
            .find("<svg")
            .map(|at| qr_svg[at..].to_owned())
            .unwrap_or_default();
        Enrolment {
            base32: Secret::from(key.to_vec()).to_base32(),
            uri,
            qr_svg,
        }
    }
}

/// Ten codes of 80 random bits each, as `xxxx-xxxx-xxxx-xxxx` in lower-case base32.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let text = Secret::from(bytes.to_vec()).to_base32().to_lowercase();
            text.as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The hash a recovery code is stored and looked up by: typed with or without dashes and
/// spaces, in any case.
pub fn recovery_code_hash(code: &str) -> Option<String> {
    let normal: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    (normal.len() == 16 && normal.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| crate::auth::sha256_hex(&normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_for_its_account() {
        let seal = KeySeal::new(&[7u8; 64]);
        let key = new_key();
        let sealed = seal.seal(3, &key);
        assert_eq!(seal.open(3, &sealed).as_deref(), Some(&key[..]));
        assert_eq!(seal.open(4, &sealed), None);
        assert_eq!(KeySeal::new(&[8u8; 64]).open(3, &sealed), None);
    }

    #[test]
    fn rfc_6238_vector_and_one_step_of_drift() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); 6 digits: 287082.
        let key = b"12345678901234567890";
        assert_eq!(matching_step(key, "287082", 59), Some(1));
        assert_eq!(matching_step(key, "287082", 59 + 30), Some(1));
        assert_eq!(matching_step(key, "287082", 59 + 60), None);
        assert_eq!(matching_step(key, "28708", 59), None);
        assert_eq!(matching_step(key, "abcdef", 59), None);
    }

    #[test]
    fn enrolment_shows_the_key_as_uri_and_svg() {
        let e = Enrolment::new(b"12345678901234567890", "Partner Registry", "a@b.example");
        assert_eq!(e.base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(e.uri.starts_with("otpauth://totp/"), "{}", e.uri);
        assert!(e.uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        assert!(e.uri.contains("issuer=Partner"));
        assert!(e.qr_svg.starts_with("<svg"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        let code = &codes[0];
        assert_eq!(
            recovery_code_hash(code),
            recovery_code_hash(&code.replace('-', " ").to_uppercase())
        );
        assert_eq!(recovery_code_hash("short"), None);
    }
}
