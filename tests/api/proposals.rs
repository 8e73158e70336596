//! Proposed changes to a live client (SPEC §7): the partner proposes, the live revision stays
//! live, staff approve, reject or send back, and each step is emailed and in the history.

use scraper::Html;

use crate::client_steps::{active_client, export_of, reveal_secret};
use crate::helpers::*;

/// A confidential client, approved, its secret revealed: (submission id, status path, Client
/// ID, secret). The reviewer stays signed in.
async fn live_client(app: &TestApp) -> (i64, String, String, String) {
    let (id, status_path, credentials, client_id) = active_client(app).await;
    let secret = reveal_secret(app, &credentials).await;
    (id, status_path, client_id, secret)
}

/// The partner's proposal: the edit form as served, with `change` applied, posted back.
async fn propose(
    app: &TestApp,
    status_path: &str,
    change: impl FnOnce(FormFields) -> FormFields,
) -> reqwest::Response {
    let edit = format!("{status_path}/edit");
    let token = app.csrf_token(&edit).await;
    let form = change(FormFields::valid(&token).without("logo"));
    app.post_multipart(&edit, &form).await
}

/// A decision on the proposal, with the revision its forms carry (the proposal's own).
async fn decide_proposal(
    app: &TestApp,
    id: i64,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = format!("/staff/submissions/{id}");
    let detail = app.get_html(&page).await;
    let shown = attr(
        &detail,
        &format!("[data-proposal] form[action$='/{action}'] input[name=revision]"),
        "value",
    )
    .unwrap_or_else(|| panic!("a {action} form for the proposal"));
    let mut form = fields.to_vec();
    form.push(("revision", &shown));
    app.staff_post(&page, &format!("{page}/{action}"), &form)
        .await
}

fn client_name(entry: &serde_json::Value) -> &str {
    entry["client_name"].as_str().unwrap()
}

async fn feed_types(app: &TestApp) -> Vec<String> {
    let events: serde_json::Value = app.get("/staff/events.json").await.json().await.unwrap();
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn pending_queue(app: &TestApp) -> Html {
    app.get_html("/staff/submissions?status=pending").await
}

#[tokio::test]
async fn a_proposal_waits_beside_the_live_revision_until_staff_approve_it() {
    let app = spawn_app().await;
    let (id, status_path, client_id, secret) = live_client(&app).await;
    let status = app.get_html(&status_path).await;
    assert!(exists(&status, "a[data-propose-changes][href$='/edit']"));

    // The form opens with the live values; the client type is shown but fixed.
    let form = app.get_html(&format!("{status_path}/edit")).await;
    assert_eq!(
        attr(&form, "input[name=client_name]", "value").as_deref(),
        Some("Ledgerly")
    );
    assert!(exists(
        &form,
        "input[name=client_type][value=confidential][checked][disabled]"
    ));

    let response = propose(&app, &status_path, |f| {
        f.set("client_name", "Ledgerly Books")
            .set(
                "redirect_uris",
                "https://ledgerly.example/callback\nhttps://ledgerly.example/cb2?next=x",
            )
            .set("scopes", "users:write")
    })
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), status_path);

    // The live revision stays live everywhere.
    let status = app.get_html(&status_path).await;
    assert_eq!(select(&status, "[data-status]"), ["Approved"]);
    assert!(exists(&status, "[data-proposal=pending]"));
    assert_eq!(select(&status, "h1"), ["Ledgerly"]);
    let changed = select(&status, "[data-side-by-side] tr[data-changed] th");
    assert!(
        changed.iter().any(|f| f.starts_with("Client name")),
        "{changed:?}"
    );
    assert!(
        changed.iter().any(|f| f.starts_with("Redirect URIs")),
        "{changed:?}"
    );
    assert_eq!(client_name(&export_of(&app, &client_id).await), "Ledgerly");
    assert_eq!(
        feed_types(&app).await,
        ["client.approved", "client.secret_issued"]
    );
    // Its contacts are told, with a status link.
    let receipts = app.delivered("change_received").await;
    assert_eq!(receipts.len(), 2);
    assert!(
        receipts
            .iter()
            .all(|(_, text)| text.contains("keeps working"))
    );

    // Staff find it under Pending review, marked as a change to a live client.
    let queue = pending_queue(&app).await;
    assert_eq!(select(&queue, "table.queue td code"), [client_id.as_str()]);
    assert!(exists(&queue, "[data-pending-change]"));
    let detail = app.get_html(&format!("/staff/submissions/{id}")).await;
    let added = select(&detail, "[data-added-flags] li");
    assert!(
        added.iter().any(|f| f == "New write scopes: users:write"),
        "{added:?}"
    );
    assert!(
        added
            .iter()
            .any(|f| f.contains("open redirector") && f.contains("cb2?next=x")),
        "{added:?}"
    );
    // What the live client could already do is not flagged as new.
    assert!(
        !added.iter().any(|f| f.contains("http://localhost")),
        "{added:?}"
    );

    // A second proposal replaces the first; a decision on the first is stale.
    let stale = attr(&detail, "[data-proposal] input[name=revision]", "value").unwrap();
    assert_eq!(
        propose(&app, &status_path, |f| f
            .set("client_name", "Ledgerly Ledger"))
        .await
        .status(),
        303
    );
    let page = format!("/staff/submissions/{id}");
    let refused = app
        .staff_post(&page, &format!("{page}/approve"), &[("revision", &stale)])
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(client_name(&export_of(&app, &client_id).await), "Ledgerly");

    assert_eq!(
        decide_proposal(&app, id, "approve", &[]).await.status(),
        303
    );
    let entry = export_of(&app, &client_id).await;
    assert_eq!(client_name(&entry), "Ledgerly Ledger");
    assert_eq!(entry["client_id"], client_id.as_str());
    assert!(
        app.verify_secret(&client_id, &secret).await,
        "the same secret"
    );
    assert_eq!(
        feed_types(&app).await,
        ["client.approved", "client.secret_issued", "client.updated"]
    );
    let status = app.get_html(&status_path).await;
    assert_eq!(select(&status, "h1"), ["Ledgerly Ledger"]);
    assert!(!exists(&status, "[data-proposal]"));
    let history = select(&status, ".history li");
    assert!(
        history
            .iter()
            .any(|e| e.contains("Proposed change approved")),
        "{history:?}"
    );
    assert_eq!(app.delivered("change_approved").await.len(), 2);
    assert!(!exists(&pending_queue(&app).await, "[data-pending-change]"));
    let audit = app.get_html("/staff/audit?kind=change_approved").await;
    assert_eq!(select(&audit, "tr[data-kind=change_approved]").len(), 1);
}

#[tokio::test]
async fn a_proposal_sent_back_can_be_changed_and_a_rejected_one_leaves_the_client_as_it_was() {
    let app = spawn_app().await;
    let (id, status_path, client_id, _) = live_client(&app).await;
    let proposed = |f: FormFields| f.set("client_name", "Ledgerly Two");
    assert_eq!(propose(&app, &status_path, proposed).await.status(), 303);

    let message = "Tell us why you need another name.";
    let response = decide_proposal(&app, id, "request-changes", &[("message", message)]).await;
    assert_eq!(response.status(), 303);
    let (_, text) = app.delivered("change_sent_back").await.remove(0);
    assert!(text.contains(message), "{text}");
    let edit = link_in(&text, &app.url("/submissions/")).expect("an edit link");
    assert!(edit.ends_with("/edit"), "{edit}");
    let status = app.get_html(&status_path).await;
    assert!(exists(&status, "[data-proposal=changes_requested]"));
    assert_eq!(select(&status, "[data-reviewer-message]"), [message]);
    assert!(!exists(&pending_queue(&app).await, "[data-pending-change]"));
    // The form opens with the proposal, not the live values.
    let form = app.get_html(edit.trim_start_matches(&app.address)).await;
    assert_eq!(
        attr(&form, "input[name=client_name]", "value").as_deref(),
        Some("Ledgerly Two")
    );

    assert_eq!(
        propose(&app, &status_path, |f| f.set("client_name", "Ledgerly 2"))
            .await
            .status(),
        303
    );
    assert!(exists(&pending_queue(&app).await, "[data-pending-change]"));
    let reason = "We keep one name per company.";
    let response = decide_proposal(&app, id, "reject", &[("reason", reason)]).await;
    assert_eq!(response.status(), 303);
    let (_, text) = app.delivered("change_rejected").await.remove(0);
    assert!(text.contains(reason), "{text}");

    let status = app.get_html(&status_path).await;
    assert!(!exists(&status, "[data-proposal]"));
    assert_eq!(select(&status, "h1"), ["Ledgerly"]);
    assert_eq!(client_name(&export_of(&app, &client_id).await), "Ledgerly");
    assert!(
        !feed_types(&app)
            .await
            .contains(&"client.updated".to_owned())
    );
    // Every revision is kept; the rejected one in the history, the live one live.
    assert_eq!(app.revisions(id).await.len(), 3);
    let audit = app.get_html("/staff/audit").await;
    for kind in ["change_sent_back", "change_rejected"] {
        let rows = select(&audit, &format!("tr[data-kind={kind}]"));
        assert_eq!(rows.len(), 1, "{kind}");
    }
    let history = select(&status, ".history li");
    for step in [
        "Change proposed",
        "Changes requested on the proposed change",
        "Proposed change rejected",
    ] {
        assert!(
            history.iter().any(|e| e.contains(step)),
            "{step}: {history:?}"
        );
    }
}

#[tokio::test]
async fn a_proposal_keeps_the_client_type_and_waits_while_the_client_is_suspended() {
    let app = spawn_app().await;
    let (id, status_path, client_id, _) = live_client(&app).await;

    // Another type is another client: refused beside the field, nothing stored.
    let response = propose(&app, &status_path, |f| {
        f.set("client_type", "public")
            .set("client_name", "Ledgerly App")
    })
    .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    let error = select(&page, "#client_type-error");
    assert!(error[0].contains("cannot change"), "{error:?}");
    assert_eq!(
        attr(&page, "input[name=client_name]", "value").as_deref(),
        Some("Ledgerly App"),
        "what was entered is kept"
    );
    assert_eq!(app.revisions(id).await.len(), 1);

    // A pending proposal cannot be approved while the client is suspended, and the partner
    // cannot propose until it is reinstated.
    assert_eq!(
        propose(&app, &status_path, |f| f.set("client_name", "L2"))
            .await
            .status(),
        303
    );
    let detail = app.get_html(&format!("/staff/submissions/{id}")).await;
    let live = attr(
        &detail,
        "form[action$='/suspend'] input[name=revision]",
        "value",
    )
    .unwrap();
    let page = format!("/staff/submissions/{id}");
    let suspend = &[("revision", live.as_str()), ("reason", "Unpaid invoices")];
    let response = app
        .staff_post(&page, &format!("{page}/suspend"), suspend)
        .await;
    assert_eq!(response.status(), 303);
    let detail = app.get_html(&page).await;
    assert!(!exists(&detail, "[data-proposal] form[action$='/approve']"));
    let shown = attr(&detail, "[data-proposal] input[name=revision]", "value").unwrap();
    let refused = app
        .staff_post(&page, &format!("{page}/approve"), &[("revision", &shown)])
        .await;
    assert_eq!(refused.status(), 409);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("reinstate the client first")
    );
    let edit = app.get(&format!("{status_path}/edit")).await;
    assert_eq!(edit.status(), 409);
    assert!(
        edit.text()
            .await
            .unwrap()
            .contains("until it is reinstated")
    );

    assert_eq!(app.decide(id, "reinstate", &[]).await.status(), 303);
    assert_eq!(app.get(&format!("{status_path}/edit")).await.status(), 200);
    assert_eq!(
        decide_proposal(&app, id, "approve", &[]).await.status(),
        303
    );
    assert_eq!(client_name(&export_of(&app, &client_id).await), "L2");

    // Revoking ends any waiting proposal with the client.
    assert_eq!(
        propose(&app, &status_path, |f| f.set("client_name", "L3"))
            .await
            .status(),
        303
    );
    let response = app.decide(id, "revoke", &[("reason", "Closed")]).await;
    assert_eq!(response.status(), 303);
    assert!(!exists(&pending_queue(&app).await, "[data-pending-change]"));
    assert!(!exists(&app.get_html(&page).await, "[data-proposal]"));
    assert_eq!(app.get(&format!("{status_path}/edit")).await.status(), 410);
}

/// Approving a proposal and suspending the client at the same moment: the transactions queue,
/// the second sees what the first did (a newer live revision, or a suspended client), and
/// exactly one of them happens.
#[tokio::test]
async fn approving_a_proposal_and_suspending_the_client_at_once_yield_one_outcome() {
    let app = spawn_app().await;
    let (id, status_path, client_id, _) = live_client(&app).await;
    assert_eq!(
        propose(&app, &status_path, |f| f.set("client_name", "Ledgerly New"))
            .await
            .status(),
        303
    );
    let page = format!("/staff/submissions/{id}");
    let detail = app.get_html(&page).await;
    let proposal = attr(&detail, "[data-proposal] input[name=revision]", "value").unwrap();
    let live = attr(
        &detail,
        "form[action$='/suspend'] input[name=revision]",
        "value",
    )
    .unwrap();
    let approve_path = format!("{page}/approve");
    let suspend_path = format!("{page}/suspend");
    let approve = [("revision", proposal.as_str())];
    let suspend = [("revision", live.as_str()), ("reason", "Abuse")];
    let (approved, suspended) = tokio::join!(
        app.staff_post(&page, &approve_path, &approve),
        app.staff_post(&page, &suspend_path, &suspend),
    );
    let outcomes = [approved.status().as_u16(), suspended.status().as_u16()];
    assert!(
        outcomes == [303, 409] || outcomes == [409, 303],
        "{outcomes:?}"
    );
    let status = app.get_html(&status_path).await;
    let entry = export_of(&app, &client_id).await;
    let types = feed_types(&app).await;
    if outcomes[0] == 303 {
        assert_eq!(client_name(&entry), "Ledgerly New");
        assert_eq!(select(&status, "[data-status]"), ["Approved"]);
        assert!(types.contains(&"client.updated".to_owned()));
        assert!(!types.contains(&"client.suspended".to_owned()));
    } else {
        assert_eq!(client_name(&entry), "Ledgerly");
        assert_eq!(select(&status, "[data-status]"), ["Suspended"]);
        assert!(!types.contains(&"client.updated".to_owned()));
        assert!(types.contains(&"client.suspended".to_owned()));
    }
}
