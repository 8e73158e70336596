//! Staff accounts in a browser (SPEC §9): add an authenticator, sign in again with a code,
//! invite a colleague who joins through the emailed link; axe-core on every new page.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::app::*;
use crate::browser::*;
use crate::checks::Findings;

/// RFC 6238 (HMAC-SHA-1, 6 digits, 30 s), written here rather than taken from the server.
fn totp(key: &[u8], t: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
    mac.update(&((t / 30) as u64).to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes(hash[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", binary % 1_000_000)
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut count, mut out) = (0u64, 0, Vec::new());
    for c in text.trim().bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).expect("base32") as u64;
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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_member_adds_an_authenticator_and_signs_in_with_a_code() {
    let app = spawn_app().await;
    app.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
        .await;
    let b = Browser::start(Js::On).await;
    let mut findings = Findings::new(Js::On);

    b.open(&app.url("/staff/login")).await;
    b.fill("#email", STAFF_EMAIL).await;
    b.fill("#password", STAFF_PASSWORD).await;
    b.click("form button[type=submit]").await;
    b.wait_for("table.queue, main p.muted").await;

    // Enrol: the page shows the key as a QR code, as text and as a URI.
    b.click("header a[href='/staff/account']").await;
    b.wait_for("[data-totp-key]").await;
    assert!(b.exists("figure.qr svg").await);
    findings.look_at(&b, "staff-account-enrol").await;
    let key = base32_decode(&b.text("[data-totp-key]").await);
    b.fill("#code", "000000").await;
    b.click("form[action='/staff/account/mfa'] button").await;
    b.wait_for("[data-error-summary]").await;
    findings.look_at(&b, "staff-account-enrol-error").await;
    b.fill("#code", &totp(&key, now())).await;
    b.click("form[action='/staff/account/mfa'] button").await;
    b.wait_for("[data-recovery-codes]").await;
    assert_eq!(b.find_all("[data-recovery-codes] li").await.len(), 10);
    findings.look_at(&b, "staff-account-recovery-codes").await;

    // The admin's pages.
    b.click("header a[href='/staff/accounts']").await;
    b.wait_for("table.accounts").await;
    findings.look_at(&b, "staff-accounts").await;
    b.fill("#invite-name", "Nia New").await;
    b.fill("#invite-email", "nia@platform.example").await;
    b.click("form[action='/staff/accounts/invite'] button")
        .await;
    b.wait_for("main .notice").await;
    findings.look_at(&b, "staff-accounts-invited").await;
    b.click("header a[href='/staff/audit']").await;
    b.wait_for("table.audit").await;
    findings.look_at(&b, "staff-audit").await;

    // Sign out and in again: the password, then the code.
    b.click("header form[action='/staff/logout'] button").await;
    b.wait_for("#email").await;
    b.fill("#email", STAFF_EMAIL).await;
    b.fill("#password", STAFF_PASSWORD).await;
    b.click("form button[type=submit]").await;
    b.wait_for("#code").await;
    assert_eq!(b.path().await, "/staff/login/mfa");
    findings.look_at(&b, "staff-login-mfa").await;
    b.fill("#code", &totp(&key, now() + 30)).await;
    b.click("form button[type=submit]").await;
    b.wait_for("table.queue, main p.muted").await;
    assert_eq!(b.path().await, "/staff/submissions");

    // The colleague's invitation, from the email.
    let mail = app.mail.wait_for("invited", Duration::from_secs(20)).await;
    let text = mail.part("text/plain").expect("a text part");
    let link = link_in(&text, &app.url("/staff/invite/")).expect("an invitation link");
    b.click("header form[action='/staff/logout'] button").await;
    b.wait_for("#email").await;
    b.open(&link).await;
    b.wait_for("#password").await;
    findings.look_at(&b, "staff-invite").await;
    b.fill("#password", "a newcomer's long password").await;
    b.click("form button[type=submit]").await;
    b.wait_for("[data-totp-key]").await;
    assert_eq!(b.path().await, "/staff/account");

    findings.assert_clean();
    b.close().await;
}
