//! Anti-forgery: every visitor gets a random id in a cookie; each form carries an HMAC of that
//! id (or, once signed in, of the staff session) under a server key, compared in constant time.
//! A page from another site can neither read the cookie nor compute the token.
//!
//! Pages are served compressed, and a compressed page that holds a secret next to text an
//! attacker chooses (an echoed field) leaks the secret through its length (BREACH). So a page
//! never carries the token itself: each render carries `mask || (mask XOR token)` under a fresh
//! random mask, as Django does, and the server unmasks what comes back.
//!
//! [`CsrfForm`] is the one place where a urlencoded form's token is checked: a handler that
//! takes one never sees a form whose token was missing or wrong.

use std::future::{Future, ready};
use std::pin::Pin;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, BytesMut};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use url::form_urlencoded;

use crate::auth::{is_token_shaped, random_token};
use crate::error::AppError;
use crate::state::AppState;

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

    /// The token to render into a page for a session id (a visitor's cookie id, or a staff
    /// session): masked afresh on every call, so no two pages carry the same bytes.
    pub fn token_for(&self, session_id: &str) -> String {
        let tag = self.mac(session_id).finalize().into_bytes();
        let mut mask = [0u8; TAG_LEN];
        rand::rngs::OsRng.fill_bytes(&mut mask);
        let mut masked = Vec::with_capacity(2 * TAG_LEN);
        masked.extend_from_slice(&mask);
        masked.extend(mask.iter().zip(tag.iter()).map(|(m, t)| m ^ t));
        URL_SAFE_NO_PAD.encode(masked)
    }

    /// Unmask a submitted token and check it; constant time: `verify_slice` compares the tags
    /// without early exit.
    pub fn verify_for(&self, session_id: &str, submitted: &str) -> bool {
        let Ok(masked) = URL_SAFE_NO_PAD.decode(submitted.trim()) else {
            return false;
        };
        if masked.len() != 2 * TAG_LEN {
            return false;
        }
        let (mask, hidden) = masked.split_at(TAG_LEN);
        let tag: Vec<u8> = mask.iter().zip(hidden).map(|(m, h)| m ^ h).collect();
        self.mac(session_id).verify_slice(&tag).is_ok()
    }
}

/// The length of an HMAC-SHA256 tag, and so of a mask.
const TAG_LEN: usize = 32;

/// The most a urlencoded form (sign-in, setup, a staff action, the credentials button) may
/// hold: far more than any of them needs, and all that is buffered to find its token.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The field every urlencoded form carries its token in.
const TOKEN_FIELD: &str = "csrf_token";

/// Who a form's token must have been issued to.
pub trait CsrfBinding: Sized + 'static {
    /// The sender, found from the request's head before a byte of its body is read: a request
    /// refused here (a 303 to the login page, a 429) costs no body.
    fn resolve(
        req: &HttpRequest,
        state: &web::Data<AppState>,
    ) -> Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    /// Whether `token` was issued to this sender; constant time.
    fn issued(&self, state: &AppState, req: &HttpRequest, token: &str) -> bool;
}

/// Anyone, signed in or not, known by the anti-forgery cookie: the forms shown before a staff
/// session exists (sign-in, setup) and the partner's credentials button.
pub struct Visitor;

impl CsrfBinding for Visitor {
    fn resolve(
        _: &HttpRequest,
        _: &web::Data<AppState>,
    ) -> Pin<Box<dyn Future<Output = Result<Self, AppError>>>> {
        Box::pin(ready(Ok(Visitor)))
    }

    fn issued(&self, state: &AppState, req: &HttpRequest, token: &str) -> bool {
        state.csrf.verify(req, token)
    }
}

/// A form with nothing to send but its token: a button (logout, retry an email, reveal a secret).
#[derive(serde::Deserialize)]
pub struct TokenOnly {}

/// A urlencoded form whose anti-forgery token was issued to its `sender`: a [`Visitor`] by
/// default, a `StaffUser` for the forms of a staff session.
///
/// In this order: the sender (see [`CsrfBinding::resolve`]); the body, at most [`FORM_LIMIT`]
/// (413) within the body timeout (408); then the one `csrf_token`. No token, two of them, a
/// wrong one, or a body that is no urlencoded form at all (none, another type) is a 403, before
/// any other field is looked at: a forged request learns nothing about the form. Only then is
/// the rest, without the token, read into `T`; a field that does not fit is a 400 that says so.
pub struct CsrfForm<T, S = Visitor> {
    pub sender: S,
    pub form: T,
}

impl<T, S> FromRequest for CsrfForm<T, S>
where
    T: DeserializeOwned + 'static,
    S: CsrfBinding,
{
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let sender = S::resolve(&req, &state).await?;
            let body = read_urlencoded(&req, payload, state.body_timeouts.whole)
                .await?
                .ok_or(AppError::Forbidden)?;
            let (token, rest) = take_token(&body).ok_or(AppError::Forbidden)?;
            if !sender.issued(&state, &req, &token) {
                return Err(AppError::Forbidden);
            }
            let form = serde_urlencoded::from_str(&rest)
                .map_err(|e| SmallFormError::Unreadable(e.to_string()))?;
            Ok(CsrfForm { sender, form })
        })
    }
}

/// The body of a urlencoded form, or `None` when the request is not one. Counted as it
/// arrives, so a body over the limit is refused without being held.
async fn read_urlencoded(
    req: &HttpRequest,
    mut payload: Payload,
    timeout: Duration,
) -> Result<Option<BytesMut>, AppError> {
    if !req
        .content_type()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Ok(None);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > FORM_LIMIT as u64) {
        return Err(SmallFormError::TooLarge.into());
    }
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| SmallFormError::Unreadable(e.to_string()))?;
            if body.len() + chunk.len() > FORM_LIMIT {
                return Err(SmallFormError::TooLarge.into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| SmallFormError::TooSlow(timeout))?
}

/// Why a small urlencoded form could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SmallFormError {
    #[error("The form could not be read: {0}.")]
    Unreadable(String),
    #[error(
        "The form is larger than {} KiB, far more than it can hold. Go back and send it again.",
        FORM_LIMIT / 1024
    )]
    TooLarge,
    #[error(
        "The form arrived too slowly: all of it must arrive within {} seconds, so it was cut off. Go back and send it again.",
        .0.as_secs()
    )]
    TooSlow(std::time::Duration),
}

impl SmallFormError {
    pub fn status(&self) -> actix_web::http::StatusCode {
        use actix_web::http::StatusCode;
        match self {
            SmallFormError::Unreadable(_) => StatusCode::BAD_REQUEST,
            SmallFormError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            SmallFormError::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// The error page's heading.
    pub fn title(&self) -> &'static str {
        match self {
            SmallFormError::Unreadable(_) => "The form could not be read",
            SmallFormError::TooLarge => "Form too large",
            SmallFormError::TooSlow(_) => "Request too slow",
        }
    }
}

/// The form's one token, and the rest of the form re-encoded without it. `None` for no token
/// or for two: a page of ours sends exactly one, and which of two to believe is no question
/// to answer.
fn take_token(body: &[u8]) -> Option<(String, String)> {
    let mut token = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(body) {
        if name == TOKEN_FIELD {
            if token.replace(value.into_owned()).is_some() {
                return None;
            }
        } else {
            rest.append_pair(&name, &value);
        }
    }
    Some((token?, rest.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_taken_out_and_the_rest_kept_as_sent() {
        let (token, rest) =
            take_token(b"revision=2&csrf_token=abc%2Bd&reason=a+b%26c&reason=%C3%A9").unwrap();
        assert_eq!(token, "abc+d");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&rest).unwrap();
        assert_eq!(
            pairs,
            [
                ("revision".into(), "2".into()),
                ("reason".into(), "a b&c".into()),
                ("reason".into(), "é".into()),
            ]
        );
    }

    fn key() -> CsrfKey {
        CsrfKey::new(&[7; 64], false)
    }

    #[test]
    fn every_render_masks_the_token_afresh_and_each_one_validates() {
        let key = key();
        let (a, b) = (key.token_for("visitor"), key.token_for("visitor"));
        assert_ne!(a, b, "two renders carried the same bytes");
        assert!(key.verify_for("visitor", &a));
        assert!(key.verify_for("visitor", &b));
    }

    #[test]
    fn a_masked_token_opens_only_its_own_session() {
        let key = key();
        let token = key.token_for("visitor");
        assert!(!key.verify_for("someone else", &token));
        assert!(!CsrfKey::new(&[8; 64], false).verify_for("visitor", &token));
    }

    #[test]
    fn the_bare_tag_and_a_tampered_token_are_refused() {
        let key = key();
        let bare = URL_SAFE_NO_PAD.encode(key.mac("visitor").finalize().into_bytes());
        assert!(
            !key.verify_for("visitor", &bare),
            "an unmasked tag must not pass"
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(key.token_for("visitor")).unwrap();
        bytes[40] ^= 1;
        assert!(!key.verify_for("visitor", &URL_SAFE_NO_PAD.encode(&bytes)));
        assert!(!key.verify_for("visitor", "not base64!"));
    }

    #[test]
    fn no_token_or_two_tokens_is_no_token() {
        assert_eq!(take_token(b"revision=2"), None);
        assert_eq!(take_token(b""), None);
        assert_eq!(take_token(b"csrf_token=a&csrf_token=a"), None);
        assert_eq!(
            take_token(b"csrf_token="),
            Some((String::new(), String::new()))
        );
    }
}
