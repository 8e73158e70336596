//! One module per page or group of pages.

pub mod assets;
pub mod blank_form;
mod credentials;
mod links;
mod logos;
mod meta;
mod pipeline;
mod register;
pub mod staff;
mod submissions;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", read().to(meta::home))
        .route("/healthz", read().to(meta::healthz))
        .route("/robots.txt", read().to(meta::robots))
        .route("/favicon.ico", read().to(assets::favicon))
        .route("/static/{file:.*}", read().to(assets::serve))
        .route("/register", read().to(register::show))
        .route("/register", web::post().to(register::submit))
        .route("/register/held-logo/{token}.png", read().to(logos::held))
        .route("/logos/{id}.png", read().to(logos::serve))
        .route("/submissions/{token}", read().to(submissions::status))
        .route(
            "/submissions/{token}/rotate-secret",
            web::post().to(submissions::rotate_secret),
        )
        .route(
            "/submissions/{token}/edit",
            read().to(submissions::edit_form),
        )
        .route(
            "/submissions/{token}/edit",
            web::post().to(submissions::edit),
        )
        .route("/links", read().to(links::show))
        .route("/links", web::post().to(links::send))
        .route("/credentials/{token}", read().to(credentials::show))
        .route("/credentials/{token}", web::post().to(credentials::reveal))
        .configure(staff::configure)
        .default_service(web::to(meta::not_found));
}

/// A route for reading a page: `GET`, and `HEAD` wherever `GET` is (RFC 9110 §9.3.2; uptime
/// monitors ask `HEAD /healthz`). actix-web sends a `HEAD` response's headers without its body.
pub fn read() -> actix_web::Route {
    use actix_web::guard;
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A path segment of the wrong shape (`/staff/submissions/abc`) names no page: a 404 page.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| crate::error::AppError::NotFound.into())
}

/// A malformed query string (`?before=abc`) is a readable 400 too.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| {
        crate::error::AppError::from(crate::error::BadAddress::Unreadable(e.to_string())).into()
    })
}
