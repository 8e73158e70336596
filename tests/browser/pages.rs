//! axe-core on the pages the journey does not pass through: the first-run setup page, the
//! error pages (404, 409, 413, 429) and a credentials link that has expired.

use std::time::Duration;

use serde_json::json;

use crate::app::*;
use crate::browser::{Browser, Js};
use crate::checks::Findings;

/// Register through the real form (a plain HTTP client, as a script would) and return the
/// status page path.
async fn register(app: &TestApp) -> String {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(app.url("/register")).send().await.unwrap();
    let page = scraper::Html::parse_document(&page.text().await.unwrap());
    let selector = scraper::Selector::parse("input[name=csrf_token]").unwrap();
    let token = page
        .select(&selector)
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .text("client_name", "Ledgerly")
        .text("client_uri", "https://ledgerly.example")
        .text("tos_uri", "https://ledgerly.example/terms")
        .text("policy_uri", "https://ledgerly.example/privacy")
        .text("contacts", "dev@ledgerly.example")
        .text("initiation_uri", "https://ledgerly.example/connect")
        .text("settings_uri", "https://ledgerly.example/settings")
        .text("client_type", "confidential")
        .text("redirect_uris", "https://ledgerly.example/callback")
        .text("scopes", "users:read")
        .text("scope_reason", "We sync expenses into the ledger.")
        .text("pkce", "supported")
        .text("pkce_exception", "")
        .text("subject_type", "company")
        .part(
            "logo",
            reqwest::multipart::Part::bytes(png(256, 256))
                .file_name("logo.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let response = client
        .post(app.url("/register"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_setup_page_the_error_pages_and_an_expired_link_pass_axe() {
    let app = spawn_app().await;
    let origin = app.url("");
    let b = Browser::start(Js::On).await;
    let mut findings = Findings::new(Js::On);

    // The first-run setup page, while no account exists.
    let setup = app.setup_url.clone().expect("a setup link on first start");
    b.open(&setup).await;
    assert!(b.exists("input[name=password]").await);
    findings.look_at(&b, "setup").await;

    b.open(&app.url("/no-such-page")).await;
    findings.look_at(&b, "error-404").await;

    // 409: editing a registration that is not waiting for changes.
    let status_path = register(&app).await;
    b.open(&app.url(&format!("{status_path}/edit"))).await;
    findings.look_at(&b, "error-409").await;

    // A credentials link that ran out before it was used: a reviewer approves, the link
    // arrives by email, and its time passes.
    app.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
        .await;
    b.open(&app.url("/staff/login")).await;
    b.fill("#email", STAFF_EMAIL).await;
    b.fill("#password", STAFF_PASSWORD).await;
    b.click("form button[type=submit]").await;
    b.wait_for("table.queue").await;
    b.click("table.queue a").await;
    b.wait_for("form[action$='/approve'] button").await;
    b.click("form[action$='/approve'] button").await;
    b.wait_for("[data-client-id]").await;
    let email = app
        .mail
        .wait_for("Ledgerly is approved", Duration::from_secs(30))
        .await;
    let text = email.part("text/plain").expect("a plain-text part");
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");
    sqlx::query("UPDATE credential_links SET expires_at = strftime('%s','now') - 1")
        .execute(&app.db)
        .await
        .unwrap();
    b.open(&link).await;
    assert!(b.text("[data-link-state]").await.contains("expired"));
    findings.look_at(&b, "credentials-expired").await;

    // 413: a form declared larger than 2 MiB.
    let status = b
        .show_response(
            &origin,
            "/register",
            json!({
                "method": "POST",
                "headers": { "content-type": "multipart/form-data; boundary=x" },
                "body": "x".repeat(3 * 1024 * 1024),
            }),
        )
        .await;
    assert_eq!(status, 413);
    findings.look_at(&b, "error-413").await;

    // 429: more sign-in attempts in a minute than LOGIN_RATE_LIMIT (20) allows (last: it
    // locks this client out of signing in).
    let mut status = 0;
    for _ in 0..25 {
        status = b
            .show_response(
                &origin,
                "/staff/login",
                json!({
                    "method": "POST",
                    "headers": { "content-type": "application/x-www-form-urlencoded" },
                    "body": "email=nobody%40platform.example&password=x",
                }),
            )
            .await;
        if status == 429 {
            break;
        }
    }
    assert_eq!(status, 429);
    findings.look_at(&b, "error-429").await;

    findings.assert_clean();
    b.close().await;
}
