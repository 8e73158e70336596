//! The consent-screen preview on the form follows what the partner types and picks, and the
//! chosen logo file is measured and shown before it is uploaded.

use crate::app::*;
use crate::browser::*;

#[tokio::test]
async fn the_consent_preview_follows_the_form_and_shows_the_chosen_logo_before_upload() {
    let app = spawn_app().await;
    let b = Browser::start(Js::On).await;
    b.open(&app.url("/register")).await;
    assert_eq!(b.text("[data-preview-name]").await, "Your application");
    assert_eq!(
        b.text("[data-preview-scopes]").await,
        "No scopes chosen yet."
    );
    assert!(b.exists("[data-preview-logo-empty]").await);

    b.fill("#client_name", "Ledgerly").await;
    assert_eq!(b.text("[data-preview-name]").await, "Ledgerly");
    b.fill("#client_name", "  ").await;
    assert_eq!(b.text("[data-preview-name]").await, "Your application");
    b.fill("#client_name", "Ledgerly <b>Books</b>").await;
    assert_eq!(
        b.text("[data-preview-name]").await,
        "Ledgerly <b>Books</b>",
        "text, never markup"
    );

    // Links become links only when they are web addresses.
    b.fill("#tos_uri", "https://ledgerly.example/terms").await;
    let tos = b.find("a[data-preview-tos]").await;
    assert_eq!(
        tos.attr("href").await.unwrap().as_deref(),
        Some("https://ledgerly.example/terms")
    );
    b.fill("#policy_uri", "javascript:alert(1)").await;
    assert!(
        !b.exists("a[data-preview-policy]").await,
        "no javascript: link"
    );
    assert_eq!(b.text("[data-preview-policy]").await, "Privacy policy");
    b.fill("#policy_uri", "https://ledgerly.example/privacy")
        .await;
    assert!(b.exists("a[data-preview-policy]").await);

    // Scopes appear with their plain-language description as they are ticked.
    b.click("#scope-expenses-read").await;
    b.click("#scope-users-read").await;
    let items: Vec<String> = {
        let mut texts = Vec::new();
        for li in b.find_all("[data-preview-scopes] li").await {
            texts.push(
                li.text()
                    .await
                    .unwrap()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        texts
    };
    assert_eq!(
        items,
        [
            "See the people in your company and their roles. users:read",
            "See your expenses, receipts and their status. expenses:read",
        ]
    );
    b.click("#scope-users-read").await;
    assert_eq!(b.find_all("[data-preview-scopes] li").await.len(), 1);

    // A non-square file is measured and called out before upload.
    let wide = app.write_file("wide.png", &png(300, 200));
    b.find("#logo")
        .await
        .send_keys(path_str(&wide))
        .await
        .unwrap();
    let report = b.wait_for_text("[data-logo-local]").await;
    assert!(
        report.contains("300×200 pixels") && report.contains("not square"),
        "{report}"
    );
    let class = b
        .find("[data-logo-local]")
        .await
        .attr("class")
        .await
        .unwrap()
        .unwrap();
    assert!(class.contains("logo-local--bad"), "{class}");

    // A good one shows in the preview from a local blob: URL, with its size.
    let square = app.write_file("square.png", &png(256, 256));
    b.find("#logo")
        .await
        .send_keys(path_str(&square))
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(fantoccini::Locator::XPath(
            "//*[@data-logo-local][contains(., '256×256 pixels, square')]",
        ))
        .await
        .expect("the square logo measured");
    let src = b
        .find("img[data-preview-logo]")
        .await
        .attr("src")
        .await
        .unwrap()
        .unwrap();
    assert!(src.starts_with("blob:"), "{src}");
    assert!(b.image_loaded("img[data-preview-logo]").await);
    let described = b
        .find("#logo")
        .await
        .attr("aria-describedby")
        .await
        .unwrap()
        .unwrap();
    assert!(
        described.contains("logo-local"),
        "the measurement is tied to the field: {described}"
    );
    b.screenshot("register-live-preview").await;

    // Not an image at all.
    let text = app.write_file("notes.png", b"just some text");
    b.find("#logo")
        .await
        .send_keys(path_str(&text))
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(fantoccini::Locator::XPath(
            "//*[@data-logo-local][contains(., 'does not look like')]",
        ))
        .await
        .expect("a file that is no image is called out");

    // Every one of these changes came from the script: no inline script or style was needed.
    assert!(b.find_all("script:not([src])").await.is_empty());
    assert!(b.find_all("[style]").await.is_empty());
    b.close().await;
}

#[tokio::test]
async fn the_accessibility_check_does_report_problems() {
    // Guards the other tests against a silently passing axe-core.
    let app = spawn_app().await;
    let b = Browser::start(Js::On).await;
    b.open(&app.url("/register")).await;
    b.script(
        "document.querySelector('#client_name').removeAttribute('id'); return true;",
        vec![],
    )
    .await;
    let violations = b.axe_violations().await;
    assert!(
        violations.iter().any(|v| v.contains("(label)")),
        "axe-core missed an unlabelled field: {violations:?}"
    );
    b.close().await;
}

/// Beside the long form on a wide screen the preview stays in view while the partner scrolls
/// to the bottom of the form (`position: sticky`); on a narrow one it comes after the form.
#[tokio::test]
async fn the_preview_stays_in_view_beside_the_form_on_wide_screens_and_below_it_on_narrow() {
    let app = spawn_app().await;
    let b = Browser::start(Js::On).await;
    let geometry = r#"
        window.scrollTo(0, document.body.scrollHeight);
        const form = document.querySelector("form.registration").getBoundingClientRect();
        const preview = document.querySelector("[data-consent-preview]").getBoundingClientRect();
        return [preview.top, preview.bottom, preview.left, form.right, form.bottom,
                window.innerHeight, window.scrollY];
    "#;
    let numbers = |v: serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_f64().unwrap())
            .collect()
    };

    b.set_width(1280, 800).await;
    b.open(&app.url("/register")).await;
    let wide = numbers(b.script(geometry, vec![]).await);
    let [top, bottom, left, form_right, _, viewport, scrolled] = wide[..] else {
        unreachable!()
    };
    assert!(
        scrolled > 500.0,
        "the form is long enough to scroll: {wide:?}"
    );
    assert!(left >= form_right, "beside the form: {wide:?}");
    assert!(
        top >= 0.0 && bottom <= viewport,
        "still in view at the bottom of the form: {wide:?}"
    );

    b.set_width(400, 800).await;
    b.open(&app.url("/register")).await;
    let narrow = numbers(b.script(geometry, vec![]).await);
    let [top, _, _, _, form_bottom, _, _] = narrow[..] else {
        unreachable!()
    };
    assert!(top >= form_bottom, "below the form: {narrow:?}");
    b.close().await;
}
