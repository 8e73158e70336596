//! The one-time credentials link and secret rotation.

use scraper::Html;

use crate::helpers::*;

/// Register, approve, and return (submission id, client id, credentials path).
async fn approved_client(app: &TestApp) -> (i64, String, String) {
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let (_, text) = app.delivered("approved").await.remove(0);
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");
    let path = link.strip_prefix(&app.address).unwrap().to_owned();
    // The partner reads the client id off the link's page.
    let page = app.get_html(&path).await;
    let client_id = select(&page, "[data-client-id]").remove(0);
    (id, client_id, path)
}

/// The secret hash stored for `client_id` now (what a token endpoint compares with).
async fn stored_hash(app: &TestApp, client_id: &str) -> Option<String> {
    let mut conn = app.db.acquire().await.unwrap();
    partner_registry::db::secrets::valid_hashes_of_client(
        &mut conn,
        client_id,
        partner_registry::db::now(),
    )
    .await
    .unwrap()
    .into_iter()
    .next()
}

/// Make every credentials link of the app expire now (the only way these tests move time).
async fn expire_links(app: &TestApp) {
    sqlx::query("UPDATE credential_links SET expires_at = strftime('%s','now') - 1")
        .execute(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn opening_the_link_shows_a_button_and_does_not_use_it_up() {
    let app = spawn_app().await;
    let (_, client_id, path) = approved_client(&app).await;
    assert!(!client_id.is_empty());
    for _ in 0..3 {
        let response = app.get(&path).await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let page = Html::parse_document(&response.text().await.unwrap());
        assert_eq!(select(&page, "button[type=submit]"), ["Reveal secret"]);
        assert_eq!(select(&page, "[data-client-id]"), [client_id.as_str()]);
        assert!(!exists(&page, "[data-secret]"));
    }
    assert_eq!(
        stored_hash(&app, &client_id).await,
        None,
        "no secret exists before it is revealed"
    );
}

#[tokio::test]
async fn the_secret_is_revealed_once_and_only_its_hash_is_stored() {
    let app = spawn_app().await;
    let (_, client_id, path) = approved_client(&app).await;

    let response = app.reveal_credentials(&path).await;
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
    assert!(app.verify_secret(&client_id, &secret).await);
    assert!(!app.verify_secret(&client_id, "guess").await);

    let again = app.reveal_credentials(&path).await;
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
    let outbox = app.outbox().await;
    assert!(!outbox.is_empty());
    for email in outbox {
        assert!(!email.text_body.contains(&secret), "{}", email.kind);
        assert!(!email.html_body.contains(&secret), "{}", email.kind);
    }
}

#[tokio::test]
async fn an_expired_link_says_so_and_a_post_to_it_gets_410_and_reveals_nothing() {
    let app = spawn_app().await;
    let (_, client_id, path) = approved_client(&app).await;
    // The form as the partner opened it, before the link ran out.
    let token = app.csrf_token(&path).await;
    expire_links(&app).await;

    let page = app.get_html(&path).await;
    assert!(select(&page, "[data-link-state]")[0].contains("expired"));
    assert!(!exists(&page, "button[type=submit]"));

    let response = app
        .client
        .post(app.url(&path))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 410);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(!exists(&page, "[data-secret]"));
    assert!(select(&page, "[data-link-state]")[0].contains("expired"));
    assert_eq!(stored_hash(&app, &client_id).await, None);
}

#[tokio::test]
async fn a_post_to_a_link_replaced_by_a_rotation_gets_410_and_leaves_the_new_secret() {
    let app = spawn_app().await;
    let (id, client_id, old_path) = approved_client(&app).await;
    let token = app.csrf_token(&old_path).await;
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
    let rotated = app.delivered("secret_rotated").await;
    let new_link = link_in(&rotated[0].1, &app.url("/credentials/")).unwrap();
    let page = Html::parse_document(
        &app.reveal_credentials(new_link.strip_prefix(&app.address).unwrap())
            .await
            .text()
            .await
            .unwrap(),
    );
    let secret = select(&page, "[data-secret]").remove(0);
    let hash = stored_hash(&app, &client_id).await;
    assert!(hash.is_some());

    let response = app
        .client
        .post(app.url(&old_path))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 410);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(!exists(&page, "[data-secret]"));
    assert!(select(&page, "[data-link-state]")[0].contains("replaced"));
    assert_eq!(stored_hash(&app, &client_id).await, hash);
    assert!(app.verify_secret(&client_id, &secret).await);
}

#[tokio::test]
async fn two_reveals_of_one_link_at_once_give_exactly_one_secret() {
    let app = spawn_app().await;
    let (_, client_id, path) = approved_client(&app).await;
    let token = app.csrf_token(&path).await;
    let post = || {
        app.client
            .post(app.url(&path))
            .form(&[("csrf_token", token.clone())])
            .send()
    };
    let (a, b) = tokio::join!(post(), post());
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 410]);
    assert!(stored_hash(&app, &client_id).await.is_some());
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
    let page = app.get_html(&path).await;
    assert_eq!(
        select(&page, "button[type=submit]"),
        ["Reveal secret"],
        "the link is still unused"
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
    let page = Html::parse_document(&app.reveal_credentials(&path).await.text().await.unwrap());
    let old_secret = select(&page, "[data-secret]").remove(0);

    let response = app
        .decide(id, "rotate-secret", &[("mode", "immediate")])
        .await;
    assert_eq!(response.status(), 303);
    assert!(!app.verify_secret(&client_id, &old_secret).await);
    let rotated = app.delivered("secret_rotated").await;
    assert_eq!(rotated.len(), 2);
    let new_link = link_in(&rotated[0].1, &app.url("/credentials/")).unwrap();
    let new_path = new_link.strip_prefix(&app.address).unwrap().to_owned();
    assert_ne!(new_path, path);

    let page = Html::parse_document(
        &app.reveal_credentials(&new_path)
            .await
            .text()
            .await
            .unwrap(),
    );
    let new_secret = select(&page, "[data-secret]").remove(0);
    assert_ne!(new_secret, old_secret);
    assert!(app.verify_secret(&client_id, &new_secret).await);
}

#[tokio::test]
async fn rotating_before_the_first_reveal_replaces_the_unused_link() {
    let app = spawn_app().await;
    let (id, _, path) = approved_client(&app).await;
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
    let page = app.get_html(&path).await;
    assert!(select(&page, "[data-link-state]")[0].contains("replaced"));
    assert!(!exists(&page, "button[type=submit]"));
}

#[tokio::test]
async fn a_pending_or_public_client_has_no_secret_to_rotate() {
    let app = spawn_app().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 409);
}
