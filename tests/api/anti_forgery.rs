//! The anti-forgery rule of every urlencoded form (staff sign-in, setup and actions, the
//! credentials button): whatever else a POST carries, without its one right token it is a 403
//! that changes nothing.

use crate::helpers::*;

/// Everything a forged POST to one of these forms could change.
async fn snapshot(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM staff",
        "SELECT COUNT(*) FROM staff_sessions",
        "SELECT COUNT(*) FROM login_failures",
        "SELECT COUNT(*) FROM submissions WHERE status = 'pending'",
        "SELECT COUNT(*) FROM submissions",
        "SELECT COUNT(*) FROM revisions",
        "SELECT COUNT(*) FROM logos",
        "SELECT COUNT(*) FROM submissions WHERE status = 'approved'",
        "SELECT COUNT(*) FROM client_secrets",
        "SELECT COUNT(*) FROM feed_events",
        "SELECT COUNT(*) FROM events",
        "SELECT COUNT(*) FROM outbox",
        "SELECT COUNT(*) FROM outbox WHERE state = 'failed'",
        "SELECT COUNT(*) FROM outbox_about",
        "SELECT COUNT(*) FROM audit_log",
        "SELECT COUNT(*) FROM credential_links",
        "SELECT COUNT(*) FROM credential_links WHERE used_at IS NOT NULL OR revoked_at IS NOT NULL",
    ] {
        out.push((sql, app.count(sql).await));
    }
    out
}

/// POST `path` in every way that lacks the one right token, each with the form's other fields
/// valid, and with the right token from another site; the status of each, named.
async fn forged_posts(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    right: &str,
    wrong: &str,
) -> Vec<(String, u16)> {
    let url = app.url(path);
    let with = |extra: &[(&'static str, &str)]| {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.extend_from_slice(extra);
        form.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    let mut doubled = with(&[]);
    doubled.extend(with(&[]));
    let cases = [
        ("no csrf_token field", Some(with(&[])), None),
        ("no body at all", None, None),
        (
            "a wrong csrf_token",
            Some(with(&[("csrf_token", wrong)])),
            None,
        ),
        (
            "the right csrf_token and a wrong one",
            Some(with(&[("csrf_token", right), ("csrf_token", wrong)])),
            None,
        ),
        ("no csrf_token and every field twice", Some(doubled), None),
        (
            "the right csrf_token from a cross-site Origin",
            Some(with(&[("csrf_token", right)])),
            Some(CROSS_SITE_ORIGIN),
        ),
        (
            "the right csrf_token, Sec-Fetch-Site: cross-site",
            Some(with(&[("csrf_token", right)])),
            Some(CROSS_SITE_FETCH),
        ),
    ];
    let mut out = Vec::new();
    for (case, form, header) in cases {
        let mut request = app.client.post(&url);
        if let Some(form) = form {
            request = request.form(&form);
        }
        if let Some(header) = header {
            request = request.header(header.0, header.1);
        }
        let status = request.send().await.expect("request sent").status();
        out.push((format!("{path}: {case}"), status.as_u16()));
    }
    out
}

const CROSS_SITE_ORIGIN: (&str, &str) = ("origin", "https://evil.example");
const CROSS_SITE_FETCH: (&str, &str) = ("sec-fetch-site", "cross-site");

/// The multipart forms (register, edit) the same ways: without a token, with a wrong one, and
/// with the right one from another site.
async fn forged_multipart(
    app: &TestApp,
    path: &str,
    right: &str,
    wrong: &str,
) -> Vec<(String, u16)> {
    let cases = [
        (
            "no csrf_token field",
            FormFields::valid(right).without("csrf_token"),
            None,
        ),
        ("a wrong csrf_token", FormFields::valid(wrong), None),
        (
            "the right csrf_token from a cross-site Origin",
            FormFields::valid(right),
            Some(CROSS_SITE_ORIGIN),
        ),
        (
            "the right csrf_token, Sec-Fetch-Site: cross-site",
            FormFields::valid(right),
            Some(CROSS_SITE_FETCH),
        ),
    ];
    let mut out = Vec::new();
    for (case, form, header) in cases {
        let mut request = app
            .client
            .post(app.url(path))
            .multipart(form.to_multipart());
        if let Some(header) = header {
            request = request.header(header.0, header.1);
        }
        let status = request.send().await.expect("request sent").status();
        out.push((format!("{path}: {case}"), status.as_u16()));
    }
    out
}

fn assert_all_refused(statuses: &[(String, u16)]) {
    let not_403: Vec<_> = statuses.iter().filter(|(_, s)| *s != 403).collect();
    assert!(not_403.is_empty(), "not 403: {not_403:#?}");
}

#[tokio::test]
async fn every_urlencoded_form_refuses_a_post_without_its_token_with_403_and_changes_nothing() {
    let app = spawn_app().await;
    // Another visitor's token: well formed, issued by this server, not ours.
    let other_visitor = {
        let other = new_client();
        let page = other.get(app.url("/staff/login")).send().await.unwrap();
        let page = scraper::Html::parse_document(&page.text().await.unwrap());
        attr(&page, "input[name=csrf_token]", "value").unwrap()
    };

    // The first-run setup, while no account exists.
    let setup = app.setup_url.clone().expect("a setup link on first start");
    let setup_path = setup.strip_prefix(&app.address).unwrap().to_owned();
    let page = app.get_html(&setup_path).await;
    let setup_token = attr(&page, "input[name=token]", "value").unwrap();
    let visitor = attr(&page, "input[name=csrf_token]", "value").unwrap();
    let before = snapshot(&app).await;
    let statuses = forged_posts(
        &app,
        "/staff/setup",
        &[
            ("token", &setup_token),
            ("name", "Ada"),
            ("email", "ada@platform.example"),
            ("password", "twelve chars!"),
        ],
        &visitor,
        &other_visitor,
    )
    .await;
    assert_all_refused(&statuses);
    assert_eq!(
        snapshot(&app).await,
        before,
        "a forged setup changed something"
    );

    // Signed in, with a pending submission, an approved confidential one (with its unused
    // credentials link) and a failed email.
    let pending = app.submission_id(&app.register().await).await;
    let approved = app.submission_id(&app.register().await).await;
    let sent_back = app.register().await;
    let sent_back_id = app.submission_id(&sent_back).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(approved, "approve", &[]).await.status(), 303);
    assert_eq!(
        app.decide(sent_back_id, "request-changes", &[("message", "Fix it")])
            .await
            .status(),
        303
    );
    let edit_path = format!("{sent_back}/edit");
    let edit_token = app.csrf_token(&edit_path).await;
    let (_, text) = app.delivered("approved").await.remove(0);
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");
    let credentials_path = link.strip_prefix(&app.address).unwrap().to_owned();
    sqlx::query(
        "UPDATE outbox SET state = 'failed', attempts = 1, last_error = '550 mailbox unavailable'
         WHERE id = (SELECT MIN(id) FROM outbox)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let failed_email: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE state = 'failed'")
        .fetch_one(&app.db)
        .await
        .unwrap();

    let pending_page = format!("/staff/submissions/{pending}");
    let approved_page = format!("/staff/submissions/{approved}");
    let session_token = app.csrf_token(&pending_page).await;
    let visitor = app.csrf_token("/staff/login").await;
    let pending_revision = app.shown_revision(pending).await;
    let approved_revision = app.shown_revision(approved).await;
    let before = snapshot(&app).await;

    let mut statuses = Vec::new();
    // Forms bound to the visitor's anti-forgery cookie.
    statuses.extend(
        forged_posts(
            &app,
            "/staff/login",
            &[("email", STAFF_EMAIL), ("password", STAFF_PASSWORD)],
            &visitor,
            &other_visitor,
        )
        .await,
    );
    statuses.extend(forged_posts(&app, &credentials_path, &[], &visitor, &other_visitor).await);
    statuses.extend(forged_multipart(&app, "/register", &visitor, &other_visitor).await);
    statuses.extend(forged_multipart(&app, &edit_path, &edit_token, &other_visitor).await);
    // Forms bound to the staff session: this visitor's own cookie token is the wrong one.
    let staff_forms: [(String, Vec<(&str, &str)>); 6] = [
        ("/staff/logout".into(), vec![]),
        (
            format!("{pending_page}/approve"),
            vec![("revision", &pending_revision)],
        ),
        (
            format!("{pending_page}/reject"),
            vec![("revision", &pending_revision), ("reason", "Not for us.")],
        ),
        (
            format!("{pending_page}/request-changes"),
            vec![
                ("revision", &pending_revision),
                ("message", "Fix the URIs."),
            ],
        ),
        (
            format!("{approved_page}/rotate-secret"),
            vec![("revision", &approved_revision)],
        ),
        (format!("/staff/outbox/{failed_email}/retry"), vec![]),
    ];
    for (path, fields) in &staff_forms {
        statuses.extend(forged_posts(&app, path, fields, &session_token, &visitor).await);
    }
    assert_all_refused(&statuses);
    assert_eq!(
        snapshot(&app).await,
        before,
        "a forged post changed something"
    );
    assert_eq!(
        app.get("/staff/submissions").await.status(),
        200,
        "still signed in"
    );

    // The token is checked before the other fields are read; with the right one, a form
    // that cannot be read is a 400 that says so.
    let response = app
        .client
        .post(app.url(&format!("{pending_page}/approve")))
        .form(&[
            ("csrf_token", session_token.as_str()),
            ("revision", &pending_revision),
            ("revision", &pending_revision),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("The form could not be read"), "{body}");
    assert!(body.contains("revision"), "{body}");
    assert_eq!(snapshot(&app).await, before);

    // Signed out, a staff action is sent to the login page, token or not.
    let signed_out = new_client()
        .post(app.url(&format!("{pending_page}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    assert_eq!(location(&signed_out), "/staff/login");
}

#[tokio::test]
async fn a_staff_form_larger_than_64_kib_gets_413_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    let page = format!("/staff/submissions/{id}");
    let token = app.csrf_token(&page).await;
    let revision = app.shown_revision(id).await;
    let before = snapshot(&app).await;
    let long = "x".repeat(65 * 1024);
    let response = app
        .client
        .post(app.url(&format!("{page}/reject")))
        .form(&[
            ("csrf_token", token.as_str()),
            ("revision", &revision),
            ("reason", &long),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body = response.text().await.unwrap();
    assert!(body.contains("larger than 64 KiB"), "{body}");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn a_sign_in_form_sent_slowly_is_cut_off_with_408() {
    use std::time::{Duration, Instant};
    let app = TestApp::builder()
        .settings(|settings| settings.body_timeout = Duration::from_secs(1))
        .start()
        .await;
    app.csrf_token("/staff/login").await;
    let drip = futures_util::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        (n < 100).then(|| (b"a=b&".to_vec(), n + 1))
    });
    let started = Instant::now();
    let answer = app
        .post_streamed("/staff/login", "application/x-www-form-urlencoded", drip)
        .await;
    assert_eq!(answer.status, 408, "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cut off, not read to the end"
    );
}

#[tokio::test]
async fn a_client_over_the_sign_in_limit_gets_429_whatever_its_form_carries() {
    let app = TestApp::builder()
        .var("LOGIN_RATE_LIMIT", "1")
        .start()
        .await;
    assert_eq!(
        app.post_login("someone@platform.example", "some long password")
            .await
            .status(),
        401
    );
    let response = app
        .client
        .post(app.url("/staff/login"))
        .form(&[("email", "someone@platform.example"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        429,
        "counted before its token is looked at"
    );
}
