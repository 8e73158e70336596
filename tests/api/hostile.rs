//! Hostile and malformed requests: each is answered quickly with a 4xx, and nothing is kept.

use std::time::{Duration, Instant};

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
    assert_eq!(app.submissions(None).await, 0);
}

/// `total` bytes of `fill` in 64 KiB chunks, after `head`.
fn upload(head: Vec<u8>, fill: u8, total: usize) -> impl futures_util::Stream<Item = Vec<u8>> {
    let chunk = vec![fill; 64 * 1024];
    futures_util::stream::iter(
        std::iter::once(head).chain(std::iter::repeat_n(chunk, total / (64 * 1024))),
    )
}

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn a_huge_preamble_is_cut_off_at_the_body_limit() {
    let app = spawn_app().await;
    app.csrf_token("/register").await;
    // 50 MiB of preamble before the first boundary, streamed: no Content-Length says in
    // advance that it is too big.
    let started = Instant::now();
    let answer = app
        .post_streamed(
            "/register",
            "multipart/form-data; boundary=x",
            upload(Vec::new(), b'a', 50 * MIB),
        )
        .await;
    // actix-multipart stops buffering a preamble at 64 KiB and reports a malformed body; the
    // 2 MiB body limit would stop it otherwise. Either way it is refused, not read to the end.
    assert!(matches!(answer.status, 400 | 413), "{answer:?}");
    assert!(answer.sent < 8 * MIB, "read on past the limit: {answer:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn an_endless_chunked_upload_is_cut_off_soon_after_the_limit() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let head = format!(
        "--x\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--x\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n"
    );
    // 4 GiB: more than the client could send in the second actix lingers for after its answer.
    let total = 4096 * MIB;
    let started = Instant::now();
    let answer = app
        .post_streamed(
            "/register",
            "multipart/form-data; boundary=x",
            upload(head.into_bytes(), 0, total),
        )
        .await;
    assert_eq!(answer.status, 413, "{answer:?}");
    // Refused at 2 MiB, then at most a second of lingering (so a browser still sees the
    // page), and the connection is closed: not read to the end to keep it alive.
    assert!(answer.sent < total, "read to the end: {answer:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{answer:?}");
    assert_eq!(app.logos().await.0, 0);
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
    let app = TestApp::builder()
        .settings(|settings| settings.body_timeout = Duration::from_secs(1))
        .start()
        .await;
    app.csrf_token("/register").await;
    let drip = futures_util::stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        (n < 100).then(|| (b"--x\r\n".to_vec(), n + 1))
    });
    let started = Instant::now();
    let answer = app
        .post_streamed("/register", "multipart/form-data; boundary=x", drip)
        .await;
    assert_eq!(answer.status, 408, "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cut off, not read to the end"
    );
}
