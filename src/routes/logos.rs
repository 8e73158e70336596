//! Stored logos. Ids are random, so unannounced integrations cannot be enumerated.

use actix_web::{HttpResponse, web};

use crate::auth::Token;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

fn png(body: Vec<u8>, cache: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("Cache-Control", cache))
        .body(body)
}

pub async fn serve(
    state: web::Data<AppState>,
    id: web::Path<Token>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let body = db::logos::png(&mut conn, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    // A stored logo never changes: a new upload gets a new id.
    Ok(png(body, "public, max-age=31536000, immutable"))
}

/// A logo held for a form with errors, shown back to the partner who uploaded it.
pub async fn held(
    state: web::Data<AppState>,
    token: web::Path<Token>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let id = db::logos::find_held(&mut conn, &token, db::now())
        .await?
        .ok_or(AppError::NotFound)?;
    let body = db::logos::held_png(&mut conn, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(png(body, "private, no-store"))
}
