//! The audit log (SPEC §9): every staff action with who, when, from where and what, newest
//! first, 50 a page, by person and by kind; append-only.

use scraper::Html;

use crate::helpers::*;
use crate::mfa::{StaffBrowser, browser};

/// The rows of an audit page as (kind, who, client, target).
fn entries(page: &Html) -> Vec<(String, String, String, String)> {
    let kinds = attrs(page, "tr[data-kind]", "data-kind");
    let who = select(page, "tr[data-kind] [data-who]");
    let clients = select(page, "tr[data-kind] [data-client]");
    let targets = select(page, "tr[data-kind] [data-target]");
    (0..kinds.len())
        .map(|i| {
            (
                kinds[i].clone(),
                who[i].clone(),
                clients[i].clone(),
                targets[i].clone(),
            )
        })
        .collect()
}

/// The audit log's newest entries as (kind, target), read by an admin (signed in already).
pub async fn audit_kinds(app: &TestApp) -> Vec<(String, String)> {
    let page = app.get_html("/staff/audit").await;
    entries(&page)
        .into_iter()
        .map(|(kind, _, _, target)| (kind, target))
        .collect()
}

fn attrs(page: &Html, css: &str, name: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(css).unwrap();
    page.select(&selector)
        .filter_map(|e| e.value().attr(name).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn logins_failures_and_decisions_are_recorded_with_who_and_from_where() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
        .await;
    assert_eq!(
        app.login(STAFF_EMAIL, "a wrong password!").await.status(),
        401
    );
    assert_eq!(
        app.login("nobody@platform.example", "a wrong password!")
            .await
            .status(),
        401
    );
    assert_eq!(app.login(STAFF_EMAIL, STAFF_PASSWORD).await.status(), 303);
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);

    let page = app.page("/staff/audit").await;
    let rows = entries(&page);
    let target = format!("submission {id}");
    // Newest first.
    assert_eq!(
        rows,
        vec![
            (
                "secret_rotated".into(),
                STAFF_EMAIL.into(),
                "127.0.0.1".into(),
                target.clone()
            ),
            (
                "approved".into(),
                STAFF_EMAIL.into(),
                "127.0.0.1".into(),
                target
            ),
            (
                "login".into(),
                STAFF_EMAIL.into(),
                "127.0.0.1".into(),
                String::new()
            ),
            (
                "login_failed".into(),
                "nobody@platform.example".into(),
                "127.0.0.1".into(),
                String::new()
            ),
            (
                "login_failed".into(),
                STAFF_EMAIL.into(),
                "127.0.0.1".into(),
                String::new()
            ),
        ]
    );
    // Each entry says when.
    assert_eq!(select(&page, "tr[data-kind] td:first-child").len(), 5);
    assert!(select(&page, "tr[data-kind] td:first-child")[0].ends_with("UTC"));
}

#[tokio::test]
async fn second_factor_failures_and_account_changes_are_recorded() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    let enrolled = app.enrol().await;
    app.create_staff("rae@platform.example", "Rae", "another long password")
        .await;
    app.change_account("rae@platform.example", "disable", &[])
        .await;
    app.change_account("rae@platform.example", "enable", &[])
        .await;
    app.change_account("rae@platform.example", "role", &[("role", "admin")])
        .await;
    app.sign_out().await;
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(app.post_code("000000").await.status(), 401);
    assert_eq!(
        app.post_code(&enrolled.recovery_codes[0]).await.status(),
        303
    );
    let page = app.page("/staff/audit").await;
    let kinds: Vec<String> = entries(&page).into_iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        [
            "login",
            "recovery_code_used",
            "mfa_failed",
            "logout",
            "role_changed",
            "enabled",
            "disabled",
            "mfa_enabled",
            "login"
        ]
    );
    let targets: Vec<String> = entries(&page).into_iter().map(|e| e.3).collect();
    assert_eq!(targets[4], "rae@platform.example");
    assert_eq!(targets[6], "rae@platform.example");
}

#[tokio::test]
async fn the_log_filters_by_person_and_kind_and_pages_by_50() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    // 55 failed sign-ins, each for another email, so the per-email limit does not stop them.
    let other = browser(&app);
    for i in 0..55 {
        let response = other
            .login(&format!("guess{i}@platform.example"), "a wrong password!")
            .await;
        assert_eq!(response.status(), 401);
    }
    let first = app.page("/staff/audit").await;
    let rows = entries(&first);
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0].1, "guess54@platform.example");
    let older = attr(&first, "a[rel=next]", "href").expect("a next page");
    let second = app.page(&older).await;
    let rest = entries(&second);
    // 5 more failures and the admin's own login.
    assert_eq!(rest.len(), 6);
    assert_eq!(rest[4].1, "guess0@platform.example");
    assert_eq!(rest[5].0, "login");
    assert!(attr(&second, "a[rel=next]", "href").is_none());

    let only_logins = entries(&app.page("/staff/audit?kind=login").await);
    assert_eq!(only_logins.len(), 1);
    assert_eq!(only_logins[0].1, STAFF_EMAIL);
    let one_person = entries(
        &app.page("/staff/audit?person=GUESS7%40platform.example")
            .await,
    );
    assert_eq!(one_person.len(), 1);
    assert_eq!(one_person[0].1, "guess7@platform.example");
    assert_eq!(app.open("/staff/audit?kind=nonsense").await.status(), 400);
    assert_eq!(app.open("/staff/audit?before=abc").await.status(), 400);
}

#[tokio::test]
async fn the_log_is_append_only() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await, 1);
    let update = sqlx::query("UPDATE audit_log SET actor = 'someone else'")
        .execute(&app.db)
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM audit_log").execute(&app.db).await;
    assert!(delete.is_err());
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await, 1);
}

#[tokio::test]
async fn invitations_passwords_resets_and_every_decision_are_recorded() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    app.post_form(
        "/staff/accounts",
        "/staff/accounts/invite",
        &[
            ("email", "nia@platform.example"),
            ("name", "Nia New"),
            ("role", "reviewer"),
        ],
    )
    .await;
    let mail = app.delivered("staff_invitation").await;
    let link = link_in(&mail[0].1, &app.url("/staff/invite/")).unwrap();
    let path = link.trim_start_matches(&app.address).to_owned();
    let newcomer = browser(&app);
    let token = newcomer.token(&path).await;
    let response = newcomer
        .http()
        .post(app.url(&path))
        .form(&[
            ("name", "Nia New"),
            ("password", "a newcomer's long password"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    newcomer.enrol().await;
    app.change_account("nia@platform.example", "reset-mfa", &[])
        .await;
    app.post_form(
        "/staff/account",
        "/staff/account/password",
        &[
            ("current_password", STAFF_PASSWORD),
            ("new_password", "a brand new long password"),
        ],
    )
    .await;
    let first = app.submission_id(&app.register().await).await;
    app.decide(first, "reject", &[("reason", "Not a real client.")])
        .await;
    let second = app.submission_id(&app.register().await).await;
    app.decide(
        second,
        "request-changes",
        &[("message", "Explain the scopes.")],
    )
    .await;

    let rows = entries(&app.page("/staff/audit").await);
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(kind, who, _, target)| (kind.as_str(), who.as_str(), target.as_str()))
        .collect();
    let second_target = format!("submission {second}");
    let first_target = format!("submission {first}");
    assert_eq!(
        summary,
        [
            ("changes_requested", STAFF_EMAIL, second_target.as_str()),
            ("rejected", STAFF_EMAIL, first_target.as_str()),
            ("password_changed", STAFF_EMAIL, ""),
            ("mfa_reset", STAFF_EMAIL, "nia@platform.example"),
            ("mfa_enabled", "nia@platform.example", ""),
            (
                "invitation_accepted",
                "nia@platform.example",
                "nia@platform.example"
            ),
            ("invited", STAFF_EMAIL, "nia@platform.example"),
            ("login", STAFF_EMAIL, ""),
        ]
    );
}

#[tokio::test]
async fn signing_out_is_recorded_with_who_and_from_where() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    app.sign_out().await;
    assert_eq!(app.open("/staff/audit").await.status(), 303, "signed out");
    assert_eq!(app.login(STAFF_EMAIL, STAFF_PASSWORD).await.status(), 303);
    let rows = entries(&app.page("/staff/audit").await);
    let who = |kind: &str| {
        (
            kind.into(),
            STAFF_EMAIL.into(),
            "127.0.0.1".into(),
            String::new(),
        )
    };
    assert_eq!(rows, [who("login"), who("logout"), who("login")]);
    let page = app.page("/staff/audit?kind=logout").await;
    assert_eq!(
        select(&page, "tr[data-kind] td:nth-child(4)"),
        ["Signed out"]
    );
}
