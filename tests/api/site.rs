//! What every page shares: headers, health, robots, refusal of cross-site posts.

use crate::helpers::*;

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/register", "/robots.txt", "/nowhere"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("form-action 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS over http"
        );
    }
}

#[tokio::test]
async fn an_https_public_url_turns_on_hsts_and_secure_cookies() {
    let app = TestApp::builder()
        .var("PUBLIC_URL", "https://partners.example")
        .start()
        .await;
    let response = app.get("/register").await;
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-") && cookie.contains("Secure") && cookie.contains("HttpOnly")
    );
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn robots_keeps_crawlers_out_of_private_pages() {
    let app = spawn_app().await;
    let body = app.get("/robots.txt").await.text().await.unwrap();
    for path in ["/submissions/", "/credentials/", "/staff/"] {
        assert!(
            body.lines().any(|l| l == format!("Disallow: {path}")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_post_from_another_site_is_refused_before_the_body_is_read() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let form = FormFields::valid(&token);
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = app
            .client
            .post(app.url("/register"))
            .header(header, value)
            .multipart(form.to_multipart())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header}");
    }
    let same_origin = app
        .client
        .post(app.url("/register"))
        .header("origin", app.address.clone())
        .multipart(form.to_multipart())
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 303);
    // What Chromium sends for a same-origin form under `Referrer-Policy: no-referrer`.
    let chromium = app
        .client
        .post(app.url("/register"))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .multipart(form.to_multipart())
        .send()
        .await
        .unwrap();
    assert_eq!(chromium.status(), 303);
    assert_eq!(app.submissions(None).await, 2);
}

#[tokio::test]
async fn an_unknown_page_is_a_readable_404() {
    let app = spawn_app().await;
    let response = app.get("/nowhere").await;
    assert_eq!(response.status(), 404);
    let page = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(select(&page, "h1"), ["Not found"]);
}

#[tokio::test]
async fn first_start_creates_the_database_and_a_private_session_key() {
    let app = spawn_app().await;
    assert!(app.data_dir.path().join("registry.db").is_file());
    let key = app.data_dir.path().join("session.key");
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.len(), 128, "64 bytes as hex");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[tokio::test]
async fn head_is_answered_wherever_get_is_with_the_same_status_and_no_body() {
    let app = spawn_app().await;
    let status_page = app.register().await;
    for path in [
        "/healthz",
        "/robots.txt",
        "/register",
        "/",
        status_page.as_str(),
        "/staff/login",
    ] {
        let get = app.get(path).await.status();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get, "HEAD {path}");
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }
}

#[tokio::test]
async fn every_staff_response_is_no_store_even_redirects_and_errors() {
    let app = spawn_app().await;
    // Signed out: the redirect to the login page, the login page, an unknown staff page.
    for path in ["/staff/submissions", "/staff/login", "/staff/clients.json"] {
        let response = app.get(path).await;
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "GET {path}"
        );
    }
    app.sign_in_staff().await;
    let status_page = app.register().await;
    let id = app.submission_id(&status_page).await;
    for path in [
        "/staff/submissions".to_owned(),
        format!("/staff/submissions/{id}"),
        "/staff/submissions/999999".to_owned(),
        "/staff/clients.json".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "GET {path}"
        );
    }
}

#[tokio::test]
async fn the_anti_forgery_cookie_of_the_staff_login_is_same_site_strict() {
    let app = spawn_app().await;
    // Even for a visitor who already holds the (Lax) cookie from a partner page.
    app.get("/register").await;
    let response = app.get("/staff/login").await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("csrf="), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    // And the login still works with it.
    app.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
        .await;
    assert_eq!(
        app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await.status(),
        303
    );
}

/// Start the binary with `vars`; its stderr if it exits within 5 s, `None` if it keeps running.
fn start_up_failure(data_dir: &std::path::Path, vars: &[(&str, &str)]) -> Option<String> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .env("DATA_DIR", data_dir)
        .env("BIND_ADDR", "127.0.0.1:0")
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return Some(stderr);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    None
}

#[test]
fn smtp_without_tls_to_another_host_stops_start_up_with_one_line_naming_smtp_url() {
    let data_dir = tempfile::tempdir().unwrap();
    for url in [
        "smtp://mail.example.com:587",
        "smtp://user:Hunter2pw@mail.example.com:587?tls=opportunistic",
    ] {
        let stderr = start_up_failure(data_dir.path(), &[("SMTP_URL", url)])
            .unwrap_or_else(|| panic!("{url} must stop start-up"));
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("SMTP_URL"), "{stderr}");
        assert!(
            !stderr.contains("Hunter2pw"),
            "the password is not echoed: {stderr}"
        );
    }
    // Loopback is the one place clear text is allowed (a local relay).
    assert_eq!(
        start_up_failure(data_dir.path(), &[("SMTP_URL", "smtp://127.0.0.1:2525")]),
        None
    );
}
