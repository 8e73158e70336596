//! `GET /links` and `POST /links`: a partner who lost a status link asks for fresh ones
//! (SPEC §7). The answer is the same whatever the address, so the page tells nobody which
//! addresses are contacts; only the mailbox learns it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::CsrfForm;
use crate::db;
use crate::domain::contacts::ContactList;
use crate::error::AppError;
use crate::mail::messages::LostLinks;
use crate::routes::register::check_rate_limit;
use crate::state::AppState;
use crate::web::page::respond_with_form;

#[derive(Template)]
#[template(path = "links/form.html")]
struct LinksPage<'a> {
    email: &'a str,
    error: Option<String>,
    sent: bool,
    csrf_token: &'a str,
}

#[derive(Deserialize)]
pub struct LinksForm {
    #[serde(default)]
    email: String,
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        LinksPage {
            email: "",
            error: None,
            sent: false,
            csrf_token,
        }
        .render()
    })
}

/// One address, as the registration form would accept it as a contact.
fn parse_address(raw: &str) -> Result<String, String> {
    let list = ContactList::parse(raw).map_err(|e| e.to_string())?;
    match list.as_strings().as_slice() {
        [one] => Ok(one.clone()),
        _ => Err("Enter one email address.".into()),
    }
}

pub async fn send(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm { form, .. }: CsrfForm<LinksForm>,
) -> Result<HttpResponse, AppError> {
    check_rate_limit(&req, &state)?;
    let email = match parse_address(&form.email) {
        Ok(email) => email,
        Err(error) => {
            return respond_with_form(
                &req,
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                |csrf_token| {
                    LinksPage {
                        email: &form.email,
                        error: Some(error),
                        sent: false,
                        csrf_token,
                    }
                    .render()
                },
            );
        }
    };
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let registrations = db::submissions::with_contact(&mut tx, &email).await?;
    // To the address as the registration holds it, not as it was typed here.
    if let Some((_, _, recipient)) = registrations.first() {
        let mut links = Vec::new();
        for (id, name, _) in &registrations {
            // Only hashes are stored, so each link is a new token; earlier ones keep working.
            let token = db::submissions::new_status_token(&mut tx, *id, now).await?;
            let url = state
                .public_url
                .join(&format!("submissions/{token}"))
                .expect("a path");
            links.push((name.clone(), url.to_string()));
        }
        let message = LostLinks { links }.render()?;
        // One email, about every registration it links to.
        let covered: Vec<i64> = registrations.iter().map(|(id, _, _)| *id).collect();
        state
            .outbox
            .queue_covering(
                &mut tx,
                &covered,
                &message,
                std::slice::from_ref(recipient),
                now,
            )
            .await?;
    }
    tx.commit().await?;
    if !registrations.is_empty() {
        state.outbox.wake_worker();
    }
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        LinksPage {
            email: "",
            error: None,
            sent: true,
            csrf_token,
        }
        .render()
    })
}
