//! Staff sessions on the server: the cookie holds a random id, the table holds its hash. A new
//! id at every login; the row is deleted at logout; idle and absolute timeouts.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::csrf::CsrfBinding;
use crate::auth::{is_token_shaped, random_token, sha256_hex};
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

pub const IDLE_TIMEOUT_SECONDS: i64 = 30 * 60;
pub const ABSOLUTE_TIMEOUT_SECONDS: i64 = 8 * 60 * 60;
/// Refresh `last_seen_at` at most this often, so reading pages does not mean a write each.
const TOUCH_EVERY_SECONDS: i64 = 60;

pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-staff"
    } else {
        "staff_session"
    }
}

/// A signed-in staff member; extracting it from a request without a live session answers
/// with a redirect to the login page.
pub struct StaffUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    session_hash: String,
}

impl StaffUser {
    /// The anti-forgery token for this session's forms.
    pub fn csrf_token(&self, state: &AppState) -> String {
        state.csrf.token_for(&self.csrf_id())
    }

    fn csrf_id(&self) -> String {
        format!("staff:{}", self.session_hash)
    }

    pub async fn logout(self, state: &AppState) -> Result<Cookie<'static>, AppError> {
        let mut conn = state.db.write.acquire().await?;
        db::staff::delete_session(&mut conn, &self.session_hash).await?;
        Ok(removal_cookie(state.secure_cookies))
    }
}

impl FromRequest for StaffUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<StaffUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cookie = state
            .as_ref()
            .and_then(|s| req.cookie(cookie_name(s.secure_cookies)))
            .map(|c| c.value().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let id = cookie
                .filter(|v| is_token_shaped(v))
                .ok_or(AppError::LoginRequired)?;
            let session_hash = sha256_hex(&id);
            let row = db::staff::find_session(&mut *state.db.read.acquire().await?, &session_hash)
                .await?
                .ok_or(AppError::LoginRequired)?;
            let now = db::now();
            if now - row.last_seen_at > IDLE_TIMEOUT_SECONDS
                || now - row.created_at > ABSOLUTE_TIMEOUT_SECONDS
            {
                db::staff::delete_session(&mut *state.db.write.acquire().await?, &session_hash)
                    .await?;
                return Err(AppError::LoginRequired);
            }
            if now - row.last_seen_at >= TOUCH_EVERY_SECONDS {
                db::staff::touch_session(&mut *state.db.write.acquire().await?, &session_hash, now)
                    .await?;
            }
            Ok(StaffUser {
                id: row.staff_id,
                name: row.name,
                email: row.email,
                session_hash,
            })
        })
    }
}

/// The forms of a staff session carry a token bound to that session, not to the visitor's
/// cookie: it changes at every sign-in and is useless once the session ends. A staff action
/// without a live session goes to the login page before its body is read.
impl CsrfBinding for StaffUser {
    fn resolve(
        req: &HttpRequest,
        _: &web::Data<AppState>,
    ) -> Pin<Box<dyn Future<Output = Result<Self, AppError>>>> {
        StaffUser::from_request(req, &mut Payload::None)
    }

    fn issued(&self, state: &AppState, _: &HttpRequest, token: &str) -> bool {
        state.csrf.verify_for(&self.csrf_id(), token)
    }
}

/// A fresh session for `staff_id`: a new random id, stored as its hash.
pub async fn start(state: &AppState, staff_id: i64) -> Result<Cookie<'static>, AppError> {
    let id = random_token(32);
    let mut conn = state.db.write.acquire().await?;
    db::staff::create_session(&mut conn, &sha256_hex(&id), staff_id, db::now()).await?;
    Ok(Cookie::build(cookie_name(state.secure_cookies), id)
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(ABSOLUTE_TIMEOUT_SECONDS))
        .finish())
}

fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(secure), "")
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}
