//! RFC 7591 client metadata for approved clients, for the authorization server to load.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::session::StaffUser;
use crate::db;
use crate::db::submissions::SubmissionRow;
use crate::domain::revision::Revision;
use crate::error::{AppError, BadAddress};
use crate::state::AppState;

/// RFC 7591 §2 names, plus OIDC's `initiate_login_uri` and our own review facts.
#[derive(Serialize)]
struct ClientMetadata {
    client_id: String,
    /// `active`, `suspended` or `revoked` (SPEC §7).
    status: &'static str,
    client_name: String,
    client_uri: String,
    logo_uri: String,
    tos_uri: String,
    policy_uri: String,
    contacts: Vec<String>,
    redirect_uris: Vec<String>,
    scope: String,
    grant_types: [&'static str; 2],
    response_types: [&'static str; 1],
    token_endpoint_auth_method: &'static str,
    initiate_login_uri: String,
    settings_uri: String,
    subject_type: Option<String>,
    pkce_required: bool,
    /// `sha256:<hex>` of the current secret; null until the partner has revealed one.
    client_secret_hash: Option<String>,
}

/// Built from the typed revision; a stored value that no longer parses is exported as stored,
/// as it was approved.
fn metadata(state: &AppState, s: SubmissionRow, r: Revision) -> ClientMetadata {
    let confidential = r.is_confidential();
    ClientMetadata {
        status: s.status.client_state().unwrap_or("active"),
        client_id: s.client_id.unwrap_or_default(),
        client_name: r.client_name.form_text(),
        client_uri: r.client_uri.form_text(),
        logo_uri: state
            .public_url
            .join(&format!("logos/{}.png", r.logo.0))
            .expect("a path")
            .to_string(),
        tos_uri: r.tos_uri.form_text(),
        policy_uri: r.policy_uri.form_text(),
        contacts: r.contacts.lines(),
        redirect_uris: r.redirect_uris.lines(),
        scope: r.scopes.lines().join(" "),
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: if confidential {
            "client_secret_basic"
        } else {
            "none"
        },
        pkce_required: r.supports_pkce(),
        initiate_login_uri: r.initiation_uri.form_text(),
        settings_uri: r.settings_uri.form_text(),
        // A client that supports PKCE is held to it (`pkce_required`); only an agreed
        // exception goes without.
        subject_type: r.subject_type.map(|s| s.as_str().to_owned()),
        client_secret_hash: if confidential { s.secret_hash } else { None },
    }
}

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
    let mut clients = Vec::new();
    for submission in db::submissions::clients(&mut conn, all).await? {
        let revision = db::submissions::current_revision(&mut conn, &submission).await?;
        clients.push(metadata(&state, submission, revision));
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
    let revision = db::submissions::current_revision(&mut conn, &submission).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(metadata(&state, submission, revision)))
}
