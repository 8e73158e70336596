//! Keyboard-only use: the skip link comes first, the fields follow in reading order, and the
//! focused element always shows a clear ring.

use fantoccini::key::Key;

use crate::app::*;
use crate::browser::*;

/// The registration form's tab stops after the skip link, in the order the page reads.
const FORM_ORDER: [&str; 25] = [
    "#client_name",
    "#client_uri",
    "#logo",
    "#tos_uri",
    "#policy_uri",
    "#contacts",
    "#initiation_uri",
    "#settings_uri",
    "#client_type",
    "#redirect_uris",
    "#scope-users-read",
    "#scope-users-write",
    "#scope-export-jobs-read",
    "#scope-export-jobs-write",
    "#scope-export-items-read",
    "#scope-accounts-read",
    "#scope-accounts-write",
    "#scope-vendors-read",
    "#scope-vendors-write",
    "#scope-expenses-read",
    "#scope_reason",
    "#pkce",
    "#pkce_exception",
    "#subject_type",
    "button:Submit for review",
];

#[tokio::test]
async fn the_form_works_from_the_keyboard_in_reading_order_with_a_visible_focus() {
    let app = spawn_app().await;
    let b = Browser::start(Js::On).await;
    b.open(&app.url("/register")).await;

    b.press(Key::Tab).await;
    let skip = b.focused().await;
    assert_eq!(skip.name, "a:Skip to content", "the skip link comes first");
    assert!(
        skip.on_screen && skip.outline,
        "the skip link shows when focused: {skip:?}"
    );
    b.screenshot("keyboard-skip-link").await;

    // The skip link jumps over the header to the page's content.
    b.press(Key::Enter).await;
    assert_eq!(b.focused().await.name, "#main");

    let mut order = Vec::new();
    for _ in FORM_ORDER {
        b.press(Key::Tab).await;
        let focused = b.focused().await;
        assert!(
            focused.outline && focused.focus_visible,
            "{} has no visible focus ring",
            focused.name
        );
        if focused.name == "#scope-users-read" {
            b.screenshot("keyboard-focus-checkbox").await;
        }
        order.push(focused.name);
    }
    assert_eq!(order, FORM_ORDER);

    // Keys do what they should: Space ticks a scope, arrows move within a radio group.
    b.find("#scope-users-read").await.click().await.unwrap();
    assert!(b.is_checked("#scope-users-read").await);
    b.press(Key::Space).await;
    assert!(!b.is_checked("#scope-users-read").await, "Space unticks it");
    b.press(Key::Space).await;
    assert!(b.is_checked("#scope-users-read").await, "Space ticks it");
    assert!(b.text("[data-preview-scopes]").await.contains("users:read"));

    b.find("#pkce").await.click().await.unwrap();
    b.press(Key::Down).await;
    assert!(
        b.is_checked("#pkce-not_supported").await,
        "the arrow key picks the next option"
    );
    assert_eq!(b.focused().await.name, "#pkce-not_supported");

    b.close().await;
}
