//! Uploads cannot hold the portal hostage (SPEC §6): a form waits for an upload slot only so
//! long, a body that stalls or drips is cut off, and a logo that is gone by the time the form
//! is stored asks for the file again instead of failing.

use std::time::{Duration, Instant};

use partner_registry::uploads::UPLOAD_SLOTS;
use scraper::Html;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// The head of a registration and the start of its body, as a client that then stops sending
/// would write them. The declared length promises more than is sent.
async fn stalled_upload(app: &TestApp) -> TcpStream {
    let host = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.expect("connected");
    let start = "--x\r\nContent-Disposition: form-data; name=\"client_name\"\r\n\r\nLedg";
    let head = format!(
        "POST /register HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n{start}"
    );
    stream.write_all(head.as_bytes()).await.expect("sent");
    stream
}

/// Everything the server answers on `stream` within `wait`, as text.
async fn answer(stream: &mut (impl AsyncRead + Unpin), wait: Duration) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    // One response is all we wait for: stop once its body is complete.
                    if response_complete(&received) {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok() || !received.is_empty(),
        "no answer within {wait:?}"
    );
    String::from_utf8_lossy(&received).into_owned()
}

fn response_complete(received: &[u8]) -> bool {
    let text = String::from_utf8_lossy(received);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .is_some_and(|len| body.len() >= len)
}

#[tokio::test]
async fn a_form_that_finds_every_upload_slot_taken_for_too_long_gets_503_with_retry_after() {
    let app = TestApp::builder()
        .settings(|settings| settings.upload_slot_wait = Duration::from_millis(500))
        .start()
        .await;
    let token = app.csrf_token("/register").await;
    let mut stalled = Vec::new();
    for _ in 0..UPLOAD_SLOTS {
        stalled.push(stalled_upload(&app).await);
    }
    // Each stalled upload takes its slot as soon as its head is read.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let response = app
        .client
        .post(app.url("/register"))
        .multipart(FormFields::valid(&token).to_multipart())
        .timeout(Duration::from_secs(8))
        .send()
        .await
        .expect("an answer while the slots are held, not a wait for one to free up");
    assert_eq!(response.status(), 503);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after > 0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused after the wait, {:?}",
        started.elapsed()
    );
    let page = Html::parse_document(&response.text().await.unwrap());
    assert!(
        select(&page, "p.lead")[0].contains("Wait a few seconds"),
        "{:?}",
        select(&page, "p.lead")
    );
    assert_eq!(app.submissions(None).await, 0);

    // The clients that held the slots go away: the slots are free again.
    drop(stalled);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = app.post_register(&FormFields::valid(&token)).await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn a_body_that_sends_nothing_for_the_idle_timeout_gets_408_saying_it_stalled() {
    let app = TestApp::builder()
        .settings(|settings| settings.body_idle_timeout = Duration::from_secs(1))
        .start()
        .await;
    let mut stream = stalled_upload(&app).await;
    let started = Instant::now();
    let response = answer(&mut stream, Duration::from_secs(8)).await;
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "cut off while the whole-body limit (30 s) is far away: {response:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let page = Html::parse_document(body);
    let message = select(&page, "p.lead").join(" ");
    assert!(
        message.contains("Nothing arrived") && message.contains("1 second"),
        "{message}"
    );
    // The slot it held is free again.
    let token = app.csrf_token("/register").await;
    assert_eq!(
        app.post_register(&FormFields::valid(&token)).await.status(),
        303
    );
}

#[tokio::test]
async fn a_body_that_keeps_dripping_past_the_whole_body_limit_gets_408_however_often_it_sends() {
    let app = TestApp::builder()
        .settings(|settings| {
            settings.body_timeout = Duration::from_secs(2);
            settings.body_idle_timeout = Duration::from_secs(1);
        })
        .start()
        .await;
    let (mut from_server, mut to_server) = stalled_upload(&app).await.into_split();
    let started = Instant::now();
    // A byte every 200 ms never trips the idle limit; the whole-body limit still ends it.
    let drip = tokio::spawn(async move {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if to_server.write_all(b"e").await.is_err() {
                break;
            }
        }
    });
    let response = answer(&mut from_server, Duration::from_secs(8)).await;
    let elapsed = started.elapsed();
    drip.abort();
    assert!(response.starts_with("HTTP/1.1 408"), "{response:?}");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(6),
        "cut off at the whole-body limit, after {elapsed:?}"
    );
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let message = select(&Html::parse_document(body), "p.lead").join(" ");
    assert!(message.contains("too slowly"), "{message}");
}

/// What takes a held logo away while its form waits to be stored.
#[derive(Clone, Copy, Debug)]
enum Expiry {
    /// The housekeeping sweep, a day later, deletes it.
    Swept,
    /// Its 24 hours run out, before any sweep.
    ClockRunsOut,
}

/// Hold a logo on the form at `path`, then send the fixed form with its token while `expiry`
/// happens in a transaction that holds SQLite's write lock. The form still finds its logo when
/// it is read (the transaction has not committed), then waits for the lock to store the
/// submission, and by then the logo is gone. Returns the answer to that form.
async fn submit_while_the_held_logo_expires(
    app: &TestApp,
    path: &str,
    expiry: Expiry,
) -> reqwest::Response {
    let token = app.csrf_token(path).await;
    // A form with an error: its logo passed and is held.
    let response = app
        .post_multipart(
            path,
            &FormFields::valid(&token)
                .set("client_name", "")
                .logo(png(300, 300), "new-logo.png"),
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    let logo_token = attr(&page, "input[name=logo_token]", "value").expect("the logo is held");

    let mut writer = app.db.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let hold = partner_registry::db::logos::HOLD_SECONDS;
    match expiry {
        Expiry::Swept => {
            let later = partner_registry::db::now() + hold + 1;
            let swept = partner_registry::db::logos::expire_unclaimed(&mut writer, later)
                .await
                .unwrap();
            assert_eq!(swept, 1);
        }
        Expiry::ClockRunsOut => {
            sqlx::query("UPDATE logos SET created_at = created_at - ?")
                .bind(hold)
                .execute(&mut *writer)
                .await
                .unwrap();
        }
    }
    let fixed = FormFields::valid(&token)
        .without("logo")
        .set("logo_token", &logo_token);
    let submit = tokio::spawn({
        let client = app.client.clone();
        let url = app.url(path);
        async move {
            client
                .post(url)
                .multipart(fixed.to_multipart())
                .send()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    writer.commit().await.unwrap();
    submit.await.unwrap()
}

#[tokio::test]
async fn a_held_logo_that_expires_while_its_form_is_stored_asks_for_the_logo_again() {
    for expiry in [Expiry::Swept, Expiry::ClockRunsOut] {
        let app = spawn_app().await;
        let response = submit_while_the_held_logo_expires(&app, "/register", expiry).await;
        assert_eq!(
            response.status(),
            422,
            "{expiry:?}: the form again, not an error page"
        );
        let page = Html::parse_document(&response.text().await.unwrap());
        let message = select(&page, "#logo-error").join(" ");
        assert!(
            message.contains("expired") && message.contains("choose it again"),
            "{expiry:?}: {message:?}"
        );
        assert!(
            !exists(&page, "input[name=logo_token]"),
            "{expiry:?}: no token for a logo that is gone"
        );
        assert_eq!(
            attr(&page, "#client_name", "value").as_deref(),
            Some("Ledgerly"),
            "{expiry:?}: what the partner entered is kept"
        );
        assert_eq!(app.submissions(None).await, 0);
        assert_eq!(app.outbox().await.len(), 0);

        // Choosing the file again is all it takes.
        let token = attr(&page, "input[name=csrf_token]", "value").unwrap();
        let response = app.post_register(&FormFields::valid(&token)).await;
        assert_eq!(response.status(), 303, "{expiry:?}");
    }
}

#[tokio::test]
async fn a_held_logo_that_expires_while_an_edit_is_stored_asks_for_it_again_and_keeps_the_current_one()
 {
    for expiry in [Expiry::Swept, Expiry::ClockRunsOut] {
        let app = spawn_app().await;
        let status_path = app.register().await;
        let id = app.submission_id(&status_path).await;
        app.sign_in_staff().await;
        let asked = app
            .decide(id, "request-changes", &[("message", "A new logo, please.")])
            .await;
        assert_eq!(asked.status(), 303);
        let edit_path = format!("{status_path}/edit");

        let response = submit_while_the_held_logo_expires(&app, &edit_path, expiry).await;
        assert_eq!(
            response.status(),
            422,
            "{expiry:?}: the form again, not an error page"
        );
        let page = Html::parse_document(&response.text().await.unwrap());
        let message = select(&page, "#logo-error").join(" ");
        assert!(
            message.contains("choose it again"),
            "{expiry:?}: {message:?}"
        );
        assert!(
            exists(&page, "#logo-kept img"),
            "{expiry:?}: the stored logo is still shown"
        );
        assert_eq!(app.revisions(id).await.len(), 1);

        // Sent again without a file, the edit keeps the current logo.
        let token = attr(&page, "input[name=csrf_token]", "value").unwrap();
        let fixed = FormFields::valid(&token).without("logo");
        let response = app.post_multipart(&edit_path, &fixed).await;
        assert_eq!(response.status(), 303, "{expiry:?}");
        assert_eq!(app.distinct_logos(id).await, 1);
    }
}
