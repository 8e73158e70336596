//! The app's error type and the one place where each variant becomes an HTTP response.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "This page has expired or the form was not sent from this site. Go back, reload the page and try again."
    )]
    Forbidden,
    #[error("Page not found.")]
    NotFound,
    #[error("Please sign in.")]
    LoginRequired,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body came too slowly or stopped coming: the message says which.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    Conflict(String),
    /// The page is gone for good (a revoked client's edit page).
    #[error("{0}")]
    Gone(String),
    /// A bounded resource (e.g. the password-hashing pool) is full: 503 with `Retry-After`.
    #[error("{0}")]
    Busy(String),
    /// The registration form could not be read (its own status: 400, 408, 413 or 415).
    #[error(transparent)]
    Form(#[from] crate::routes::form::FormError),
    #[error("Something went wrong on our side. Nothing you entered is lost; please try again.")]
    Internal(#[from] anyhow::Error),
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
            AppError::BadRequest(_) => "The form could not be read",
            AppError::Forbidden => "Request refused",
            AppError::NotFound => "Not found",
            AppError::LoginRequired => "Sign in",
            AppError::PayloadTooLarge(_) => "Upload too large",
            AppError::UnsupportedMediaType(_) => "Unsupported form encoding",
            AppError::RequestTimeout(_) => "Request too slow",
            AppError::TooManyRequests(_) => "Too many requests",
            AppError::Conflict(_) => "Already changed",
            AppError::Gone(_) => "No longer available",
            AppError::Busy(_) => "Busy",
            AppError::Form(e) => e.title(),
            AppError::Internal(_) => "Something went wrong",
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::LoginRequired => StatusCode::SEE_OTHER,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Form(e) => e.status(),
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
        let page = ErrorPage {
            title: self.title(),
            message: self.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, AppError::TooManyRequests(_)) {
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

pub use crate::routes::page::render;
