//! `GET /staff/events.json?after=ID`: the provisioning feed, for a consumer that polls.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::session::StaffUser;
use crate::db;
use crate::error::AppError;
use crate::feed::Event;
use crate::state::AppState;

/// At most this many events a page.
pub const PAGE: i64 = 100;

#[derive(Deserialize)]
pub struct After {
    #[serde(default)]
    after: i64,
}

pub async fn list(
    _staff: StaffUser,
    state: web::Data<AppState>,
    query: web::Query<After>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let events: Vec<Event> = db::feed::after(&mut conn, query.after, PAGE)
        .await?
        .iter()
        .map(Event::from_row)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(events))
}
