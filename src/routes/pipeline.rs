//! The registration pipeline, shared by a new registration (`routes::register`) and an edit
//! (`routes::submissions`): read the form under an upload slot, check its anti-forgery token
//! and logo, parse it; then, once accepted, store the logo and the rows in one transaction.

use actix_web::{HttpRequest, web};

use crate::auth::{is_token_shaped, random_token};
use crate::db;
use crate::domain::logo::{Logo, LogoError};
use crate::domain::registration::{FieldErrors, LogoId, Registration};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::form::{self, RegistrationForm, Upload};

/// A logo that passed its checks and waits for the rest of the form.
pub struct HeldLogo {
    pub token: String,
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

/// The write of an accepted form: in one transaction, the logo is stored (or its held copy
/// claimed), then `write` adds the rows. `Ok(Err(errors))` when the held logo expired while
/// the form waited to be written: nothing is stored and the form is shown again with them.
pub async fn store<T>(
    state: &AppState,
    logo: &LogoChoice,
    write: impl AsyncFnOnce(&mut sqlx::SqliteConnection, i64) -> Result<T, AppError>,
) -> Result<Result<T, FieldErrors>, AppError> {
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if let Err(gone) = logo.store(&mut tx, now).await? {
        // Rolled back (dropped): nothing of this attempt is stored.
        return Ok(Err(gone.errors()));
    }
    let written = write(&mut tx, now).await?;
    tx.commit().await?;
    Ok(Ok(written))
}
