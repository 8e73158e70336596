//! `GET /links` and `POST /links`: fresh status links by email (SPEC §7).

use scraper::Html;

use crate::helpers::*;

async fn ask(app: &TestApp, email: &str) -> reqwest::Response {
    let token = app.csrf_token("/links").await;
    app.client
        .post(app.url("/links"))
        .form(&[("email", email), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
}

async fn answer(response: reqwest::Response) -> (u16, Vec<String>) {
    let status = response.status().as_u16();
    let page = Html::parse_document(&response.text().await.unwrap());
    (status, select(&page, "[data-links-sent]"))
}

#[tokio::test]
async fn the_answer_is_the_same_whatever_the_address_and_only_a_contact_gets_mail() {
    let app = spawn_app().await;
    app.register().await;
    let contact = answer(ask(&app, "OPS@ledgerly.example").await).await;
    let stranger = answer(ask(&app, "nobody@elsewhere.example").await).await;
    assert_eq!(contact.0, 200);
    assert_eq!(contact, stranger);
    assert!(
        contact.1[0].contains("if that address is a contact")
            || contact.1[0].contains("If that address is a contact")
    );
    let mails = app.delivered("lost_links").await;
    assert_eq!(mails.len(), 1, "one email, to the contact only");
    assert_eq!(mails[0].0, "ops@ledgerly.example");
}

#[tokio::test]
async fn every_registration_of_the_contact_gets_a_fresh_link_and_earlier_links_keep_working() {
    let app = spawn_app().await;
    let first = app.register().await;
    let second = app.register().await;
    let other = app
        .post_register(
            &FormFields::valid(&app.csrf_token("/register").await)
                .set("contacts", "someone@else.example")
                .set("client_name", "Not Theirs"),
        )
        .await;
    assert_eq!(other.status(), 303);

    assert_eq!(ask(&app, "dev@ledgerly.example").await.status(), 200);
    let (_, text) = app.delivered("lost_links").await.remove(0);
    let links: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.starts_with(&app.url("/submissions/")))
        .map(|w| w.strip_prefix(&app.address).unwrap().to_owned())
        .collect();
    assert_eq!(links.len(), 2, "{text}");
    assert!(!text.contains("Not Theirs"));
    let mut ids = Vec::new();
    for link in &links {
        assert!(
            !first.ends_with(link.as_str()) && !second.ends_with(link.as_str()),
            "a new token"
        );
        assert_eq!(app.get(link).await.status(), 200);
        ids.push(app.submission_id(link).await);
    }
    ids.sort();
    let mut expected = vec![
        app.submission_id(&first).await,
        app.submission_id(&second).await,
    ];
    expected.sort();
    assert_eq!(ids, expected);
    // The old links still open their pages.
    assert_eq!(app.get(&first).await.status(), 200);
    assert_eq!(app.get(&second).await.status(), 200);
}

#[tokio::test]
async fn a_fourth_request_in_a_day_is_skipped_not_sent() {
    let app = spawn_app().await;
    app.register().await; // one receipt to each contact already
    for _ in 0..3 {
        assert_eq!(ask(&app, "dev@ledgerly.example").await.status(), 200);
    }
    assert_eq!(app.delivered("lost_links").await.len(), 2);
    let skipped = app
        .outbox()
        .await
        .into_iter()
        .filter(|r| r.kind == "lost_links" && r.state == "skipped")
        .count();
    assert_eq!(skipped, 1);
}

#[tokio::test]
async fn lost_link_requests_count_against_the_registration_rate_limit() {
    let app = TestApp::builder()
        .var("REGISTER_RATE_LIMIT", "2")
        .start()
        .await;
    assert_eq!(ask(&app, "a@example.com").await.status(), 200);
    assert_eq!(ask(&app, "b@example.com").await.status(), 200);
    assert_eq!(ask(&app, "c@example.com").await.status(), 429);
}

#[tokio::test]
async fn a_malformed_address_is_refused_beside_the_field_and_no_mail_is_queued() {
    let app = spawn_app().await;
    app.register().await;
    let response = ask(&app, "not an address").await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(exists(&page, "#email-error"));
    assert!(app.outbox().await.iter().all(|r| r.kind != "lost_links"));
}

#[tokio::test]
async fn the_home_page_and_the_status_page_point_to_it() {
    let app = spawn_app().await;
    let status = app.register().await;
    for path in ["/", status.as_str()] {
        let page = app.get_html(path).await;
        assert_eq!(
            attr(&page, "a[data-lost-links]", "href").as_deref(),
            Some("/links"),
            "{path}"
        );
    }
    let form = app.get_html("/links").await;
    assert!(exists(&form, "form[action='/links'] input[name=email]"));
}

/// The subjects and recipients of the emails a submission's staff page lists.
async fn emails_listed(app: &TestApp, id: i64) -> Vec<(String, String)> {
    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    let subjects = select(&page, "tr[data-email-state] td:nth-child(1)");
    let recipients = select(&page, "tr[data-email-state] td:nth-child(2)");
    subjects.into_iter().zip(recipients).collect()
}

#[tokio::test]
async fn the_one_lost_links_email_is_listed_on_the_staff_page_of_every_registration_it_covers() {
    let app = spawn_app().await;
    let mut covered = Vec::new();
    for name in ["First App", "Second App"] {
        let token = app.csrf_token("/register").await;
        let response = app
            .post_register(&FormFields::valid(&token).set("client_name", name))
            .await;
        assert_eq!(response.status(), 303);
        covered.push(app.submission_id(&location(&response)).await);
    }
    let token = app.csrf_token("/register").await;
    let other = app
        .post_register(
            &FormFields::valid(&token)
                .set("contacts", "someone@else.example")
                .set("client_name", "Not Theirs"),
        )
        .await;
    let other = app.submission_id(&location(&other)).await;

    assert_eq!(ask(&app, "dev@ledgerly.example").await.status(), 200);
    let mails = app.delivered("lost_links").await;
    assert_eq!(mails.len(), 1, "one email for both registrations");
    assert_eq!(
        app.outbox()
            .await
            .iter()
            .filter(|r| r.kind == "lost_links")
            .count(),
        1
    );

    app.sign_in_staff().await;
    let lost_links = |rows: Vec<(String, String)>| -> Vec<(String, String)> {
        rows.into_iter()
            .filter(|(subject, _)| subject.starts_with("Your links for"))
            .collect()
    };
    for id in &covered {
        let listed = lost_links(emails_listed(&app, *id).await);
        assert_eq!(
            listed,
            [(
                "Your links for First App, Second App".to_owned(),
                "dev@ledgerly.example".to_owned()
            )],
            "submission {id}"
        );
    }
    assert_eq!(lost_links(emails_listed(&app, other).await), []);
}
