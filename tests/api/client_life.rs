//! The life of an approved client (SPEC §7): suspend, reinstate, revoke.

use scraper::Html;

use crate::client_steps::active_client;
use crate::helpers::*;

/// How many contacts the one approved client has: each gets every email.
async fn contacts(app: &TestApp) -> usize {
    app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'approved'")
        .await as usize
}

/// The hash of the client's newest secret that is still valid, whatever its status.
async fn stored_hash(app: &TestApp, client_id: &str) -> Option<String> {
    let mut conn = app.db.acquire().await.unwrap();
    let submission = partner_registry::db::submissions::find_by_client_id(&mut conn, client_id)
        .await
        .unwrap()
        .expect("the client");
    partner_registry::db::secrets::valid(&mut conn, submission.id, partner_registry::db::now())
        .await
        .unwrap()
        .into_iter()
        .next()
        .map(|secret| secret.hash)
}

async fn status_of(app: &TestApp, status_path: &str) -> (String, Vec<String>) {
    let page = app.get_html(status_path).await;
    (
        select(&page, "[data-status]").remove(0),
        select(&page, "[data-reviewer-message]"),
    )
}

/// The Client IDs and their `status` in `clients.json` (with `query` appended).
async fn listed(app: &TestApp, query: &str) -> Vec<(String, String)> {
    let response = app.get(&format!("/staff/clients.json{query}")).await;
    assert_eq!(response.status(), 200);
    let clients: serde_json::Value = response.json().await.unwrap();
    clients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["client_id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn queue_ids(app: &TestApp, status: &str) -> Vec<String> {
    let page = app
        .get_html(&format!("/staff/submissions?status={status}"))
        .await;
    select(&page, "table.queue td code")
}

#[tokio::test]
async fn a_suspended_client_leaves_the_list_until_it_is_reinstated_and_each_step_is_emailed() {
    let app = spawn_app().await;
    let (id, status_path, credentials, client_id) = active_client(&app).await;
    let page = Html::parse_document(
        &app.reveal_credentials(&credentials)
            .await
            .text()
            .await
            .unwrap(),
    );
    let secret = select(&page, "[data-secret]").remove(0);
    assert_eq!(
        listed(&app, "").await,
        [(client_id.clone(), "active".to_owned())]
    );

    let response = app
        .decide(id, "suspend", &[("reason", "Abuse reports from users")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/staff/submissions/{id}"));
    assert_eq!(
        status_of(&app, &status_path).await,
        (
            "Suspended".to_owned(),
            vec!["Abuse reports from users".to_owned()]
        )
    );
    let mails = app.delivered("suspended").await;
    assert_eq!(mails.len(), contacts(&app).await);
    for (_, text) in &mails {
        assert!(text.contains("Abuse reports from users"), "{text}");
        assert!(text.contains(&client_id));
        assert!(link_in(text, &app.url("/submissions/")).is_some());
    }
    assert_eq!(listed(&app, "").await, []);
    assert_eq!(
        listed(&app, "?status=all").await,
        [(client_id.clone(), "suspended".to_owned())]
    );
    assert_eq!(queue_ids(&app, "suspended").await, [client_id.as_str()]);
    assert_eq!(queue_ids(&app, "approved").await, Vec::<String>::new());
    // A suspended client's secret does not work, and the detail page offers what comes next.
    assert!(!app.verify_secret(&client_id, &secret).await);
    let detail = app.get_html(&format!("/staff/submissions/{id}")).await;
    assert!(exists(&detail, "form[action$='/reinstate']"));
    assert!(exists(&detail, "form[action$='/revoke']"));
    assert!(!exists(&detail, "form[action$='/suspend']"));

    assert_eq!(app.decide(id, "reinstate", &[]).await.status(), 303);
    assert_eq!(status_of(&app, &status_path).await.0, "Approved");
    assert_eq!(
        app.delivered("reinstated").await.len(),
        contacts(&app).await
    );
    assert_eq!(
        listed(&app, "").await,
        [(client_id.clone(), "active".to_owned())]
    );
    // Same Client ID, same secret.
    assert!(app.verify_secret(&client_id, &secret).await);
    let history = select(&detail_page(&app, id).await, "[data-history] li");
    assert!(
        history
            .iter()
            .any(|h| h.contains("Suspended by Robin Reviewer: Abuse reports"))
    );
    assert!(
        history
            .iter()
            .any(|h| h.contains("Reinstated by Robin Reviewer"))
    );
    // Both staff actions are in the audit log, against this submission.
    let mut conn = app.db.acquire().await.unwrap();
    use partner_registry::db::audit::{self, Kind};
    for kind in [Kind::Suspended, Kind::Reinstated] {
        let entries = audit::page(&mut conn, None, None, Some(kind), 10)
            .await
            .unwrap();
        assert_eq!(entries.len(), 1, "{kind:?}");
        assert_eq!(
            entries[0].target.as_deref(),
            Some(&*format!("submission {id}"))
        );
    }
}

async fn detail_page(app: &TestApp, id: i64) -> Html {
    app.get_html(&format!("/staff/submissions/{id}")).await
}

#[tokio::test]
async fn revoking_clears_the_secret_ends_unused_links_and_closes_the_edit_page_for_good() {
    let app = spawn_app().await;
    let (id, status_path, credentials, client_id) = active_client(&app).await;

    let response = app
        .decide(id, "revoke", &[("reason", "The partner closed down")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(stored_hash(&app, &client_id).await, None);
    // The unused credentials link reveals nothing now.
    let spent = app.reveal_credentials(&credentials).await;
    assert_eq!(spent.status(), 410);
    let page = Html::parse_document(&spent.text().await.unwrap());
    assert!(!exists(&page, "[data-secret]"));

    assert_eq!(
        status_of(&app, &status_path).await,
        (
            "Revoked".to_owned(),
            vec!["The partner closed down".to_owned()]
        )
    );
    let mails = app.delivered("revoked").await;
    assert_eq!(mails.len(), contacts(&app).await);
    assert!(
        mails
            .iter()
            .all(|(_, text)| text.contains("The partner closed down"))
    );

    let edit = app.get(&format!("{status_path}/edit")).await;
    assert_eq!(edit.status(), 410);
    assert!(edit.text().await.unwrap().contains("revoked"));
    let token = app.csrf_token("/register").await;
    let posted = app
        .post_multipart(&format!("{status_path}/edit"), &FormFields::valid(&token))
        .await;
    assert_eq!(posted.status(), 410);

    assert_eq!(listed(&app, "").await, []);
    assert_eq!(
        listed(&app, "?status=all").await,
        [(client_id.clone(), "revoked".to_owned())]
    );
    assert_eq!(queue_ids(&app, "revoked").await, [client_id.as_str()]);
    // Final: nothing can bring it back.
    let detail = detail_page(&app, id).await;
    assert!(!exists(&detail, "form[action$='/reinstate']"));
    assert!(!exists(&detail, "form[action$='/suspend']"));
    assert!(!exists(&detail, "form[action$='/rotate-secret']"));
    let revision = select(&detail, "[data-revision]").remove(0);
    let page = format!("/staff/submissions/{id}");
    let again = app
        .staff_post(
            &page,
            &format!("{page}/reinstate"),
            &[("revision", &revision)],
        )
        .await;
    assert_eq!(again.status(), 409);
    assert_eq!(status_of(&app, &status_path).await.0, "Revoked");
}

#[tokio::test]
async fn a_suspended_client_can_be_revoked_and_a_revealed_secret_stops_working() {
    let app = spawn_app().await;
    let (id, _, credentials, client_id) = active_client(&app).await;
    let page = Html::parse_document(
        &app.reveal_credentials(&credentials)
            .await
            .text()
            .await
            .unwrap(),
    );
    let secret = select(&page, "[data-secret]").remove(0);
    assert_eq!(
        app.decide(id, "suspend", &[("reason", "Review")])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.decide(id, "revoke", &[("reason", "Confirmed abuse")])
            .await
            .status(),
        303
    );
    assert!(!app.verify_secret(&client_id, &secret).await);
    assert_eq!(stored_hash(&app, &client_id).await, None);
}

#[tokio::test]
async fn suspending_or_revoking_needs_a_reason_and_changes_nothing_without_one() {
    let app = spawn_app().await;
    let (id, status_path, _, _) = active_client(&app).await;
    for action in ["suspend", "revoke"] {
        let response = app.decide(id, action, &[("reason", "   ")]).await;
        assert_eq!(response.status(), 422, "{action}");
        let page = Html::parse_document(&response.text().await.unwrap());
        assert!(select(&page, "[data-review-error]")[0].contains("Enter the reason"));
    }
    assert_eq!(status_of(&app, &status_path).await.0, "Approved");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind != 'receipt' AND kind != 'approved'")
            .await,
        0
    );
}

#[tokio::test]
async fn only_a_live_client_can_be_suspended_reinstated_or_revoked() {
    let app = spawn_app().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    for (action, fields) in [
        ("suspend", vec![("reason", "x")]),
        ("reinstate", vec![]),
        ("revoke", vec![("reason", "x")]),
    ] {
        let response = app.decide(id, action, &fields).await;
        assert_eq!(response.status(), 409, "{action} a pending submission");
    }
    let active = second_active_client(&app).await;
    assert_eq!(app.decide(active, "reinstate", &[]).await.status(), 409);
    assert_eq!(app.submissions(Some("pending")).await, 1);
}

/// A second approved client in an app whose reviewer is already signed in: its id.
async fn second_active_client(app: &TestApp) -> i64 {
    let id = app.submission_id(&app.register().await).await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    id
}

#[tokio::test]
async fn a_decision_form_without_the_revision_shown_changes_nothing() {
    let app = spawn_app().await;
    let (id, status_path, _, _) = active_client(&app).await;
    let page = format!("/staff/submissions/{id}");
    let response = app
        .staff_post(&page, &format!("{page}/suspend"), &[("reason", "x")])
        .await;
    assert_eq!(response.status(), 409);
    assert_eq!(status_of(&app, &status_path).await.0, "Approved");
}

#[tokio::test]
async fn two_reviewers_suspending_at_once_yield_one_suspension_and_one_email() {
    let app = spawn_app().await;
    let (id, _, _, _) = active_client(&app).await;
    let (a, b) = tokio::join!(
        app.decide(id, "suspend", &[("reason", "first")]),
        app.decide(id, "suspend", &[("reason", "second")]),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 409]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM events WHERE kind = 'suspended'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'suspended'")
            .await as usize,
        contacts(&app).await
    );
}

/// The credentials page's heading and its sentence about the link.
async fn link_page(app: &TestApp, path: &str) -> (Vec<String>, String) {
    let page = app.get_html(path).await;
    assert!(!exists(&page, "[data-secret]"));
    (
        select(&page, ".notice h2"),
        select(&page, "[data-link-state]").concat(),
    )
}

#[tokio::test]
async fn after_a_revocation_every_credentials_link_says_the_client_was_revoked_and_reveals_nothing()
{
    let app = spawn_app().await;
    let (id, _, used, _) = active_client(&app).await;
    assert_eq!(app.reveal_credentials(&used).await.status(), 200);
    // Two rotations: the first one's link is replaced by the second's, which stays unused.
    for _ in 0..2 {
        assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
    }
    let rotated = app.delivered("secret_rotated").await;
    let link = |text: &str| {
        let link = link_in(text, &app.url("/credentials/")).expect("a credentials link");
        link.strip_prefix(&app.address).unwrap().to_owned()
    };
    let replaced = link(&rotated.first().unwrap().1);
    let unused = link(&rotated.last().unwrap().1);
    assert_ne!(replaced, unused);
    // Before the revocation a replaced link says so.
    assert_eq!(
        link_page(&app, &replaced).await.0,
        ["Link replaced".to_owned()]
    );

    let response = app
        .decide(id, "revoke", &[("reason", "The partner closed down")])
        .await;
    assert_eq!(response.status(), 303);

    for path in [&used, &replaced, &unused] {
        let (heading, text) = link_page(&app, path).await;
        assert_eq!(heading, ["Client revoked".to_owned()], "{path}");
        assert!(text.contains("revoked, which is final"), "{text}");
        assert!(!text.contains("replaced"), "{text}");
        assert!(!text.contains("staff can rotate"), "{text}");
        assert!(!exists(&app.get_html(path).await, "form[method=post]"));

        let posted = app.reveal_credentials(path).await;
        assert_eq!(posted.status(), 410);
        let page = Html::parse_document(&posted.text().await.unwrap());
        assert!(!exists(&page, "[data-secret]"));
        assert_eq!(select(&page, ".notice h2"), ["Client revoked"]);
    }
}
