//! One module per page or group of pages.

mod assets;
mod credentials;
pub mod form;
mod logos;
mod meta;
mod register;
pub mod staff;
mod submissions;
pub mod view;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(meta::home))
        .route("/healthz", web::get().to(meta::healthz))
        .route("/robots.txt", web::get().to(meta::robots))
        .route("/static/{file:.*}", web::get().to(assets::serve))
        .route("/register", web::get().to(register::show))
        .route("/register", web::post().to(register::submit))
        .route(
            "/register/held-logo/{token}.png",
            web::get().to(logos::held),
        )
        .route("/logos/{id}.png", web::get().to(logos::serve))
        .route("/submissions/{token}", web::get().to(submissions::status))
        .route(
            "/submissions/{token}/edit",
            web::get().to(submissions::edit_form),
        )
        .route(
            "/submissions/{token}/edit",
            web::post().to(submissions::edit),
        )
        .route("/credentials/{token}", web::get().to(credentials::show))
        .route("/credentials/{token}", web::post().to(credentials::reveal))
        .configure(staff::configure)
        .default_service(web::to(meta::not_found));
}

/// A path segment of the wrong shape (`/staff/submissions/abc`) names no page: a 404 page.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| crate::error::AppError::NotFound.into())
}

/// A malformed query string (`?before=abc`) is a readable 400 too.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| {
        crate::error::AppError::BadRequest(format!("The address could not be read: {e}.")).into()
    })
}

/// Small urlencoded forms (staff actions, login): a bad one is a readable 400, not a bare one.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|e, _| {
            crate::error::AppError::BadRequest(format!("The form could not be read: {e}.")).into()
        })
}
