//! The one way an HTML page leaves a handler: its status, `Cache-Control: no-store` where the
//! page is private, and the anti-forgery cookie when the page carries a new token.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::error::AppError;
use crate::state::AppState;

/// Whether a shared cache (or a browser's back button on a shared computer) may keep a page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Public pages with nothing of the visitor's in them.
    Default,
    /// A per-visitor token, a held logo or a partner's data.
    NoStore,
}

/// A rendered page with its status.
pub fn respond(
    status: StatusCode,
    body: String,
    caching: Caching,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    if caching == Caching::NoStore {
        response.insert_header(("Cache-Control", "no-store"));
    }
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    response.body(body)
}

/// Render a page with a status (422 for a form with errors); a template failure becomes a 500.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    Ok(respond(status, page.render()?, Caching::Default, None))
}

/// Render a private page: `no-store`.
pub fn render_private<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    Ok(respond(status, page.render()?, Caching::NoStore, None))
}

/// Render a page holding a form, with the visitor's anti-forgery token, setting its cookie when
/// new. Never cached: the page holds a per-visitor token and maybe a held logo.
pub fn respond_with_form(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    build: impl FnOnce(&str) -> Result<String, askama::Error>,
) -> Result<HttpResponse, AppError> {
    let csrf = state.csrf.session(req);
    let body = build(&csrf.token)?;
    Ok(respond(status, body, Caching::NoStore, csrf.new_cookie))
}
