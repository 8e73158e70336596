//! Links in queued mail are keys (SPEC §6): a status, edit or credentials link opens a page
//! that only the partner may see. The outbox keeps each such link sealed (XChaCha20-Poly1305
//! under a key derived from the session key, which is not in the database) and stores the
//! bodies with a placeholder where the link was. The worker opens the seal only to build the
//! message it sends; once the message is sent the sealed links are deleted.
//!
//! The sealed links are bound to their row: the message's Message-ID and recipient are the
//! associated data, so a sealed blob copied onto another row (say, to another recipient) does
//! not open.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::mail::messages::Email;

/// The nonce of XChaCha20: 24 random bytes, so random nonces never realistically repeat.
const NONCE_LEN: usize = 24;

#[derive(Clone)]
pub struct LinkSeal {
    cipher: XChaCha20Poly1305,
}

/// What the outbox stores for one message: bodies without their links, and the links sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEmail {
    pub text: String,
    pub html: String,
    /// Nonce then ciphertext; `None` when the message carries no link.
    pub links: Option<Vec<u8>>,
}

impl LinkSeal {
    pub fn new(session_key: &[u8]) -> LinkSeal {
        // A key of its own, as for anti-forgery tokens: the session key itself signs nothing
        // that could be replayed here.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(session_key).expect("any key length");
        mac.update(b"partner-registry outbox links v1");
        let key = mac.finalize().into_bytes();
        LinkSeal {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// The bodies of `email` with every link of `email.links` replaced by a placeholder, and
    /// the links sealed to this `message_id` and `recipient`.
    pub fn seal(&self, email: &Email, message_id: &str, recipient: &str) -> SealedEmail {
        let (mut text, mut html) = (email.text.clone(), email.html.clone());
        if email.links.is_empty() {
            return SealedEmail {
                text,
                html,
                links: None,
            };
        }
        // Longest first, so a link that begins another (the status page and its /edit) is
        // never cut in two.
        let mut order: Vec<usize> = (0..email.links.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(email.links[i].len()));
        for i in order {
            let mark = placeholder(i);
            text = text.replace(&email.links[i], &mark);
            html = html.replace(&email.links[i], &mark);
        }
        let plain = serde_json::to_vec(&email.links).expect("strings serialise");
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &plain,
                    aad: &aad(message_id, recipient),
                },
            )
            .expect("encryption into a Vec cannot fail");
        let mut links = nonce.to_vec();
        links.extend_from_slice(&sealed);
        SealedEmail {
            text,
            html,
            links: Some(links),
        }
    }

    /// The bodies as the partner must receive them: every placeholder back to its link.
    pub fn open(
        &self,
        stored: &SealedEmail,
        message_id: &str,
        recipient: &str,
    ) -> Result<(String, String), SealError> {
        let Some(sealed) = &stored.links else {
            if stored.text.contains(&placeholder(0)) || stored.html.contains(&placeholder(0)) {
                return Err(SealError::Gone);
            }
            return Ok((stored.text.clone(), stored.html.clone()));
        };
        if sealed.len() < NONCE_LEN {
            return Err(SealError::WontOpen);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad(message_id, recipient),
                },
            )
            .map_err(|_| SealError::WontOpen)?;
        let links: Vec<String> = serde_json::from_slice(&plain).map_err(|_| SealError::WontOpen)?;
        let (mut text, mut html) = (stored.text.clone(), stored.html.clone());
        for (i, link) in links.iter().enumerate() {
            let mark = placeholder(i);
            text = text.replace(&mark, link);
            html = html.replace(&mark, link);
        }
        Ok((text, html))
    }
}

/// Why a queued message's links cannot be restored. Either way the message can never be sent
/// as written, so the worker fails it for good, with this as the reason staff see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "the links of this message cannot be opened (was SESSION_KEY changed since it was queued?)"
    )]
    WontOpen,
    #[error("the links of this message are no longer stored")]
    Gone,
}

fn placeholder(i: usize) -> String {
    format!("[sealed-link-{i}]")
}

/// Message-ID and recipient, unambiguously joined (neither can hold a NUL).
fn aad(message_id: &str, recipient: &str) -> Vec<u8> {
    [message_id.as_bytes(), b"\0", recipient.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "https://registry.example/submissions/c3RhdHVzLXRva2VuLXh5eg";

    fn email() -> Email {
        let edit = format!("{STATUS}/edit");
        Email {
            kind: "changes_requested",
            subject: "Changes requested for Ledgerly".into(),
            text: format!("Edit: {edit}\nStatus: {STATUS}\n"),
            html: format!("<a href=\"{edit}\">Edit</a> <a href=\"{STATUS}\">{STATUS}</a>"),
            links: vec![STATUS.into(), edit],
        }
    }

    #[test]
    fn a_sealed_email_keeps_no_link_and_opens_to_the_original() {
        let seal = LinkSeal::new(&[7; 32]);
        let original = email();
        let stored = seal.seal(&original, "<1@registry.example>", "dev@ledgerly.example");
        for body in [&stored.text, &stored.html] {
            assert!(!body.contains("c3RhdHVzLXRva2VuLXh5eg"), "{body}");
        }
        let blob = stored.links.as_deref().unwrap();
        assert!(!blob.windows(8).any(|w| w == b"c3RhdHVz"));
        let (text, html) = seal
            .open(&stored, "<1@registry.example>", "dev@ledgerly.example")
            .unwrap();
        assert_eq!((text, html), (original.text, original.html));
    }

    #[test]
    fn sealed_links_open_only_with_the_same_key_on_the_same_row() {
        let seal = LinkSeal::new(&[7; 32]);
        let stored = seal.seal(&email(), "<1@registry.example>", "dev@ledgerly.example");
        let other_key = LinkSeal::new(&[8; 32]);
        assert_eq!(
            other_key.open(&stored, "<1@registry.example>", "dev@ledgerly.example"),
            Err(SealError::WontOpen)
        );
        assert_eq!(
            seal.open(&stored, "<1@registry.example>", "evil@attacker.example"),
            Err(SealError::WontOpen)
        );
        assert_eq!(
            seal.open(&stored, "<2@registry.example>", "dev@ledgerly.example"),
            Err(SealError::WontOpen)
        );
        let gone = SealedEmail {
            links: None,
            ..stored
        };
        assert_eq!(
            seal.open(&gone, "<1@registry.example>", "dev@ledgerly.example"),
            Err(SealError::Gone)
        );
    }

    #[test]
    fn an_email_without_links_is_stored_as_written() {
        let seal = LinkSeal::new(&[7; 32]);
        let plain = Email {
            links: vec![],
            ..email()
        };
        let stored = seal.seal(&plain, "<1@x>", "a@b.example");
        assert_eq!(stored.links, None);
        assert_eq!(stored.text, plain.text);
        assert_eq!(
            seal.open(&stored, "<1@x>", "a@b.example").unwrap().0,
            plain.text
        );
    }
}
