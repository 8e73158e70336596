//! `GET /staff/submissions/{id}` and the decisions taken from it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::{CsrfForm, TokenOnly};
use crate::auth::session::StaffUser;
use crate::db;
use crate::db::outbox::OutboxRow;
use crate::db::submissions::{EventRow, SubmissionRow};
use crate::domain::delivery::DeliveryState;
use crate::domain::revision::{Change, Compared, Flag, Revision};
use crate::domain::status::{Action, ProposalState, Status};
use crate::error::{AppError, render};
// The `utc` filter of the templates below.
use crate::review::{self, ReviewContext, ReviewError};
use crate::routes::staff::{StaffNav, see_other};
use crate::state::AppState;
use crate::views::ConsentPreview;
use crate::views::filters;

/// A live client's proposed change, as the reviewer weighs it against the live revision.
pub struct ProposalReview {
    pub state: ProposalState,
    pub revision: Revision,
    pub compared: Vec<Compared>,
    /// What the change adds that the live client could not do (SPEC §7).
    pub added: Vec<Flag>,
}

pub struct RevisionView {
    pub revision: Revision,
    pub changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "staff/detail.html")]
struct DetailPage {
    staff: StaffNav,
    csrf_token: String,
    submission: SubmissionRow,
    status: Status,
    current: Revision,
    flags: Vec<Flag>,
    proposal: Option<ProposalReview>,
    revisions: Vec<RevisionView>,
    events: Vec<EventRow>,
    emails: Vec<OutboxRow>,
    preview: ConsentPreview,
    can_rotate: bool,
    /// The client's valid secrets, newest first (hashes and expiry only).
    secrets: Vec<db::secrets::SecretRow>,
    /// The client's feed events and how their delivery went, oldest first.
    feed: Vec<db::feed::EventRow>,
    /// Some event still waits for delivery (staff can retry now).
    feed_pending: bool,
    error: Option<String>,
    /// The error is a 409: the submission moved on since the reviewer's page was drawn.
    conflict: bool,
}

async fn page(
    state: &AppState,
    staff: &StaffUser,
    id: i64,
    error: Option<String>,
) -> Result<DetailPage, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let submission = db::submissions::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let revisions = db::submissions::revisions(&mut conn, id).await?;
    let events = db::submissions::events(&mut conn, id).await?;
    let emails = db::outbox::for_submission(&mut conn, id).await?;
    let secrets = db::secrets::valid(&mut conn, id, state.clock.now()).await?;
    let feed = db::feed::of_submission(&mut conn, id).await?;
    drop(conn);
    let current = revisions
        .iter()
        .find(|r| r.number == submission.revision)
        .cloned()
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("submission {id} has no current revision"))
        })?;
    let proposal = submission.proposal().and_then(|(number, state)| {
        let proposed = revisions.iter().find(|r| r.number == number)?.clone();
        Some(ProposalReview {
            state,
            compared: proposed.side_by_side(&current),
            added: proposed.flags_added_since(&current),
            revision: proposed,
        })
    });
    // Newest first; each compared with the one before it.
    let views = revisions
        .iter()
        .enumerate()
        .map(|(i, r)| RevisionView {
            changes: revisions
                .get(i + 1)
                .map(|prev| r.changes_since(prev))
                .unwrap_or_default(),
            revision: r.clone(),
        })
        .collect();
    let status = submission.status;
    Ok(DetailPage {
        staff: StaffNav::new(staff, state),
        csrf_token: staff.csrf_token(state),
        can_rotate: crate::review::can_rotate(status, &current),
        flags: current.flags(&state.scopes),
        proposal,
        preview: ConsentPreview::from_revision(&current, &state.scopes),
        status,
        submission,
        current,
        revisions: views,
        events,
        emails,
        secrets,
        feed_pending: feed.iter().any(|e| e.state == "pending"),
        feed,
        error,
        conflict: false,
    })
}

pub async fn show(
    staff: StaffUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let page = page(&state, &staff, *id, None).await?;
    render(StatusCode::OK, &page)
}

/// Every decision form: the revision the reviewer was shown and, to reject or send back, the
/// note to the partner.
#[derive(Deserialize)]
pub struct DecisionForm {
    /// Kept raw so that a missing or garbled one reaches the review as "unknown" (409) rather
    /// than as a 400 from the form parser.
    #[serde(default)]
    revision: String,
    /// The reject form calls it `reason`, the request-changes form `message`.
    #[serde(default, alias = "message")]
    reason: String,
    /// Rotation: `overlap` (the default) or `immediate`.
    #[serde(default)]
    mode: String,
}

/// What a reviewer can decide from the detail page.
#[derive(Clone, Copy)]
enum Decision {
    Approve,
    Reject,
    RequestChanges,
    RotateSecret,
    Suspend,
    Reinstate,
    Revoke,
}

/// The revision a form says it was shown, if it says one that could be a revision number.
fn shown_revision(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|n| *n >= 1)
}

fn context(state: &AppState) -> ReviewContext<'_> {
    ReviewContext {
        public_url: &state.public_url,
        env: state.env,
        scopes: &state.scopes,
        outbox: &state.outbox,
        clock: &state.clock,
    }
}

/// A decision's outcome: back to the page on success; the page with the reason otherwise.
async fn outcome(
    state: &AppState,
    staff: &StaffUser,
    id: i64,
    result: Result<(), ReviewError>,
) -> Result<HttpResponse, AppError> {
    let status = match result {
        Ok(()) => {
            // Every decision queues email: send it now rather than at the worker's next poll.
            state.outbox.wake_worker();
            state.feed_wake.notify_one();
            return Ok(see_other(&format!("/staff/submissions/{id}")));
        }
        Err(ReviewError::NotFound) => return Err(AppError::NotFound),
        Err(ReviewError::Database(e)) => return Err(e.into()),
        Err(ReviewError::Template(e)) => return Err(e.into()),
        Err(e @ (ReviewError::InvalidNote(_) | ReviewError::InvalidMode)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, e)
        }
        Err(e) => (StatusCode::CONFLICT, e),
    };
    let mut page = page(state, staff, id, Some(status.1.to_string())).await?;
    // A conflict means the reviewer decided on something they no longer see: point them at
    // the fresh view rather than leaving the forms of this response as the only way on.
    page.conflict = status.0 == StatusCode::CONFLICT;
    render(status.0, &page)
}

/// Every decision: the form's token (checked by `CsrfForm`), the revision shown, the review,
/// then the page.
async fn decide(
    decision: Decision,
    state: &AppState,
    id: i64,
    CsrfForm {
        sender: staff,
        form,
    }: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    let shown = shown_revision(&form.revision);
    let actor = staff.actor();
    let (db, by, ctx) = (&state.db.write, &actor, &context(state));
    let result = match decision {
        Decision::Approve => review::approve(db, id, shown, by, ctx).await,
        Decision::Reject => review::reject(db, id, shown, &form.reason, by, ctx).await,
        Decision::RequestChanges => {
            review::request_changes(db, id, shown, &form.reason, by, ctx).await
        }
        Decision::RotateSecret => match review::RotationMode::parse(&form.mode) {
            Ok(mode) => review::rotate_secret(db, id, shown, mode, by, ctx).await,
            Err(e) => Err(e),
        },
        Decision::Suspend => review::suspend(db, id, shown, &form.reason, by, ctx).await,
        Decision::Reinstate => review::reinstate(db, id, shown, by, ctx).await,
        Decision::Revoke => review::revoke(db, id, shown, &form.reason, by, ctx).await,
    };
    outcome(state, &staff, id, result).await
}

pub async fn approve(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    decide(Decision::Approve, &state, *id, form).await
}

pub async fn reject(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    decide(Decision::Reject, &state, *id, form).await
}

pub async fn request_changes(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    decide(Decision::RequestChanges, &state, *id, form).await
}

pub async fn rotate_secret(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    decide(Decision::RotateSecret, &state, *id, form).await
}

pub async fn suspend(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    decide(Decision::Suspend, &state, *id, form).await
}

pub async fn reinstate(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    decide(Decision::Reinstate, &state, *id, form).await
}

pub async fn revoke(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: CsrfForm<DecisionForm, StaffUser>,
) -> Result<HttpResponse, AppError> {
    decide(Decision::Revoke, &state, *id, form).await
}

pub async fn retry_email(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm { sender: staff, .. }: CsrfForm<TokenOnly, StaffUser>,
) -> Result<HttpResponse, AppError> {
    let mut tx = state.db.begin().await?;
    let submission_id = db::outbox::submission_of(&mut tx, *id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Audited only when it did something: a retry of an email that had not failed is a no-op.
    if db::outbox::retry(&mut tx, *id).await? {
        let target = format!("submission {submission_id}");
        let detail = format!("email {id}");
        let kind = db::audit::Kind::EmailRetried;
        let now = db::now();
        db::audit::record(
            &mut tx,
            &staff.actor(),
            kind,
            Some(&target),
            Some(&detail),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.outbox.wake_worker();
    Ok(see_other(&format!("/staff/submissions/{submission_id}")))
}

/// Staff retry a client's feed deliveries now (the worker would retry on its own, later).
pub async fn retry_feed(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    CsrfForm { sender: staff, .. }: CsrfForm<TokenOnly, StaffUser>,
) -> Result<HttpResponse, AppError> {
    let mut tx = state.db.begin().await?;
    db::submissions::find(&mut tx, *id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    if db::feed::retry_now(&mut tx, *id, now).await? > 0 {
        let target = format!("submission {id}");
        let kind = db::audit::Kind::FeedRetried;
        db::audit::record(&mut tx, &staff.actor(), kind, Some(&target), None, now).await?;
    }
    tx.commit().await?;
    state.feed_wake.notify_one();
    Ok(see_other(&format!("/staff/submissions/{id}")))
}
