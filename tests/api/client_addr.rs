//! The client address behind a reverse proxy (`TRUSTED_PROXIES`), as the rate limits see it.

use reqwest::Response;

use crate::helpers::{FormFields, TestApp};

async fn register_from(app: &TestApp, forwarded_for: &str) -> Response {
    let token = app.csrf_token("/register").await;
    app.client
        .post(app.url("/register"))
        .header("X-Forwarded-For", forwarded_for)
        .multipart(FormFields::valid(&token).to_multipart())
        .send()
        .await
        .expect("request sent")
}

async fn app_with(trusted_proxies: Option<&str>) -> TestApp {
    TestApp::builder()
        .vars(|vars| {
            vars.insert("REGISTER_RATE_LIMIT".into(), "1".into());
            if let Some(proxies) = trusted_proxies {
                vars.insert("TRUSTED_PROXIES".into(), proxies.into());
            }
        })
        .start()
        .await
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_registration_limit() {
    let app = app_with(Some("127.0.0.1")).await;
    assert_eq!(register_from(&app, "203.0.113.1").await.status(), 303);
    assert_eq!(register_from(&app, "203.0.113.2").await.status(), 303);
    assert_eq!(register_from(&app, "203.0.113.2").await.status(), 429);
}

#[tokio::test]
async fn a_prepended_fake_hop_changes_nothing() {
    let app = app_with(Some("127.0.0.0/8")).await;
    assert_eq!(register_from(&app, "203.0.113.8").await.status(), 303);
    assert_eq!(register_from(&app, "203.0.113.9").await.status(), 303);
    assert_eq!(
        register_from(&app, "6.6.6.6, 203.0.113.9").await.status(),
        429
    );
}

#[tokio::test]
async fn ipv6_clients_behind_a_proxy_share_the_limit_of_their_64() {
    let app = app_with(Some("127.0.0.1")).await;
    assert_eq!(register_from(&app, "2001:db8:5:6::1").await.status(), 303);
    assert_eq!(
        register_from(&app, "2001:db8:5:6:ffff::2").await.status(),
        429
    );
    assert_eq!(register_from(&app, "2001:db8:5:7::1").await.status(), 303);
}

#[tokio::test]
async fn without_trusted_proxies_the_forwarded_header_is_ignored() {
    let app = app_with(None).await;
    assert_eq!(register_from(&app, "203.0.113.1").await.status(), 303);
    assert_eq!(register_from(&app, "203.0.113.2").await.status(), 429);
}

#[tokio::test]
async fn a_peer_that_is_not_a_trusted_proxy_is_the_client() {
    let app = app_with(Some("10.0.0.0/8")).await;
    assert_eq!(register_from(&app, "203.0.113.1").await.status(), 303);
    assert_eq!(register_from(&app, "203.0.113.2").await.status(), 429);
}
