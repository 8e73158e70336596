//! `GET /submissions/{token}`: the partner's status page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::is_token_shaped;
use crate::db;
use crate::db::submissions::{EventRow, RevisionRow, SubmissionRow};
use crate::domain::status::Status;
use crate::error::{AppError, render};
use crate::routes::view::ConsentPreview;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "submissions/status.html")]
struct StatusPage {
    submission: SubmissionRow,
    status: Status,
    revision: RevisionRow,
    events: Vec<EventRow>,
    preview: ConsentPreview,
}

pub async fn status(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if !is_token_shaped(&token) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.db.acquire().await?;
    let submission = db::submissions::find_by_token(&mut conn, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    let revision = db::submissions::current_revision(&mut conn, &submission).await?;
    let events = db::submissions::events(&mut conn, submission.id).await?;
    let preview = ConsentPreview::from_revision(&revision, &state.scopes);
    let page = StatusPage {
        status: submission.status(),
        submission,
        revision,
        events,
        preview,
    };
    let mut response = render(StatusCode::OK, &page)?;
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
