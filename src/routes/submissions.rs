//! `GET /submissions/{token}`: the partner's status page, and the edit loop after a reviewer
//! asked for changes.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::Token;
use crate::db;
use crate::db::submissions::{EventRow, SubmissionRow};
use crate::domain::registration::{FieldErrors, Registration, RegistrationInput};
use crate::domain::revision::Compared;
use crate::domain::revision::Revision;
use crate::domain::status::{ProposalState, Status};
use crate::error::{AppError, Conflict, Gone};
use crate::mail::messages::{ProposalStep, ProposedChange};
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
    /// A proposed change waiting beside the live revision: where it stands, its revision,
    /// and each field of the live revision beside it.
    proposal: Option<ProposalView>,
    csrf_token: String,
}

struct ProposalView {
    state: ProposalState,
    revision: Revision,
    compared: Vec<Compared>,
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
    let proposal = match submission.proposal() {
        Some((number, state)) => {
            let proposed = db::submissions::revision(&mut conn, submission.id, number).await?;
            Some(ProposalView {
                state,
                compared: proposed.side_by_side(&revision),
                revision: proposed,
            })
        }
        None => None,
    };
    drop(conn);
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
            proposal,
            csrf_token: csrf_token.to_owned(),
        }
        .render()
    })
}

/// What the edit form changes: a submission sent back for changes, or a live client (SPEC §7),
/// whose change waits beside the live revision as a proposal.
enum Editing {
    Resubmission,
    Proposal { live: Box<Revision> },
}

/// The submission behind a status token, if the partner may edit it now, with the revision the
/// form opens with: the one sent back, or a live client's latest proposal, or its live values.
async fn editable(
    state: &AppState,
    token: &str,
) -> Result<(SubmissionRow, Editing, Revision), AppError> {
    let mut conn = state.db.read.acquire().await?;
    let submission = db::submissions::find_by_token(&mut conn, token)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = db::submissions::current_revision(&mut conn, &submission).await?;
    match submission.status {
        Status::Revoked => Err(Gone::Revoked.into()),
        Status::Suspended => Err(Conflict::Suspended.into()),
        Status::ChangesRequested => Ok((submission, Editing::Resubmission, current)),
        Status::Approved => {
            let opens_with = match submission.proposal {
                Some(number) => db::submissions::revision(&mut conn, submission.id, number).await?,
                None => current.clone(),
            };
            Ok((
                submission,
                Editing::Proposal {
                    live: Box::new(current),
                },
                opens_with,
            ))
        }
        other => Err(Conflict::NotEditable(other).into()),
    }
}

/// A proposal keeps the client type: another type is another client, so a new registration
/// (SPEC §7). Checked on what was sent, so the message joins the form's other errors.
fn keeps_client_type(
    editing: &Editing,
    input: &RegistrationInput,
    parsed: Result<Registration, FieldErrors>,
) -> Result<Registration, FieldErrors> {
    let Editing::Proposal { live } = editing else {
        return parsed;
    };
    let live_type = live.client_type.form_text();
    if input.client_type.trim() == live_type {
        return parsed;
    }
    let mut errors = parsed.err().unwrap_or_default();
    errors.add(
        "client_type",
        format!(
            "The client type cannot change: this client is {live_type}. A client of another type needs a new registration."
        ),
    );
    Err(errors)
}

#[allow(clippy::too_many_arguments)]
fn edit_page<'a>(
    state: &'a AppState,
    token: &str,
    editing: &Editing,
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
    let (title, intro, submit_label) = match editing {
        Editing::Resubmission => (
            "Edit your registration",
            "Make the changes the reviewer asked for and send the registration again. Your earlier version is kept.",
            "Resubmit for review",
        ),
        Editing::Proposal { .. } => (
            "Propose changes",
            "Change what your client needs. Our team reviews the change before it goes live; until then your client keeps working as it is, with the same Client ID and secret. A newer proposal replaces one still waiting for review.",
            "Send the change for review",
        ),
    };
    FormPage {
        title,
        intro,
        action: format!("/submissions/{token}/edit"),
        submit_label,
        input,
        errors,
        catalogue: &state.scopes,
        csrf_token,
        preview: ConsentPreview::from_input(input, Some(logo_url), &state.scopes),
        current_logo: held_logo.is_none().then_some(current_logo),
        held_logo,
        client_type_locked: matches!(editing, Editing::Proposal { .. }),
    }
}

pub async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<Token>,
) -> Result<HttpResponse, AppError> {
    let (_, editing, revision) = editable(&state, &token).await?;
    let input = revision.to_input();
    let errors = FieldErrors::default();
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        edit_page(
            &state, &token, &editing, &revision, &input, &errors, csrf_token, None,
        )
        .render()
    })
}

pub async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<Token>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (submission, editing, revision) = editable(&state, &token).await?;
    let current_logo = revision.logo.clone();
    let Submitted { form, logo, parsed } =
        read_submission(&req, &state, payload, Some(current_logo)).await?;
    let parsed = keeps_client_type(&editing, &form.input, parsed);
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
                    &editing,
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
    let stored = pipeline::store(&state, &logo, async |tx, now| match &editing {
        Editing::Resubmission => {
            if db::submissions::resubmit(tx, &submission, &registration, now).await? {
                Ok(())
            } else {
                Err(Conflict::ChangedWhileEditing.into())
            }
        }
        Editing::Proposal { live } => {
            db::submissions::propose(tx, &submission, &registration, now)
                .await?
                .ok_or(Conflict::ChangedWhileEditing)?;
            // To the live contacts: they own the client, whoever holds this status link.
            let status_token = db::submissions::new_status_token(tx, submission.id, now).await?;
            let email = ProposedChange {
                client_name: live.client_name.form_text(),
                client_id: submission.client_id.clone().unwrap_or_default(),
                step: ProposalStep::Received,
                status_url: state
                    .public_url
                    .join(&format!("submissions/{status_token}"))
                    .map_err(|e| AppError::Internal(e.into()))?
                    .to_string(),
            }
            .render()?;
            state
                .outbox
                .queue(tx, submission.id, &email, &live.contacts.lines(), now)
                .await?;
            Ok(())
        }
    })
    .await?;
    if let Err(errors) = stored {
        return refuse(errors, None);
    }
    state.outbox.wake_worker();
    match editing {
        Editing::Resubmission => {
            tracing::info!(submission = submission.id, "registration resubmitted")
        }
        Editing::Proposal { .. } => tracing::info!(submission = submission.id, "change proposed"),
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/submissions/{token}")))
        .finish())
}
