//! Email delivery end to end: the outbox worker talking to a real SMTP server (or writing
//! files), stepped by hand so no test waits for a timer.

use std::time::{Duration, Instant};

use partner_registry::db;
use partner_registry::db::outbox::OutboxRow;
use partner_registry::domain::delivery::DeliveryState;
use partner_registry::mail::worker::{Delivery, Outcome};

use crate::helpers::*;
use crate::smtp::{Fault, ReservedPort, SmtpSink};

const CONTACTS: [&str; 2] = ["dev@ledgerly.example", "ops@ledgerly.example"];

async fn step(app: &TestApp) -> Option<Delivery> {
    app.mail.try_send_next().await.expect("a worker step")
}

/// Step until nothing is due; what each step did.
async fn send_due(app: &TestApp) -> Vec<Delivery> {
    let mut done = Vec::new();
    while let Some(delivery) = step(app).await {
        done.push(delivery);
    }
    done
}

/// Pretend the backoff has passed (the only way these tests move time).
async fn make_retries_due(app: &TestApp) {
    sqlx::query("UPDATE outbox SET next_attempt_at = 0 WHERE state = 'queued'")
        .execute(&app.db)
        .await
        .unwrap();
}

fn sorted_recipients(received: &[crate::smtp::Received]) -> Vec<String> {
    let mut all: Vec<String> = received.iter().flat_map(|m| m.recipients.clone()).collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_receipt_reaches_every_contact_over_smtp_with_both_parts_and_a_working_link() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().smtp(sink.url()).start().await;
    let status_path = app.register().await;
    for row in app.outbox().await {
        assert!(
            row.links_sealed.is_some(),
            "the link is kept sealed until sent"
        );
        assert!(
            !row.text_body.contains("/submissions/") && !row.html_body.contains("/submissions/")
        );
    }

    let deliveries = send_due(&app).await;

    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.outcome == Outcome::Sent));
    let received = sink.received();
    assert_eq!(sorted_recipients(&received), CONTACTS);
    let rows = app.outbox().await;
    let status_url = app.url(&status_path);
    for message in &received {
        assert_eq!(message.from, "no-reply@localhost");
        assert!(message.recipients.len() == 1, "one message per contact");
        let from = message.header("From").unwrap();
        assert!(from.contains("Partner Registry"), "{from}");
        let subject = message.header("Subject").unwrap();
        assert!(subject.contains("Ledgerly"), "{subject}");
        let row = rows
            .iter()
            .find(|r| r.recipient == message.recipients[0])
            .unwrap();
        assert_eq!(message.header("Message-ID").unwrap(), row.message_id);
        assert!(
            message
                .header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        let text = message.part("text/plain").expect("a text part");
        let html = message.part("text/html").expect("an HTML part");
        assert_eq!(link_in(&text, &status_url).as_deref(), Some(&*status_url));
        assert!(html.contains(&format!("href=\"{status_url}\"")));
    }
    assert_eq!(app.get(&status_path).await.status(), 200, "the link works");
    for row in &rows {
        assert_eq!(row.state, "sent");
        assert_eq!(row.attempts, 1);
        assert!(row.sent_at.is_some() && row.lease_until.is_none());
        assert_eq!(
            row.links_sealed, None,
            "the sealed link is deleted once sent"
        );
        assert!(matches!(row.delivery(), DeliveryState::Sent { .. }));
    }
    assert!(step(&app).await.is_none(), "nothing is sent twice");
}

#[tokio::test]
async fn mail_queued_while_the_smtp_server_is_down_is_delivered_exactly_once_when_it_is_up() {
    let port = ReservedPort::new();
    let app = TestApp::builder().smtp(port.url()).start().await;
    app.register().await;

    let before = db::now();
    let failed = send_due(&app).await;

    assert_eq!(failed.len(), 2, "each message was tried once");
    for row in app.outbox().await {
        assert_eq!(row.state, "queued");
        assert_eq!(row.attempts, 1);
        assert!(row.next_attempt_at >= before + 30);
        let error = row.last_error.clone().unwrap();
        assert!(error.to_lowercase().contains("connect"), "{error}");
        assert!(matches!(
            row.delivery(),
            DeliveryState::Retrying {
                attempt: 2,
                of: 10,
                ..
            }
        ));
    }

    let sink = port.start_sink();
    assert!(
        step(&app).await.is_none(),
        "not before the backoff has passed"
    );
    make_retries_due(&app).await;
    let delivered = send_due(&app).await;

    assert_eq!(delivered.len(), 2);
    assert!(
        delivered
            .iter()
            .all(|d| d.outcome == Outcome::Sent && d.attempt == 2)
    );
    make_retries_due(&app).await;
    assert!(step(&app).await.is_none());
    assert_eq!(sorted_recipients(&sink.received()), CONTACTS);
}

#[tokio::test]
async fn a_4xx_reply_is_retried_after_a_backoff_of_at_least_30_seconds() {
    let sink = SmtpSink::start();
    sink.fail_next(Fault::Rcpt(451), 1);
    let app = TestApp::builder().smtp(sink.url()).start().await;
    app.register().await;

    let before = db::now();
    let first = step(&app).await.unwrap();

    let Outcome::Retrying {
        next_attempt_at,
        error,
    } = &first.outcome
    else {
        panic!("a 4xx is not final: {first:?}");
    };
    assert!(*next_attempt_at >= before + 30, "backoff from 30 s");
    assert!(error.contains("451"), "{error}");
    let row = app
        .outbox()
        .await
        .into_iter()
        .find(|r| r.id == first.outbox_id)
        .unwrap();
    assert_eq!(row.state, "queued");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.next_attempt_at, *next_attempt_at);
    assert!(row.last_error.unwrap().contains("451"));

    // The other contact's message goes through; the refused one waits for its time.
    assert_eq!(send_due(&app).await.len(), 1);
    assert_eq!(sink.received().len(), 1);
    make_retries_due(&app).await;
    let retried = step(&app).await.unwrap();
    assert_eq!(retried.outbox_id, first.outbox_id);
    assert_eq!(retried.outcome, Outcome::Sent);
    assert_eq!(sorted_recipients(&sink.received()), CONTACTS);
}

#[tokio::test]
async fn a_5xx_reply_fails_the_message_at_once_and_staff_can_retry_it() {
    let sink = SmtpSink::start();
    sink.fail_next(Fault::Data(554), 1);
    let app = TestApp::builder().smtp(sink.url()).start().await;
    app.register().await;

    let first = step(&app).await.unwrap();

    assert!(
        matches!(&first.outcome, Outcome::Failed { error } if error.contains("554")),
        "{first:?}"
    );
    send_due(&app).await;
    make_retries_due(&app).await;
    assert!(
        step(&app).await.is_none(),
        "a failed message is not retried"
    );
    let row = app
        .outbox()
        .await
        .into_iter()
        .find(|r| r.id == first.outbox_id)
        .unwrap();
    assert_eq!(row.state, "failed");
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.as_deref().unwrap().contains("554"));
    assert!(
        matches!(row.delivery(), DeliveryState::Failed { ref error } if error.contains("554")),
        "{:?}",
        row.delivery()
    );
    assert_eq!(sink.received().len(), 1, "only the other contact's message");

    let mut conn = app.db.acquire().await.unwrap();
    assert!(db::outbox::retry(&mut conn, row.id).await.unwrap());
    assert!(
        !db::outbox::retry(&mut conn, row.id).await.unwrap(),
        "only a failed message"
    );
    drop(conn);
    let retried = step(&app).await.unwrap();

    assert_eq!(retried.outbox_id, row.id);
    assert_eq!(retried.outcome, Outcome::Sent);
    assert_eq!(sorted_recipients(&sink.received()), CONTACTS);
}

#[tokio::test]
async fn without_smtp_the_mail_is_written_as_eml_files_in_the_data_folder() {
    let app = TestApp::builder().eml_files().start().await;
    let status_path = app.register().await;

    let deliveries = send_due(&app).await;

    assert_eq!(deliveries.len(), 2);
    let mail_dir = app.data_dir.path().join("mail");
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut recipients = Vec::new();
    for file in files {
        assert_eq!(file.extension().unwrap(), "eml");
        let eml = std::fs::read_to_string(&file).unwrap();
        let message = crate::smtp::Received {
            from: String::new(),
            recipients: Vec::new(),
            data: eml,
        };
        assert!(message.header("Subject").unwrap().contains("Ledgerly"));
        recipients.push(message.header("To").unwrap());
        let text = message.part("text/plain").unwrap();
        assert!(text.contains(&app.url(&status_path)));
        assert!(message.part("text/html").is_some());
    }
    recipients.sort();
    assert_eq!(recipients, CONTACTS);
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_send_loses_nothing() {
    // A mail server that accepts the connection and never answers: the send hangs there.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("smtp://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let app = TestApp::builder().smtp(silent_url).start().await;
    app.register().await;

    // The process dies while the first message is on the wire.
    let cut_short =
        tokio::time::timeout(std::time::Duration::from_secs(2), app.mail.try_send_next()).await;
    assert!(cut_short.is_err(), "the send was still waiting");
    let claimed = app
        .outbox()
        .await
        .into_iter()
        .find(|r| r.state == "sending")
        .expect("one message claimed");
    assert!(claimed.lease_until.unwrap() > db::now());
    let data_dir = app.stop().await;

    let sink = SmtpSink::start();
    let app = TestApp::builder()
        .data_dir(data_dir)
        .smtp(sink.url())
        .start()
        .await;
    let other = send_due(&app).await;
    assert_eq!(other.len(), 1, "the unclaimed message is sent");
    assert_ne!(
        other[0].outbox_id, claimed.id,
        "the claim holds until its lease ends"
    );

    sqlx::query("UPDATE outbox SET lease_until = 0 WHERE id = ?")
        .bind(claimed.id)
        .execute(&app.db)
        .await
        .unwrap();
    let resumed = step(&app).await.unwrap();

    assert_eq!(resumed.outbox_id, claimed.id);
    assert_eq!(resumed.outcome, Outcome::Sent);
    assert_eq!(resumed.attempt, 2);
    let received = sink.received();
    assert_eq!(sorted_recipients(&received), CONTACTS);
    let resent = received
        .iter()
        .find(|m| m.recipients == [claimed.recipient.clone()])
        .unwrap();
    assert_eq!(
        resent.header("Message-ID").unwrap(),
        claimed.message_id,
        "the same Message-ID, so a duplicate can be recognised"
    );
    assert!(step(&app).await.is_none());
}

#[tokio::test]
async fn the_server_sends_in_the_background_and_its_worker_stops_with_it() {
    let sink = SmtpSink::start();
    let app = TestApp::builder()
        .smtp(sink.url())
        .settings(|settings| {
            settings.run_mail_worker = true;
            // No poll comes round during the test: only the wake-up can send.
            settings.mail_idle_poll = Duration::from_secs(3600);
        })
        .start()
        .await;
    // Let the worker find the outbox empty and go to sleep until its next poll (an hour away).
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.register().await;
    let acknowledged = Instant::now();

    // The registration wakes it: the receipts go out within about a second of the 303.
    while sink.received().len() < 2 && acknowledged.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = acknowledged.elapsed();
    assert_eq!(
        sorted_recipients(&sink.received()),
        CONTACTS,
        "sent when the registration woke the worker"
    );
    assert!(
        took < Duration::from_secs(1),
        "delivered {took:?} after the 303"
    );
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), app.stop()).await;
    assert!(stopped.is_ok(), "the server and its mail worker stop");
}

#[tokio::test]
async fn the_running_worker_sends_a_backlog_in_batches_each_message_once() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().smtp(sink.url()).start().await;
    for i in 0..10 {
        // Addresses of their own: no address gets more receipts than the per-address cap.
        let csrf = app.csrf_token("/register").await;
        let contacts = format!("dev{i}@ledgerly.example\nops{i}@ledgerly.example");
        let form = FormFields::valid(&csrf).set("contacts", &contacts);
        assert_eq!(app.post_register(&form).await.status(), 303);
    }

    let deliveries = app.mail.send_batch(16, || false).await.unwrap();

    assert_eq!(deliveries.len(), 16, "one claim takes up to 16 messages");
    assert!(deliveries.iter().all(|d| d.outcome == Outcome::Sent));
    let rest = app.mail.send_batch(16, || false).await.unwrap();
    assert_eq!(rest.len(), 4);
    assert!(app.mail.send_batch(16, || false).await.unwrap().is_empty());
    let received = sink.received();
    assert_eq!(
        received.len(),
        20,
        "10 registrations × 2 contacts, each sent once"
    );
    let mut ids: Vec<String> = received
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert!(app.outbox().await.iter().all(|row| row.state == "sent"));
}

#[tokio::test]
async fn a_batch_stops_at_the_first_relay_failure_and_gives_the_rest_back_untried() {
    let port = ReservedPort::new();
    let app = TestApp::builder().smtp(port.url()).start().await;
    for _ in 0..3 {
        app.register().await;
    }

    let tried = app.mail.send_batch(16, || false).await.unwrap();

    assert_eq!(
        tried.len(),
        1,
        "no point trying the others against a relay that is down"
    );
    assert!(matches!(tried[0].outcome, Outcome::Retrying { .. }));
    let rows = app.outbox().await;
    let (tried_rows, untried): (Vec<_>, Vec<_>) =
        rows.iter().partition(|row| row.id == tried[0].outbox_id);
    assert_eq!(tried_rows[0].attempts, 1);
    assert_eq!(untried.len(), 5);
    for row in untried {
        assert_eq!(row.state, "queued");
        assert_eq!(row.attempts, 0, "an untried message keeps its attempts");
        assert_eq!(row.lease_until, None);
        assert_eq!(row.delivery(), DeliveryState::Queued);
    }

    // Stopping the server gives back whatever a batch has not sent yet, too.
    let sink = port.start_sink();
    make_retries_due(&app).await;
    assert!(app.mail.send_batch(16, || true).await.unwrap().is_empty());
    assert!(sink.received().is_empty());
    assert!(app.outbox().await.iter().all(|row| row.state == "queued"));
}

#[tokio::test]
async fn a_fourth_receipt_to_one_address_in_a_day_is_skipped_shown_to_staff_and_not_sent() {
    let sink = SmtpSink::start();
    let app = TestApp::builder().smtp(sink.url()).start().await;
    let mut status_paths = Vec::new();
    for contacts in [
        "dev@ledgerly.example\nops@ledgerly.example",
        "dev@ledgerly.example",
        "dev@ledgerly.example",
        // The same mailbox, however it is spelt.
        "DEV@ledgerly.example\nops@ledgerly.example",
    ] {
        let csrf = app.csrf_token("/register").await;
        let response = app
            .post_register(&FormFields::valid(&csrf).set("contacts", contacts))
            .await;
        assert_eq!(response.status(), 303, "the registration itself is kept");
        status_paths.push(location(&response));
    }

    let deliveries = send_due(&app).await;

    assert_eq!(deliveries.len(), 5, "3 to dev@ and 2 to ops@");
    let to_dev = sorted_recipients(&sink.received())
        .into_iter()
        .filter(|r| r.eq_ignore_ascii_case("dev@ledgerly.example"))
        .count();
    assert_eq!(to_dev, 3);
    let skipped: Vec<OutboxRow> = app
        .outbox()
        .await
        .into_iter()
        .filter(|r| r.state == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0]
            .recipient
            .eq_ignore_ascii_case("dev@ledgerly.example")
    );
    assert_eq!(
        skipped[0].links_sealed, None,
        "nothing kept that could be sent later"
    );

    app.sign_in_staff().await;
    let fourth = app.submission_id(&status_paths[3]).await;
    let page = app.get_html(&format!("/staff/submissions/{fourth}")).await;
    let states = select(&page, "table.emails td");
    assert!(
        states
            .iter()
            .any(|s| s == "Not sent: 3 such emails went to this address in 24 hours"),
        "{states:?}"
    );
    // A staff decision is not a stranger's doing: it still reaches the address.
    assert_eq!(
        app.decide(fourth, "reject", &[("reason", "Duplicate registration.")])
            .await
            .status(),
        303
    );
    assert_eq!(send_due(&app).await.len(), 2);
}
