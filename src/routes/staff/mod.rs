//! Staff pages, all behind a login (the `StaffUser` extractor redirects to it).

mod account;
mod accounts;
mod audit;
mod detail;
mod events;
mod export;
mod me;
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
            "/staff/login/mfa",
            crate::routes::read().to(me::second_step_form),
        )
        .route("/staff/login/mfa", web::post().to(me::second_step))
        .route("/staff/account", crate::routes::read().to(me::show))
        .route("/staff/account/mfa", web::post().to(me::enable_mfa))
        .route(
            "/staff/account/password",
            web::post().to(me::change_password),
        )
        .route("/staff/accounts", crate::routes::read().to(accounts::list))
        .route("/staff/accounts/invite", web::post().to(accounts::invite))
        .route(
            "/staff/accounts/{id}/disable",
            web::post().to(accounts::disable),
        )
        .route(
            "/staff/accounts/{id}/enable",
            web::post().to(accounts::enable),
        )
        .route(
            "/staff/accounts/{id}/role",
            web::post().to(accounts::set_role),
        )
        .route(
            "/staff/accounts/{id}/reset-mfa",
            web::post().to(accounts::reset_mfa),
        )
        .route(
            "/staff/invite/{token}",
            crate::routes::read().to(accounts::invitation_form),
        )
        .route(
            "/staff/invite/{token}",
            web::post().to(accounts::accept_invitation),
        )
        .route("/staff/audit", crate::routes::read().to(audit::list))
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
            "/staff/submissions/{id}/suspend",
            web::post().to(detail::suspend),
        )
        .route(
            "/staff/submissions/{id}/reinstate",
            web::post().to(detail::reinstate),
        )
        .route(
            "/staff/submissions/{id}/revoke",
            web::post().to(detail::revoke),
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
    /// Admins also see the accounts and the audit log.
    pub admin: bool,
}

impl StaffNav {
    pub fn new(staff: &StaffUser, state: &AppState) -> StaffNav {
        StaffNav {
            name: staff.name.clone(),
            csrf_token: staff.csrf_token(state),
            admin: staff.is_admin(),
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
