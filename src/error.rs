//! The app's error type and the one place where each variant becomes an HTTP response.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The address (path or query) names nothing we can read.
    #[error(transparent)]
    BadAddress(#[from] BadAddress),
    #[error(
        "This page has expired or the form was not sent from this site. Go back, reload the page and try again."
    )]
    Forbidden,
    #[error("Page not found.")]
    NotFound,
    #[error("Please sign in.")]
    LoginRequired,
    /// `STAFF_MFA=required` and the account has no second factor yet: 303 to enrolment.
    #[error("Add a second factor to your account first.")]
    SecondFactorRequired,
    /// A reviewer on an admin's page.
    #[error("Only admins can do this. Ask an admin if you need it done.")]
    AdminOnly,
    /// 429 with `Retry-After`.
    #[error(transparent)]
    Limited(#[from] Limited),
    /// 409: the request no longer fits the state of what it acts on.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// 410: the page is closed for good.
    #[error(transparent)]
    Gone(#[from] Gone),
    /// A bounded resource is full: 503 with `Retry-After`.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The registration form could not be read (its own status: 400, 408, 413 or 415).
    #[error(transparent)]
    Form(#[from] crate::web::form::FormError),
    /// A small urlencoded form (sign-in, a staff action) could not be read.
    #[error(transparent)]
    SmallForm(#[from] crate::auth::csrf::SmallFormError),
    #[error("Something went wrong on our side. Nothing you entered is lost; please try again.")]
    Internal(#[from] anyhow::Error),
}

/// A query string or path that does not say what the page needs (400).
#[derive(Debug, thiserror::Error)]
pub enum BadAddress {
    #[error("The address could not be read: {0}.")]
    Unreadable(String),
    #[error(
        "Unknown status {0:?}; use pending, changes_requested, approved, rejected, suspended, revoked or all."
    )]
    UnknownStatus(String),
    #[error("Unknown status {0:?}; use active or all.")]
    UnknownClientStatus(String),
    #[error("There is no kind of audit entry called {0:?}.")]
    UnknownAuditKind(String),
}

/// Too much from one client address (429).
#[derive(Debug, thiserror::Error)]
pub enum Limited {
    #[error(
        "You have sent too many registrations from this address in the last minute. Wait a minute, then go back and send the form again; your browser keeps what you entered."
    )]
    Registrations,
    #[error(
        "Too many sign-in attempts from this address in the last minute. Wait a minute, then try again."
    )]
    SignIns,
    #[error(
        "The secret of this client was rotated from this page less than a day ago. The contacts have the link by email; try again tomorrow, or ask us if it is urgent."
    )]
    PartnerRotation,
}

/// What the request acts on has moved on (409).
#[derive(Debug, thiserror::Error)]
pub enum Conflict {
    #[error(
        "This registration is {} now, so it cannot be edited. Its status page has the details.",
        .0.label().to_lowercase()
    )]
    NotEditable(crate::domain::status::Status),
    #[error(
        "This client is suspended, so no change can be proposed to it until it is reinstated. Its status page has the reason."
    )]
    Suspended,
    #[error(
        "This registration changed while you were editing it. Open its status page to see why."
    )]
    ChangedWhileEditing,
    #[error(transparent)]
    Account(crate::auth::accounts::NewStaffError),
    #[error(
        "{0} is the last active admin, so they can be neither disabled nor made a reviewer. Make someone else an admin first."
    )]
    LastAdmin(String),
    #[error("{0} already has a staff account. Sign in with it instead.")]
    AlreadyStaff(String),
    #[error("Only an active confidential client has a secret to rotate.")]
    NoSecretToRotate,
    #[error(
        "This client is suspended, so its secret cannot be rotated until we reinstate it. The email about the suspension gives the reason; reply to it if you have questions."
    )]
    SuspendedNoRotation,
}

/// Closed for good (410).
#[derive(Debug, thiserror::Error)]
pub enum Gone {
    #[error(
        "This client has been revoked, so no change can be made to it any more. A new client needs a new registration."
    )]
    Revoked,
    #[error(
        "This client has been revoked, which is final: it has no secret, and no new one can be issued. A new client needs a new registration."
    )]
    RevokedNoSecret,
}

/// A bounded resource is full (503): retry in a few seconds.
#[derive(Debug, thiserror::Error)]
pub enum Busy {
    #[error(
        "Many forms are being uploaded right now. Wait a few seconds, then go back and send the form again; your browser keeps what you entered."
    )]
    Uploads,
    #[error("Many people are signing in right now. Wait a few seconds, then try again.")]
    SignIns,
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("template"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
}

impl AppError {
    fn title(&self) -> &'static str {
        match self {
            AppError::BadAddress(_) => "The address could not be read",
            AppError::Forbidden => "Request refused",
            AppError::NotFound => "Not found",
            AppError::LoginRequired => "Sign in",
            AppError::SecondFactorRequired => "Add a second factor",
            AppError::AdminOnly => "Admins only",
            AppError::Limited(_) => "Too many requests",
            AppError::Conflict(Conflict::SuspendedNoRotation) => "Client suspended",
            AppError::Conflict(_) => "Already changed",
            AppError::Gone(Gone::RevokedNoSecret) => "Client revoked",
            AppError::Gone(_) => "No longer available",
            AppError::Busy(_) => "Busy",
            AppError::Form(e) => e.title(),
            AppError::SmallForm(e) => e.title(),
            AppError::Internal(_) => "Something went wrong",
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadAddress(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::LoginRequired | AppError::SecondFactorRequired => StatusCode::SEE_OTHER,
            AppError::AdminOnly => StatusCode::FORBIDDEN,
            AppError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Form(e) => e.status(),
            AppError::SmallForm(e) => e.status(),
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            // The cause chain goes to the log, never to the page.
            tracing::error!(error = ?cause, "request failed");
        }
        if let AppError::LoginRequired = self {
            return HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, "/staff/login"))
                .finish();
        }
        if let AppError::SecondFactorRequired = self {
            return HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, "/staff/account"))
                .finish();
        }
        let page = ErrorPage {
            title: self.title(),
            message: self.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, AppError::Limited(_)) {
            response.insert_header(("Retry-After", "60"));
        }
        if matches!(self, AppError::Busy(_)) {
            response.insert_header(("Retry-After", BUSY_RETRY_AFTER_SECONDS.to_string()));
        }
        match page.render() {
            Ok(body) => response.content_type("text/html; charset=utf-8").body(body),
            Err(_) => response
                .content_type("text/plain; charset=utf-8")
                .body(self.to_string()),
        }
    }
}

/// A full queue drains in well under a second (Argon2 takes ~50 ms), and an upload slot frees
/// as soon as a form is read or cut off; a few seconds spreads the retries.
pub const BUSY_RETRY_AFTER_SECONDS: u32 = 5;

pub use crate::web::page::render;
