//! Secrets expire SECRET_LIFETIME_DAYS after they are revealed (SPEC §8); the worker reminds
//! the contacts 30 and 7 days before, each once; an expired secret leaves the export and a
//! `client.secret_expired` event is recorded. The test moves the clock; nothing sleeps.

use std::time::Duration;

use crate::client_steps::*;
use crate::helpers::*;

const DAY: i64 = 86_400;

/// Wait (bounded) for the background sweep, woken by the clock move, to have done its part.
async fn until(app: &TestApp, sql: &str, expected: i64) {
    for _ in 0..200 {
        if app.count(sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{sql} never became {expected}: {}", app.count(sql).await);
}

const REMINDERS: &str = "SELECT COUNT(*) FROM outbox WHERE kind = 'secret_expiring'";
const EXPIRED: &str = "SELECT COUNT(*) FROM feed_events WHERE type = 'client.secret_expired'";

#[tokio::test]
async fn reminders_go_30_and_7_days_before_once_each_and_the_secret_then_leaves_the_export() {
    let (app, clock) = spawn_with_clock(|vars| {
        vars.insert("SECRET_LIFETIME_DAYS".into(), "90".into());
    })
    .await;
    let (_, client_id) = approve(&app, |f| f).await;
    let secret = reveal_secret(&app, &newest_link(&app, "approved").await).await;
    let entry = export_of(&app, &client_id).await;
    let expires_at = entry["client_secret_expires_at"].as_i64().unwrap();
    assert!(
        (expires_at - (clock.now() + 90 * DAY)).abs() <= 2,
        "{entry}"
    );

    clock.advance_days(59);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.count(REMINDERS).await, 0, "31 days before: too early");

    clock.advance_days(2);
    until(&app, REMINDERS, 2).await; // one per contact
    let reminders = app.delivered("secret_expiring").await;
    assert_eq!(reminders.len(), 2);
    assert!(reminders[0].1.contains("in 30 days"), "{}", reminders[0].1);
    assert!(
        link_in(&reminders[0].1, &app.url("/submissions/")).is_some(),
        "how to rotate"
    );

    // Moving on within the window sends nothing more.
    clock.advance_days(1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.count(REMINDERS).await,
        2,
        "the 30-day reminder went once"
    );

    clock.advance_days(22); // 6 days before
    until(&app, REMINDERS, 4).await;
    let reminders = app.delivered("secret_expiring").await;
    assert!(reminders[2].1.contains("in 7 days"), "{}", reminders[2].1);
    clock.advance(3600);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.count(REMINDERS).await,
        4,
        "the 7-day reminder went once"
    );
    assert_eq!(app.count(EXPIRED).await, 0);
    assert!(app.verify_secret_at(&client_id, &secret, clock.now()).await);

    clock.advance_days(7);
    until(&app, EXPIRED, 1).await;
    assert!(!app.verify_secret_at(&client_id, &secret, clock.now()).await);
    let entry = export_of(&app, &client_id).await;
    assert_eq!(listed_hashes(&entry), Vec::<String>::new());
    let events: serde_json::Value = app.get("/staff/events.json").await.json().await.unwrap();
    let expired = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "client.secret_expired")
        .expect("the event");
    assert_eq!(expired["data"]["client_secrets"], serde_json::json!([]));

    clock.advance_days(1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.count(EXPIRED).await, 1, "recorded once");
    assert_eq!(app.count(REMINDERS).await, 4);
}

#[tokio::test]
async fn a_secret_already_within_seven_days_gets_only_the_seven_day_reminder() {
    let (app, clock) = spawn_with_clock(|vars| {
        vars.insert("SECRET_LIFETIME_DAYS".into(), "10".into());
    })
    .await;
    approve(&app, |f| f).await;
    reveal_secret(&app, &newest_link(&app, "approved").await).await;
    clock.advance_days(4);
    until(&app, REMINDERS, 2).await;
    let reminders = app.delivered("secret_expiring").await;
    assert!(reminders.iter().all(|(_, text)| text.contains("in 7 days")));
}

#[tokio::test]
async fn a_lifetime_outside_8_to_3650_days_is_refused_at_startup() {
    for bad in ["7", "0", "-3", "ten", "4000"] {
        let mut vars = std::collections::HashMap::new();
        vars.insert("SECRET_LIFETIME_DAYS".to_owned(), bad.to_owned());
        let error = partner_registry::config::Settings::from_vars(&vars).unwrap_err();
        assert_eq!(error.var, "SECRET_LIFETIME_DAYS", "{bad}");
    }
}

/// Counts the expiry reminders queued about one submission.
fn reminders_of(id: i64) -> String {
    format!("SELECT COUNT(*) FROM outbox WHERE kind = 'secret_expiring' AND submission_id = {id}")
}

/// Counts the expiry events recorded for one submission.
fn expiries_of(id: i64) -> String {
    format!(
        "SELECT COUNT(*) FROM feed_events WHERE type = 'client.secret_expired' AND submission_id = {id}"
    )
}

#[tokio::test]
async fn a_suspended_client_is_not_reminded_until_it_is_reinstated_and_a_revoked_one_never() {
    let (app, clock) = spawn_with_clock(|vars| {
        vars.insert("SECRET_LIFETIME_DAYS".into(), "90".into());
    })
    .await;
    // Three clients with secrets of the same age: one suspended, one revoked, and one that
    // stays active, whose reminders show that a sweep has run.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (id, _) = approve(&app, |f| f).await;
        reveal_secret(&app, &newest_link(&app, "approved").await).await;
        ids.push(id);
    }
    let [suspended, revoked, active] = ids[..] else {
        unreachable!()
    };
    let reason = [("reason", "Under investigation")];
    assert_eq!(
        app.decide(suspended, "suspend", &reason).await.status(),
        303
    );
    assert_eq!(app.decide(revoked, "revoke", &reason).await.status(), 303);

    clock.advance_days(61); // 29 days before expiry
    until(&app, &reminders_of(active), 2).await;
    assert_eq!(
        app.count(&reminders_of(suspended)).await,
        0,
        "suspended: cannot rotate"
    );
    assert_eq!(app.count(&reminders_of(revoked)).await, 0);

    clock.advance_days(23); // 6 days before
    until(&app, &reminders_of(active), 4).await;
    assert_eq!(app.count(&reminders_of(suspended)).await, 0);

    // Reinstated within the last 7 days: the reminder still due (7 days) goes, once; the
    // 30-day one is past and is not sent late.
    assert_eq!(app.decide(suspended, "reinstate", &[]).await.status(), 303);
    clock.advance(60);
    until(&app, &reminders_of(suspended), 2).await;
    let mails = app.delivered("secret_expiring").await;
    let theirs: Vec<&String> = mails[mails.len() - 2..]
        .iter()
        .map(|(_, text)| text)
        .collect();
    assert!(
        theirs.iter().all(|text| text.contains("in 7 days")),
        "{theirs:?}"
    );
    clock.advance(3600);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.count(&reminders_of(suspended)).await, 2, "sent once");

    // Suspended again, its secret still expires, with its feed event; the revoked client's
    // secret ended at the revocation and has no expiry to record.
    assert_eq!(
        app.decide(suspended, "suspend", &reason).await.status(),
        303
    );
    clock.advance_days(7);
    until(&app, &expiries_of(active), 1).await;
    until(&app, &expiries_of(suspended), 1).await;
    assert_eq!(app.count(&expiries_of(revoked)).await, 0);
    assert_eq!(app.count(&reminders_of(revoked)).await, 0);
    assert_eq!(app.count(&reminders_of(suspended)).await, 2);
}
