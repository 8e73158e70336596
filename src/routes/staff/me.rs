//! One's own account: the login's second step, enrolling a second factor, changing the password.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::csrf::{CsrfBinding, CsrfForm, Visitor};
use crate::auth::mfa::{self, Enrolment};
use crate::auth::password::{HashError, NewPassword};
use crate::auth::session::{self, PendingLogin, StaffUser};
use crate::client_addr::ClientAddr;
use crate::db;
use crate::db::audit::{Actor, Kind};
use crate::error::{AppError, Busy, render};
use crate::routes::staff::account::{FAILURE_WINDOW_SECONDS, MAX_FAILURES, check_login_rate};
use crate::routes::staff::{StaffNav, see_other};
use crate::state::AppState;
use crate::web::page::respond_with_form;

/// The issuer an authenticator app shows beside the code.
const ISSUER: &str = "Partner Registry";

#[derive(Template)]
#[template(path = "staff/login_mfa.html")]
struct SecondStepPage<'a> {
    csrf_token: &'a str,
    error: Option<&'a str>,
}

pub async fn second_step_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    PendingLogin::from_request(&req).await?;
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        SecondStepPage {
            csrf_token,
            error: None,
        }
        .render()
    })
}

/// The second step of a login: it counts against `LOGIN_RATE_LIMIT` and needs a login waiting
/// for its second factor, both before its body is read; its token is the visitor's.
pub struct SecondStep {
    client: ClientAddr,
    pending: PendingLogin,
}

impl CsrfBinding for SecondStep {
    fn resolve(
        req: &HttpRequest,
        state: &web::Data<AppState>,
    ) -> Pin<Box<dyn Future<Output = Result<Self, AppError>>>> {
        let client = ClientAddr::of(req, &state.trusted_proxies);
        let allowed = check_login_rate(state, &client);
        let req = req.clone();
        Box::pin(async move {
            allowed?;
            let pending = PendingLogin::from_request(&req).await?;
            Ok(SecondStep { client, pending })
        })
    }

    fn issued(&self, state: &AppState, req: &HttpRequest, token: &str) -> bool {
        Visitor.issued(state, req, token)
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// How a second factor was shown.
enum Proof {
    Code,
    RecoveryCode,
}

pub async fn second_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm {
        sender: SecondStep { client, pending },
        form,
    }: CsrfForm<CodeForm, SecondStep>,
) -> Result<HttpResponse, AppError> {
    let refuse = |status: StatusCode, error: &str| {
        respond_with_form(&req, &state, status, |csrf_token| {
            SecondStepPage {
                csrf_token,
                error: Some(error),
            }
            .render()
        })
    };
    let by = Actor {
        staff_id: Some(pending.staff_id),
        email: pending.email.clone(),
        name: pending.name.clone(),
        client: client.to_string(),
    };
    let now = db::now();
    // Checked under the write lock: parallel guesses are counted one after the other, and a
    // code or recovery code is taken by exactly one of them.
    let mut tx = state.db.begin().await?;
    let earlier =
        db::staff::recent_attempts(&mut tx, &pending.email, now - FAILURE_WINDOW_SECONDS).await?;
    if earlier >= MAX_FAILURES {
        drop(tx);
        tracing::warn!(client = %client, "staff second factor refused: too many failures");
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins for this account. Wait 15 minutes, then try again.",
        );
    }
    let proof = match db::mfa::find(&mut tx, pending.staff_id).await? {
        Some(totp) if totp.enabled => {
            let key = state
                .totp_seal
                .open(pending.staff_id, &totp.sealed_key)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a TOTP key does not open")))?;
            match mfa::matching_step(&key, &form.code, now) {
                Some(step) => db::mfa::accept_step(&mut tx, pending.staff_id, step)
                    .await?
                    .then_some(Proof::Code),
                None => match mfa::recovery_code_hash(&form.code) {
                    Some(hash) => db::mfa::use_recovery_code(&mut tx, pending.staff_id, &hash, now)
                        .await?
                        .then_some(Proof::RecoveryCode),
                    None => None,
                },
            }
        }
        // The factor was cleared since the password step: start again.
        _ => {
            db::staff::delete_session(&mut tx, &pending.session_hash).await?;
            tx.commit().await?;
            return Err(AppError::LoginRequired);
        }
    };
    let Some(proof) = proof else {
        db::staff::record_attempt(&mut tx, &pending.email, now).await?;
        db::audit::record(&mut tx, &by, Kind::MfaFailed, None, None, now).await?;
        tx.commit().await?;
        tracing::warn!(client = %client, "failed staff second factor");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "That code is not right, or it was used already. Enter the current code from your authenticator app, or an unused recovery code.",
        );
    };
    // A new session id for the full login; the waiting one is gone.
    db::staff::delete_session(&mut tx, &pending.session_hash).await?;
    let cookie = session::start_in(
        &mut tx,
        state.secure_cookies,
        pending.staff_id,
        session::STAGE_SIGNED_IN,
        now,
    )
    .await?;
    db::accounts::set_last_login(&mut tx, pending.staff_id, now).await?;
    let detail = match proof {
        Proof::Code => "with an authenticator code",
        Proof::RecoveryCode => "with a recovery code",
    };
    if let Proof::RecoveryCode = proof {
        db::audit::record(&mut tx, &by, Kind::RecoveryCodeUsed, None, None, now).await?;
    }
    db::audit::record(&mut tx, &by, Kind::Login, None, Some(detail), now).await?;
    tx.commit().await?;
    tracing::info!(client = %client, staff = pending.staff_id, "staff signed in");
    let mut response = see_other("/staff/submissions");
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}

#[derive(Template)]
#[template(path = "staff/account.html")]
struct AccountPage {
    staff: StaffNav,
    csrf_token: String,
    email: String,
    mfa_enabled: bool,
    required: bool,
    enrolment: Option<Enrolment>,
    /// Shown once, right after the second factor is turned on.
    recovery_codes: Vec<String>,
    unused_recovery_codes: i64,
    mfa_error: Option<String>,
    password_error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    done: String,
}

async fn account_page(state: &AppState, staff: &StaffUser) -> Result<AccountPage, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let totp = db::mfa::find(&mut conn, staff.id).await?;
    let enabled = totp.as_ref().is_some_and(|t| t.enabled);
    let enrolment = if enabled {
        None
    } else {
        // The key waiting for its first code is kept, so a reload shows the same one.
        let key = match totp.and_then(|t| state.totp_seal.open(staff.id, &t.sealed_key)) {
            Some(key) => key,
            None => {
                let key = mfa::new_key();
                let sealed = state.totp_seal.seal(staff.id, &key);
                db::mfa::set_pending_key(&mut *state.db.write.acquire().await?, staff.id, &sealed)
                    .await?;
                key
            }
        };
        Some(Enrolment::new(&key, ISSUER, &staff.email))
    };
    let unused_recovery_codes = db::mfa::unused_recovery_codes(&mut conn, staff.id).await?;
    Ok(AccountPage {
        staff: StaffNav::new(staff, state),
        csrf_token: staff.csrf_token(state),
        email: staff.email.clone(),
        mfa_enabled: enabled,
        required: state.staff_mfa == mfa::MfaPolicy::Required,
        enrolment,
        recovery_codes: vec![],
        unused_recovery_codes,
        mfa_error: None,
        password_error: None,
        notice: None,
    })
}

pub async fn show(
    staff: StaffUser,
    state: web::Data<AppState>,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, AppError> {
    let mut page = account_page(&state, &staff).await?;
    page.notice = match query.done.as_str() {
        "password" => Some("Your password is changed. Your other sessions have ended."),
        _ => None,
    };
    render(StatusCode::OK, &page)
}

/// Confirm enrolment with a first code: the second factor is on, and the recovery codes are
/// shown this once.
pub async fn enable_mfa(
    state: web::Data<AppState>,
    CsrfForm {
        sender: staff,
        form,
    }: CsrfForm<CodeForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let totp = db::mfa::find(&mut tx, staff.id).await?;
    let key = match &totp {
        Some(t) if t.enabled => {
            drop(tx);
            return Ok(see_other("/staff/account"));
        }
        Some(t) => state.totp_seal.open(staff.id, &t.sealed_key),
        None => None,
    };
    let step = key.and_then(|key| mfa::matching_step(&key, &form.code, now));
    let accepted = match step {
        Some(step) => db::mfa::accept_step(&mut tx, staff.id, step).await?,
        None => false,
    };
    if !accepted {
        drop(tx);
        let mut page = account_page(&state, &staff).await?;
        page.mfa_error = Some(
            "That code is not right. Enter the 6-digit code your authenticator app shows now."
                .into(),
        );
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let codes = mfa::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| mfa::recovery_code_hash(c))
        .collect();
    db::mfa::enable(&mut tx, staff.id, &hashes, now).await?;
    db::audit::record(&mut tx, &staff.actor(), Kind::MfaEnabled, None, None, now).await?;
    tx.commit().await?;
    let mut page = account_page(&state, &staff).await?;
    page.recovery_codes = codes;
    page.mfa_enabled = true;
    page.staff = StaffNav::new(&staff, &state);
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// Change one's own password: the current one first; every other session of the account ends.
pub async fn change_password(
    state: web::Data<AppState>,
    CsrfForm {
        sender: staff,
        form,
    }: CsrfForm<PasswordForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    let refuse = |message: String| async {
        let mut page = account_page(&state, &staff).await?;
        page.password_error = Some(message);
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let stored = {
        let mut conn = state.db.read.acquire().await?;
        db::accounts::password_hash(&mut conn, staff.id).await?
    };
    let busy = |e: HashError| match e {
        HashError::Busy => Busy::SignIns.into(),
        HashError::Failed(e) => AppError::Internal(e),
    };
    let current = SecretString::from(form.current_password);
    if !state
        .hasher
        .verify(current, Some(stored))
        .await
        .map_err(busy)?
    {
        return refuse("Your current password is not right.".into()).await;
    }
    let new = match NewPassword::parse(SecretString::from(form.new_password)) {
        Ok(new) => new,
        Err(message) => return refuse(message).await,
    };
    let hash = state.hasher.hash(new).await.map_err(busy)?;
    let now = db::now();
    let mut tx = state.db.begin().await?;
    db::accounts::set_password(&mut tx, staff.id, &hash).await?;
    db::staff::delete_sessions_of(&mut tx, staff.id, Some(staff.session_hash())).await?;
    db::audit::record(
        &mut tx,
        &staff.actor(),
        Kind::PasswordChanged,
        None,
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/account?done=password"))
}
