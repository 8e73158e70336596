//! Login, logout and the first-run setup of the first staff account.

use std::future::{Future, ready};
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::accounts::{NewStaffError, create_first_staff};
use crate::auth::csrf::{CsrfBinding, CsrfForm, TokenOnly, Visitor};
use crate::auth::mfa::MfaPolicy;
use crate::auth::password::HashError;
use crate::auth::session::{self, StaffUser};
use crate::client_addr::ClientAddr;
use crate::db;
use crate::db::audit::{Actor, Kind};
use crate::error::{AppError, Busy, Conflict, Limited};
use crate::routes::staff::see_other;
use crate::state::AppState;
use crate::web::page::respond_with_form;

/// The login throttle: this many failures for one email within the window mean 429.
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage<'a> {
    csrf_token: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        LoginPage {
            csrf_token,
            email: "",
            error: None,
        }
        .render()
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// A sign-in attempt: it counts against `LOGIN_RATE_LIMIT` before its body is read (so a
/// client over the limit gets 429 whatever it sent), and its token is the visitor's, as on
/// every form shown before a session exists.
pub struct SignIn {
    client: ClientAddr,
}

impl CsrfBinding for SignIn {
    fn resolve(
        req: &HttpRequest,
        state: &web::Data<AppState>,
    ) -> Pin<Box<dyn Future<Output = Result<Self, AppError>>>> {
        let client = ClientAddr::of(req, &state.trusted_proxies);
        Box::pin(ready(
            check_login_rate(state, &client).map(|()| SignIn { client }),
        ))
    }

    fn issued(&self, state: &AppState, req: &HttpRequest, token: &str) -> bool {
        Visitor.issued(state, req, token)
    }
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm {
        sender: SignIn { client },
        form,
    }: CsrfForm<LoginForm, SignIn>,
) -> Result<HttpResponse, AppError> {
    let email = form.email.trim().to_owned();
    let refuse = |status: StatusCode, error: &str| {
        respond_with_form(&req, &state, status, |csrf_token| {
            LoginPage {
                csrf_token,
                email: &email,
                error: Some(error),
            }
            .render()
        })
    };

    // The attempt counts as a failure from before its check: counted and recorded in one
    // write transaction, so of any number of parallel guesses only the window's 5 get checked.
    let now = db::now();
    let attempt = {
        let mut tx = state.db.begin().await?;
        let earlier =
            db::staff::recent_attempts(&mut tx, &email, now - FAILURE_WINDOW_SECONDS).await?;
        if earlier >= MAX_FAILURES {
            drop(tx);
            tracing::warn!(client = %client, "staff sign-in refused: too many failures for the email");
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed sign-ins for this email. Wait 15 minutes, then try again.",
            );
        }
        let attempt = db::staff::record_attempt(&mut tx, &email, now).await?;
        tx.commit().await?;
        attempt
    };
    let account = {
        let mut conn = state.db.read.acquire().await?;
        db::staff::find_by_email(&mut conn, &email).await?
    };
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let verified = match state
        .hasher
        .verify(SecretString::from(form.password), stored)
        .await
    {
        Ok(verified) => verified,
        Err(e) => {
            // Not checked, so not a failure.
            forget_attempt(&state, attempt).await?;
            return Err(match e {
                HashError::Busy => {
                    tracing::warn!(client = %client, "staff sign-in refused: hashing pool full");
                    busy()
                }
                HashError::Failed(e) => AppError::Internal(e),
            });
        }
    };
    let account = match account {
        Some(account) if verified && account.disabled_at.is_none() => account,
        account => {
            tracing::warn!(client = %client, "failed staff sign-in");
            let detail = account
                .as_ref()
                .filter(|a| verified && a.disabled_at.is_some())
                .map(|_| "the account is disabled");
            let by = Actor {
                staff_id: account.as_ref().map(|a| a.id),
                email: email.clone(),
                name: account.map(|a| a.name).unwrap_or_default(),
                client: client.to_string(),
            };
            // The throttle row was committed before the check; the audit entry is known only now.
            let mut tx = state.db.begin().await?;
            db::audit::record(&mut tx, &by, Kind::LoginFailed, None, detail, db::now()).await?;
            tx.commit().await?;
            return refuse(
                StatusCode::UNAUTHORIZED,
                "The email or password is not right.",
            );
        }
    };
    // The password was right: a full session, or with a second factor a session that waits
    // for it (and opens no page), in one transaction with the attempt taken back and the audit.
    let mut tx = state.db.begin().await?;
    db::staff::forget_attempt(&mut tx, attempt).await?;
    let (stage, next) = if account.mfa_enabled {
        (session::STAGE_PASSWORD, "/staff/login/mfa")
    } else if state.staff_mfa == MfaPolicy::Required {
        (session::STAGE_SIGNED_IN, "/staff/account")
    } else {
        (session::STAGE_SIGNED_IN, "/staff/submissions")
    };
    let cookie = session::start_in(&mut tx, state.secure_cookies, account.id, stage, now).await?;
    if stage == session::STAGE_SIGNED_IN {
        let by = Actor {
            staff_id: Some(account.id),
            email: account.email.clone(),
            name: account.name.clone(),
            client: client.to_string(),
        };
        db::accounts::set_last_login(&mut tx, account.id, now).await?;
        db::audit::record(&mut tx, &by, Kind::Login, None, None, now).await?;
    }
    tx.commit().await?;
    tracing::info!(client = %client, staff = account.id, "staff password accepted");
    let mut response = see_other(next);
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

/// `LOGIN_RATE_LIMIT`: every step of a staff login counts for the client's address.
pub fn check_login_rate(state: &AppState, client: &ClientAddr) -> Result<(), AppError> {
    if state.login_limiter.allows(client) {
        return Ok(());
    }
    tracing::warn!(client = %client, "staff sign-in rate limit reached");
    Err(Limited::SignIns.into())
}

async fn forget_attempt(state: &AppState, attempt: i64) -> Result<(), AppError> {
    let mut conn = state.db.write.acquire().await?;
    db::staff::forget_attempt(&mut conn, attempt).await?;
    Ok(())
}

fn busy() -> AppError {
    Busy::SignIns.into()
}

pub async fn logout(
    state: web::Data<AppState>,
    CsrfForm { sender: staff, .. }: CsrfForm<TokenOnly, StaffUser>,
) -> Result<HttpResponse, AppError> {
    let cookie = staff.logout(&state).await?;
    let mut response = see_other("/staff/login");
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

#[derive(Template)]
#[template(path = "staff/setup.html")]
struct SetupPage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    name: &'a str,
    email: &'a str,
    errors: Vec<String>,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

/// The setup link works only while no staff account exists.
async fn check_setup_token(state: &AppState, token: &str) -> Result<(), AppError> {
    let mut conn = state.db.read.acquire().await?;
    let matches = state.setup_token_hash.as_deref().is_some_and(|expected| {
        use subtle::ConstantTimeEq;
        bool::from(
            expected
                .as_bytes()
                .ct_eq(crate::auth::sha256_hex(token).as_bytes()),
        )
    });
    if !matches || db::staff::count(&mut conn).await? > 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn setup_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    check_setup_token(&state, &query.token).await?;
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        SetupPage {
            csrf_token,
            token: &query.token,
            name: "",
            email: "",
            errors: vec![],
        }
        .render()
    })
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm { form, .. }: CsrfForm<SetupForm>,
) -> Result<HttpResponse, AppError> {
    check_setup_token(&state, &form.token).await?;
    let password = SecretString::from(form.password.clone());
    let id = match create_first_staff(
        &state.hasher,
        &state.db.write,
        &form.name,
        &form.email,
        password,
    )
    .await
    {
        Ok(id) => id,
        Err(NewStaffError::Invalid(errors)) => {
            return respond_with_form(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                |csrf_token| {
                    SetupPage {
                        csrf_token,
                        token: &form.token,
                        name: &form.name,
                        email: &form.email,
                        errors,
                    }
                    .render()
                },
            );
        }
        Err(e @ NewStaffError::Taken(_)) => return Err(Conflict::Account(e).into()),
        Err(NewStaffError::Busy) => return Err(busy()),
        // Another setup won the race: the link works only while no account exists.
        Err(NewStaffError::NotFirst) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    tracing::info!(
        staff = id,
        "first staff account created through the setup link"
    );
    let now = db::now();
    let by = Actor {
        staff_id: Some(id),
        email: form.email.trim().to_owned(),
        name: form.name.trim().to_owned(),
        client: ClientAddr::of(&req, &state.trusted_proxies).to_string(),
    };
    let mut tx = state.db.begin().await?;
    let cookie = session::start_in(
        &mut tx,
        state.secure_cookies,
        id,
        session::STAGE_SIGNED_IN,
        now,
    )
    .await?;
    db::accounts::set_last_login(&mut tx, id, now).await?;
    let detail = "the first account, made through the setup link";
    db::audit::record(&mut tx, &by, Kind::Login, None, Some(detail), now).await?;
    tx.commit().await?;
    let mut response = see_other("/staff/submissions");
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}
