//! Staff sessions on the server: the cookie holds a random id, the table holds its hash. A new
//! id at every login; the row is deleted at logout; idle and absolute timeouts.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use sqlx::SqliteConnection;

use crate::auth::csrf::CsrfBinding;
use crate::auth::mfa::{MfaPolicy, Role};
use crate::auth::{is_token_shaped, random_token, sha256_hex};
use crate::client_addr::ClientAddr;
use crate::db;
use crate::db::audit::Actor;
use crate::error::AppError;
use crate::state::AppState;

pub const IDLE_TIMEOUT_SECONDS: i64 = 30 * 60;
pub const ABSOLUTE_TIMEOUT_SECONDS: i64 = 8 * 60 * 60;
/// Between a right password and the second factor (SPEC §9: 5 minutes).
pub const SECOND_FACTOR_TIMEOUT_SECONDS: i64 = 5 * 60;
pub const STAGE_PASSWORD: &str = "password";
pub const STAGE_SIGNED_IN: &str = "signed_in";
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
/// with a redirect to the login page, and, under `STAFF_MFA=required`, an account without a
/// second factor is sent to enrolment from every page but enrolment's own.
pub struct StaffUser {
    pub id: i64,
    /// The opaque id that names the account in paths.
    pub public_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub mfa_enabled: bool,
    /// The client address (the same one every limit and log line uses), for the audit log.
    pub client: String,
    session_hash: String,
}

/// The pages an account without a second factor may open under `STAFF_MFA=required`.
const OPEN_BEFORE_ENROLMENT: &[&str] = &[
    "/staff/account",
    "/staff/account/mfa",
    "/staff/account/password",
    "/staff/logout",
];

impl StaffUser {
    /// The anti-forgery token for this session's forms.
    pub fn csrf_token(&self, state: &AppState) -> String {
        state.csrf.token_for(&self.csrf_id())
    }

    fn csrf_id(&self) -> String {
        format!("staff:{}", self.session_hash)
    }

    /// The hash of this session's id (kept when the password changes).
    pub fn session_hash(&self) -> &str {
        &self.session_hash
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Who is acting, for the audit log.
    pub fn actor(&self) -> Actor {
        Actor {
            staff_id: Some(self.id),
            email: self.email.clone(),
            name: self.name.clone(),
            client: self.client.clone(),
        }
    }

    /// End this session, with its audit entry in the same transaction (SPEC §9: every staff
    /// action is audited, signing out too).
    pub async fn logout(self, state: &AppState) -> Result<Cookie<'static>, AppError> {
        let mut tx = state.db.begin().await?;
        db::staff::delete_session(&mut tx, &self.session_hash).await?;
        db::audit::record(
            &mut tx,
            &self.actor(),
            db::audit::Kind::Logout,
            None,
            None,
            db::now(),
        )
        .await?;
        tx.commit().await?;
        Ok(removal_cookie(state.secure_cookies))
    }
}

/// The session row behind the request's cookie, if it is live; an expired one is deleted.
async fn live_session(
    state: &AppState,
    cookie: Option<String>,
) -> Result<(String, db::staff::SessionRow), AppError> {
    let id = cookie
        .filter(|v| is_token_shaped(v))
        .ok_or(AppError::LoginRequired)?;
    let session_hash = sha256_hex(&id);
    let row = db::staff::find_session(&mut *state.db.read.acquire().await?, &session_hash)
        .await?
        .ok_or(AppError::LoginRequired)?;
    let now = db::now();
    let lifetime = if row.stage == STAGE_SIGNED_IN {
        ABSOLUTE_TIMEOUT_SECONDS
    } else {
        SECOND_FACTOR_TIMEOUT_SECONDS
    };
    if now - row.last_seen_at > IDLE_TIMEOUT_SECONDS || now - row.created_at > lifetime {
        db::staff::delete_session(&mut *state.db.write.acquire().await?, &session_hash).await?;
        return Err(AppError::LoginRequired);
    }
    if row.stage == STAGE_SIGNED_IN && now - row.last_seen_at >= TOUCH_EVERY_SECONDS {
        db::staff::touch_session(&mut *state.db.write.acquire().await?, &session_hash, now).await?;
    }
    Ok((session_hash, row))
}

fn session_cookie(req: &HttpRequest) -> (Option<web::Data<AppState>>, Option<String>) {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let cookie = state
        .as_ref()
        .and_then(|s| req.cookie(cookie_name(s.secure_cookies)))
        .map(|c| c.value().to_owned());
    (state, cookie)
}

impl FromRequest for StaffUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<StaffUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, cookie) = session_cookie(req);
        let path = req.path().to_owned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
            let (session_hash, row) = live_session(&state, cookie).await?;
            // A login waiting for its second factor opens no staff page.
            if row.stage != STAGE_SIGNED_IN {
                return Err(AppError::LoginRequired);
            }
            if state.staff_mfa == MfaPolicy::Required
                && !row.mfa_enabled
                && !OPEN_BEFORE_ENROLMENT.contains(&path.as_str())
            {
                return Err(AppError::SecondFactorRequired);
            }
            Ok(StaffUser {
                id: row.staff_id,
                public_id: row.public_id,
                name: row.name,
                email: row.email,
                role: Role::parse(&row.role).unwrap_or(Role::Reviewer),
                mfa_enabled: row.mfa_enabled,
                client: ClientAddr::of(&req, &state.trusted_proxies).to_string(),
                session_hash,
            })
        })
    }
}

/// An admin: a reviewer gets 403 (before a form's body is read).
pub struct Admin(pub StaffUser);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let staff = StaffUser::from_request(req, payload);
        Box::pin(async move {
            let staff = staff.await?;
            if !staff.is_admin() {
                return Err(AppError::AdminOnly);
            }
            Ok(Admin(staff))
        })
    }
}

impl CsrfBinding for Admin {
    fn resolve(
        req: &HttpRequest,
        _: &web::Data<AppState>,
    ) -> Pin<Box<dyn Future<Output = Result<Self, AppError>>>> {
        Admin::from_request(req, &mut Payload::None)
    }

    fn issued(&self, state: &AppState, req: &HttpRequest, token: &str) -> bool {
        self.0.issued(state, req, token)
    }
}

/// A login whose password was right and whose second factor is awaited: it lives on the server
/// (a session row at stage `password`) for [`SECOND_FACTOR_TIMEOUT_SECONDS`].
pub struct PendingLogin {
    pub staff_id: i64,
    pub email: String,
    pub name: String,
    pub session_hash: String,
}

impl PendingLogin {
    pub async fn from_request(req: &HttpRequest) -> Result<PendingLogin, AppError> {
        let (state, cookie) = session_cookie(req);
        let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
        let (session_hash, row) = live_session(&state, cookie).await?;
        if row.stage != STAGE_PASSWORD {
            return Err(AppError::LoginRequired);
        }
        Ok(PendingLogin {
            staff_id: row.staff_id,
            email: row.email,
            name: row.name,
            session_hash,
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

/// A fresh session for `staff_id` at `stage`, in the caller's transaction: a new random id,
/// stored as its hash.
pub async fn start_in(
    conn: &mut SqliteConnection,
    secure: bool,
    staff_id: i64,
    stage: &str,
    now: i64,
) -> Result<Cookie<'static>, AppError> {
    let id = random_token(32);
    db::staff::create_session(conn, &sha256_hex(&id), staff_id, stage, now).await?;
    let max_age = if stage == STAGE_SIGNED_IN {
        ABSOLUTE_TIMEOUT_SECONDS
    } else {
        SECOND_FACTOR_TIMEOUT_SECONDS
    };
    Ok(Cookie::build(cookie_name(secure), id)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(max_age))
        .finish())
}

pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(secure), "")
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    cookie.make_removal();
    cookie
}
