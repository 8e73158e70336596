//! A client's entry in the export (SPEC §3, §8): RFC 7591 client metadata, as `clients.json`
//! lists it and as each feed event carries it in `data`.
//!
//! Rules a consumer enforces (see tests/api/export_format.rs): RFC 7591 §2 names and types,
//! OIDC Dynamic Client Registration 1.0 §2 (`subject_type` is `public` or `pairwise` only, so
//! the platform's own preference has its own name), no `null` where a value is not set (an
//! absent member is "not set"; JSON null is not a valid value for these string members), and
//! `client_secret_expires_at` (RFC 7591 §3.2.1) whenever there is a secret.

use serde::Serialize;
use sqlx::SqliteConnection;
use url::Url;

use crate::db;
use crate::db::submissions::SubmissionRow;
use crate::domain::revision::Revision;

/// RFC 7591 §2 names, plus OIDC's `initiate_login_uri` and our own review facts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClientMetadata {
    pub client_id: String,
    /// `active`, `suspended` or `revoked` (SPEC §7).
    pub status: &'static str,
    pub client_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_uri: String,
    pub logo_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tos_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub policy_uri: String,
    pub contacts: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub scope: String,
    pub grant_types: [&'static str; 2],
    pub response_types: [&'static str; 1],
    pub token_endpoint_auth_method: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub initiate_login_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub settings_uri: String,
    /// The platform's own field (`company`, `organisation`); not OIDC's `subject_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_type_preference: Option<String>,
    pub pkce_required: bool,
    /// RFC 7591 §3.2.1: Unix seconds when the newest secret expires. Only with a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// Every valid secret, newest first; only for a confidential client (never the secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secrets: Option<Vec<SecretEntry>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SecretEntry {
    /// `sha256:<lowercase hex>` of the secret exactly as shown to the partner.
    pub hash: String,
    pub expires_at: i64,
}

/// Built from the typed revision; a stored value that no longer parses is exported as stored,
/// as it was approved.
pub fn metadata(
    public_url: &Url,
    s: &SubmissionRow,
    r: &Revision,
    secrets: Vec<db::secrets::SecretRow>,
) -> ClientMetadata {
    let confidential = r.is_confidential();
    let secrets: Vec<SecretEntry> = secrets
        .into_iter()
        .map(|row| SecretEntry {
            hash: row.hash,
            expires_at: row.expires_at,
        })
        .collect();
    ClientMetadata {
        client_id: s.client_id.clone().unwrap_or_default(),
        status: s.status.client_state().unwrap_or("active"),
        client_name: r.client_name.form_text(),
        client_uri: r.client_uri.form_text(),
        logo_uri: public_url
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
        // A client that supports PKCE is held to it (`pkce_required`); only an agreed
        // exception goes without.
        pkce_required: r.supports_pkce(),
        initiate_login_uri: r.initiation_uri.form_text(),
        settings_uri: r.settings_uri.form_text(),
        subject_type_preference: r.subject_type.as_ref().map(|s| s.as_str().to_owned()),
        // The newest secret is listed first.
        client_secret_expires_at: confidential
            .then(|| secrets.first().map(|s| s.expires_at))
            .flatten(),
        client_secrets: confidential.then_some(secrets),
    }
}

/// The export entry of an approved client (active, suspended or revoked) as it stands at `now`.
pub async fn entry(
    conn: &mut SqliteConnection,
    public_url: &Url,
    submission: &SubmissionRow,
    now: i64,
) -> sqlx::Result<ClientMetadata> {
    let revision = db::submissions::current_revision(&mut *conn, submission).await?;
    let secrets = db::secrets::valid(conn, submission.id, now).await?;
    Ok(metadata(public_url, submission, &revision, secrets))
}
