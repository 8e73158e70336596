//! Hostile and malformed requests: each is answered quickly with a 4xx, and nothing is kept.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Body;

use crate::helpers::*;

async fn post_raw(app: &TestApp, content_type: &str, body: impl Into<Body>) -> reqwest::Response {
    app.csrf_token("/register").await;
    app.client
        .post(app.url("/register"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn malformed_multipart_gets_400_without_hanging() {
    let app = spawn_app().await;
    let cases: [(&str, &str); 3] = [
        (
            "multipart/form-data",
            "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n",
        ),
        (
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=\"client_name\"\r\n\r\nunterminated",
        ),
        (
            "multipart/form-data; boundary=x",
            "--x\r\nno headers at all\r\n",
        ),
    ];
    for (content_type, body) in cases {
        let started = Instant::now();
        let response = post_raw(&app, content_type, body).await;
        assert_eq!(response.status(), 400, "{content_type}: {body:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM submissions").await, 0);
}

#[tokio::test]
async fn a_huge_preamble_is_cut_off_at_the_body_limit() {
    let app = spawn_app().await;
    let mut body = vec![b'a'; 3 * 1024 * 1024];
    body.extend_from_slice(b"\r\n--x--\r\n");
    // Streamed, so no Content-Length says in advance that it is too big.
    let stream = futures_util::stream::iter(
        body.chunks(64 * 1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let response = post_raw(
        &app,
        "multipart/form-data; boundary=x",
        Body::wrap_stream(stream),
    )
    .await;
    // actix-multipart stops buffering a preamble at 64 KiB and reports a malformed body; the
    // 2 MiB body limit would stop it otherwise. Either way it is refused, not read to the end.
    assert!(
        matches!(response.status().as_u16(), 400 | 413),
        "{}",
        response.status()
    );
}

#[tokio::test]
async fn a_50_mb_chunked_upload_is_cut_off_at_the_limit() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let head = format!(
        "--x\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--x\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n"
    );
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let chunk = vec![0u8; 256 * 1024];
    let chunks = std::iter::once(head.into_bytes())
        .chain(std::iter::repeat_n(chunk, 200)) // 50 MiB
        .map(move |c| {
            counter.fetch_add(c.len(), std::sync::atomic::Ordering::Relaxed);
            Ok::<_, std::io::Error>(c)
        });
    let stream = futures_util::stream::iter(chunks).then(|c| async move {
        tokio::task::yield_now().await;
        c
    });
    let started = Instant::now();
    let outcome = app
        .client
        .post(app.url("/register"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body(Body::wrap_stream(stream))
        .send()
        .await;
    // The server answers 413 and stops reading; the client may see the answer or a reset.
    if let Ok(response) = outcome {
        assert_eq!(response.status(), 413);
    }
    assert!(started.elapsed() < Duration::from_secs(20));
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent < 50 * 1024 * 1024,
        "the server stopped reading early ({sent} bytes)"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM logos").await, 0);
}

#[tokio::test]
async fn ten_thousand_redirect_uris_are_refused() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let many = (0..10_000)
        .map(|i| format!("https://a.example/cb{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let response = app
        .post_register(&FormFields::valid(&token).set("redirect_uris", &many))
        .await;
    assert_eq!(response.status(), 400);
    let page = scraper::Html::parse_document(&response.text().await.unwrap());
    assert!(select(&page, "p.lead")[0].contains("redirect_uris"));

    // 21 short ones fit the field but break the rule: a normal form error.
    let some = (0..21)
        .map(|i| format!("https://a.example/cb{i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let response = app
        .post_register(&FormFields::valid(&token).set("redirect_uris", &some))
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn a_client_that_sends_its_body_slowly_is_cut_off() {
    let app = spawn_app_tuned(
        |_| {},
        |settings| settings.body_timeout = Duration::from_secs(1),
    )
    .await;
    app.csrf_token("/register").await;
    let drip = futures_util::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        (n < 100).then(|| (Ok::<_, std::io::Error>(b"--x\r\n".to_vec()), n + 1))
    });
    let started = Instant::now();
    let response = app
        .client
        .post(app.url("/register"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body(Body::wrap_stream(drip))
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 408);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cut off, not read to the end"
    );
}
