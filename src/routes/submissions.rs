//! `GET /submissions/{token}`: the partner's status page, and the edit loop after a reviewer
//! asked for changes.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::Token;
use crate::db;
use crate::db::submissions::{EventRow, SubmissionRow};
use crate::domain::registration::{FieldErrors, RegistrationInput};
use crate::domain::revision::Revision;
use crate::domain::status::Status;
use crate::error::{AppError, Conflict, Gone};
// The `utc` filter of the templates below.
use crate::routes::pipeline::{self, HeldLogo, Submitted, read_submission};
use crate::routes::register::FormPage;
use crate::state::AppState;
use crate::views::ConsentPreview;
use crate::views::filters;
use crate::web::page::respond_with_form;

#[derive(Template)]
#[template(path = "submissions/status.html")]
struct StatusPage {
    /// The token this page was opened with: the database has only its hash.
    token: String,
    submission: SubmissionRow,
    status: Status,
    revision: Revision,
    events: Vec<EventRow>,
    preview: ConsentPreview,
    /// An active confidential client: the partner may start an overlapping rotation.
    can_rotate: bool,
    csrf_token: String,
}

/// `POST /submissions/{token}/rotate-secret`: an overlapping rotation started by the partner,
/// once a day; the new link goes to the contacts by email, never onto the page.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    token: web::Path<Token>,
    _: crate::auth::csrf::CsrfForm<crate::auth::csrf::TokenOnly>,
) -> Result<HttpResponse, AppError> {
    use crate::review::{self, PartnerRotationError, ReviewContext};
    let ctx = ReviewContext {
        public_url: &state.public_url,
        env: state.env,
        scopes: &state.scopes,
        outbox: &state.outbox,
        clock: &state.clock,
    };
    match review::partner_rotate(&state.db.write, &token, &ctx).await {
        Ok(()) => {
            state.outbox.wake_worker();
            state.feed_wake.notify_one();
            Ok(HttpResponse::SeeOther()
                .insert_header((LOCATION, format!("/submissions/{}", &*token)))
                .finish())
        }
        Err(PartnerRotationError::NotFound) => Err(AppError::NotFound),
        Err(PartnerRotationError::NoSecret) => Err(Conflict::NoSecretToRotate.into()),
        Err(PartnerRotationError::Suspended) => Err(Conflict::SuspendedNoRotation.into()),
        Err(PartnerRotationError::Revoked) => Err(Gone::RevokedNoSecret.into()),
        Err(PartnerRotationError::TooSoon) => Err(crate::error::Limited::PartnerRotation.into()),
        Err(PartnerRotationError::Database(e)) => Err(e.into()),
        Err(PartnerRotationError::Review(e)) => Err(AppError::Internal(e.into())),
    }
}

pub async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<Token>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let submission = db::submissions::find_by_token(&mut conn, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    let revision = db::submissions::current_revision(&mut conn, &submission).await?;
    let events = db::submissions::events(&mut conn, submission.id).await?;
    let preview = ConsentPreview::from_revision(&revision, &state.scopes);
    let can_rotate = crate::review::can_rotate(submission.status, &revision);
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        StatusPage {
            token: token.to_string(),
            status: submission.status,
            submission,
            revision,
            events,
            preview,
            can_rotate,
            csrf_token: csrf_token.to_owned(),
        }
        .render()
    })
}

/// The submission behind a status token, if it is waiting for the partner's changes.
async fn awaiting_changes(
    state: &AppState,
    token: &str,
) -> Result<(SubmissionRow, Revision), AppError> {
    let mut conn = state.db.read.acquire().await?;
    let submission = db::submissions::find_by_token(&mut conn, token)
        .await?
        .ok_or(AppError::NotFound)?;
    if submission.status == Status::Revoked {
        return Err(Gone::Revoked.into());
    }
    if submission.status != Status::ChangesRequested {
        return Err(Conflict::NotEditable(submission.status).into());
    }
    let revision = db::submissions::current_revision(&mut conn, &submission).await?;
    Ok((submission, revision))
}

fn edit_page<'a>(
    state: &'a AppState,
    token: &str,
    revision: &Revision,
    input: &'a RegistrationInput,
    errors: &'a FieldErrors,
    csrf_token: &'a str,
    held_logo: Option<HeldLogo>,
) -> FormPage<'a> {
    let current_logo = format!("/logos/{}.png", revision.logo.0);
    let logo_url = match &held_logo {
        Some(held) => format!("/register/held-logo/{}.png", held.token),
        None => current_logo.clone(),
    };
    FormPage {
        title: "Edit your registration",
        intro: "Make the changes the reviewer asked for and send the registration again. Your earlier version is kept.",
        action: format!("/submissions/{token}/edit"),
        submit_label: "Resubmit for review",
        input,
        errors,
        catalogue: &state.scopes,
        csrf_token,
        preview: ConsentPreview::from_input(input, Some(logo_url), &state.scopes),
        current_logo: held_logo.is_none().then_some(current_logo),
        held_logo,
    }
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<Token>,
) -> Result<HttpResponse, AppError> {
    let (_, revision) = awaiting_changes(&state, &token).await?;
    let input = revision.to_input();
    let errors = FieldErrors::default();
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        edit_page(&state, &token, &revision, &input, &errors, csrf_token, None).render()
    })
}

pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<Token>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (submission, revision) = awaiting_changes(&state, &token).await?;
    let current_logo = revision.logo.clone();
    let Submitted { form, logo, parsed } =
        read_submission(&req, &state, payload, Some(current_logo)).await?;
    // The form again, with what was sent and why it was refused (422).
    let refuse = |errors: FieldErrors, held_logo: Option<HeldLogo>| {
        respond_with_form(
            &req,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf_token| {
                edit_page(
                    &state,
                    &token,
                    &revision,
                    &form.input,
                    &errors,
                    csrf_token,
                    held_logo,
                )
                .render()
            },
        )
    };
    let registration = match parsed {
        Ok(registration) => registration,
        Err(errors) => return refuse(errors, logo.hold(&state).await?),
    };
    let stored = pipeline::store(&state, &logo, async |tx, now| {
        if db::submissions::resubmit(tx, &submission, &registration, now).await? {
            Ok(())
        } else {
            Err(Conflict::ChangedWhileEditing.into())
        }
    })
    .await?;
    if let Err(errors) = stored {
        return refuse(errors, None);
    }
    tracing::info!(submission = submission.id, "registration resubmitted");
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/submissions/{token}")))
        .finish())
}
