//! RFC 7591 client metadata for approved clients, for the authorization server to load.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::session::StaffUser;
use crate::db;
use crate::error::{AppError, BadAddress};
use crate::export;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ClientsQuery {
    status: Option<String>,
}

/// Active clients; `?status=all` adds the suspended and revoked ones.
pub async fn all(
    _staff: StaffUser,
    state: web::Data<AppState>,
    query: web::Query<ClientsQuery>,
) -> Result<HttpResponse, AppError> {
    let all = match query.status.as_deref() {
        None | Some("active") => false,
        Some("all") => true,
        Some(other) => {
            return Err(BadAddress::UnknownClientStatus(other.chars().take(40).collect()).into());
        }
    };
    let mut conn = state.db.read.acquire().await?;
    let now = state.clock.now();
    let mut clients = Vec::new();
    for submission in db::submissions::clients(&mut conn, all).await? {
        clients.push(export::entry(&mut conn, &state.public_url, &submission, now).await?);
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(clients))
}

pub async fn one(
    _staff: StaffUser,
    state: web::Data<AppState>,
    client_id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let submission = db::submissions::find_by_client_id(&mut conn, &client_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let entry = export::entry(&mut conn, &state.public_url, &submission, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(entry))
}
