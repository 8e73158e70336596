//! The staff second factor (SPEC §9) through the real server: enrolment, the two-step login,
//! replay, drift, recovery codes, the failure limit, `STAFF_MFA=required`. Codes come from the
//! RFC 6238 implementation below, not from the server's crate.

use hmac::{Hmac, Mac};
use reqwest::Response;
use scraper::Html;
use sha1::Sha1;

use crate::helpers::*;

/// RFC 4648 base32 (upper case, no padding) into bytes.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .expect("a base32 character") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps: the code for Unix time `t`.
pub fn totp(key: &[u8], t: i64) -> String {
    let counter = (t / 30) as u64;
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes(hash[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", binary % 1_000_000)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn the_test_implementation_matches_rfc_6238() {
    // Appendix B, SHA-1: 94287082 and 07081804 (8 digits); the last 6 of each.
    assert_eq!(totp(b"12345678901234567890", 59), "287082");
    assert_eq!(totp(b"12345678901234567890", 1111111109), "081804");
    assert_eq!(
        base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
        b"12345678901234567890"
    );
}

pub struct Enrolled {
    pub key: Vec<u8>,
    pub recovery_codes: Vec<String>,
}

/// Another browser on the same portal: its own cookies.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
}

pub fn browser(app: &TestApp) -> Browser {
    Browser {
        address: app.address.clone(),
        client: new_client(),
    }
}

/// What a staff member does in a browser, for the test app's own client and for others.
#[allow(async_fn_in_trait)]
pub trait StaffBrowser {
    fn base(&self) -> &str;
    fn http(&self) -> &reqwest::Client;

    async fn open(&self, path: &str) -> Response {
        self.http()
            .get(format!("{}{path}", self.base()))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> Html {
        let response = self.open(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        Html::parse_document(&response.text().await.unwrap())
    }

    async fn token(&self, path: &str) -> String {
        attr(&self.page(path).await, "input[name=csrf_token]", "value").expect("a token")
    }

    /// POST `fields` to `path` with the token of the form on `page`.
    async fn post_form(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.token(page).await;
        let mut form = fields.to_vec();
        form.push(("csrf_token", &token));
        self.http()
            .post(format!("{}{path}", self.base()))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form(
            "/staff/login",
            "/staff/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// The second step of a login.
    async fn post_code(&self, code: &str) -> Response {
        self.post_form("/staff/login/mfa", "/staff/login/mfa", &[("code", code)])
            .await
    }

    async fn sign_out(&self) {
        let response = self.post_form("/staff/account", "/staff/logout", &[]).await;
        assert_eq!(response.status(), 303);
    }

    /// Add an authenticator on `/staff/account` as a signed-in member would: read the key the
    /// page shows, answer with its current code, and keep the recovery codes shown once.
    async fn enrol(&self) -> Enrolled {
        let page = self.page("/staff/account").await;
        let base32 = select(&page, "[data-totp-key]").pop().expect("a key");
        let uri = select(&page, "[data-totp-uri]").pop().expect("a URI");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={base32}")), "{uri}");
        assert!(uri.contains("issuer="), "{uri}");
        assert!(exists(&page, "figure.qr svg"), "a QR code drawn as SVG");
        let key = base32_decode(&base32);
        let code = totp(&key, now());
        let response = self
            .post_form("/staff/account", "/staff/account/mfa", &[("code", &code)])
            .await;
        assert_eq!(response.status(), 200, "enrolment confirmed");
        let page = Html::parse_document(&response.text().await.unwrap());
        let recovery_codes = select(&page, "[data-recovery-codes] li");
        assert_eq!(recovery_codes.len(), 10);
        Enrolled {
            key,
            recovery_codes,
        }
    }

    /// The opaque id of an account, as the accounts page names it.
    async fn account_id(&self, email: &str) -> String {
        let page = self.page("/staff/accounts").await;
        attr(
            &page,
            &format!("tr[data-account='{email}']"),
            "data-account-id",
        )
        .expect("the account is listed")
    }

    /// An admin's change to an account (`disable`, `enable`, `role`, `reset-mfa`).
    async fn change_account(&self, email: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let id = self.account_id(email).await;
        self.post_form(
            "/staff/accounts",
            &format!("/staff/accounts/{id}/{action}"),
            fields,
        )
        .await
    }

    /// One cell (`role`, `mfa`, `state`) of an account's row on the accounts page.
    async fn account_cell(&self, email: &str, cell: &str) -> String {
        let page = self.page("/staff/accounts").await;
        select(&page, &format!("tr[data-account='{email}'] [data-{cell}]"))
            .pop()
            .expect("the cell")
    }
}

impl StaffBrowser for TestApp {
    fn base(&self) -> &str {
        &self.address
    }
    fn http(&self) -> &reqwest::Client {
        &self.client
    }
}

impl StaffBrowser for Browser {
    fn base(&self) -> &str {
        &self.address
    }
    fn http(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Signed in, enrolled, signed out again: the next login needs a code.
async fn enrolled_app() -> (TestApp, Enrolled) {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    let enrolled = app.enrol().await;
    app.sign_out().await;
    (app, enrolled)
}

#[tokio::test]
async fn with_a_second_factor_the_password_alone_opens_no_page() {
    let (app, enrolled) = enrolled_app().await;
    let response = app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/login/mfa");
    for page in [
        "/staff/submissions",
        "/staff/account",
        "/staff/clients.json",
    ] {
        let response = app.open(page).await;
        assert_eq!(response.status(), 303, "{page}");
        assert_eq!(location(&response), "/staff/login", "{page}");
    }
    let page = app.page("/staff/login/mfa").await;
    assert!(exists(&page, "input[name=code]"));
    // The next step's code (one step of drift) signs in.
    let response = app.post_code(&totp(&enrolled.key, now() + 30)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/submissions");
    assert_eq!(app.open("/staff/submissions").await.status(), 200);
}

#[tokio::test]
async fn a_code_is_accepted_once() {
    let (app, enrolled) = enrolled_app().await;
    // The enrolment's own code was used: it does not open a login.
    let code = totp(&enrolled.key, now());
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    let response = app.post_code(&code).await;
    assert_eq!(response.status(), 401);
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(exists(&page, "[data-error-summary]"));
    // A fresh code works once; the same code a second time, in another login, does not.
    let next = totp(&enrolled.key, now() + 30);
    assert_eq!(app.post_code(&next).await.status(), 303);
    app.sign_out().await;
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(app.post_code(&next).await.status(), 401);
}

#[tokio::test]
async fn more_than_one_step_of_drift_is_refused() {
    let (app, enrolled) = enrolled_app().await;
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(
        app.post_code(&totp(&enrolled.key, now() + 90))
            .await
            .status(),
        401
    );
    assert_eq!(
        app.post_code(&totp(&enrolled.key, now() - 90))
            .await
            .status(),
        401
    );
    assert_eq!(app.open("/staff/submissions").await.status(), 303);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let (app, enrolled) = enrolled_app().await;
    let code = &enrolled.recovery_codes[3];
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    let response = app.post_code(code).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/submissions");
    let page = app.page("/staff/account").await;
    assert!(select(&page, "[data-mfa=on]")[0].contains("9 unused recovery codes"));
    app.sign_out().await;
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(app.post_code(code).await.status(), 401);
    // Another one still works, typed in capitals without dashes.
    let other = enrolled.recovery_codes[4].replace('-', "").to_uppercase();
    assert_eq!(app.post_code(&other).await.status(), 303);
}

#[tokio::test]
async fn failed_codes_count_toward_the_login_limit() {
    let (app, enrolled) = enrolled_app().await;
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(app.post_code("000000").await.status(), 401);
    }
    // The right code is refused now, and so is the password step.
    let response = app.post_code(&totp(&enrolled.key, now() + 30)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(app.login(STAFF_EMAIL, STAFF_PASSWORD).await.status(), 429);
}

#[tokio::test]
async fn the_waiting_login_expires_after_five_minutes() {
    let (app, enrolled) = enrolled_app().await;
    app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    // Five minutes and a second pass.
    sqlx::query("UPDATE staff_sessions SET created_at = created_at - 301, last_seen_at = last_seen_at - 301 WHERE stage = 'password'")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app.open("/staff/login/mfa").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/login");
    // The right code, sent with the visitor's token, opens nothing either.
    let code = totp(&enrolled.key, now() + 30);
    let response = app
        .post_form("/staff/login", "/staff/login/mfa", &[("code", &code)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/login");
    assert_eq!(app.open("/staff/submissions").await.status(), 303);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM staff_sessions").await,
        0,
        "the expired waiting login is gone"
    );
}

#[tokio::test]
async fn the_key_is_sealed_and_the_recovery_codes_hashed_at_rest() {
    let (app, enrolled) = enrolled_app().await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_key FROM staff")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(
        !stored
            .windows(enrolled.key.len())
            .any(|w| w == enrolled.key),
        "the raw key is not stored"
    );
    let hashes: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM staff_recovery_codes")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 10);
    for code in &enrolled.recovery_codes {
        assert!(!hashes.iter().any(|h| h.contains(code.as_str())));
        let plain = code.replace('-', "");
        assert!(hashes.contains(&partner_registry::auth::sha256_hex(&plain)));
    }
}

#[tokio::test]
async fn a_wrong_enrolment_code_leaves_the_second_factor_off() {
    let app = spawn_app().await;
    app.sign_in_staff().await;
    let response = app
        .post_form(
            "/staff/account",
            "/staff/account/mfa",
            &[("code", "123456")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = app.page("/staff/account").await;
    assert!(exists(&page, "[data-mfa=off]"));
    app.sign_out().await;
    let response = app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(location(&response), "/staff/submissions");
}

#[tokio::test]
async fn required_mode_sends_an_account_without_a_second_factor_to_enrolment() {
    let app = TestApp::builder()
        .var("STAFF_MFA", "required")
        .start()
        .await;
    app.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
        .await;
    let response = app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/account");
    for page in [
        "/staff/submissions",
        "/staff/clients.json",
        "/staff/accounts",
        "/staff/audit",
    ] {
        let response = app.open(page).await;
        assert_eq!(response.status(), 303, "{page}");
        assert_eq!(location(&response), "/staff/account", "{page}");
    }
    let page = app.page("/staff/account").await;
    assert!(exists(&page, "[data-mfa=off]"));
    app.enrol().await;
    assert_eq!(app.open("/staff/submissions").await.status(), 200);
}

#[tokio::test]
async fn production_requires_a_second_factor_by_default() {
    let app = TestApp::builder()
        .var("APP_ENV", "production")
        .start()
        .await;
    app.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
        .await;
    let response = app.login(STAFF_EMAIL, STAFF_PASSWORD).await;
    assert_eq!(location(&response), "/staff/account");
    assert_eq!(app.open("/staff/submissions").await.status(), 303);
}
