//! The whole journey, as a partner and a reviewer do it in a browser: register (with a mistake
//! fixed on the way), changes requested, resubmitted, approved, the email, the secret revealed
//! once. It runs with JavaScript and again without it, and checks every page with axe-core.

use std::time::Duration;

use crate::app::*;
use crate::browser::*;
use crate::checks::Findings;

const CONTACTS: &str = "dev@ledgerly.example\nops@ledgerly.example";
const GOOD_REDIRECTS: &str = "https://ledgerly.example/callback\nhttp://localhost:8080/cb";
const BAD_REDIRECTS: &str = "https://ledgerly.example/callback\njavascript:alert(1)";

/// (selector, value) of every text field the partner fills in.
const TEXT_FIELDS: [(&str, &str); 9] = [
    ("#client_name", "Ledgerly"),
    ("#client_uri", "https://ledgerly.example"),
    ("#tos_uri", "https://ledgerly.example/terms"),
    ("#policy_uri", "https://ledgerly.example/privacy"),
    ("#contacts", CONTACTS),
    ("#initiation_uri", "https://ledgerly.example/connect"),
    ("#settings_uri", "https://ledgerly.example/settings"),
    ("#redirect_uris", BAD_REDIRECTS),
    ("#scope_reason", "We sync expenses into the ledger."),
];
const CHOSEN: [&str; 4] = [
    "#client_type",
    "#scope-users-read",
    "#scope-expenses-read",
    "#pkce",
];

#[tokio::test]
async fn a_partner_and_a_reviewer_go_the_whole_way_with_javascript() {
    journey(Js::On).await;
}

#[tokio::test]
async fn the_whole_way_works_without_javascript_too() {
    journey(Js::Off).await;
}

async fn journey(js: Js) {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
        .await;
    let b = Browser::start(js).await;
    let mut findings = Findings::new(js);
    let logo = app.write_file("ledgerly-logo.png", &png(256, 256));

    // 1. The partner comes to the portal and fills in the whole form, logo included, with one
    //    bad redirect URI.
    b.open(&app.url("/")).await;
    findings.look_at(&b, "home").await;
    b.click("main a[href='/register']").await;
    b.wait_for("form.registration").await;
    assert_eq!(b.text("h1").await, "Register an OAuth client");
    findings.look_at(&b, "register-empty").await;
    if js == Js::On {
        b.set_width(320, 800).await;
        b.assert_fits_width().await;
        findings.look_at(&b, "register-empty-320px").await;
        b.set_width(1280, 900).await;
    }
    for (css, value) in TEXT_FIELDS {
        b.fill(css, value).await;
    }
    for css in CHOSEN {
        if !b.is_checked(css).await {
            b.click(css).await;
        }
    }
    b.find("#subject_type")
        .await
        .select_by_value("company")
        .await
        .unwrap();
    b.find("#logo")
        .await
        .send_keys(path_str(&logo))
        .await
        .expect("the logo chosen");
    if js == Js::On {
        // The script measured the file before upload.
        assert!(
            b.text("[data-logo-local]")
                .await
                .contains("256×256 pixels, square")
        );
    } else {
        assert!(
            !b.find("[data-logo-local]")
                .await
                .is_displayed()
                .await
                .unwrap()
        );
    }
    b.click("form.registration button[type=submit]").await;

    // 2. The error is shown beside its field and in the summary; nothing entered is lost.
    b.wait_for("[data-error-summary]").await;
    assert_eq!(b.path().await, "/register");
    assert!(
        b.text("[data-error-summary]")
            .await
            .contains("Redirect URIs")
    );
    assert!(b.text("#redirect_uris-error").await.contains("javascript"));
    assert_eq!(
        b.find("#redirect_uris")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    for (css, value) in TEXT_FIELDS {
        assert_eq!(b.value(css).await, value, "{css} kept");
    }
    for css in CHOSEN {
        assert!(b.is_checked(css).await, "{css} kept");
    }
    assert_eq!(b.value("#subject_type").await, "company");
    assert!(
        b.image_loaded("#logo-kept img").await,
        "the held logo shows"
    );
    assert!(b.exists("input[name=logo_token]").await);
    if js == Js::On {
        let focused = b.focused().await;
        assert!(
            focused.name.starts_with("div:There is a problem"),
            "{focused:?}"
        );
    }
    findings.look_at(&b, "register-errors").await;
    if js == Js::On {
        b.set_width(320, 800).await;
        b.assert_fits_width().await;
        findings.look_at(&b, "register-errors-320px").await;
        b.set_width(1280, 900).await;
    }

    // The partner follows the summary's link to the field and fixes it; the logo is not sent again.
    b.click("[data-error-summary] a[href='#redirect_uris']")
        .await;
    b.fill("#redirect_uris", GOOD_REDIRECTS).await;
    b.click("form.registration button[type=submit]").await;

    // 3. The status page.
    b.wait_for("[data-status]").await;
    assert_eq!(b.text("[data-status]").await, "Pending review");
    let status_path = b.path().await;
    assert!(status_path.starts_with("/submissions/"), "{status_path}");
    assert_eq!(b.text("[data-preview-name]").await, "Ledgerly");
    assert!(b.image_loaded("img.logo").await, "the stored logo shows");
    findings.look_at(&b, "status-pending").await;
    if js == Js::On {
        b.set_width(320, 800).await;
        b.assert_fits_width().await;
        b.screenshot("status-pending-320px").await;
        b.set_width(1280, 900).await;
    }

    // 4. A reviewer signs in and asks for changes.
    b.open(&app.url("/staff/login")).await;
    findings.look_at(&b, "staff-login").await;
    b.fill("#email", STAFF_EMAIL).await;
    b.fill("#password", "not the password").await;
    b.click("form button[type=submit]").await;
    b.wait_for("[data-error-summary]").await;
    assert_eq!(b.value("#email").await, STAFF_EMAIL, "the email is kept");
    if js == Js::On {
        let focused = b.focused().await;
        assert!(
            focused.name.starts_with("div:There is a problem"),
            "{focused:?}"
        );
    }
    findings.look_at(&b, "staff-login-error").await;
    b.fill("#password", STAFF_PASSWORD).await;
    b.click("form button[type=submit]").await;
    b.wait_for("table.queue").await;
    assert_eq!(b.text("h1").await, "Review queue");
    findings.look_at(&b, "staff-queue").await;
    b.click("table.queue a").await;
    b.wait_for("[data-flags]").await;
    let detail_path = b.path().await;
    assert_eq!(b.text("h1").await, "Ledgerly");
    findings.look_at(&b, "staff-detail").await;
    b.fill("#message", "Please explain why you need users:read.")
        .await;
    b.click("form[action$='/request-changes'] button").await;
    b.wait_for_text_eq("[data-status]", "Changes requested")
        .await;

    // 5. The partner edits and resubmits, keeping the stored logo.
    b.open(&app.url(&status_path)).await;
    assert_eq!(b.text("[data-status]").await, "Changes requested");
    assert_eq!(
        b.text("[data-reviewer-message]").await,
        "Please explain why you need users:read."
    );
    findings.look_at(&b, "status-changes-requested").await;
    b.click("a[href$='/edit']").await;
    b.wait_for("form.registration").await;
    assert_eq!(b.value("#client_name").await, "Ledgerly");
    assert_eq!(b.value("#redirect_uris").await, GOOD_REDIRECTS);
    assert!(b.is_checked("#scope-users-read").await);
    assert!(
        b.image_loaded("#logo-kept img").await,
        "the current logo shows"
    );
    findings.look_at(&b, "edit").await;
    b.fill("#client_name", "Ledgerly Books").await;
    b.fill(
        "#scope_reason",
        "We list users to match expense owners to ledger accounts.",
    )
    .await;
    b.click("form.registration button[type=submit]").await;
    b.wait_for("[data-status]").await;
    assert_eq!(b.path().await, status_path);
    assert_eq!(b.text("[data-status]").await, "Pending review");
    assert_eq!(b.text("h1").await, "Ledgerly Books");

    // 6. The reviewer approves.
    b.open(&app.url(&detail_path)).await;
    assert!(
        b.exists("#revision-2").await,
        "the resubmission is revision 2"
    );
    b.click("form[action$='/approve'] button").await;
    b.wait_for("[data-client-id]").await;
    assert_eq!(b.text("[data-status]").await, "Approved");
    let client_id = b.text("[data-client-id]").await;
    findings.look_at(&b, "staff-detail-approved").await;

    // 7. The approval email reaches the contacts through the SMTP server.
    let email = app
        .mail
        .wait_for("Ledgerly Books is approved", Duration::from_secs(30))
        .await;
    assert!(
        email
            .recipients
            .iter()
            .all(|to| to.ends_with("@ledgerly.example")),
        "{:?}",
        email.recipients
    );
    assert!(email.from.contains("no-reply@localhost"), "{}", email.from);
    let text = email.part("text/plain").expect("a plain-text part");
    assert!(text.contains(&client_id), "{text}");
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");

    // 8. The partner opens the link, reveals the secret once, and cannot reveal it again.
    b.open(&link).await;
    assert_eq!(b.text("button[type=submit]").await, "Reveal secret");
    assert!(
        !b.exists("[data-secret]").await,
        "opening the link reveals nothing"
    );
    findings.look_at(&b, "credentials-ready").await;
    b.click("button[type=submit]").await;
    let secret = b.wait_for("[data-secret]").await.text().await.unwrap();
    assert!(secret.len() >= 43, "{secret}");
    assert!(
        secret
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    assert_eq!(b.text("[data-client-id]").await, client_id);
    assert!(!text.contains(&secret), "the email never holds the secret");
    let copy = b.find("[data-copy]").await;
    if js == Js::On {
        assert!(copy.is_displayed().await.unwrap(), "the copy button shows");
        copy.click().await.unwrap();
        let status = b.wait_for_text("[data-copy-status]").await;
        assert_eq!(status, "Copied to the clipboard.");
        let pasted = b
            .client
            .execute_async(
                "const done = arguments[0]; \
                 navigator.clipboard.readText().then(done, e => done('refused: ' + e));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(pasted, secret.as_str(), "the clipboard holds the secret");
    } else {
        assert!(
            !copy.is_displayed().await.unwrap(),
            "no copy button without JavaScript"
        );
    }
    findings.look_at(&b, "credentials-revealed").await;
    if js == Js::On {
        b.set_width(320, 800).await;
        b.assert_fits_width().await;
        b.screenshot("credentials-revealed-320px").await;
        b.set_width(1280, 900).await;
    }

    b.open(&link).await;
    assert!(!b.exists("[data-secret]").await);
    assert!(!b.exists("button[type=submit]").await);
    let state = b.text("[data-link-state]").await;
    assert!(state.contains("retrieved"), "{state}");
    findings.look_at(&b, "credentials-used").await;

    // 9. The reviewer suspends the live client with a reason; the partner sees it; the
    // reviewer reinstates it (SPEC §7).
    b.open(&app.url(&detail_path)).await;
    b.fill("#suspend-reason", "Users report unexpected emails.")
        .await;
    b.click("form[action$='/suspend'] button").await;
    b.wait_for("form[action$='/reinstate']").await;
    assert_eq!(b.text("[data-status]").await, "Suspended");
    findings.look_at(&b, "staff-detail-suspended").await;
    b.open(&app.url(&status_path)).await;
    assert_eq!(b.text("[data-status]").await, "Suspended");
    assert_eq!(
        b.text("[data-reviewer-message]").await,
        "Users report unexpected emails."
    );
    findings.look_at(&b, "status-suspended").await;
    b.open(&app.url(&detail_path)).await;
    b.click("form[action$='/reinstate'] button").await;
    b.wait_for("form[action$='/suspend']").await;
    assert_eq!(b.text("[data-status]").await, "Approved");
    assert_eq!(b.text("[data-client-id]").await, client_id);

    // 10. The partner proposes a change to the live client; the reviewer sees it beside the
    // live values and approves it: the new name is live, with the same Client ID (SPEC §7).
    b.open(&app.url(&status_path)).await;
    b.click("a[data-propose-changes]").await;
    b.wait_for("form.registration").await;
    assert_eq!(b.value("#client_name").await, "Ledgerly Books");
    findings.look_at(&b, "propose").await;
    b.fill("#client_name", "Ledgerly Ledger").await;
    b.click("form.registration button[type=submit]").await;
    b.wait_for("[data-proposal]").await;
    assert_eq!(b.path().await, status_path);
    assert_eq!(b.text("[data-status]").await, "Approved");
    assert_eq!(b.text("h1").await, "Ledgerly Books", "the live name stays");
    findings.look_at(&b, "status-proposal").await;
    b.open(&app.url(&detail_path)).await;
    b.wait_for("[data-side-by-side]").await;
    findings.look_at(&b, "staff-detail-proposal").await;
    b.click("[data-proposal] form[action$='/approve'] button")
        .await;
    b.wait_for_text_eq("h1", "Ledgerly Ledger").await;
    assert!(!b.exists("[data-proposal]").await);
    assert_eq!(b.text("[data-client-id]").await, client_id);

    // 11. A partner who lost the status link asks for it again.
    b.open(&app.url("/links")).await;
    findings.look_at(&b, "links").await;
    b.fill("#email", "dev@ledgerly.example").await;
    b.click("form[action='/links'] button").await;
    b.wait_for("[data-links-sent]").await;
    findings.look_at(&b, "links-sent").await;

    b.close().await;
    findings.assert_clean();
}
