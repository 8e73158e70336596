//! `GET /register` and `POST /register`: the form, its errors, and a new submission.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::{is_token_shaped, random_token};
use crate::client_addr::ClientAddr;
use crate::db;
use crate::domain::logo::{Logo, LogoError};
use crate::domain::registration::{FieldErrors, LogoId, Registration, RegistrationInput};
use crate::domain::scopes::ScopeCatalogue;
use crate::error::AppError;
use crate::mail::messages::Receipt;
use crate::routes::form::{self, RegistrationForm, Upload};
use crate::routes::view::ConsentPreview;
use crate::state::AppState;

/// A logo that passed its checks and waits for the rest of the form.
pub struct HeldLogo {
    pub token: String,
}

#[derive(Template)]
#[template(path = "register/form.html", whitespace = "minimize")]
pub struct FormPage<'a> {
    pub title: &'a str,
    pub intro: &'a str,
    pub action: String,
    pub submit_label: &'a str,
    pub input: &'a RegistrationInput,
    pub errors: &'a FieldErrors,
    pub catalogue: &'a ScopeCatalogue,
    pub csrf_token: &'a str,
    pub held_logo: Option<HeldLogo>,
    /// When editing: the logo already stored, kept unless a new file is chosen.
    pub current_logo: Option<String>,
    pub preview: ConsentPreview,
}

impl FormPage<'_> {
    pub fn has_scope(&self, name: &str) -> bool {
        self.input.scopes.iter().any(|s| s == name)
    }
}

/// Render the form with the visitor's anti-forgery token, setting its cookie when new.
pub fn form_response(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    build: impl FnOnce(&str) -> Result<String, askama::Error>,
) -> Result<HttpResponse, AppError> {
    let csrf = state.csrf.session(req);
    let body = build(&csrf.token)?;
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    // The page holds a per-visitor token and maybe a held logo: never cache it.
    response.insert_header(("Cache-Control", "no-store"));
    if let Some(cookie) = csrf.new_cookie {
        response.cookie(cookie);
    }
    Ok(response.body(body))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let input = RegistrationInput {
        pkce: "supported".into(),
        ..Default::default()
    };
    form_response(&req, &state, StatusCode::OK, |csrf_token| {
        new_form_page(&state, &input, &FieldErrors::default(), csrf_token, None).render()
    })
}

fn new_form_page<'a>(
    state: &'a AppState,
    input: &'a RegistrationInput,
    errors: &'a FieldErrors,
    csrf_token: &'a str,
    held_logo: Option<HeldLogo>,
) -> FormPage<'a> {
    let logo_url = held_logo
        .as_ref()
        .map(|h| format!("/register/held-logo/{}.png", h.token));
    FormPage {
        title: "Register an OAuth client",
        intro: "Tell us about your application. Our team reviews every registration; you get the credentials by email once it is approved.",
        action: "/register".into(),
        submit_label: "Submit for review",
        input,
        errors,
        catalogue: &state.scopes,
        csrf_token,
        preview: ConsentPreview::from_input(input, logo_url, &state.scopes),
        held_logo,
        current_logo: None,
    }
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    check_rate_limit(&req, &state)?;
    let Submitted { form, logo, parsed } = read_submission(&req, &state, payload, None).await?;
    let registration = match parsed {
        Ok(registration) => registration,
        Err(errors) => {
            let held_logo = logo.hold(&state).await?;
            return form_response(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                |csrf_token| {
                    new_form_page(&state, &form.input, &errors, csrf_token, held_logo).render()
                },
            );
        }
    };

    let token = random_token(24);
    let status_url = state
        .public_url
        .join(&format!("submissions/{token}"))
        .expect("a path");
    let receipt = Receipt {
        client_name: registration.client_name.as_str().to_owned(),
        status_url: status_url.to_string(),
    }
    .render()?;
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if let Err(gone) = logo.store(&mut tx, now).await? {
        // Rolled back (dropped): nothing of this attempt is stored.
        drop(tx);
        let errors = gone.errors();
        return form_response(
            &req,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf_token| new_form_page(&state, &form.input, &errors, csrf_token, None).render(),
        );
    }
    let id = db::submissions::insert(&mut tx, &token, &registration, now).await?;
    state
        .outbox
        .queue(
            &mut tx,
            id,
            &receipt,
            &registration.contacts.as_strings(),
            now,
        )
        .await?;
    tx.commit().await?;
    state.outbox.wake_worker();
    tracing::info!(submission = id, "registration submitted");

    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/submissions/{token}")))
        .finish())
}

/// A registration form as sent: its fields, its logo and what parsing made of them.
pub struct Submitted {
    pub form: RegistrationForm,
    pub logo: LogoChoice,
    pub parsed: Result<Registration, FieldErrors>,
}

/// Read a registration form (new or edited), check its anti-forgery token and its logo, and
/// parse it. It holds one of the upload slots (`Uploads::slot`) until its logo
/// is checked.
pub async fn read_submission(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    current_logo: Option<LogoId>,
) -> Result<Submitted, AppError> {
    let upload = state.uploads.slot().await?;
    let mut form = form::read(req, payload, state.body_timeouts).await?;
    if !state.csrf.verify(req, &form.csrf_token) {
        return Err(AppError::Forbidden);
    }
    let logo = accept_logo(state, &mut form, current_logo).await?;
    drop(upload);
    let parsed = Registration::parse(&form.input, logo.outcome(), state.env, &state.scopes);
    Ok(Submitted { form, logo, parsed })
}

fn check_rate_limit(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let client = ClientAddr::of(req, &state.trusted_proxies);
    if state.register_limiter.allows(&client) {
        return Ok(());
    }
    tracing::warn!(client = %client, "registration rate limit reached");
    Err(AppError::TooManyRequests(
        "You have sent too many registrations from this address in the last minute. Wait a minute, then go back and send the form again; your browser keeps what you entered.".into(),
    ))
}

/// The logo for this attempt: a new upload (checked, not stored yet), a logo held from an
/// earlier attempt, or (when editing) the one already stored. The caller stores a new upload
/// with the submission (`LogoChoice::store`) or, if the form has other errors, holds it
/// (`LogoChoice::hold`): one write either way.
async fn accept_logo(
    state: &AppState,
    form: &mut RegistrationForm,
    current: Option<LogoId>,
) -> Result<LogoChoice, AppError> {
    // Moved out, not cloned: up to 1 MiB per request waiting for a logo slot.
    Ok(match std::mem::replace(&mut form.logo, Upload::None) {
        Upload::TooLarge => {
            LogoChoice::Refused("The logo must be at most 1 MiB; yours is larger than that.".into())
        }
        Upload::Bytes(bytes) => match state.uploads.check_logo(bytes).await? {
            Err(e) => LogoChoice::Refused(e.to_string()),
            Ok(logo) => LogoChoice::Fresh {
                id: LogoId(random_token(16)),
                logo,
            },
        },
        Upload::None if is_token_shaped(&form.logo_token) => {
            let mut conn = state.db.read.acquire().await?;
            match db::logos::find_held(&mut conn, &form.logo_token, db::now()).await? {
                Some(id) => LogoChoice::Held {
                    id,
                    token: form.logo_token.clone(),
                },
                None => LogoChoice::Refused(HeldLogoGone.to_string()),
            }
        }
        Upload::None => match current {
            Some(id) => LogoChoice::Current(id),
            None => LogoChoice::Refused(LogoError::Empty.to_string()),
        },
    })
}

/// The logo for this attempt, as `accept_logo` found it.
pub enum LogoChoice {
    /// No usable logo: the message to show on the form.
    Refused(String),
    /// A new upload that passed its checks, not stored yet: stored only once the form's fate
    /// is known (with the submission, or held for the next attempt).
    Fresh { id: LogoId, logo: Logo },
    /// A logo held from an earlier attempt of this form.
    Held { id: LogoId, token: String },
    /// When editing, no new file: the logo already stored stays.
    Current(LogoId),
}

impl LogoChoice {
    /// For the form's parse: the logo's id, or the message to show.
    pub fn outcome(&self) -> Result<LogoId, String> {
        match self {
            LogoChoice::Refused(message) => Err(message.clone()),
            LogoChoice::Fresh { id, .. }
            | LogoChoice::Held { id, .. }
            | LogoChoice::Current(id) => Ok(id.clone()),
        }
    }

    /// The form has errors: hold a new upload so the partner need not choose it again.
    pub async fn hold(self, state: &AppState) -> Result<Option<HeldLogo>, AppError> {
        match self {
            LogoChoice::Fresh { id, logo } => {
                let token = random_token(24);
                let mut conn = state.db.write.acquire().await?;
                db::logos::insert(
                    &mut conn,
                    &id,
                    Some(&token),
                    logo.png(),
                    logo.side(),
                    db::now(),
                )
                .await?;
                Ok(Some(HeldLogo { token }))
            }
            LogoChoice::Held { token, .. } => Ok(Some(HeldLogo { token })),
            LogoChoice::Refused(_) | LogoChoice::Current(_) => Ok(None),
        }
    }

    /// The form is accepted: store a new upload, or claim the held one, in `tx`. A held logo
    /// was found when the form was read, but it may have expired (and been swept) since, while
    /// the form waited for its turn to write: then the partner is asked for the file again.
    pub async fn store(
        &self,
        tx: &mut sqlx::SqliteConnection,
        now: i64,
    ) -> Result<Result<(), HeldLogoGone>, AppError> {
        match self {
            LogoChoice::Fresh { id, logo } => {
                db::logos::insert(tx, id, None, logo.png(), logo.side(), now).await?
            }
            LogoChoice::Held { id, .. } => {
                if !db::logos::claim(tx, id, now).await? {
                    return Ok(Err(HeldLogoGone));
                }
            }
            LogoChoice::Refused(_) | LogoChoice::Current(_) => {}
        }
        Ok(Ok(()))
    }
}

/// The logo held from an earlier attempt has expired: the form is shown again (422) with this
/// on its logo field, whether the expiry was found when the form was read or when it was stored.
#[derive(Debug, thiserror::Error)]
#[error("The logo you uploaded earlier has expired; choose it again.")]
pub struct HeldLogoGone;

impl HeldLogoGone {
    /// The form's errors: only the logo's, as every other field passed.
    pub fn errors(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        errors.add("logo", self.to_string());
        errors
    }
}
