//! What the web layer adds to every page: compression, masked anti-forgery tokens (BREACH),
//! content-hashed static files, icons, descriptions, and the operator's branding.

use scraper::Html;

use crate::helpers::*;

async fn get_with(app: &TestApp, path: &str, accept_encoding: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("accept-encoding", accept_encoding)
        .send()
        .await
        .unwrap()
}

/// The static files a page links to, from its `<link>` and `<script>` tags.
fn asset_paths(page: &Html) -> Vec<String> {
    let mut paths: Vec<String> = [
        "link[rel=stylesheet]",
        "link[rel=icon][type='image/svg+xml']",
    ]
    .iter()
    .filter_map(|css| attr(page, css, "href"))
    .collect();
    paths.extend(attr(page, "script[src]", "src"));
    paths
}

#[tokio::test]
async fn pages_styles_and_scripts_are_compressed_when_the_client_accepts_it() {
    let app = spawn_app().await;
    let page = app.get_html("/register").await;
    let mut paths: Vec<String> = asset_paths(&page)
        .into_iter()
        .filter(|p| p.ends_with(".css") || p.ends_with(".js"))
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    paths.push("/register".into());
    for path in &paths {
        let plain = get_with(&app, path, "identity").await;
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain_len = plain.bytes().await.unwrap().len();
        for encoding in ["br", "gzip"] {
            let response = get_with(&app, path, encoding).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.headers()["content-encoding"], encoding, "{path}");
            assert!(
                response.headers()["vary"]
                    .to_str()
                    .unwrap()
                    .contains("accept-encoding")
            );
            let sent = response.bytes().await.unwrap().len();
            assert!(
                sent < plain_len / 2,
                "{path} {encoding}: {sent} of {plain_len}"
            );
        }
    }
}

#[tokio::test]
async fn the_anti_forgery_token_is_masked_afresh_on_every_render_and_each_one_works() {
    let app = spawn_app().await;
    let first = app.csrf_token("/register").await;
    let second = app.csrf_token("/register").await;
    assert_ne!(first, second, "the same token twice: BREACH can read it");
    // Both renders' tokens are good for the same visitor, in either order.
    for token in [&second, &first] {
        let response = app.post_register(&FormFields::valid(token)).await;
        assert_eq!(response.status(), 303, "a masked token was refused");
    }
    // And a staff session's token too.
    app.sign_in_staff().await;
    let a = app.csrf_token("/staff/submissions").await;
    let b = app.csrf_token("/staff/submissions").await;
    assert_ne!(a, b);
    let response = app
        .client
        .post(app.url("/staff/logout"))
        .form(&[("csrf_token", &a)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn the_page_that_shows_a_client_secret_is_never_compressed() {
    let app = spawn_app().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let (_, text) = app.delivered("approved").await.remove(0);
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");
    let token = app
        .csrf_token(link.strip_prefix(&app.address).unwrap())
        .await;
    let response = app
        .client
        .post(&link)
        .header("accept-encoding", "br, gzip")
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let encoding = response.headers().get("content-encoding").cloned();
    assert_eq!(encoding, None, "the secret page was sent encoded");
    let page = Html::parse_document(&response.text().await.unwrap());
    assert_eq!(
        select(&page, "[data-secret]").len(),
        1,
        "the secret is shown"
    );
}

#[tokio::test]
async fn static_files_have_hashed_names_and_are_cached_for_a_year() {
    let app = spawn_app().await;
    let page = app.get_html("/register").await;
    for path in asset_paths(&page) {
        let name = path.rsplit('/').next().unwrap();
        let hash = name.split('.').nth(1).unwrap();
        assert!(
            hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{path} has no content hash"
        );
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
    }
    // A name without its hash, or with another, is no file of ours.
    assert_eq!(app.get("/static/css/app.css").await.status(), 404);
    assert_eq!(
        app.get("/static/css/app.000000000000.css").await.status(),
        404
    );
}

#[tokio::test]
async fn the_favicon_and_the_svg_icon_are_served() {
    let app = spawn_app().await;
    let favicon = app.get("/favicon.ico").await;
    assert_eq!(favicon.status(), 200);
    assert_eq!(favicon.headers()["content-type"], "image/x-icon");
    let bytes = favicon.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO header");
    let page = app.get_html("/register").await;
    let svg = attr(&page, "link[rel=icon][type='image/svg+xml']", "href").expect("an SVG icon");
    let response = app.get(&svg).await;
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.text().await.unwrap().starts_with("<svg"));
}

#[tokio::test]
async fn public_pages_describe_themselves() {
    let app = spawn_app().await;
    for path in ["/", "/register"] {
        let page = app.get_html(path).await;
        let description = attr(&page, "meta[name=description]", "content").unwrap_or_default();
        assert!(description.len() > 50, "{path}: {description:?}");
    }
}

#[tokio::test]
async fn a_configured_brand_names_the_form_the_preview_and_the_emails() {
    // `.eml` files: the sender's display name is read from the message as written.
    let app = TestApp::builder()
        .var("PORTAL_NAME", "Pleo Partner Hub")
        .var("PLATFORM_NAME", "Pleo")
        .var("SUPPORT_EMAIL", "partners@pleo.example")
        .eml_files()
        .start()
        .await;
    let page = app.get_html("/register").await;
    assert!(select(&page, "title")[0].ends_with("· Pleo Partner Hub"));
    assert_eq!(select(&page, ".site-header .brand"), ["Pleo Partner Hub"]);
    assert!(
        select(&page, ".consent__title")[0].ends_with("wants to access your Pleo account"),
        "{:?}",
        select(&page, ".consent__title")
    );
    assert_eq!(
        attr(&page, ".site-footer a", "href").as_deref(),
        Some("mailto:partners@pleo.example")
    );

    app.register().await;
    let (_, text) = app.delivered("receipt").await.remove(0);
    assert!(text.contains("-- Pleo Partner Hub"), "{text}");
    assert!(text.contains("partners@pleo.example"), "{text}");
    let eml = std::fs::read_dir(app.data_dir.path().join("mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .next()
        .unwrap();
    let from = eml
        .lines()
        .find(|l| l.starts_with("From: "))
        .expect("a From header");
    assert!(from.contains("Pleo Partner Hub"), "{from}");

    // The approval names the platform the client may now be used on.
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let (_, text) = app.delivered("approved").await.remove(0);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("staging environment of Pleo."), "{text}");
}

#[tokio::test]
async fn without_branding_the_defaults_speak_of_the_platform() {
    let app = spawn_app().await;
    let page = app.get_html("/register").await;
    assert_eq!(select(&page, ".site-header .brand"), ["Partner Registry"]);
    assert!(select(&page, ".consent__title")[0].ends_with("wants to access your account"));
    assert!(!exists(&page, ".site-footer a[href^='mailto:']"));
}
