//! The provisioning feed (SPEC §8) through the real server: events.json, and signed webhook
//! deliveries to a real HTTP receiver on 127.0.0.1 started here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::client_steps::*;
use crate::helpers::*;

/// 24 random-looking bytes, as an operator would generate them.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

/// A receiver that answers 500 to its first `fail_first` requests, then 204.
#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let fail = Arc::new(Mutex::new(fail_first));
        let (s, f) = (seen.clone(), fail.clone());
        let server = HttpServer::new(move || {
            let (s, f) = (s.clone(), f.clone());
            App::new().route(
                "/hook",
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    let (s, f) = (s.clone(), f.clone());
                    async move {
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .map(|v| v.to_str().unwrap().to_owned())
                                .unwrap_or_default()
                        };
                        let failing = {
                            let mut left = f.lock().unwrap();
                            let failing = *left > 0;
                            *left = left.saturating_sub(1);
                            failing
                        };
                        let answered = if failing { 500 } else { 204 };
                        s.lock().unwrap().push(Received {
                            id: header("webhook-id"),
                            timestamp: header("webhook-timestamp"),
                            signature: header("webhook-signature"),
                            body: String::from_utf8(body.to_vec()).unwrap(),
                            answered,
                        });
                        HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(answered).unwrap(),
                        )
                        .finish()
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            seen,
            fail_first: fail,
        }
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// Wait (bounded) until `n` requests have arrived.
    async fn until(&self, n: usize) -> Vec<Received> {
        for _ in 0..250 {
            if self.seen().len() >= n {
                return self.seen();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "only {} of {n} requests arrived: {:#?}",
            self.seen().len(),
            self.seen()
        );
    }
}

/// Standard Webhooks verification, written here from the specification (not the portal's
/// code): base64 HMAC-SHA256 with the decoded secret over "{id}.{timestamp}.{body}".
fn verifies(r: &Received) -> bool {
    let key = STANDARD
        .decode(SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    r.signature
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

fn kind(r: &Received) -> String {
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["type"].as_str().unwrap().to_owned()
}

fn provision(receiver: &Receiver) -> impl FnOnce(&mut std::collections::HashMap<String, String>) {
    let url = receiver.url.clone();
    move |vars| {
        vars.insert("PROVISION_URL".into(), url);
        vars.insert("PROVISION_SECRET".into(), SECRET.into());
    }
}

#[tokio::test]
async fn events_json_lists_every_change_with_the_export_entry_oldest_first() {
    let (app, _clock) = spawn_with_clock(|_| {}).await;
    let (id, client_id) = approve(&app, |f| f).await;
    let secret = reveal_secret(&app, &newest_link(&app, "approved").await).await;
    assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);

    let events: serde_json::Value = app.get("/staff/events.json").await.json().await.unwrap();
    let events = events.as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "client.approved",
            "client.secret_issued",
            "client.secret_rotated"
        ]
    );
    assert!(
        events
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    assert_eq!(events[0]["data"]["client_id"], client_id.as_str());
    assert_eq!(events[0]["data"]["client_secrets"], serde_json::json!([]));
    assert_eq!(listed_hashes(&events[1]["data"]), [hash_of(&secret)]);
    assert_eq!(events[2]["data"], export_of(&app, &client_id).await);

    let first = events[0]["id"].as_i64().unwrap();
    let after: serde_json::Value = app
        .get(&format!("/staff/events.json?after={first}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after.as_array().unwrap().len(), 2);
    assert_eq!(app.get("/staff/events.json?after=x").await.status(), 400);
}

#[tokio::test]
async fn events_json_pages_at_100() {
    let (app, _clock) = spawn_with_clock(|_| {}).await;
    let (id, _) = approve(&app, |f| f).await;
    reveal_secret(&app, &newest_link(&app, "approved").await).await;
    for _ in 0..100 {
        assert_eq!(app.decide(id, "rotate-secret", &[]).await.status(), 303);
    }
    let page: serde_json::Value = app.get("/staff/events.json").await.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 100);
    let last = page[99]["id"].as_i64().unwrap();
    let rest: serde_json::Value = app
        .get(&format!("/staff/events.json?after={last}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn deliveries_are_signed_retried_under_the_same_id_and_in_order() {
    let receiver = Receiver::start(1).await;
    let (app, clock) = spawn_with_clock(provision(&receiver)).await;
    let (id, _) = approve(&app, |f| f).await;
    let seen = receiver.until(1).await;
    assert_eq!(seen[0].answered, 500);
    // A later event of the same client waits while the first one is failing.
    reveal_secret(&app, &newest_link(&app, "approved").await).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.seen().len(),
        1,
        "the second event waits for the first"
    );

    // Staff see it failing.
    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    let states = select(&page, "[data-feed-state]");
    assert!(states[0].contains("Failed 1 time"), "{states:?}");
    assert!(exists(&page, "form[action$='/retry-feed']"));

    clock.advance(31); // past the first backoff
    let seen = receiver.until(3).await;
    assert_eq!(seen[1].id, seen[0].id, "a retry keeps its webhook-id");
    assert_eq!(
        seen.iter().map(kind).collect::<Vec<_>>(),
        ["client.approved", "client.approved", "client.secret_issued"]
    );
    assert!(seen.iter().all(verifies), "{seen:#?}");
    assert_ne!(seen[1].id, seen[2].id);
    let ts: i64 = seen[2].timestamp.parse().unwrap();
    assert!((ts - clock.now()).abs() < 5);
    // A wrong key would not verify: the check above can fail.
    let mut forged = seen[2].clone();
    forged.body.push(' ');
    assert!(!verifies(&forged));

    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    assert!(
        select(&page, "[data-feed-state]")
            .iter()
            .all(|s| s.contains("Delivered"))
    );
}

#[tokio::test]
async fn staff_can_retry_a_failing_delivery_now() {
    let receiver = Receiver::start(1).await;
    let (app, _clock) = spawn_with_clock(provision(&receiver)).await;
    let (id, _) = approve(&app, |f| f).await;
    receiver.until(1).await;
    let page = format!("/staff/submissions/{id}");
    let response = app
        .staff_post(&page, &format!("{page}/retry-feed"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let seen = receiver.until(2).await;
    assert_eq!(seen[1].answered, 204);
    assert_eq!(
        crate::audit::audit_kinds(&app).await[0],
        ("feed_retried".to_owned(), format!("submission {id}"))
    );
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_backlog_loses_nothing_and_keeps_the_order() {
    let receiver = Receiver::start(usize::MAX).await;
    let (app, _clock) = spawn_with_clock(provision(&receiver)).await;
    let (first, _) = approve(&app, |f| f).await;
    reveal_secret(&app, &newest_link(&app, "approved").await).await;
    let (second, _) = approve(&app, |f| f.set("client_name", "Second")).await;
    assert_eq!(app.decide(first, "rotate-secret", &[]).await.status(), 303);
    receiver.until(2).await; // each client's head event failed once
    assert_eq!(
        app.count("SELECT COUNT(*) FROM feed_events WHERE state = 'pending'")
            .await,
        4
    );
    let data_dir = app.stop().await;

    *receiver.fail_first.lock().unwrap() = 0;
    let clock = partner_registry::clock::Clock::system();
    let theirs = clock.clone();
    let app = TestApp::builder()
        .data_dir(data_dir)
        .vars(provision(&receiver))
        .settings(move |s| s.clock = theirs)
        .start()
        .await;
    clock.advance(31);
    let seen = receiver.until(6).await;
    let delivered: Vec<String> = seen
        .iter()
        .filter(|r| r.answered == 204)
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            format!("{} {}", v["data"]["client_name"].as_str().unwrap(), kind(r))
        })
        .collect();
    let ledgerly: Vec<&String> = delivered
        .iter()
        .filter(|d| d.starts_with("Ledgerly"))
        .collect();
    assert_eq!(
        ledgerly,
        [
            "Ledgerly client.approved",
            "Ledgerly client.secret_issued",
            "Ledgerly client.secret_rotated"
        ]
    );
    assert!(delivered.contains(&"Second client.approved".to_owned()));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM feed_events WHERE state = 'pending'")
            .await,
        0
    );
    let _ = second;
}

#[tokio::test]
async fn suspend_reinstate_and_revoke_each_reach_the_feed_with_the_client_as_it_then_stands() {
    let (app, _clock) = spawn_with_clock(|_| {}).await;
    let (id, client_id) = approve(&app, |f| f).await;
    let secret = reveal_secret(&app, &newest_link(&app, "approved").await).await;
    let reason = [("reason", "A report of abuse.")];
    assert_eq!(app.decide(id, "suspend", &reason).await.status(), 303);
    assert_eq!(app.decide(id, "reinstate", &[]).await.status(), 303);
    assert_eq!(app.decide(id, "revoke", &reason).await.status(), 303);

    let events: serde_json::Value = app.get("/staff/events.json").await.json().await.unwrap();
    let events = &events.as_array().unwrap()[2..];
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["client.suspended", "client.reinstated", "client.revoked"]
    );
    let states: Vec<&str> = events
        .iter()
        .map(|e| e["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["suspended", "active", "revoked"]);
    assert!(
        events
            .iter()
            .all(|e| e["data"]["client_id"] == client_id.as_str())
    );
    assert_eq!(listed_hashes(&events[1]["data"]), [hash_of(&secret)]);
    assert!(
        listed_hashes(&events[2]["data"]).is_empty(),
        "a revoked client has no valid secret"
    );
}
