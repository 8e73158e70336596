//! Steps the secret, expiry and feed tests share: a portal on a clock the test moves, an
//! approved client, a revealed secret, the export entry.

use partner_registry::clock::Clock;
use scraper::Html;

use crate::helpers::*;

/// The portal on a clock only the test moves (besides real time passing), staff signed in.
pub async fn spawn_with_clock(
    adjust: impl FnOnce(&mut std::collections::HashMap<String, String>),
) -> (TestApp, Clock) {
    let clock = Clock::system();
    let theirs = clock.clone();
    let app = TestApp::builder()
        .vars(adjust)
        .settings(move |s| s.clock = theirs)
        .start()
        .await;
    app.sign_in_staff().await;
    (app, clock)
}

/// Register `form` (as the partner), approve it (as staff, signed in already); (submission
/// id, Client ID).
pub async fn approve(app: &TestApp, form: impl FnOnce(FormFields) -> FormFields) -> (i64, String) {
    let token = app.csrf_token("/register").await;
    let response = app.post_register(&form(FormFields::valid(&token))).await;
    assert_eq!(response.status(), 303);
    let id = app.submission_id(&location(&response)).await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let client_id = sqlx::query_scalar("SELECT client_id FROM submissions WHERE id = ?")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (id, client_id)
}

/// The newest credentials link emailed (of `kind`: approved, secret_rotated), as a path.
pub async fn newest_link(app: &TestApp, kind: &str) -> String {
    let (_, text) = app.delivered(kind).await.pop().expect("an email");
    link_in(&text, &app.url("/credentials/"))
        .expect("a credentials link")
        .strip_prefix(&app.address)
        .unwrap()
        .to_owned()
}

/// Use a credentials link as the partner does and return the secret shown.
pub async fn reveal_secret(app: &TestApp, path: &str) -> String {
    let page = app.get_html(path).await;
    assert!(exists(&page, "input[name=csrf_token]"), "a reveal form");
    let response = app.reveal_credentials(path).await;
    assert_eq!(response.status(), 200);
    let page = Html::parse_document(&response.text().await.unwrap());
    select(&page, "[data-secret]").remove(0)
}

/// The client's entry in `/staff/clients/{id}.json`.
pub async fn export_of(app: &TestApp, client_id: &str) -> serde_json::Value {
    let response = app.get(&format!("/staff/clients/{client_id}.json")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `sha256:<hex>` of a secret as shown, computed here independently of the portal.
pub fn hash_of(secret: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The hashes the export lists for a client, newest first.
pub fn listed_hashes(entry: &serde_json::Value) -> Vec<String> {
    entry["client_secrets"]
        .as_array()
        .expect("client_secrets")
        .iter()
        .map(|s| s["hash"].as_str().unwrap().to_owned())
        .collect()
}

/// Register a confidential client, approve it, and return (submission id, status path,
/// credentials path, Client ID). The reviewer stays signed in.
pub async fn active_client(app: &TestApp) -> (i64, String, String, String) {
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let (_, text) = app.delivered("approved").await.remove(0);
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");
    let credentials = link.strip_prefix(&app.address).unwrap().to_owned();
    let client_id = select(&app.get_html(&credentials).await, "[data-client-id]").remove(0);
    (id, status_path, credentials, client_id)
}
