//! Staff accounts: signing in and out, sessions and their limits, the first-run setup link and
//! `partner-registry staff add`.

use scraper::Html;

use crate::helpers::*;

#[tokio::test]
async fn staff_pages_send_visitors_to_the_login_page() {
    let app = spawn_app().await;
    for path in [
        "/staff/submissions",
        "/staff/submissions/1",
        "/staff/clients.json",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/staff/login");
    }
}

#[tokio::test]
async fn signing_in_opens_the_queue_with_a_new_strict_session_cookie() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin", STAFF_PASSWORD).await;

    let first = app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let page = app.get_html("/staff/submissions").await;
    assert_eq!(select(&page, "h1"), ["Review queue"]);

    let second = app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await;
    let cookie2 = second.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert_ne!(
        cookie.split(';').next(),
        cookie2.split(';').next(),
        "a new id at each login"
    );
    assert_eq!(app.session_count().await, 2);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_five_failures_lock_the_email_for_a_while() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin", STAFF_PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(
            app.post_login(STAFF_EMAIL, "not the password")
                .await
                .status(),
            401
        );
    }
    let locked = app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(locked.status(), 429, "even the right password waits");
    assert_eq!(app.session_count().await, 0);

    // When the window has passed, the right password works again.
    sqlx::query("UPDATE login_failures SET at = at - 16 * 60")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await.status(),
        303
    );
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin", STAFF_PASSWORD).await;
    // The answer, with its anti-forgery token (fresh on each page) taken out.
    async fn answer(response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        let page = Html::parse_document(&body);
        let token = attr(&page, "input[name=csrf_token]", "value").expect("a form again");
        (status, body.replace(&token, "TOKEN"))
    }
    let unknown = answer(
        app.post_login("nobody@platform.example", "some long password")
            .await,
    )
    .await;
    let wrong = answer(app.post_login(STAFF_EMAIL, "some long password").await).await;
    assert_eq!(unknown.0, 401);
    let page = Html::parse_document(&unknown.1);
    assert_eq!(
        select(&page, ".error-summary li"),
        ["The email or password is not right."]
    );
    // The email typed is shown back in each; with the same one typed, the pages are the same.
    let wrong_as_unknown = (
        wrong.0,
        wrong.1.replace(STAFF_EMAIL, "nobody@platform.example"),
    );
    assert_eq!(unknown, wrong_as_unknown);
}

fn session_cookie(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    new_client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn after_logout_the_old_cookie_opens_nothing() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin", STAFF_PASSWORD).await;
    let cookie = session_cookie(&app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await);
    assert_eq!(
        get_with_cookie(&app, "/staff/submissions", &cookie)
            .await
            .status(),
        200
    );

    let response = app
        .staff_post("/staff/submissions", "/staff/logout", &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.session_count().await, 0);
    let replayed = get_with_cookie(&app, "/staff/submissions", &cookie).await;
    assert_eq!(replayed.status(), 303);
    assert_eq!(location(&replayed), "/staff/login");
}

#[tokio::test]
async fn a_tampered_cookie_is_anonymous() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin", STAFF_PASSWORD).await;
    let cookie = session_cookie(&app.post_login(STAFF_EMAIL, STAFF_PASSWORD).await);
    let mut tampered = cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        get_with_cookie(&app, "/staff/submissions", &tampered)
            .await
            .status(),
        303
    );
}

/// Make the signed-in session look `idle` seconds unused and `age` seconds old (the only way
/// these tests move time).
async fn age_session(app: &TestApp, idle: i64, age: i64) {
    sqlx::query(
        "UPDATE staff_sessions SET last_seen_at = strftime('%s','now') - ?,
                                   created_at = strftime('%s','now') - ?",
    )
    .bind(idle)
    .bind(age)
    .execute(&app.db)
    .await
    .unwrap();
}

const IDLE_LIMIT: i64 = 30 * 60;
const ABSOLUTE_LIMIT: i64 = 8 * 60 * 60;

#[tokio::test]
async fn an_idle_session_ends_after_30_minutes() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    // A second before the limit it still opens the queue (and counts as activity).
    age_session(&app, IDLE_LIMIT - 1, IDLE_LIMIT - 1).await;
    assert_eq!(app.get("/staff/submissions").await.status(), 200);
    // A second after, it is gone.
    age_session(&app, IDLE_LIMIT + 1, IDLE_LIMIT + 1).await;
    let response = app.get("/staff/submissions").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/login");
    assert_eq!(app.session_count().await, 0);
}

#[tokio::test]
async fn a_session_ends_after_8_hours_however_active() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    // Used a moment ago: a second before the limit it still works...
    age_session(&app, 0, ABSOLUTE_LIMIT - 1).await;
    assert_eq!(app.get("/staff/submissions").await.status(), 200);
    // ...and a second after, it does not.
    age_session(&app, 0, ABSOLUTE_LIMIT + 1).await;
    assert_eq!(app.get("/staff/submissions").await.status(), 303);
}

#[tokio::test]
async fn the_setup_link_posted_twice_at_once_creates_exactly_one_account() {
    let app = spawn_app().await;
    let setup = app.setup_url.clone().expect("a setup link on first start");
    let path = setup.strip_prefix(&app.address).unwrap().to_owned();
    let page = app.get_html(&path).await;
    let token = attr(&page, "input[name=token]", "value").unwrap();
    let csrf = attr(&page, "input[name=csrf_token]", "value").unwrap();

    let post = |email: &'static str| {
        let client = app.client.clone();
        let url = app.url("/staff/setup");
        let form = [
            ("token", token.clone()),
            ("csrf_token", csrf.clone()),
            ("name", "Ada".to_owned()),
            ("email", email.to_owned()),
            ("password", "twelve chars!".to_owned()),
        ];
        async move { client.post(url).form(&form).send().await.unwrap().status() }
    };
    let (first, second) =
        tokio::join!(post("ada@platform.example"), post("grace@platform.example"));
    let mut statuses = [first.as_u16(), second.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 404], "one account, the other setup refused");
    assert_eq!(app.staff_count().await, 1);
}

#[tokio::test]
async fn the_setup_link_creates_the_first_account_once() {
    let app = spawn_app().await;
    let setup = app.setup_url.clone().expect("a setup link on first start");
    let path = setup.strip_prefix(&app.address).unwrap().to_owned();
    let page = app.get_html(&path).await;
    let token = attr(&page, "input[name=token]", "value").unwrap();
    let csrf = attr(&page, "input[name=csrf_token]", "value").unwrap();

    let short = [
        ("token", token.as_str()),
        ("csrf_token", &csrf),
        ("name", "Ada"),
        ("email", "ada@platform.example"),
        ("password", "short"),
    ];
    let response = app
        .client
        .post(app.url("/staff/setup"))
        .form(&short)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    let good = [
        ("token", token.as_str()),
        ("csrf_token", &csrf),
        ("name", "Ada"),
        ("email", "ada@platform.example"),
        ("password", "twelve chars!"),
    ];
    let response = app
        .client
        .post(app.url("/staff/setup"))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        app.get("/staff/submissions").await.status(),
        200,
        "signed in"
    );
    let mut conn = app.db.acquire().await.unwrap();
    let staff = partner_registry::db::staff::find_by_email(&mut conn, "ada@platform.example")
        .await
        .unwrap()
        .expect("the new account");
    drop(conn);
    assert!(staff.password_hash.starts_with("$argon2id$"));

    assert_eq!(app.get(&path).await.status(), 404, "the link stops working");
}

#[tokio::test]
async fn staff_add_creates_an_account_from_the_command_line() {
    let data_dir = tempfile::tempdir().unwrap();
    let run = |password: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_partner-registry"))
            .args([
                "staff",
                "add",
                "--email",
                "cli@platform.example",
                "--name",
                "Cli",
            ])
            .env("DATA_DIR", data_dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let short = run("short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));
    let ok = run("a good long password");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let app = TestApp::builder()
        .vars(|vars| {
            vars.insert("DATA_DIR".into(), data_dir.path().display().to_string());
        })
        .start()
        .await;
    assert!(
        app.setup_url.is_none(),
        "no setup link once an account exists"
    );
    assert_eq!(
        app.post_login("cli@platform.example", "a good long password")
            .await
            .status(),
        303
    );
}
