//! Rotation with overlap (SPEC §8): the current secret outlives the new one's reveal by 7
//! days; `immediate` stops every secret at once; never more than two valid.

use crate::client_steps::*;
use crate::helpers::*;

const DAY: i64 = 86_400;

#[tokio::test]
async fn an_overlapping_rotation_keeps_the_old_secret_for_seven_days_after_the_reveal() {
    let (app, clock) = spawn_with_clock(|_| {}).await;
    let (id, client_id) = approve(&app, |f| f).await;
    let first = reveal_secret(&app, &newest_link(&app, "approved").await).await;

    // The staff page offers both modes and says which to pick when.
    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    let labels = select(&page, "form[action$='/rotate-secret'] label");
    assert!(
        labels[0].starts_with("Overlap") && labels[0].contains("routine"),
        "{labels:?}"
    );
    assert!(
        labels[1].starts_with("Immediate") && labels[1].contains("leaked"),
        "{labels:?}"
    );
    assert_eq!(
        attr(&page, "input[name=mode][checked]", "value").as_deref(),
        Some("overlap")
    );

    // Without a mode the rotation overlaps: nothing changes until the new secret is revealed.
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
    let now = clock.now();
    assert!(app.verify_secret_at(&client_id, &first, now).await);
    let (_, text) = app.delivered("secret_rotated").await.remove(0);
    assert!(text.contains("keeps working until 7 days after"), "{text}");

    clock.advance_days(2);
    let second = reveal_secret(&app, &newest_link(&app, "secret_rotated").await).await;
    let revealed_at = clock.now();
    let entry = export_of(&app, &client_id).await;
    assert_eq!(listed_hashes(&entry), [hash_of(&second), hash_of(&first)]);
    let old_expiry = entry["client_secrets"][1]["expires_at"].as_i64().unwrap();
    assert!(
        (old_expiry - (revealed_at + 7 * DAY)).abs() <= 2,
        "7 days after the reveal"
    );
    assert_eq!(
        entry["client_secret_expires_at"], entry["client_secrets"][0]["expires_at"],
        "the newest secret's expiry"
    );
    for secret in [&first, &second] {
        assert!(app.verify_secret_at(&client_id, secret, clock.now()).await);
    }

    // Eight days on, only the new one works.
    clock.advance_days(8);
    assert!(!app.verify_secret_at(&client_id, &first, clock.now()).await);
    assert!(app.verify_secret_at(&client_id, &second, clock.now()).await);
    assert_eq!(
        listed_hashes(&export_of(&app, &client_id).await),
        [hash_of(&second)]
    );
}

#[tokio::test]
async fn two_quick_rotations_leave_at_most_two_valid_secrets() {
    let (app, clock) = spawn_with_clock(|_| {}).await;
    let (id, client_id) = approve(&app, |f| f).await;
    let first = reveal_secret(&app, &newest_link(&app, "approved").await).await;
    let mut shown = vec![first];
    for _ in 0..2 {
        clock.advance(60);
        assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
        shown.push(reveal_secret(&app, &newest_link(&app, "secret_rotated").await).await);
    }
    let entry = export_of(&app, &client_id).await;
    assert_eq!(
        listed_hashes(&entry),
        [hash_of(&shown[2]), hash_of(&shown[1])]
    );
    assert!(
        !app.verify_secret_at(&client_id, &shown[0], clock.now())
            .await
    );
}

#[tokio::test]
async fn an_immediate_rotation_stops_every_secret_at_once() {
    let (app, clock) = spawn_with_clock(|_| {}).await;
    let (id, client_id) = approve(&app, |f| f).await;
    let first = reveal_secret(&app, &newest_link(&app, "approved").await).await;
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
    let second = reveal_secret(&app, &newest_link(&app, "secret_rotated").await).await;
    assert_eq!(listed_hashes(&export_of(&app, &client_id).await).len(), 2);

    let response = app
        .decide(id, "rotate-secret", &[("mode", "immediate")])
        .await;
    assert_eq!(response.status(), 303);
    for secret in [&first, &second] {
        assert!(!app.verify_secret_at(&client_id, secret, clock.now()).await);
    }
    let entry = export_of(&app, &client_id).await;
    assert_eq!(listed_hashes(&entry), Vec::<String>::new());
    assert!(entry.get("client_secret_expires_at").is_none());
    let (_, text) = app.delivered("secret_rotated").await.pop().unwrap();
    assert!(text.contains("stopped working at once"), "{text}");
}

#[tokio::test]
async fn an_unknown_rotation_mode_is_refused_and_changes_nothing() {
    let (app, _clock) = spawn_with_clock(|_| {}).await;
    let (id, _) = approve(&app, |f| f).await;
    reveal_secret(&app, &newest_link(&app, "approved").await).await;
    let response = app.decide(id, "rotate-secret", &[("mode", "later")]).await;
    assert_eq!(response.status(), 422);
    let page = scraper::Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "[data-review-error]")[0].contains("overlap"));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM credential_links WHERE used_at IS NULL AND revoked_at IS NULL"
        )
        .await,
        0,
        "no new link"
    );
}

#[tokio::test]
async fn a_partner_starts_an_overlapping_rotation_from_the_status_page_once_a_day() {
    let (app, clock) = spawn_with_clock(|_| {}).await;
    let token = app.csrf_token("/register").await;
    let response = app.post_register(&FormFields::valid(&token)).await;
    let status_path = location(&response);
    let id = app.submission_id(&status_path).await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let client_id: String = sqlx::query_scalar("SELECT client_id FROM submissions WHERE id = ?")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let first = reveal_secret(&app, &newest_link(&app, "approved").await).await;

    let response = partner_rotate(&app, &status_path).await;
    assert_eq!(response.status(), 303);
    let page = app.get_html(&status_path).await;
    assert!(
        !page.html().contains("/credentials/"),
        "the new link is never on the page"
    );
    let new_link = newest_link(&app, "secret_rotated").await;
    assert!(
        app.verify_secret_at(&client_id, &first, clock.now()).await,
        "overlap"
    );

    // Once a day.
    let response = partner_rotate(&app, &status_path).await;
    assert_eq!(response.status(), 429);
    clock.advance_days(1);
    assert_eq!(partner_rotate(&app, &status_path).await.status(), 303);
    assert_ne!(newest_link(&app, "secret_rotated").await, new_link);
}

async fn partner_rotate(app: &TestApp, status_path: &str) -> reqwest::Response {
    let page = app.get_html(status_path).await;
    let csrf = attr(
        &page,
        "form[data-rotate-secret] input[name=csrf_token]",
        "value",
    )
    .expect("the status page offers a rotation");
    app.client
        .post(app.url(&format!("{status_path}/rotate-secret")))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap()
}

/// POST the status page's rotation form with a token read from it earlier (a page left open).
async fn partner_rotate_with(app: &TestApp, status_path: &str, csrf: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("{status_path}/rotate-secret")))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap()
}

/// The error page's heading and message.
async fn refusal(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let page = scraper::Html::parse_document(&response.text().await.unwrap());
    (
        status,
        select(&page, "h1").concat(),
        select(&page, "p.lead").concat(),
    )
}

#[tokio::test]
async fn a_partner_rotation_of_a_suspended_or_revoked_client_is_refused_with_a_page_that_says_why()
{
    let (app, _clock) = spawn_with_clock(|_| {}).await;
    let token = app.csrf_token("/register").await;
    let status_path = location(&app.post_register(&FormFields::valid(&token)).await);
    let id = app.submission_id(&status_path).await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    reveal_secret(&app, &newest_link(&app, "approved").await).await;
    // The partner opened the status page while the client was active.
    let page = app.get_html(&status_path).await;
    let csrf = attr(
        &page,
        "form[data-rotate-secret] input[name=csrf_token]",
        "value",
    )
    .expect("an active client's page offers a rotation");
    let links = app.credential_links(id).await;

    let reason = [("reason", "Unusual traffic")];
    assert_eq!(app.decide(id, "suspend", &reason).await.status(), 303);
    assert!(!exists(
        &app.get_html(&status_path).await,
        "form[data-rotate-secret]"
    ));
    let (status, title, message) =
        refusal(partner_rotate_with(&app, &status_path, &csrf).await).await;
    assert_eq!((status, title.as_str()), (409, "Client suspended"));
    assert!(message.contains("suspended"), "{message}");
    assert!(message.contains("until we reinstate it"), "{message}");

    assert_eq!(app.decide(id, "revoke", &reason).await.status(), 303);
    let (status, title, message) =
        refusal(partner_rotate_with(&app, &status_path, &csrf).await).await;
    assert_eq!((status, title.as_str()), (410, "Client revoked"));
    assert!(message.contains("revoked, which is final"), "{message}");

    assert_eq!(app.credential_links(id).await, links, "no new link");
    assert!(app.delivered("secret_rotated").await.is_empty());
}
