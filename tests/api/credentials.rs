//! The one-time credentials link and secret rotation.

use partner_registry::credentials::verify_secret;
use scraper::Html;

use crate::helpers::*;

/// Register, approve, and return (submission id, client id, credentials path).
async fn approved_client(app: &TestApp) -> (i64, String, String) {
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let (_, text) = app.delivered("approved").await.remove(0);
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");
    let client_id = sqlx::query_scalar("SELECT client_id FROM submissions WHERE id = ?")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (
        id,
        client_id,
        link.strip_prefix(&app.address).unwrap().to_owned(),
    )
}

async fn reveal(app: &TestApp, path: &str) -> reqwest::Response {
    let page = app.get_html(path).await;
    // A spent link has no form; a replayed POST carries the visitor's token from elsewhere.
    let token = match attr(&page, "input[name=csrf_token]", "value") {
        Some(token) => token,
        None => app.csrf_token("/register").await,
    };
    app.client
        .post(app.url(path))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn opening_the_link_shows_a_button_and_does_not_use_it_up() {
    let app = spawn_app().await;
    let (_, client_id, path) = approved_client(&app).await;
    for _ in 0..3 {
        let response = app.get(&path).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = Html::parse_document(&response.text().await.unwrap());
        assert_eq!(select(&page, "button[type=submit]"), ["Reveal secret"]);
        assert_eq!(select(&page, "[data-client-id]"), [client_id.as_str()]);
        assert!(!exists(&page, "[data-secret]"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM client_secrets").await,
        0,
        "no secret exists before it is revealed"
    );
}

#[tokio::test]
async fn the_secret_is_revealed_once_and_only_its_hash_is_stored() {
    let app = spawn_app().await;
    let (_, client_id, path) = approved_client(&app).await;

    let response = reveal(&app, &path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = Html::parse_document(&response.text().await.unwrap());
    let secret = select(&page, "[data-secret]").remove(0);
    assert!(secret.len() >= 43, "256 bits, base64url: {secret}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert!(verify_secret(&app.db, &client_id, &secret).await.unwrap());
    assert!(!verify_secret(&app.db, &client_id, "guess").await.unwrap());

    let again = reveal(&app, &path).await;
    assert_eq!(again.status(), 410);
    let page = Html::parse_document(&again.text().await.unwrap());
    assert!(!exists(&page, "[data-secret]"));
    assert!(select(&page, "[data-link-state]")[0].contains("retrieved"));
    assert!(select(&page, "[data-link-state]")[0].contains("rotate"));

    // The secret is nowhere at rest: not in the database file (WAL included), not in any email.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&app.db)
        .await
        .unwrap();
    for file in ["registry.db", "registry.db-wal"] {
        if let Ok(bytes) = std::fs::read(app.data_dir.path().join(file)) {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "the secret is in {file}");
        }
    }
    let leaked = app.count(&format!(
        "SELECT COUNT(*) FROM outbox WHERE text_body LIKE '%{secret}%' OR html_body LIKE '%{secret}%'"
    ))
    .await;
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn an_expired_link_says_so_and_reveals_nothing() {
    let app = spawn_app().await;
    let (_, _, path) = approved_client(&app).await;
    sqlx::query("UPDATE credential_links SET expires_at = strftime('%s','now') - 1")
        .execute(&app.db)
        .await
        .unwrap();
    let page = app.get_html(&path).await;
    assert!(select(&page, "[data-link-state]")[0].contains("expired"));
    assert!(!exists(&page, "button[type=submit]"));
    assert_eq!(app.count("SELECT COUNT(*) FROM client_secrets").await, 0);
}

#[tokio::test]
async fn a_link_without_its_anti_forgery_token_reveals_nothing() {
    let app = spawn_app().await;
    let (_, _, path) = approved_client(&app).await;
    let response = app
        .client
        .post(app.url(&path))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM credential_links WHERE used_at IS NULL")
            .await,
        1
    );
    assert_eq!(
        app.get("/credentials/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn rotating_immediately_stops_the_old_secret_at_once_and_emails_a_new_link() {
    let app = spawn_app().await;
    let (id, client_id, path) = approved_client(&app).await;
    let page = Html::parse_document(&reveal(&app, &path).await.text().await.unwrap());
    let old_secret = select(&page, "[data-secret]").remove(0);

    let response = app
        .decide(id, "rotate-secret", &[("mode", "immediate")])
        .await;
    assert_eq!(response.status(), 303);
    assert!(
        !verify_secret(&app.db, &client_id, &old_secret)
            .await
            .unwrap()
    );
    let rotated = app.delivered("secret_rotated").await;
    assert_eq!(rotated.len(), 2);
    let new_link = link_in(&rotated[0].1, &app.url("/credentials/")).unwrap();
    let new_path = new_link.strip_prefix(&app.address).unwrap().to_owned();
    assert_ne!(new_path, path);

    let page = Html::parse_document(&reveal(&app, &new_path).await.text().await.unwrap());
    let new_secret = select(&page, "[data-secret]").remove(0);
    assert_ne!(new_secret, old_secret);
    assert!(
        verify_secret(&app.db, &client_id, &new_secret)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn rotating_before_the_first_reveal_replaces_the_unused_link() {
    let app = spawn_app().await;
    let (id, _, path) = approved_client(&app).await;
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
    let page = app.get_html(&path).await;
    assert!(select(&page, "[data-link-state]")[0].contains("replaced"));
}

#[tokio::test]
async fn a_pending_or_public_client_has_no_secret_to_rotate() {
    let app = spawn_app().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 409);
}
