//! Staff decisions and credential issuance. Each one is a status change, its credentials and
//! the emails it causes, written in one `BEGIN IMMEDIATE` transaction; the status change is
//! conditional on the current status, so two concurrent decisions cannot both succeed.

use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use url::Url;

use crate::auth::{random_token, sha256_hex};
use crate::clock::Clock;
use crate::db;
use crate::db::audit::{Actor, Kind};
use crate::db::submissions::SubmissionRow;
use crate::domain::AppEnv;
use crate::domain::revision::Revision;
use crate::domain::scopes::ScopeCatalogue;
use crate::domain::status::{Action, ProposalState, Status};
use crate::feed::{self, EventType};
use crate::mail::Outbox;
use crate::mail::messages::{
    Approved, ChangesRequested, Email, ProposalStep, ProposedChange, Rejected, SecretRotated,
    StandingChanged,
};

/// A one-time credentials link lasts this long.
pub const LINK_LIFETIME_SECONDS: i64 = 7 * 24 * 60 * 60;
pub const NOTE_MAX_CHARS: usize = 5000;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("There is no such submission.")]
    NotFound,
    #[error("This submission is {} now, so it cannot be {action}. Someone may have decided it a moment ago; reload the page to see its history.", current.label().to_lowercase())]
    WrongStatus {
        current: Status,
        action: &'static str,
    },
    #[error("Only an approved confidential client has a secret to rotate.")]
    NoSecret,
    /// A live client's proposed change that this decision cannot apply to now.
    #[error("{}", proposal_refusal(*.state, *.client, *.action))]
    Proposal {
        state: ProposalState,
        client: Status,
        action: Action,
    },
    /// The form was for a revision that is no longer the current one: the partner resubmitted.
    #[error(
        "You were looking at revision {shown}, but the partner has resubmitted since: revision {current} is the one under review now. Nothing was changed; look at the new revision before deciding."
    )]
    Stale { shown: i64, current: i64 },
    /// The form did not say which revision the reviewer was shown, so it cannot be checked.
    #[error(
        "The form did not say which revision you were shown, so nothing was changed. Open the current view and decide from there."
    )]
    NoRevision,
    #[error("{0}")]
    InvalidNote(String),
    #[error(
        "Choose how to rotate: overlap (the current secret keeps working for 7 days after the new one is revealed) or immediate (every current secret stops now)."
    )]
    InvalidMode,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Template(#[from] askama::Error),
}

fn proposal_refusal(state: ProposalState, client: Status, action: Action) -> String {
    let past = action.past();
    match (state, client) {
        (_, Status::Suspended) => format!(
            "This client is suspended now, so its proposed change cannot be {past}: reinstate the client first, or reject the change."
        ),
        (ProposalState::ChangesRequested, _) => format!(
            "The proposed change was sent back to the partner, so it cannot be {past} until they send it again."
        ),
        _ => format!(
            "This client is {} now, so its proposed change cannot be {past}.",
            client.label().to_lowercase()
        ),
    }
}

/// What decisions need besides the database.
pub struct ReviewContext<'a> {
    pub public_url: &'a Url,
    pub env: AppEnv,
    pub scopes: &'a ScopeCatalogue,
    pub outbox: &'a Outbox,
    /// The time decisions, secrets and feed events are stamped with.
    pub clock: &'a Clock,
}

impl ReviewContext<'_> {
    fn link(&self, path: &str) -> String {
        self.public_url
            .join(path)
            .expect("a relative path")
            .to_string()
    }
}

/// A reviewer's message or reason: required, trimmed, bounded.
pub fn parse_note(raw: &str, what: &str) -> Result<String, ReviewError> {
    let note = raw.trim();
    let chars = note.chars().count();
    if note.is_empty() {
        return Err(ReviewError::InvalidNote(format!("Enter the {what}.")));
    }
    if chars > NOTE_MAX_CHARS {
        return Err(ReviewError::InvalidNote(format!(
            "The {what} must be at most {NOTE_MAX_CHARS} characters; it has {chars}."
        )));
    }
    Ok(note.to_owned())
}

async fn begin(pool: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
    // IMMEDIATE takes the write lock up front, so the read-then-write below cannot interleave
    // with another decision.
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Load the submission a decision is about, inside the decision's transaction, and refuse it
/// unless the reviewer was shown the revision that is current now (SPEC §3). Checking here,
/// under the write lock, means a resubmission cannot slip in between the check and the change.
async fn load(
    conn: &mut SqliteConnection,
    id: i64,
    shown: Option<i64>,
) -> Result<(SubmissionRow, Revision), ReviewError> {
    let submission = db::submissions::find(&mut *conn, id)
        .await?
        .ok_or(ReviewError::NotFound)?;
    check_shown(shown, submission.revision)?;
    let revision = db::submissions::current_revision(conn, &submission).await?;
    Ok((submission, revision))
}

/// The reviewer must have been shown `current`, the revision the decision is about.
fn check_shown(shown: Option<i64>, current: i64) -> Result<(), ReviewError> {
    let shown = shown.ok_or(ReviewError::NoRevision)?;
    if shown != current {
        return Err(ReviewError::Stale { shown, current });
    }
    Ok(())
}

/// What approve, reject and request-changes are about: the submission under review (`Some`,
/// with its current revision, checked like [`load`]), or, when a live client has a proposal,
/// that proposal, which is then decided here in `tx` (`None`; the caller commits). The revision
/// shown must be the proposal's: a partner's newer proposal makes the decision stale.
async fn submission_or_proposal(
    tx: &mut SqliteConnection,
    id: i64,
    shown: Option<i64>,
    decision: (Action, Option<&str>),
    by: &Actor,
    ctx: &ReviewContext<'_>,
    now: i64,
) -> Result<Option<(SubmissionRow, Revision)>, ReviewError> {
    let submission = db::submissions::find(&mut *tx, id)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let Some((number, state)) = submission.proposal() else {
        check_shown(shown, submission.revision)?;
        let revision = db::submissions::current_revision(tx, &submission).await?;
        return Ok(Some((submission, revision)));
    };
    check_shown(shown, number)?;
    let live = db::submissions::current_revision(&mut *tx, &submission).await?;
    let proposed = db::submissions::revision(&mut *tx, id, number).await?;
    let under = (state, live, proposed);
    decide_proposal(tx, &submission, under, decision, by, ctx, now).await?;
    Ok(None)
}

/// Approve, reject or send back a live client's proposed change, with its history entry, its
/// email and its audit entry; an approved change reaches the feed as `client.updated`.
async fn decide_proposal(
    tx: &mut SqliteConnection,
    submission: &SubmissionRow,
    (state, live, proposed): (ProposalState, Revision, Revision),
    (action, note): (Action, Option<&str>),
    by: &Actor,
    ctx: &ReviewContext<'_>,
    now: i64,
) -> Result<(), ReviewError> {
    let id = submission.id;
    let refused = ReviewError::Proposal {
        state,
        client: submission.status,
        action,
    };
    if !state.allows(action, submission.status) {
        return Err(refused);
    }
    let number = proposed.number;
    let (changed, kind, audited, step) = match (action, note.map(str::to_owned)) {
        (Action::Approve, _) => (
            db::submissions::approve_proposal(&mut *tx, id, &proposed, &by.name, now).await?,
            "change_approved",
            Kind::ChangeApproved,
            ProposalStep::Approved,
        ),
        (Action::RequestChanges, Some(message)) => {
            let token = db::submissions::new_status_token(&mut *tx, id, now).await?;
            (
                db::submissions::send_back_proposal(&mut *tx, id, number, &message, now).await?,
                "change_sent_back",
                Kind::ChangeSentBack,
                ProposalStep::SentBack {
                    message,
                    edit_url: ctx.link(&format!("submissions/{token}/edit")),
                },
            )
        }
        (Action::Reject, Some(reason)) => (
            db::submissions::discard_proposal(&mut *tx, id, Some(number), now).await?,
            "change_rejected",
            Kind::ChangeRejected,
            ProposalStep::Rejected { reason },
        ),
        _ => unreachable!(
            "only approve, request-changes (with a message) and reject decide a proposal"
        ),
    };
    if !changed {
        return Err(refused);
    }
    let note = match &step {
        ProposalStep::Rejected { reason } => Some(reason.as_str()),
        ProposalStep::SentBack { message, .. } => Some(message.as_str()),
        _ => None,
    };
    db::submissions::add_event(&mut *tx, id, &by.name, kind, note, now).await?;
    // Once approved, the proposal is the live revision: its contacts are the client's now.
    let (told, event) = if action == Action::Approve {
        (&proposed, Some(EventType::Updated))
    } else {
        (&live, None)
    };
    if let Some(event) = event {
        feed::record(&mut *tx, ctx.public_url, id, event, now).await?;
    }
    let status_token = db::submissions::new_status_token(&mut *tx, id, now).await?;
    let email = ProposedChange {
        client_name: told.client_name.form_text(),
        client_id: submission.client_id.clone().unwrap_or_default(),
        step,
        status_url: ctx.link(&format!("submissions/{status_token}")),
    }
    .render()?;
    queue_to_contacts(&mut *tx, told, &email, ctx, now).await?;
    let detail = format!("revision {number}");
    audit(tx, by, audited, id, Some(&detail), now).await?;
    tracing::info!(
        submission = id,
        revision = number,
        kind,
        "proposed change decided"
    );
    Ok(())
}

/// Apply a decision to the submission with the reviewer's note, or say what its status is now.
async fn transition(
    conn: &mut SqliteConnection,
    submission: &SubmissionRow,
    action: Action,
    note: Option<&str>,
    staff_name: &str,
    now: i64,
) -> Result<(), ReviewError> {
    let current = submission.status;
    let refused = ReviewError::WrongStatus {
        current,
        action: action.past(),
    };
    let Some(to) = action.leads_to().filter(|_| current.allows(action)) else {
        return Err(refused);
    };
    let changed = db::submissions::set_status(
        &mut *conn,
        submission.id,
        (current, to),
        note,
        staff_name,
        now,
    )
    .await?;
    if !changed {
        return Err(refused);
    }
    let kind = action.event_kind().unwrap_or(to.as_str());
    db::submissions::add_event(conn, submission.id, staff_name, kind, note, now).await?;
    Ok(())
}

/// The decision's audit entry, in its transaction: who, from where, on which submission.
async fn audit(
    conn: &mut SqliteConnection,
    by: &Actor,
    kind: Kind,
    submission_id: i64,
    detail: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    let target = format!("submission {submission_id}");
    db::audit::record(conn, by, kind, Some(&target), detail, now).await
}

/// A new one-time link for `submission_id`; returns the token (only its hash is stored).
/// With `overlap`, the secret it reveals starts a 7-day overlap with the current one.
async fn new_credentials_link(
    conn: &mut SqliteConnection,
    submission_id: i64,
    now: i64,
    overlap: bool,
) -> sqlx::Result<String> {
    let token = random_token(32);
    let expires_at = now + LINK_LIFETIME_SECONDS;
    db::credentials::insert(
        conn,
        &sha256_hex(&token),
        submission_id,
        now,
        expires_at,
        overlap,
    )
    .await?;
    Ok(token)
}

async fn queue_to_contacts(
    conn: &mut SqliteConnection,
    revision: &Revision,
    email: &Email,
    ctx: &ReviewContext<'_>,
    now: i64,
) -> sqlx::Result<()> {
    ctx.outbox
        .queue(
            conn,
            revision.submission_id,
            email,
            &revision.contacts.lines(),
            now,
        )
        .await
}

/// Approve a pending submission: a Client ID (UUID v4), for a confidential client a one-time
/// credentials link, and the approval email to every contact.
pub async fn approve(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    let now = ctx.clock.now();
    let mut tx = begin(pool).await?;
    let decision = (Action::Approve, None);
    let Some((submission, revision)) =
        submission_or_proposal(&mut tx, id, shown, decision, by, ctx, now).await?
    else {
        tx.commit().await?;
        return Ok(());
    };
    transition(&mut tx, &submission, Action::Approve, None, &by.name, now).await?;
    let client_id = uuid::Uuid::new_v4().to_string();
    db::submissions::set_client_id(&mut tx, id, &client_id).await?;
    let credentials_url = if revision.is_confidential() {
        let token = new_credentials_link(&mut tx, id, now, false).await?;
        Some(ctx.link(&format!("credentials/{token}")))
    } else {
        None
    };
    // Only hashes of status tokens are stored: the email carries a fresh one.
    let status_token = db::submissions::new_status_token(&mut tx, id, now).await?;
    let email = Approved {
        client_name: revision.client_name.form_text(),
        client_id: client_id.clone(),
        scopes: revision
            .scopes
            .lines()
            .into_iter()
            .map(|s| {
                let description = ctx
                    .scopes
                    .scope(&s)
                    .map(|d| d.description.clone())
                    .unwrap_or_default();
                (s, description)
            })
            .collect(),
        environment: ctx.env.as_str().to_owned(),
        credentials_url,
        status_url: ctx.link(&format!("submissions/{status_token}")),
    }
    .render()?;
    queue_to_contacts(&mut tx, &revision, &email, ctx, now).await?;
    feed::record(&mut tx, ctx.public_url, id, EventType::Approved, now).await?;
    audit(&mut tx, by, Kind::Approved, id, Some(&client_id), now).await?;
    tx.commit().await?;
    tracing::info!(submission = id, %client_id, "approved");
    Ok(())
}

pub async fn reject(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    reason: &str,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    let reason = parse_note(reason, "reason")?;
    let now = ctx.clock.now();
    let mut tx = begin(pool).await?;
    let decision = (Action::Reject, Some(reason.as_str()));
    let Some((submission, revision)) =
        submission_or_proposal(&mut tx, id, shown, decision, by, ctx, now).await?
    else {
        tx.commit().await?;
        return Ok(());
    };
    transition(
        &mut tx,
        &submission,
        Action::Reject,
        Some(&reason),
        &by.name,
        now,
    )
    .await?;
    // Only hashes of status tokens are stored: the email carries a fresh one.
    let status_token = db::submissions::new_status_token(&mut tx, id, now).await?;
    let email = Rejected {
        client_name: revision.client_name.form_text(),
        reason,
        status_url: ctx.link(&format!("submissions/{status_token}")),
    }
    .render()?;
    queue_to_contacts(&mut tx, &revision, &email, ctx, now).await?;
    audit(&mut tx, by, Kind::Rejected, id, None, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn request_changes(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    message: &str,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    let message = parse_note(message, "message")?;
    let now = ctx.clock.now();
    let mut tx = begin(pool).await?;
    let action = Action::RequestChanges;
    let decision = (action, Some(message.as_str()));
    let Some((submission, revision)) =
        submission_or_proposal(&mut tx, id, shown, decision, by, ctx, now).await?
    else {
        tx.commit().await?;
        return Ok(());
    };
    transition(&mut tx, &submission, action, Some(&message), &by.name, now).await?;
    // Only hashes of status tokens are stored: the email carries a fresh one.
    let status_token = db::submissions::new_status_token(&mut tx, id, now).await?;
    let email = ChangesRequested {
        client_name: revision.client_name.form_text(),
        message,
        edit_url: ctx.link(&format!("submissions/{status_token}/edit")),
        status_url: ctx.link(&format!("submissions/{status_token}")),
    }
    .render()?;
    queue_to_contacts(&mut tx, &revision, &email, ctx, now).await?;
    audit(&mut tx, by, Kind::ChangesRequested, id, None, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Only an approved confidential client has a secret to rotate (the detail page asks too).
pub fn can_rotate(status: Status, revision: &Revision) -> bool {
    status.allows(Action::RotateSecret) && revision.is_confidential()
}

/// How a rotation treats the secrets the client has (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationMode {
    /// Routine: the current secret keeps working until 7 days after the new one is revealed,
    /// so the partner's servers can move over without breaking.
    Overlap,
    /// A leaked secret: every secret of the client stops at once.
    Immediate,
}

impl RotationMode {
    /// The form's `mode`; overlap when it is not given.
    pub fn parse(raw: &str) -> Result<RotationMode, ReviewError> {
        match raw.trim() {
            "" | "overlap" => Ok(RotationMode::Overlap),
            "immediate" => Ok(RotationMode::Immediate),
            _ => Err(ReviewError::InvalidMode),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RotationMode::Overlap => "overlap",
            RotationMode::Immediate => "immediate",
        }
    }
}

/// Earlier unused links are revoked and a new one-time link is emailed; with `Immediate` every
/// secret stops now, with `Overlap` the current one stays valid until 7 days after the new
/// one is revealed. `actor` is the staff member, or "partner" from the status page.
pub async fn rotate_secret(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    mode: RotationMode,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    let now = ctx.clock.now();
    let mut tx = begin(pool).await?;
    let (submission, revision) = load(&mut tx, id, shown).await?;
    if !can_rotate(submission.status, &revision) {
        return Err(ReviewError::NoSecret);
    }
    rotate_in(&mut tx, &submission, &revision, mode, &by.name, ctx, now).await?;
    let note = mode.as_str();
    audit(&mut tx, by, Kind::SecretRotated, id, Some(note), now).await?;
    tx.commit().await?;
    Ok(())
}

/// A partner may start an overlapping rotation from the status page once in this long.
pub const PARTNER_ROTATION_EVERY: i64 = 24 * 60 * 60;

/// Why a partner's rotation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PartnerRotationError {
    #[error("not found")]
    NotFound,
    #[error("no secret to rotate")]
    NoSecret,
    /// A suspended client keeps its secret but cannot rotate it until it is reinstated.
    #[error("the client is suspended")]
    Suspended,
    #[error("the client is revoked")]
    Revoked,
    #[error("rotated less than a day ago")]
    TooSoon,
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The partner starts an overlapping rotation from the status page (once a day); the new
/// link goes to the contacts by email, never onto the page.
pub async fn partner_rotate(
    pool: &SqlitePool,
    status_token: &str,
    ctx: &ReviewContext<'_>,
) -> Result<(), PartnerRotationError> {
    let now = ctx.clock.now();
    let mut tx = begin(pool).await?;
    let submission = db::submissions::find_by_token(&mut tx, status_token)
        .await?
        .ok_or(PartnerRotationError::NotFound)?;
    let revision = db::submissions::current_revision(&mut tx, &submission).await?;
    if !can_rotate(submission.status, &revision) {
        // Said plainly, so the partner knows whether waiting can help.
        return Err(match submission.status {
            _ if !revision.is_confidential() => PartnerRotationError::NoSecret,
            Status::Suspended => PartnerRotationError::Suspended,
            Status::Revoked => PartnerRotationError::Revoked,
            _ => PartnerRotationError::NoSecret,
        });
    }
    let last = db::secrets::last_partner_rotation(&mut tx, submission.id).await?;
    if last.is_some_and(|at| now - at < PARTNER_ROTATION_EVERY) {
        return Err(PartnerRotationError::TooSoon);
    }
    rotate_in(
        &mut tx,
        &submission,
        &revision,
        RotationMode::Overlap,
        "partner",
        ctx,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The rotation itself, in the caller's transaction (staff and partner rotations share it).
pub async fn rotate_in(
    tx: &mut SqliteConnection,
    submission: &SubmissionRow,
    revision: &Revision,
    mode: RotationMode,
    actor: &str,
    ctx: &ReviewContext<'_>,
    now: i64,
) -> Result<(), ReviewError> {
    let id = submission.id;
    if mode == RotationMode::Immediate {
        db::secrets::end_all(&mut *tx, id, now).await?;
    }
    db::credentials::revoke_unused(&mut *tx, id, now).await?;
    let token = new_credentials_link(&mut *tx, id, now, mode == RotationMode::Overlap).await?;
    db::submissions::add_event(
        &mut *tx,
        id,
        actor,
        "secret_rotated",
        Some(mode.as_str()),
        now,
    )
    .await?;
    let email = SecretRotated {
        client_name: revision.client_name.form_text(),
        client_id: submission.client_id.clone().unwrap_or_default(),
        credentials_url: ctx.link(&format!("credentials/{token}")),
        overlap: mode == RotationMode::Overlap,
    }
    .render()?;
    queue_to_contacts(&mut *tx, revision, &email, ctx, now).await?;
    feed::record(&mut *tx, ctx.public_url, id, EventType::SecretRotated, now).await?;
    Ok(())
}

/// Suspend an active client (`reason` required): it stays registered, `clients.json` stops
/// listing it, and the feed tells the authorization server (`client.suspended`).
pub async fn suspend(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    reason: &str,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    let reason = parse_note(reason, "reason")?;
    change_standing(pool, id, shown, Action::Suspend, Some(reason), by, ctx).await
}

/// A suspended client becomes active again, with the same Client ID and secret.
pub async fn reinstate(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    change_standing(pool, id, shown, Action::Reinstate, None, by, ctx).await
}

/// Revoke an active or suspended client (`reason` required). Final: every secret ends,
/// unused credential links stop working, and the edit page is closed for good.
pub async fn revoke(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    reason: &str,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    let reason = parse_note(reason, "reason")?;
    change_standing(pool, id, shown, Action::Revoke, Some(reason), by, ctx).await
}

/// Suspend, reinstate or revoke, with its email, in one transaction.
async fn change_standing(
    pool: &SqlitePool,
    id: i64,
    shown: Option<i64>,
    action: Action,
    reason: Option<String>,
    by: &Actor,
    ctx: &ReviewContext<'_>,
) -> Result<(), ReviewError> {
    let now = ctx.clock.now();
    let mut tx = begin(pool).await?;
    let (submission, revision) = load(&mut tx, id, shown).await?;
    transition(
        &mut tx,
        &submission,
        action,
        reason.as_deref(),
        &by.name,
        now,
    )
    .await?;
    let (audited, event) = match action {
        Action::Suspend => (Kind::Suspended, EventType::Suspended),
        Action::Reinstate => (Kind::Reinstated, EventType::Reinstated),
        Action::Revoke => {
            // Every secret stops, and no unused link can mint another.
            db::secrets::end_all(&mut tx, id, now).await?;
            db::credentials::revoke_unused(&mut tx, id, now).await?;
            // Nothing can be proposed to a revoked client, so a waiting proposal ends too
            // (its revision stays in the history).
            db::submissions::discard_proposal(&mut tx, id, None, now).await?;
            (Kind::Revoked, EventType::Revoked)
        }
        _ => unreachable!("change_standing is only called with Suspend, Reinstate or Revoke"),
    };
    // After the change: the event's data is the client's export entry as it now stands.
    feed::record(&mut tx, ctx.public_url, id, event, now).await?;
    // Only hashes of status tokens are stored: the email carries a fresh one.
    let status_token = db::submissions::new_status_token(&mut tx, id, now).await?;
    let email = StandingChanged {
        client_name: revision.client_name.form_text(),
        client_id: submission.client_id.clone().unwrap_or_default(),
        change: action.past(),
        reason,
        status_url: ctx.link(&format!("submissions/{status_token}")),
    }
    .render()?;
    queue_to_contacts(&mut tx, &revision, &email, ctx, now).await?;
    audit(&mut tx, by, audited, id, None, now).await?;
    tx.commit().await?;
    tracing::info!(
        submission = id,
        change = action.past(),
        "client standing changed"
    );
    Ok(())
}
