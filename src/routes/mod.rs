//! One module per page or group of pages.

mod assets;
mod form;
mod logos;
mod meta;
mod register;
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
        .default_service(web::to(meta::not_found));
}
