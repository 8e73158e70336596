//! Admins and reviewers (SPEC §9): the accounts page, invitations, disabling, roles, the
//! last-admin rule, 403 for reviewers, changing one's password, `staff disable`.

use reqwest::Response;
use scraper::Html;

use crate::helpers::*;
use crate::mfa::{Browser, StaffBrowser, browser, now, totp};

const REVIEWER_EMAIL: &str = "rae@platform.example";
const REVIEWER_PASSWORD: &str = "another long password";

/// The first account (an admin, signed in here) and a reviewer signed in in another browser.
async fn admin_and_reviewer() -> (TestApp, Browser) {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    app.create_staff(REVIEWER_EMAIL, "Rae Reviewer", REVIEWER_PASSWORD)
        .await;
    let reviewer = browser(&app);
    let response = reviewer.login(REVIEWER_EMAIL, REVIEWER_PASSWORD).await;
    assert_eq!(response.status(), 303);
    (app, reviewer)
}

#[tokio::test]
async fn the_first_account_is_an_admin_and_lists_every_account() {
    let (app, _reviewer) = admin_and_reviewer().await;
    assert_eq!(app.account_cell(STAFF_EMAIL, "role").await, "Admin");
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "role").await, "Reviewer");
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "mfa").await, "Off");
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "state").await, "Active");
    let page = app.page("/staff/accounts").await;
    // Opaque ids, not row numbers.
    let id = attr(
        &page,
        &format!("tr[data-account='{REVIEWER_EMAIL}']"),
        "data-account-id",
    )
    .unwrap();
    assert!(id.len() >= 16 && id.parse::<i64>().is_err(), "{id}");
}

#[tokio::test]
async fn reviewers_get_403_on_the_admin_pages_and_change_nothing() {
    let (app, reviewer) = admin_and_reviewer().await;
    for page in ["/staff/accounts", "/staff/audit"] {
        assert_eq!(reviewer.open(page).await.status(), 403, "{page}");
    }
    let admin_id = app.account_id(STAFF_EMAIL).await;
    for action in ["disable", "enable", "role", "reset-mfa"] {
        let response = reviewer
            .post_form(
                "/staff/submissions",
                &format!("/staff/accounts/{admin_id}/{action}"),
                &[("role", "reviewer")],
            )
            .await;
        assert_eq!(response.status(), 403, "{action}");
    }
    let response = reviewer
        .post_form(
            "/staff/submissions",
            "/staff/accounts/invite",
            &[
                ("email", "x@platform.example"),
                ("name", "X"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.account_cell(STAFF_EMAIL, "role").await, "Admin");
    assert_eq!(app.account_cell(STAFF_EMAIL, "state").await, "Active");
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_invitations").await, 0);
    // The queue is theirs as ever.
    assert_eq!(reviewer.open("/staff/submissions").await.status(), 200);
}

#[tokio::test]
async fn disabling_ends_the_live_session_at_once_and_refuses_logins() {
    let (app, reviewer) = admin_and_reviewer().await;
    assert_eq!(reviewer.open("/staff/submissions").await.status(), 200);
    let response = app.change_account(REVIEWER_EMAIL, "disable", &[]).await;
    assert_eq!(response.status(), 303);
    let response = reviewer.open("/staff/submissions").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/login");
    assert_eq!(
        reviewer
            .login(REVIEWER_EMAIL, REVIEWER_PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "state").await, "Disabled");
    // Enabled again, the password works again.
    assert_eq!(
        app.change_account(REVIEWER_EMAIL, "enable", &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        reviewer
            .login(REVIEWER_EMAIL, REVIEWER_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(reviewer.open("/staff/submissions").await.status(), 200);
}

#[tokio::test]
async fn the_last_active_admin_can_be_neither_disabled_nor_demoted() {
    let (app, reviewer) = admin_and_reviewer().await;
    let response = app.change_account(STAFF_EMAIL, "disable", &[]).await;
    assert_eq!(response.status(), 409);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(
        select(&page, "main")
            .join(" ")
            .contains("last active admin")
    );
    let response = app
        .change_account(STAFF_EMAIL, "role", &[("role", "reviewer")])
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(app.account_cell(STAFF_EMAIL, "role").await, "Admin");
    // With a second admin, the first may step down, and the new admin sees the pages.
    let response = app
        .change_account(REVIEWER_EMAIL, "role", &[("role", "admin")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(reviewer.open("/staff/accounts").await.status(), 200);
    let response = app
        .change_account(STAFF_EMAIL, "role", &[("role", "reviewer")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.open("/staff/accounts").await.status(), 403);
    // Now the other one is the last admin.
    let response = reviewer
        .change_account(REVIEWER_EMAIL, "disable", &[])
        .await;
    assert_eq!(response.status(), 409);
    let response = reviewer
        .change_account(REVIEWER_EMAIL, "role", &[("role", "nonsense")])
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn an_invitation_is_emailed_works_once_and_makes_the_account() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    let response = app
        .post_form(
            "/staff/accounts",
            "/staff/accounts/invite",
            &[
                ("email", "new@platform.example"),
                ("name", "Nia New"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let mail = app.delivered("staff_invitation").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "new@platform.example");
    let link = link_in(&mail[0].1, &app.url("/staff/invite/")).expect("a link");
    let path = link.trim_start_matches(&app.address).to_owned();
    let token = path.trim_start_matches("/staff/invite/").to_owned();
    // Stored hashed only.
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM staff_invitations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, partner_registry::auth::sha256_hex(&token));
    let newcomer = browser(&app);
    let page = newcomer.page(&path).await;
    assert!(
        select(&page, "main")
            .join(" ")
            .contains("new@platform.example")
    );
    let short = accept(&newcomer, &path, "short").await;
    assert_eq!(short.status(), 422);
    let response = accept(&newcomer, &path, "a newcomer's long password").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/account");
    assert_eq!(newcomer.open("/staff/accounts").await.status(), 200);
    assert_eq!(
        app.account_cell("new@platform.example", "role").await,
        "Admin"
    );
    // Used once: the link opens nothing now.
    let again = browser(&app);
    assert_eq!(again.open(&path).await.status(), 404);
    assert_eq!(
        accept_with_token_from(&again, &path, "/staff/login", "yet another long one")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn an_invitation_expires_after_72_hours() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    app.post_form(
        "/staff/accounts",
        "/staff/accounts/invite",
        &[
            ("email", "late@platform.example"),
            ("name", "Lee Late"),
            ("role", "reviewer"),
        ],
    )
    .await;
    let mail = app.delivered("staff_invitation").await;
    let link = link_in(&mail[0].1, &app.url("/staff/invite/")).unwrap();
    let path = link.trim_start_matches(&app.address).to_owned();
    let expires_at: i64 =
        sqlx::query_scalar("SELECT expires_at - created_at FROM staff_invitations")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(expires_at, 72 * 60 * 60);
    let newcomer = browser(&app);
    assert_eq!(newcomer.open(&path).await.status(), 200);
    sqlx::query("UPDATE staff_invitations SET expires_at = ?")
        .bind(now() - 1)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(newcomer.open(&path).await.status(), 404);
    assert_eq!(
        accept_with_token_from(&newcomer, &path, "/staff/login", "a late long password")
            .await
            .status(),
        404
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM staff").await, 1);
}

async fn accept(browser: &Browser, path: &str, password: &str) -> Response {
    accept_with_token_from(browser, path, path, password).await
}

/// POST the invitation form, with the anti-forgery token of the page at `token_page`.
async fn accept_with_token_from(
    browser: &Browser,
    path: &str,
    token_page: &str,
    password: &str,
) -> Response {
    let token = browser.token(token_page).await;
    browser
        .client
        .post(format!("{}{path}", browser.address))
        .form(&[
            ("name", "Nia New"),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invitation_for_an_existing_account_is_refused() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    let response = app
        .post_form(
            "/staff/accounts",
            "/staff/accounts/invite",
            &[("email", STAFF_EMAIL), ("name", "Again"), ("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "[data-error-summary]")[0].contains("already has a staff account"));
    let response = app
        .post_form(
            "/staff/accounts",
            "/staff/accounts/invite",
            &[("email", "not an email"), ("name", ""), ("role", "boss")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_invitations").await, 0);
}

#[tokio::test]
async fn changing_ones_password_ends_the_other_sessions() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    let other = browser(&app);
    other.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(other.open("/staff/submissions").await.status(), 200);
    let wrong = app
        .post_form(
            "/staff/account",
            "/staff/account/password",
            &[
                ("current_password", "not the password at all"),
                ("new_password", "a brand new long password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(other.open("/staff/submissions").await.status(), 200);
    let response = app
        .post_form(
            "/staff/account",
            "/staff/account/password",
            &[
                ("current_password", STAFF_PASSWORD),
                ("new_password", "a brand new long password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(other.open("/staff/submissions").await.status(), 303);
    assert_eq!(app.open("/staff/submissions").await.status(), 200);
    assert_eq!(other.login(STAFF_EMAIL, STAFF_PASSWORD).await.status(), 401);
    assert_eq!(
        other
            .login(STAFF_EMAIL, "a brand new long password")
            .await
            .status(),
        303
    );
}

#[tokio::test]
async fn an_admin_clears_a_lost_second_factor() {
    let (app, reviewer) = admin_and_reviewer().await;
    reviewer.enrol().await;
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "mfa").await, "On");
    let response = app.change_account(REVIEWER_EMAIL, "reset-mfa", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "mfa").await, "Off");
    let fresh = browser(&app);
    let response = fresh.login(REVIEWER_EMAIL, REVIEWER_PASSWORD).await;
    assert_eq!(location(&response), "/staff/submissions");
}

#[tokio::test]
async fn a_second_factor_cleared_mid_login_sends_back_to_the_start() {
    let (app, reviewer) = admin_and_reviewer().await;
    let enrolled = reviewer.enrol().await;
    let fresh = browser(&app);
    let response = fresh.login(REVIEWER_EMAIL, REVIEWER_PASSWORD).await;
    assert_eq!(location(&response), "/staff/login/mfa");
    app.change_account(REVIEWER_EMAIL, "reset-mfa", &[]).await;
    let response = fresh.post_code(&totp(&enrolled.key, now() + 30)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/login");
}

#[tokio::test]
async fn staff_disable_on_the_command_line_ends_the_sessions() {
    let (app, reviewer) = admin_and_reviewer().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .args(["staff", "disable", "--email", REVIEWER_EMAIL])
        .env("DATA_DIR", app.data_dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(reviewer.open("/staff/submissions").await.status(), 303);
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "state").await, "Disabled");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .args(["staff", "disable", "--email", "nobody@platform.example"])
        .env("DATA_DIR", app.data_dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[tokio::test]
async fn staff_add_admin_makes_an_admin() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .args([
            "staff",
            "add",
            "--admin",
            "--email",
            "boss@platform.example",
            "--name",
            "Bo Boss",
        ])
        .env("DATA_DIR", app.data_dir.path())
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "a long admin password").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        app.account_cell("boss@platform.example", "role").await,
        "Admin"
    );
}

#[tokio::test]
async fn every_new_staff_form_refuses_a_missing_or_wrong_token() {
    let (app, _reviewer) = admin_and_reviewer().await;
    let id = app.account_id(REVIEWER_EMAIL).await;
    let posts = [
        format!("/staff/accounts/{id}/disable"),
        format!("/staff/accounts/{id}/enable"),
        format!("/staff/accounts/{id}/role"),
        format!("/staff/accounts/{id}/reset-mfa"),
        "/staff/accounts/invite".to_owned(),
        "/staff/account/mfa".to_owned(),
        "/staff/account/password".to_owned(),
    ];
    for path in &posts {
        for token in [None, Some("not-the-token")] {
            let mut form = vec![
                ("role", "admin"),
                ("email", "x@platform.example"),
                ("name", "X"),
                ("code", "123456"),
                ("current_password", STAFF_PASSWORD),
                ("new_password", "a brand new long password"),
            ];
            if let Some(token) = token {
                form.push(("csrf_token", token));
            }
            let response = app
                .http()
                .post(app.url(path))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{path} with {token:?}");
        }
    }
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "state").await, "Active");
    assert_eq!(app.account_cell(REVIEWER_EMAIL, "role").await, "Reviewer");
    assert_eq!(app.count("SELECT COUNT(*) FROM staff_invitations").await, 0);
    assert_eq!(app.login(STAFF_EMAIL, STAFF_PASSWORD).await.status(), 303);
}
