//! Review: the queue, a submission's detail page, and the decisions staff take on it.

use scraper::Html;

use partner_registry::mail::worker::Outcome;

use crate::helpers::*;
use crate::smtp::{Fault, SmtpSink};

#[tokio::test]
async fn a_staff_post_without_the_anti_forgery_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    app.sign_in_staff().await;

    let url = app.url(&format!("/staff/submissions/{id}/approve"));
    assert_eq!(
        app.client
            .post(&url)
            .form(&[("x", "1")])
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let forged = [("csrf_token", "AAAA")];
    assert_eq!(
        app.client
            .post(&url)
            .form(&forged)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(app.submissions(Some("pending")).await, 1);
    assert_eq!(app.delivered("approved").await.len(), 0);
}

#[tokio::test]
async fn the_queue_filters_counts_searches_and_pages() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    for i in 0..52 {
        let form = FormFields::valid(&token).set("client_name", &format!("Client {i:02}"));
        assert_eq!(app.post_register(&form).await.status(), 303);
    }
    let special = FormFields::valid(&token)
        .set("client_name", "Zebra 100% Books")
        .set("contacts", "books@zebra.example");
    assert_eq!(app.post_register(&special).await.status(), 303);
    app.sign_in_staff().await;

    let page = app.get_html("/staff/submissions").await;
    assert_eq!(select(&page, "[data-count=pending]"), ["53"]);
    let names = select(&page, "table.queue tbody td:first-child a");
    assert_eq!(names.len(), 50);
    assert_eq!(names[0], "Zebra 100% Books", "newest first");
    let next = attr(&page, "a[rel=next]", "href").unwrap();
    let older = app.get_html(&next).await;
    assert_eq!(
        select(&older, "table.queue tbody td:first-child a"),
        ["Client 02", "Client 01", "Client 00"]
    );

    let found = app
        .get_html("/staff/submissions?status=all&q=zebra.example")
        .await;
    assert_eq!(
        select(&found, "table.queue tbody td:first-child a"),
        ["Zebra 100% Books"]
    );
    let percent = app.get_html("/staff/submissions?status=all&q=100%25").await;
    assert_eq!(
        select(&percent, "table.queue tbody tr").len(),
        1,
        "% is matched literally"
    );
    let rows = |page: &Html| select(page, "table.queue tbody td:first-child a");
    for (q, expected) in [
        ("ZEBRA", 1),
        ("ebra 1", 1),
        ("0%", 1),
        ("\"zeb", 0),
        ("q", 0),
    ] {
        let page = app
            .get_html(&format!("/staff/submissions?status=all&q={}", urlencode(q)))
            .await;
        assert_eq!(rows(&page).len(), expected, "search {q}");
    }
    let clients = app.get_html("/staff/submissions?status=all&q=Client").await;
    assert_eq!(rows(&clients).len(), 50, "a search is paged too");
    let next = attr(&clients, "a[rel=next]", "href").unwrap();
    assert_eq!(rows(&app.get_html(&next).await), ["Client 01", "Client 00"]);
    let none = app.get_html("/staff/submissions?status=approved").await;
    assert!(select(&none, "table.queue tbody tr").is_empty());
    assert_eq!(
        app.get("/staff/submissions?status=bogus").await.status(),
        400
    );
}

#[tokio::test]
async fn a_search_finds_a_client_by_its_new_name_after_a_resubmission() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    app.sign_in_staff().await;
    let id = app.submission_id(&status_path).await;
    let asked = app
        .decide(id, "request-changes", &[("message", "Please rename.")])
        .await;
    assert_eq!(asked.status(), 303);
    let edit = format!("{status_path}/edit");
    let csrf = app.csrf_token(&edit).await;
    let renamed = FormFields::valid(&csrf)
        .without("logo")
        .set("client_name", "Quillbooks")
        .set("contacts", "dev@quill.example");
    assert_eq!(app.post_multipart(&edit, &renamed).await.status(), 303);

    let names = |page: Html| select(&page, "table.queue tbody td:first-child a");
    let search = |q: &str| format!("/staff/submissions?status=all&q={q}");
    assert_eq!(names(app.get_html(&search("quill")).await), ["Quillbooks"]);
    assert!(
        names(app.get_html(&search("Ledgerly")).await).is_empty(),
        "the old name and contacts are gone"
    );
    assert_eq!(
        names(app.get_html(&search("dev@quill")).await),
        ["Quillbooks"],
        "contacts too"
    );
}

#[tokio::test]
async fn submissions_stored_before_the_newest_first_index_are_found_and_paged_after_it() {
    // The schema before migration 20261204104500, which rebuilds the search index with the
    // submission id negated: run from a copy of the earlier files, rows written into it.
    let (data_dir, old) = database_before("20261204104500").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for i in 0..52 {
        sqlx::query(
            "INSERT INTO submissions (token, client_name, contacts, client_id, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(format!("{i:064x}"))
        .bind(format!("Oldco {i:02}"))
        .bind(format!("dev@oldco{i:02}.example"))
        .bind((i == 7).then_some("0b1d0000-0000-4000-8000-000000000007"))
        .bind(now)
        .bind(now)
        .execute(&old)
        .await
        .unwrap();
    }
    old.close().await;

    let app = TestApp::builder().data_dir(data_dir).start().await;
    app.sign_in_staff().await;
    let names = |page: &Html| select(page, "table.queue tbody td:first-child a");
    let first = app.get_html("/staff/submissions?status=all&q=oldco").await;
    let shown = names(&first);
    assert_eq!(shown.len(), 50);
    assert_eq!(
        (shown[0].as_str(), shown[49].as_str()),
        ("Oldco 51", "Oldco 02"),
        "newest first"
    );
    let next = attr(&first, "a[rel=next]", "href").unwrap();
    let older = app.get_html(&next).await;
    assert_eq!(names(&older), ["Oldco 01", "Oldco 00"]);
    assert!(
        attr(&older, "a[rel=next]", "href").is_none(),
        "the last page"
    );
    let by_client_id = app
        .get_html("/staff/submissions?status=all&q=0b1d0000-0000")
        .await;
    assert_eq!(names(&by_client_id), ["Oldco 07"]);
    let by_contact = app
        .get_html("/staff/submissions?status=all&q=OLDCO33.example")
        .await;
    assert_eq!(names(&by_contact), ["Oldco 33"]);
}

#[tokio::test]
async fn the_detail_page_shows_flags_logo_sizes_preview_and_history() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let form = FormFields::valid(&token)
        .set(
            "redirect_uris",
            "https://ledgerly.example/cb?next=/home\nhttp://127.0.0.1:9000/cb",
        )
        .set("scopes", "users:write")
        .set("client_type", "public")
        .set("pkce", "not_supported")
        .set("pkce_exception", "PM-7");
    let response = app.post_register(&form).await;
    let id = app.submission_id(&location(&response)).await;
    app.sign_in_staff().await;

    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    let flags = select(&page, "[data-flags] li").join("\n");
    for expected in [
        "Write scopes: users:write",
        "http redirect URIs: http://127.0.0.1:9000/cb",
        "open redirector",
        "(next)",
        "Public client without PKCE",
        "PM-7",
        "Scope reason",
    ] {
        assert!(flags.contains(expected), "{expected} in {flags}");
    }
    assert_eq!(select(&page, ".logo-swatch--light img").len(), 3);
    assert_eq!(select(&page, ".logo-swatch--dark img").len(), 3);
    assert!(exists(&page, ".logo-swatch--dark img[width='128']"));
    assert!(exists(&page, "[data-consent-preview]"));
    assert_eq!(select(&page, "[data-history] li").len(), 1);
    assert_eq!(
        select(&page, "tr[data-email-state]").len(),
        2,
        "one receipt per contact"
    );
}

#[tokio::test]
async fn approving_issues_a_uuid_client_id_and_queues_the_approval_to_every_contact() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    app.sign_in_staff().await;

    let response = app.decide(id, "approve", &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/staff/submissions/{id}"));
    let detail = app.get_html(&format!("/staff/submissions/{id}")).await;
    let client_id = select(&detail, "[data-client-id]").remove(0);
    let uuid = uuid::Uuid::parse_str(&client_id).unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    let approvals = app.delivered("approved").await;
    assert_eq!(approvals.len(), 2);
    for (_, text) in &approvals {
        assert!(text.contains(&client_id));
        assert!(
            link_in(text, &app.url("/credentials/")).is_some(),
            "a one-time link"
        );
    }
    let page = app.get_html(&status_path).await;
    assert_eq!(select(&page, "[data-status]"), ["Approved"]);
    assert_eq!(select(&page, "[data-client-id]"), [client_id.as_str()]);
    let detail = app.get_html(&format!("/staff/submissions/{id}")).await;
    assert!(
        select(&detail, "[data-history] li")
            .last()
            .unwrap()
            .contains("Approved by Robin Reviewer")
    );
}

#[tokio::test]
async fn a_public_client_is_approved_without_a_credentials_link() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let response = app
        .post_register(&FormFields::valid(&token).set("client_type", "public"))
        .await;
    let id = app.submission_id(&location(&response)).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let (_, text) = &app.delivered("approved").await[0];
    assert!(link_in(text, &app.url("/credentials/")).is_none());
    assert_eq!(app.credential_links(id).await, 0);
}

#[tokio::test]
async fn two_approvals_at_once_yield_exactly_one_client_and_one_set_of_emails() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    app.sign_in_staff().await;
    let page = format!("/staff/submissions/{id}");
    let token = app.csrf_token(&page).await;
    let url = app.url(&format!("{page}/approve"));

    let send = || {
        app.client
            .post(&url)
            .form(&[("csrf_token", token.as_str()), ("revision", "1")])
            .send()
    };
    let (a, b) = tokio::join!(send(), send());
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 409]);
    assert_eq!(app.submissions(Some("approved")).await, 1);
    assert_eq!(
        app.delivered("approved").await.len(),
        2,
        "one email per contact, once"
    );
    assert_eq!(app.credential_links(id).await, 1);
}

#[tokio::test]
async fn a_decision_on_a_decided_submission_is_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);

    for (action, fields) in [
        ("approve", vec![]),
        ("reject", vec![("reason", "No")]),
        ("request-changes", vec![("message", "Fix")]),
    ] {
        let response = app.decide(id, action, &fields).await;
        assert_eq!(response.status(), 409, "{action}");
        let page = Html::parse_document(&response.text().await.unwrap());
        assert!(
            select(&page, "[data-review-error]")[0].contains("approved now"),
            "{action}"
        );
    }
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_tells_the_partner() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    app.sign_in_staff().await;

    assert_eq!(
        app.decide(id, "reject", &[("reason", "  ")]).await.status(),
        422
    );
    assert_eq!(app.submissions(Some("pending")).await, 1);

    let response = app
        .decide(id, "reject", &[("reason", "Your privacy policy is a 404.")])
        .await;
    assert_eq!(response.status(), 303);
    let page = app.get_html(&status_path).await;
    assert_eq!(select(&page, "[data-status]"), ["Rejected"]);
    assert_eq!(
        select(&page, "[data-reviewer-message]"),
        ["Your privacy policy is a 404."]
    );
    let rejected = app.delivered("rejected").await;
    assert_eq!(rejected.len(), 2);
    assert!(rejected[0].1.contains("Your privacy policy is a 404."));
}

#[tokio::test]
async fn requested_changes_lead_to_an_edit_and_a_new_revision_that_keeps_the_old_one() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    let edit_path = format!("{status_path}/edit");
    assert_eq!(
        app.get(&edit_path).await.status(),
        409,
        "only after changes are requested"
    );
    app.sign_in_staff().await;

    let message = "Please drop the http redirect URI.";
    assert_eq!(
        app.decide(id, "request-changes", &[("message", message)])
            .await
            .status(),
        303
    );
    let page = app.get_html(&status_path).await;
    assert_eq!(select(&page, "[data-status]"), ["Changes requested"]);
    assert_eq!(select(&page, "[data-reviewer-message]"), [message]);
    let (_, email) = &app.delivered("changes_requested").await[0];
    assert!(email.contains(message));
    // The email carries a fresh token (only hashes are stored) that opens the same form.
    let emailed_edit = link_in(email, &app.url("/submissions/")).expect("an edit link");
    assert!(emailed_edit.ends_with("/edit"), "{emailed_edit}");
    let emailed_form = app
        .get_html(emailed_edit.trim_start_matches(&app.address))
        .await;
    assert_eq!(
        attr(&emailed_form, "#client_name", "value").unwrap(),
        "Ledgerly"
    );

    let form = app.get_html(&edit_path).await;
    assert_eq!(attr(&form, "#client_name", "value").unwrap(), "Ledgerly");
    assert!(
        exists(&form, "#logo-kept img"),
        "the stored logo is shown and kept"
    );
    let token = attr(&form, "input[name=csrf_token]", "value").unwrap();
    let fixed = FormFields::valid(&token)
        .without("logo")
        .set("redirect_uris", "https://ledgerly.example/callback");
    let response = app.post_multipart(&edit_path, &fixed).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), status_path);

    let page = app.get_html(&status_path).await;
    assert_eq!(select(&page, "[data-status]"), ["Pending review"]);
    assert_eq!(app.revisions(id).await.len(), 2);
    assert_eq!(app.distinct_logos(id).await, 1);
    let detail = app.get_html(&format!("/staff/submissions/{id}")).await;
    let diff = select(
        &detail,
        "#revision-2 ~ table.diff tbody tr, .revision table.diff tbody tr",
    );
    assert!(
        diff.iter().any(|row| row.starts_with("Redirect URIs")),
        "{diff:?}"
    );
    assert_eq!(
        app.get(&edit_path).await.status(),
        409,
        "pending again: no more edits"
    );
}

#[tokio::test]
async fn the_export_uses_rfc_7591_names_and_never_the_secret() {
    let app = spawn_app().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    app.decide(id, "approve", &[]).await;

    let clients: serde_json::Value = app.get("/staff/clients.json").await.json().await.unwrap();
    let client = &clients.as_array().unwrap()[0];
    for key in [
        "client_id",
        "client_name",
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "contacts",
        "redirect_uris",
        "scope",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "initiate_login_uri",
        "settings_uri",
        "subject_type_preference",
        "pkce_required",
    ] {
        assert!(client.get(key).is_some(), "{key}");
    }
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(client["scope"], "expenses:read users:read");
    assert!(client.get("client_secret").is_none());
    let logo = app
        .get(
            client["logo_uri"]
                .as_str()
                .unwrap()
                .strip_prefix(&app.address)
                .unwrap(),
        )
        .await;
    assert_eq!(logo.status(), 200);

    let path = format!(
        "/staff/clients/{}.json",
        client["client_id"].as_str().unwrap()
    );
    let one: serde_json::Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(&one, client);
    assert_eq!(app.get("/staff/clients/nope.json").await.status(), 404);
}

#[tokio::test]
async fn staff_see_a_failed_email_and_their_retry_reaches_the_smtp_server() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().smtp(sink.url()).start().await;
    let id = app.submission_id(&app.register().await).await;
    app.sign_in_staff().await;
    // The relay refuses the first receipt for good.
    sink.fail_next(Fault::Data(554), 1);
    let first = app
        .mail
        .try_send_next()
        .await
        .unwrap()
        .expect("a receipt due");
    assert!(matches!(first.outcome, Outcome::Failed { .. }), "{first:?}");
    let failed_row = app
        .outbox()
        .await
        .into_iter()
        .find(|row| row.id == first.outbox_id)
        .unwrap();

    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    let failed = select(&page, "tr[data-email-state=failed]");
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("554"), "{failed:?}");
    let action = attr(&page, "tr[data-email-state=failed] form", "action").unwrap();

    let response = app
        .staff_post(&format!("/staff/submissions/{id}"), &action, &[])
        .await;
    assert_eq!(response.status(), 303);
    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    assert!(select(&page, "tr[data-email-state=failed]").is_empty());
    // The retry is a staff action: it is in the audit log, on its submission.
    assert_eq!(
        crate::audit::audit_kinds(&app).await[0],
        ("email_retried".to_owned(), format!("submission {id}"))
    );

    // The worker sends it again, and this time the relay takes it.
    while app.mail.try_send_next().await.unwrap().is_some() {}
    let received = sink.received();
    let resent: Vec<_> = received
        .iter()
        .filter(|m| m.header("Message-ID").as_deref() == Some(&*failed_row.message_id))
        .collect();
    assert_eq!(resent.len(), 1, "the retried email reached the SMTP server");
    assert_eq!(
        resent[0].recipients,
        std::slice::from_ref(&failed_row.recipient)
    );
}

#[tokio::test]
async fn a_decision_on_a_revision_the_partner_has_since_replaced_gets_409_and_changes_nothing() {
    let app = spawn_app().await;
    let status_path = app.register().await;
    let id = app.submission_id(&status_path).await;
    app.sign_in_staff().await;
    assert_eq!(
        app.decide(id, "request-changes", &[("message", "Fix it")])
            .await
            .status(),
        303
    );
    let edit_path = format!("{status_path}/edit");
    let form = app.get_html(&edit_path).await;
    let token = attr(&form, "input[name=csrf_token]", "value").unwrap();
    let fixed = FormFields::valid(&token).without("logo");
    assert_eq!(app.post_multipart(&edit_path, &fixed).await.status(), 303);

    let events = app.event_count(id).await;
    let outbox = app.outbox().await.len();
    let page = format!("/staff/submissions/{id}");
    for (action, fields) in [
        ("approve", vec![("revision", "1")]),
        ("reject", vec![("revision", "1"), ("reason", "No")]),
        (
            "request-changes",
            vec![("revision", "1"), ("message", "Again")],
        ),
        ("approve", vec![]),
        ("approve", vec![("revision", "two")]),
    ] {
        let response = app
            .staff_post(&page, &format!("{page}/{action}"), &fields)
            .await;
        assert_eq!(response.status(), 409, "{action} {fields:?}");
        let html = Html::parse_document(&response.text().await.unwrap());
        assert_eq!(
            attr(&html, "[data-fresh-view]", "href").as_deref(),
            Some(page.as_str()),
            "{action} {fields:?}"
        );
        let error = &select(&html, "[data-review-error]")[0];
        if fields.iter().any(|(_, v)| *v == "1") {
            assert!(error.contains("revision 2"), "{error}");
        }
    }
    assert_eq!(app.submissions(Some("pending")).await, 1);
    assert_eq!(app.event_count(id).await, events);
    assert_eq!(app.outbox().await.len(), outbox);
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
}

fn urlencode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}
