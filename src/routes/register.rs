//! `GET /register` and `POST /register`: the form, its errors, and a new submission.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::{is_token_shaped, random_token};
use crate::db;
use crate::domain::logo::{self, Logo, LogoError};
use crate::domain::registration::{FieldErrors, LogoId, Registration, RegistrationInput};
use crate::domain::scopes::ScopeCatalogue;
use crate::error::AppError;
use crate::mail;
use crate::mail::messages::Receipt;
use crate::routes::form::{self, RegistrationForm, Upload};
use crate::routes::view::ConsentPreview;
use crate::startup::AppState;

/// A logo that passed its checks and waits for the rest of the form.
pub struct HeldLogo {
    pub token: String,
}

#[derive(Template)]
#[template(path = "register/form.html")]
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
    let (head, tail) = blank_form(&state)?;
    form_response(&req, &state, StatusCode::OK, |csrf_token| {
        // The token is URL-safe base64: nothing in it needs escaping.
        Ok([head, csrf_token, tail].concat())
    })
}

/// The empty form depends only on the catalogue and the visitor's token, and rendering it was
/// half of `GET /register`'s time: render it once, split around the token, and only join the
/// halves per request.
fn blank_form(state: &AppState) -> Result<(&str, &str), AppError> {
    const MARK: &str = "\u{0}csrf\u{0}";
    if let Some((head, tail)) = state.blank_form.get() {
        return Ok((head, tail));
    }
    let input = RegistrationInput {
        pkce: "supported".into(),
        ..Default::default()
    };
    let page = new_form_page(state, &input, &FieldErrors::default(), MARK, None).render()?;
    let halves = page
        .split_once(MARK)
        .map(|(head, tail)| (head.to_owned(), tail.to_owned()))
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the form lost its token")))?;
    // Two first visitors may both render it; either copy is the same.
    let (head, tail) = state.blank_form.get_or_init(|| halves);
    Ok((head, tail))
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
    let form = form::read(&req, payload, state.body_timeout).await?;
    if !state.csrf.verify(&req, &form.csrf_token) {
        return Err(AppError::Forbidden);
    }
    let (logo, held_logo) = accept_logo(&state, &form, None).await?;
    let registration = match Registration::parse(&form.input, logo, state.env, &state.scopes) {
        Ok(registration) => registration,
        Err(errors) => {
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
    db::logos::claim(&mut tx, &registration.logo).await?;
    let id = db::submissions::insert(&mut tx, &token, &registration, now).await?;
    mail::queue(
        &mut tx,
        id,
        &receipt,
        &registration.contacts.as_strings(),
        &state.public_url,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(submission = id, "registration submitted");

    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/submissions/{token}")))
        .finish())
}

fn check_rate_limit(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    let (Some(limiter), Some(peer)) = (&state.register_limiter, req.peer_addr()) else {
        return Ok(());
    };
    // The peer address only: forwarding headers are trivially forged.
    limiter.check_key(&peer.ip()).map_err(|_| {
        AppError::TooManyRequests(
            "You have sent too many registrations from this address in the last minute. Wait a minute, then go back and send the form again; your browser keeps what you entered.".into(),
        )
    })
}

/// The logo for this attempt: a new upload (checked, then held), a logo held from an earlier
/// attempt, or (when editing) the one already stored. Returns the outcome for the form's parse
/// and the held logo to show back if the form has other errors.
pub async fn accept_logo(
    state: &AppState,
    form: &RegistrationForm,
    current: Option<LogoId>,
) -> Result<(Result<LogoId, String>, Option<HeldLogo>), AppError> {
    match &form.logo {
        Upload::TooLarge => Ok((
            Err("The logo must be at most 1 MiB; yours is larger than that.".into()),
            None,
        )),
        Upload::Bytes(bytes) => match check_logo(state, bytes.clone()).await? {
            Err(e) => Ok((Err(e.to_string()), None)),
            Ok(logo) => {
                let id = random_token(16);
                let token = random_token(24);
                let mut conn = state.db.acquire().await?;
                db::logos::hold(&mut conn, &id, &token, logo.png(), logo.side(), db::now()).await?;
                Ok((Ok(LogoId(id)), Some(HeldLogo { token })))
            }
        },
        Upload::None if is_token_shaped(&form.logo_token) => {
            let mut conn = state.db.acquire().await?;
            match db::logos::find_held(&mut conn, &form.logo_token, db::now()).await? {
                Some(id) => Ok((
                    Ok(id),
                    Some(HeldLogo {
                        token: form.logo_token.clone(),
                    }),
                )),
                None => Ok((
                    Err("The logo you uploaded earlier has expired; choose it again.".into()),
                    None,
                )),
            }
        }
        Upload::None => match current {
            Some(id) => Ok((Ok(id), None)),
            None => Ok((Err(LogoError::Empty.to_string()), None)),
        },
    }
}

/// Decode off the async threads, one per core at a time.
async fn check_logo(state: &AppState, bytes: Vec<u8>) -> Result<Result<Logo, LogoError>, AppError> {
    // The header says how big the pixels will be; reserve that much of the decode memory
    // budget first, so a burst of large logos waits its turn instead of adding up. A header
    // that does not parse is refused by `parse` at once, without decoding.
    let megabytes = match logo::inspect(&bytes) {
        Ok((_, width, height)) => decode_megabytes(width, height),
        Err(_) => 1,
    };
    let slots = &state.logo_slots;
    let _memory = slots
        .memory
        .acquire_many(megabytes)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let _core = slots
        .cores
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    web::block(move || Logo::parse(&bytes))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("logo check thread failed: {e}")))
}

/// Memory a decode may need, in MiB: up to 8 bytes a pixel (16-bit RGBA, or the decoded source
/// beside its RGBA8 copy), capped at the whole budget so the largest logo still runs, alone.
fn decode_megabytes(width: u32, height: u32) -> u32 {
    let bytes = u64::from(width) * u64::from(height) * 8;
    (bytes.div_ceil(1024 * 1024) as u32).clamp(1, crate::startup::LOGO_DECODE_BUDGET_MIB)
}

#[cfg(test)]
mod tests {
    use super::decode_megabytes;

    #[test]
    fn the_decode_reservation_grows_with_the_pixels_and_the_largest_logo_runs_alone() {
        assert_eq!(decode_megabytes(128, 128), 1);
        assert_eq!(decode_megabytes(512, 512), 2);
        assert_eq!(decode_megabytes(2048, 2048), 32);
        assert_eq!(decode_megabytes(4096, 4096), 128);
        assert_eq!(
            decode_megabytes(60_000, 60_000),
            128,
            "capped: refused by parse anyway"
        );
    }
}
