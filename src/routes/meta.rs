//! The pages around the product: home, health, robots, 404.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db;
use crate::error::{AppError, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct Home;

pub async fn home() -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, &Home)
}

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match db::ping(&state.db.read).await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "database": "ok" })),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "error", "database": "unavailable" }))
        }
    }
}

/// Status, credentials and staff pages carry secrets in their URLs or sit behind a login.
const ROBOTS: &str =
    "User-agent: *\nDisallow: /submissions/\nDisallow: /credentials/\nDisallow: /staff/\n";

pub async fn robots() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(ROBOTS)
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
