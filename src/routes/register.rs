//! `GET /register` and `POST /register`: the form, its errors, and a new submission. The steps
//! a form goes through, shared with edits, are in `routes::pipeline`.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::random_token;
use crate::client_addr::ClientAddr;
use crate::db;
use crate::domain::registration::{FieldErrors, RegistrationInput};
use crate::domain::scopes::ScopeCatalogue;
use crate::error::{AppError, Limited};
use crate::mail::messages::Receipt;
use crate::routes::pipeline::{self, HeldLogo, Submitted, read_submission};
use crate::state::AppState;
use crate::views::ConsentPreview;
use crate::web::page::{Caching, respond, respond_with_form};

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
    /// A proposed change to a live client: the client type is shown but cannot change.
    pub client_type_locked: bool,
}

impl FormPage<'_> {
    pub fn has_scope(&self, name: &str) -> bool {
        self.input.scopes.iter().any(|s| s == name)
    }
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let input = RegistrationInput {
        pkce: "supported".into(),
        ..Default::default()
    };
    let csrf = state.csrf.session(&req);
    let body = state.blank_form.page(&csrf.token, |token| {
        new_form_page(&state, &input, &FieldErrors::default(), token, None).render()
    })?;
    Ok(respond(
        StatusCode::OK,
        body,
        Caching::NoStore,
        csrf.new_cookie,
    ))
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
        client_type_locked: false,
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
            return respond_with_form(
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
    let refuse = |errors: FieldErrors| {
        respond_with_form(
            &req,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf_token| new_form_page(&state, &form.input, &errors, csrf_token, None).render(),
        )
    };
    let stored = pipeline::store(&state, &logo, async |tx, now| {
        let id = db::submissions::insert(tx, &token, &registration, now).await?;
        let contacts = registration.contacts.as_strings();
        state.outbox.queue(tx, id, &receipt, &contacts, now).await?;
        Ok(id)
    })
    .await?;
    let id = match stored {
        Ok(id) => id,
        Err(errors) => return refuse(errors),
    };
    state.outbox.wake_worker();
    tracing::info!(submission = id, "registration submitted");

    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/submissions/{token}")))
        .finish())
}

/// `REGISTER_RATE_LIMIT`: registrations and lost-link requests share it (SPEC §7).
pub(crate) fn check_rate_limit(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let client = ClientAddr::of(req, &state.trusted_proxies);
    if state.register_limiter.allows(&client) {
        return Ok(());
    }
    tracing::warn!(client = %client, "registration rate limit reached");
    Err(Limited::Registrations.into())
}
