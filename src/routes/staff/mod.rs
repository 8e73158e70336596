//! Staff pages, all behind a login (the `StaffUser` extractor redirects to it).

mod account;
mod detail;
mod events;
mod export;
mod queue;

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};

use crate::auth::session::StaffUser;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/staff", crate::routes::read().to(home))
        .route("/staff/", crate::routes::read().to(home))
        .route(
            "/staff/login",
            crate::routes::read().to(account::login_form),
        )
        .route("/staff/login", web::post().to(account::login))
        .route("/staff/logout", web::post().to(account::logout))
        .route(
            "/staff/setup",
            crate::routes::read().to(account::setup_form),
        )
        .route("/staff/setup", web::post().to(account::setup))
        .route("/staff/submissions", crate::routes::read().to(queue::list))
        .route(
            "/staff/submissions/{id}",
            crate::routes::read().to(detail::show),
        )
        .route(
            "/staff/submissions/{id}/approve",
            web::post().to(detail::approve),
        )
        .route(
            "/staff/submissions/{id}/reject",
            web::post().to(detail::reject),
        )
        .route(
            "/staff/submissions/{id}/request-changes",
            web::post().to(detail::request_changes),
        )
        .route(
            "/staff/submissions/{id}/rotate-secret",
            web::post().to(detail::rotate_secret),
        )
        .route(
            "/staff/submissions/{id}/retry-feed",
            web::post().to(detail::retry_feed),
        )
        .route("/staff/events.json", web::get().to(events::list))
        .route(
            "/staff/outbox/{id}/retry",
            web::post().to(detail::retry_email),
        )
        .route("/staff/clients.json", crate::routes::read().to(export::all))
        .route(
            "/staff/clients/{client_id}.json",
            crate::routes::read().to(export::one),
        );
}

/// What the staff layout shows in its header: who is signed in, and the logout form's token.
pub struct StaffNav {
    pub name: String,
    pub csrf_token: String,
}

impl StaffNav {
    pub fn new(staff: &StaffUser, state: &AppState) -> StaffNav {
        StaffNav {
            name: staff.name.clone(),
            csrf_token: staff.csrf_token(state),
        }
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location.to_owned()))
        .finish()
}

async fn home(_staff: StaffUser) -> HttpResponse {
    see_other("/staff/submissions")
}
