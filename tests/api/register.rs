//! The registration form, end to end.

use scraper::Html;

use crate::helpers::*;

#[tokio::test]
async fn the_form_has_every_field_in_its_three_groups() {
    let app = spawn_app().await;
    let page = app.get_html("/register").await;

    assert_eq!(
        select(&page, "fieldset.group > legend"),
        [
            "About your application",
            "How it appears in the platform",
            "Technical"
        ]
    );
    for name in [
        "client_name",
        "client_uri",
        "logo",
        "tos_uri",
        "policy_uri",
        "contacts",
        "initiation_uri",
        "settings_uri",
        "client_type",
        "redirect_uris",
        "scopes",
        "scope_reason",
        "pkce",
        "pkce_exception",
        "subject_type",
        "csrf_token",
    ] {
        assert!(exists(&page, &format!("[name={name}]")), "no field {name}");
    }
    // Every visible field has a label and a hint it is described by.
    for id in [
        "client_name",
        "client_uri",
        "logo",
        "contacts",
        "redirect_uris",
        "subject_type",
    ] {
        assert!(
            exists(&page, &format!("label[for={id}]")),
            "no label for {id}"
        );
        assert!(
            exists(&page, &format!("#{id}[aria-describedby~='{id}-hint']")),
            "{id} hint"
        );
    }
    assert_eq!(select(&page, "input[name=scopes]").len(), 10);
    assert!(select(&page, "label[for=scope-users-write]")[0].contains("changes data"));
    assert!(exists(&page, "[data-consent-preview]"));
    assert_eq!(
        attr(&page, "form.registration", "enctype").unwrap(),
        "multipart/form-data"
    );
}

#[tokio::test]
async fn a_valid_registration_is_stored_with_its_receipts_and_shows_its_status_page() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;

    let response = app.post_register(&FormFields::valid(&token)).await;

    assert_eq!(response.status(), 303);
    let status_path = location(&response);
    let status_token = status_path.strip_prefix("/submissions/").unwrap();
    assert!(
        status_token.len() >= 22,
        "at least 128 bits: {status_token}"
    );
    assert_eq!(app.submissions(Some("pending")).await, 1);
    assert_eq!(
        app.revisions(app.submission_id(&status_path).await)
            .await
            .len(),
        1
    );
    let mut recipients: Vec<String> = app
        .outbox()
        .await
        .into_iter()
        .filter(|row| row.kind == "receipt")
        .map(|row| row.recipient)
        .collect();
    recipients.sort();
    assert_eq!(recipients, ["dev@ledgerly.example", "ops@ledgerly.example"]);
    let (_, text) = app.delivered("receipt").await.remove(0);
    assert!(
        text.contains(&app.url(&status_path)),
        "the receipt links to the status page"
    );

    let page = app.get_html(&status_path).await;
    assert_eq!(select(&page, "[data-status]"), ["Pending review"]);
    assert_eq!(select(&page, "h1"), ["Ledgerly"]);
    assert!(
        select(&page, ".values dd li")
            .iter()
            .any(|v| v == "http://localhost:8080/cb")
    );
    assert_eq!(select(&page, "[data-preview-name]"), ["Ledgerly"]);
    assert_eq!(select(&page, ".history li").len(), 1);

    let logo_src = attr(&page, "img.logo", "src").unwrap();
    let logo = app.get(&logo_src).await;
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    let stored = image::load_from_memory(&logo.bytes().await.unwrap()).unwrap();
    assert_eq!((stored.width(), stored.height()), (256, 256));
}

#[tokio::test]
async fn a_form_with_errors_keeps_every_value_and_the_logo() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let form = FormFields::valid(&token)
        .set("client_uri", "ftp://ledgerly.example")
        .set(
            "redirect_uris",
            "https://ledgerly.example/cb\njavascript:alert(1)",
        )
        .set("contacts", "dev@ledgerly.example\nnot-an-address");

    let response = app.post_register(&form).await;

    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    let summary = select(&page, ".error-summary li a");
    assert_eq!(summary.len(), 3, "{summary:?}");
    assert_eq!(
        attr(&page, ".error-summary li a", "href").unwrap(),
        "#client_uri"
    );
    assert!(select(&page, "#redirect_uris-error")[0].contains("javascript:"));
    assert!(select(&page, "#contacts-error")[0].contains("not-an-address"));
    // Every value as typed, including the wrong ones.
    assert_eq!(attr(&page, "#client_name", "value").unwrap(), "Ledgerly");
    assert_eq!(
        attr(&page, "#client_uri", "value").unwrap(),
        "ftp://ledgerly.example"
    );
    assert_eq!(
        select(&page, "#redirect_uris"),
        ["https://ledgerly.example/cb javascript:alert(1)"]
    );
    assert!(exists(&page, "#scope-users-read[checked]"));
    assert!(exists(&page, "#scope-expenses-read[checked]"));
    assert!(!exists(&page, "#scope-users-write[checked]"));
    assert!(exists(&page, "#client_type[checked]"));
    assert!(exists(
        &page,
        "#subject_type option[value=company][selected]"
    ));
    assert_eq!(
        select(&page, "#scope_reason"),
        ["We sync expenses into the ledger."]
    );
    // The logo passed, so it is held and shown; no need to upload it again.
    let logo_token = attr(&page, "input[name=logo_token]", "value").expect("the logo is held");
    let held = app
        .get(&attr(&page, "#logo-kept img", "src").unwrap())
        .await;
    assert_eq!(held.headers()["content-type"], "image/png");
    assert_eq!(app.submissions(None).await, 0);

    let fixed = FormFields::valid(&token)
        .without("logo")
        .set("logo_token", &logo_token);
    let response = app.post_register(&fixed).await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.logos().await.1, 1);
    assert_eq!(app.logos().await.0, 1, "no second copy");
}

async fn logo_error(app: &TestApp, bytes: Vec<u8>, file_name: &str) -> String {
    let token = app.csrf_token("/register").await;
    let response = app
        .post_register(&FormFields::valid(&token).logo(bytes, file_name))
        .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(
        !exists(&page, "input[name=logo_token]"),
        "a refused logo is not held"
    );
    select(&page, "#logo-error").join(" ")
}

#[tokio::test]
async fn a_logo_that_is_not_square_is_refused_with_its_size() {
    let app = spawn_app().await;
    let message = logo_error(&app, png(300, 200), "logo.png").await;
    assert!(message.contains("300×200"), "{message}");
    assert!(message.contains("square"), "{message}");
}

#[tokio::test]
async fn an_svg_logo_is_refused_because_it_can_carry_scripts() {
    let app = spawn_app().await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><script>alert(1)</script></svg>"#;
    let message = logo_error(&app, svg.to_vec(), "logo.png").await;
    assert!(message.contains("SVG can carry scripts"), "{message}");
}

#[tokio::test]
async fn a_logo_is_recognised_by_its_bytes_not_its_name() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let response = app
        .post_register(&FormFields::valid(&token).logo(jpeg(200, 200), "logo.png"))
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn a_missing_logo_is_asked_for() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let response = app
        .post_register(&FormFields::valid(&token).without("logo"))
        .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "#logo-error")[0].contains("Choose a logo"));
}

#[tokio::test]
async fn a_logo_over_1_mib_is_refused_and_the_rest_of_the_form_is_kept() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let big = vec![0x89u8; 1_300_000];
    let response = app
        .post_register(&FormFields::valid(&token).logo(big, "big.png"))
        .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "#logo-error")[0].contains("1 MiB"));
    assert_eq!(attr(&page, "#client_name", "value").unwrap(), "Ledgerly");
}

#[tokio::test]
async fn a_request_over_2_mib_is_refused_with_a_readable_page() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let form = FormFields::valid(&token).logo(vec![0u8; 3 * 1024 * 1024], "huge.png");
    let response = app.post_register(&form).await;
    assert_eq!(response.status(), 413);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "p.lead")[0].contains("2 MiB"));
    assert_eq!(app.logos().await.0, 0);
}

#[tokio::test]
async fn a_post_without_the_anti_forgery_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.csrf_token("/register").await;
    let response = app
        .post_register(&FormFields::valid("forged").without("csrf_token"))
        .await;
    assert_eq!(response.status(), 403);
    let response = app.post_register(&FormFields::valid("forged")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.submissions(None).await, 0);
    assert_eq!(app.logos().await.0, 0);
}

#[tokio::test]
async fn a_public_client_without_pkce_needs_an_exception_reference() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let form = FormFields::valid(&token)
        .set("client_type", "public")
        .set("pkce", "not_supported");
    let response = app.post_register(&form).await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "#pkce_exception-error")[0].contains("must support PKCE"));

    let response = app
        .post_register(&form.set("pkce_exception", "PM-2041"))
        .await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn production_refuses_http_loopback_redirect_uris_that_staging_accepts() {
    let app = TestApp::builder()
        .var("APP_ENV", "production")
        .start()
        .await;
    let token = app.csrf_token("/register").await;
    let response = app.post_register(&FormFields::valid(&token)).await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "#redirect_uris-error")[0].contains("http://localhost:8080/cb"));
}

#[tokio::test]
async fn registrations_over_the_rate_limit_get_429() {
    let app = TestApp::builder()
        .var("REGISTER_RATE_LIMIT", "2")
        .start()
        .await;
    let token = app.csrf_token("/register").await;
    let form = FormFields::valid(&token).set("client_name", "");
    assert_eq!(app.post_register(&form).await.status(), 422);
    assert_eq!(app.post_register(&form).await.status(), 422);
    let response = app.post_register(&form).await;
    assert_eq!(response.status(), 429);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert_eq!(select(&page, "h1"), ["Too many requests"]);
}

#[tokio::test]
async fn a_form_that_is_not_multipart_gets_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/register"))
        .form(&[("client_name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn unknown_and_duplicate_fields_are_refused() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let mut form = FormFields::valid(&token);
    form.fields.push(("is_admin".into(), "1".into()));
    assert_eq!(app.post_register(&form).await.status(), 400);

    let mut form = FormFields::valid(&token);
    form.fields.push(("client_name".into(), "Other".into()));
    assert_eq!(app.post_register(&form).await.status(), 400);
    assert_eq!(app.submissions(None).await, 0);
}

#[tokio::test]
async fn an_unknown_status_token_or_logo_is_404() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/submissions/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get("/logos/AAAAAAAAAAAAAAAAAAAAAA.png").await.status(),
        404
    );
    // Anything not shaped like a token is refused before it reaches the database.
    for path in [
        "/submissions/x",
        "/submissions/%27%20OR%201=1--",
        "/submissions/x/edit",
        "/logos/x.png",
        "/register/held-logo/x.png",
        "/credentials/x",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn a_stored_logo_has_an_unguessable_id_and_is_cached_for_good() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    let page = app.get_html(&status_path).await;
    let src = attr(&page, "img.logo", "src").unwrap();
    let id = src
        .strip_prefix("/logos/")
        .unwrap()
        .strip_suffix(".png")
        .unwrap();
    assert!(
        id.len() >= 22 && !id.chars().all(|c| c.is_ascii_digit()),
        "{id}"
    );
    let response = app.get(&src).await;
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
}
