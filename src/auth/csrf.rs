//! Anti-forgery: every visitor gets a random id in a cookie; each form carries an HMAC of that
//! id under a server key, compared in constant time. A page from another site can neither read
//! the cookie nor compute the token.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::{is_token_shaped, random_token};

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct CsrfKey {
    key: [u8; 32],
    cookie_name: &'static str,
    secure: bool,
}

/// The visitor's anti-forgery id, and the cookie to set when it is new.
pub struct CsrfSession {
    pub token: String,
    pub new_cookie: Option<Cookie<'static>>,
}

impl CsrfKey {
    pub fn new(session_key: &[u8], secure: bool) -> CsrfKey {
        // A key of its own, derived from the session key, so a token is useless elsewhere.
        let mut mac = HmacSha256::new_from_slice(session_key).expect("any key length");
        mac.update(b"partner-registry csrf v1");
        let key = mac.finalize().into_bytes().into();
        CsrfKey {
            key,
            cookie_name: if secure { "__Host-csrf" } else { "csrf" },
            secure,
        }
    }

    fn mac(&self, id: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(id.as_bytes());
        mac
    }

    fn cookie_id(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.cookie_name)
            .map(|c| c.value().to_owned())
            .filter(|v| is_token_shaped(v))
    }

    /// The token to render into a form, creating the visitor's id when there is none.
    ///
    /// Under `/staff` the cookie is (re)issued `SameSite=Strict`, like the staff session: a
    /// staff form is never the target of a link from another site. Partner pages keep `Lax`, so
    /// a partner who arrives from the link in an email keeps the id they already have.
    pub fn session(&self, req: &HttpRequest) -> CsrfSession {
        let strict = req.path() == "/staff" || req.path().starts_with("/staff/");
        let (id, new_cookie) = match self.cookie_id(req) {
            Some(id) if !strict => (id, None),
            existing => {
                let id = existing.unwrap_or_else(|| random_token(32));
                let same_site = if strict {
                    SameSite::Strict
                } else {
                    SameSite::Lax
                };
                let cookie = Cookie::build(self.cookie_name, id.clone())
                    .path("/")
                    .http_only(true)
                    .secure(self.secure)
                    .same_site(same_site)
                    .finish();
                (id, Some(cookie))
            }
        };
        CsrfSession {
            token: self.token_for(&id),
            new_cookie,
        }
    }

    /// Constant-time check of a submitted token against the visitor's cookie.
    pub fn verify(&self, req: &HttpRequest, submitted: &str) -> bool {
        self.cookie_id(req)
            .is_some_and(|id| self.verify_for(&id, submitted))
    }

    /// The token for a session id (a visitor's cookie id, or a staff session).
    pub fn token_for(&self, session_id: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(session_id).finalize().into_bytes())
    }

    /// Constant time: `verify_slice` compares the tags without early exit.
    pub fn verify_for(&self, session_id: &str, submitted: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(submitted.trim()) {
            Ok(tag) => self.mac(session_id).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }
}
