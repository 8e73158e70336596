//! Staff login under floods and guesses: the attempt throttle, the hashing pool, the
//! per-address limit.

use futures_util::future::join_all;
use partner_registry::auth::password::PoolSize;

use crate::helpers::{STAFF_EMAIL, STAFF_PASSWORD, TestApp, spawn_app};

/// Fire `logins` (email, password) at once with one anti-forgery token; their statuses.
async fn concurrent_logins(app: &TestApp, logins: Vec<(String, String)>) -> Vec<u16> {
    let token = app.csrf_token("/staff/login").await;
    let posts = logins.into_iter().map(|(email, password)| {
        let request = app.client.post(app.url("/staff/login")).form(&[
            ("email", email.as_str()),
            ("password", password.as_str()),
            ("csrf_token", token.as_str()),
        ]);
        async move { request.send().await.expect("request sent") }
    });
    let responses = join_all(posts).await;
    responses.iter().map(|r| r.status().as_u16()).collect()
}

#[tokio::test]
async fn thirty_parallel_wrong_passwords_for_one_email_get_at_most_five_checks() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin", STAFF_PASSWORD).await;
    let guesses = (0..30)
        .map(|i| (STAFF_EMAIL.to_owned(), format!("wrong guess number {i}")))
        .collect();
    let statuses = concurrent_logins(&app, guesses).await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert!(
        (1..=5).contains(&checked),
        "{checked} guesses checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 401 || s == 429),
        "{statuses:?}"
    );
    assert_eq!(app.login_failures().await, checked as i64);
    // The email is locked now, even for the right password.
    assert_eq!(
        app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await.status(),
        429
    );
}

#[tokio::test]
async fn sixty_concurrent_logins_get_503_with_retry_after_beyond_the_hashing_queue() {
    let app = spawn_app().await;
    let token = app.csrf_token("/staff/login").await;
    let posts = (0..60).map(|i| {
        let email = format!("nobody{i}@platform.example");
        let request = app.client.post(app.url("/staff/login")).form(&[
            ("email", email.as_str()),
            ("password", "some long password"),
            ("csrf_token", token.as_str()),
        ]);
        async move { request.send().await.expect("request sent") }
    });
    let responses = join_all(posts).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    let busy: Vec<_> = responses.iter().filter(|r| r.status() == 503).collect();
    assert!(!busy.is_empty(), "no 503 among {statuses:?}");
    for response in busy {
        let retry: u32 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry));
    }
    // A login turned away unchecked is not a failure for its email.
    let checked = statuses.iter().filter(|&&s| s == 401).count() as i64;
    assert_eq!(app.login_failures().await, checked);
}

#[tokio::test]
async fn a_busy_login_gets_a_readable_page() {
    // One hash at a time and none waiting: of 60 logins at once, any that arrives while the
    // first is checked is busy, however loaded the machine is.
    let app = TestApp::builder()
        .settings(|s| {
            s.password_hashing = PoolSize {
                workers: 1,
                queue: 0,
            }
        })
        .start()
        .await;
    let token = app.csrf_token("/staff/login").await;
    let posts = (0..60).map(|i| {
        let email = format!("nobody{i}@platform.example");
        let request = app.client.post(app.url("/staff/login")).form(&[
            ("email", email.as_str()),
            ("password", "some long password"),
            ("csrf_token", token.as_str()),
        ]);
        async move { request.send().await.expect("request sent") }
    });
    let responses = join_all(posts).await;
    let busy = responses
        .into_iter()
        .find(|r| r.status() == 503)
        .expect("a 503");
    assert!(
        busy.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = busy.text().await.unwrap();
    assert!(body.contains("Wait a few seconds"), "{body}");
}

#[tokio::test]
async fn four_failed_logins_still_let_the_right_password_in_and_a_success_is_no_failure() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin", STAFF_PASSWORD).await;
    for _ in 0..4 {
        assert_eq!(
            app.post_login(STAFF_EMAIL, "not the password")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await.status(),
        303
    );
    // Still four failures, not five: the right password works again.
    assert_eq!(app.login_failures().await, 4);
    assert_eq!(
        app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await.status(),
        303
    );
}

#[tokio::test]
async fn login_rate_limit_counts_attempts_per_client_address_whatever_the_email() {
    let app = TestApp::builder()
        .var("LOGIN_RATE_LIMIT", "3")
        .start()
        .await;
    for i in 0..3 {
        let email = format!("someone{i}@platform.example");
        assert_eq!(
            app.post_login(&email, "some long password").await.status(),
            401
        );
    }
    let response = app
        .post_login("someone-else@platform.example", "some long password")
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
    let body = response.text().await.unwrap();
    assert!(body.contains("Too many sign-in attempts"), "{body}");
}
