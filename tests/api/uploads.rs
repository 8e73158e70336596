//! Uploads cannot hold the portal hostage (SPEC §6): a form waits for an upload slot only so
//! long, a body that stalls or drips is cut off, and a logo that is gone by the time the form
//! is stored asks for the file again instead of failing.

use std::time::Duration;

use scraper::Html;

use crate::helpers::*;

/// What takes a held logo away while its form waits to be stored.
#[derive(Clone, Copy, Debug)]
enum Expiry {
    /// The housekeeping sweep, a day later, deletes it.
    Swept,
    /// Its 24 hours run out, before any sweep.
    ClockRunsOut,
}

/// Hold a logo on the form at `path`, then send the fixed form with its token while `expiry`
/// happens in a transaction that holds SQLite's write lock. The form still finds its logo when
/// it is read (the transaction has not committed), then waits for the lock to store the
/// submission, and by then the logo is gone. Returns the answer to that form.
async fn submit_while_the_held_logo_expires(
    app: &TestApp,
    path: &str,
    expiry: Expiry,
) -> reqwest::Response {
    let token = app.csrf_token(path).await;
    // A form with an error: its logo passed and is held.
    let response = app
        .post_multipart(
            path,
            &FormFields::valid(&token)
                .set("client_name", "")
                .logo(png(300, 300), "new-logo.png"),
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    let logo_token = attr(&page, "input[name=logo_token]", "value").expect("the logo is held");

    let mut writer = app.db.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let hold = partner_registry::db::logos::HOLD_SECONDS;
    match expiry {
        Expiry::Swept => {
            let later = partner_registry::db::now() + hold + 1;
            let swept = partner_registry::db::logos::expire_unclaimed(&mut writer, later)
                .await
                .unwrap();
            assert_eq!(swept, 1);
        }
        Expiry::ClockRunsOut => {
            sqlx::query("UPDATE logos SET created_at = created_at - ?")
                .bind(hold)
                .execute(&mut *writer)
                .await
                .unwrap();
        }
    }
    let fixed = FormFields::valid(&token)
        .without("logo")
        .set("logo_token", &logo_token);
    let submit = tokio::spawn({
        let client = app.client.clone();
        let url = app.url(path);
        async move {
            client
                .post(url)
                .multipart(fixed.to_multipart())
                .send()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    writer.commit().await.unwrap();
    submit.await.unwrap()
}

#[tokio::test]
async fn a_held_logo_that_expires_while_its_form_is_stored_asks_for_the_logo_again() {
    for expiry in [Expiry::Swept, Expiry::ClockRunsOut] {
        let app = spawn_app().await;
        let response = submit_while_the_held_logo_expires(&app, "/register", expiry).await;
        assert_eq!(
            response.status(),
            422,
            "{expiry:?}: the form again, not an error page"
        );
        let page = Html::parse_document(&response.text().await.unwrap());
        let message = select(&page, "#logo-error").join(" ");
        assert!(
            message.contains("expired") && message.contains("choose it again"),
            "{expiry:?}: {message:?}"
        );
        assert!(
            !exists(&page, "input[name=logo_token]"),
            "{expiry:?}: no token for a logo that is gone"
        );
        assert_eq!(
            attr(&page, "#client_name", "value").as_deref(),
            Some("Ledgerly"),
            "{expiry:?}: what the partner entered is kept"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM submissions").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);

        // Choosing the file again is all it takes.
        let token = attr(&page, "input[name=csrf_token]", "value").unwrap();
        let response = app.post_register(&FormFields::valid(&token)).await;
        assert_eq!(response.status(), 303, "{expiry:?}");
    }
}

#[tokio::test]
async fn a_held_logo_that_expires_while_an_edit_is_stored_asks_for_it_again_and_keeps_the_current_one()
 {
    for expiry in [Expiry::Swept, Expiry::ClockRunsOut] {
        let app = spawn_app().await;
        let status_path = app.register().await;
        let id = app.submission_id(&status_path).await;
        app.sign_in_staff().await;
        let asked = app
            .decide(id, "request-changes", &[("message", "A new logo, please.")])
            .await;
        assert_eq!(asked.status(), 303);
        let edit_path = format!("{status_path}/edit");

        let response = submit_while_the_held_logo_expires(&app, &edit_path, expiry).await;
        assert_eq!(
            response.status(),
            422,
            "{expiry:?}: the form again, not an error page"
        );
        let page = Html::parse_document(&response.text().await.unwrap());
        let message = select(&page, "#logo-error").join(" ");
        assert!(
            message.contains("choose it again"),
            "{expiry:?}: {message:?}"
        );
        assert!(
            exists(&page, "#logo-kept img"),
            "{expiry:?}: the stored logo is still shown"
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM revisions").await, 1);

        // Sent again without a file, the edit keeps the current logo.
        let token = attr(&page, "input[name=csrf_token]", "value").unwrap();
        let fixed = FormFields::valid(&token).without("logo");
        let response = app.post_multipart(&edit_path, &fixed).await;
        assert_eq!(response.status(), 303, "{expiry:?}");
        assert_eq!(
            app.count("SELECT COUNT(DISTINCT logo_id) FROM revisions")
                .await,
            1
        );
    }
}
