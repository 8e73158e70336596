//! `GET /credentials/{token}` shows a button; `POST` generates the secret and shows it once.
//! Every response here is `Cache-Control: no-store`.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_ENCODING, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;

use crate::auth::Token;
use crate::auth::csrf::{CsrfForm, TokenOnly};
use crate::credentials::{self, LinkState};
use crate::error::AppError;
// The `utc` filter of the templates below.
use crate::state::AppState;
use crate::views::filters;
use crate::web::page::respond_with_form;

#[derive(Template)]
#[template(path = "credentials/show.html")]
struct CredentialsPage<'a> {
    client_name: &'a str,
    client_id: &'a str,
    state: Option<&'a LinkState>,
    /// Present only in the response to the POST that generated it.
    secret: Option<&'a str>,
    csrf_token: &'a str,
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<Token>,
) -> Result<HttpResponse, AppError> {
    let link = credentials::inspect(&state.db.read, &token, state.clock.now())
        .await?
        .ok_or(AppError::NotFound)?;
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        CredentialsPage {
            client_name: &link.client_name,
            client_id: &link.client_id,
            state: Some(&link.state),
            secret: None,
            csrf_token,
        }
        .render()
    })
    .map(no_store)
}

pub async fn reveal(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<Token>,
    _: CsrfForm<TokenOnly>,
) -> Result<HttpResponse, AppError> {
    let outcome = credentials::reveal(
        &state.db.write,
        &token,
        &credentials::Issue {
            now: state.clock.now(),
            lifetime: state.secret_lifetime,
            public_url: &state.public_url,
        },
    )
    .await?
    .ok_or(AppError::NotFound)?;
    let response = match outcome {
        Ok(revealed) => {
            tracing::info!(client_id = %revealed.client_id, "client secret revealed");
            state.feed_wake.notify_one();
            respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
                CredentialsPage {
                    client_name: &revealed.client_name,
                    client_id: &revealed.client_id,
                    state: None,
                    secret: Some(revealed.secret.expose_secret()),
                    csrf_token,
                }
                .render()
            })?
        }
        Err(link_state) => {
            let link = credentials::inspect(&state.db.read, &token, state.clock.now())
                .await?
                .ok_or(AppError::NotFound)?;
            respond_with_form(&req, &state, StatusCode::GONE, |csrf_token| {
                CredentialsPage {
                    client_name: &link.client_name,
                    client_id: &link.client_id,
                    state: Some(&link_state),
                    secret: None,
                    csrf_token,
                }
                .render()
            })?
        }
    };
    Ok(uncompressed(no_store(response)))
}

/// The page that shows a Client Secret is never compressed: its length must not depend on how
/// well the secret compresses against the rest of the page (BREACH). `Compress` leaves a
/// response alone that already names its encoding.
fn uncompressed(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(CONTENT_ENCODING, HeaderValue::from_static("identity"));
    response
}
