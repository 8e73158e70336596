//! Tokens are keys (SPEC §6): never in a log line, only hashes at rest; private files.

use std::process::{Command, Stdio};
use std::time::Duration;

use scraper::Html;

use crate::helpers::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How often `needle` occurs in `haystack`.
fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[tokio::test]
async fn the_access_log_holds_no_token_a_partner_received_and_the_setup_link_only_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let log_path = data_dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", data_dir.path().join("data"))
        .env("REGISTER_RATE_LIMIT", "0")
        .env("RUST_LOG", "info,actix_web=info")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the binary starts");
    let address = format!("http://127.0.0.1:{port}");
    let client = new_client();
    let mut up = false;
    for _ in 0..200 {
        if client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server answers");
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{address}{path}");
        async move { client.get(url).send().await.unwrap() }
    };

    let setup_url = std::fs::read_to_string(&log_path)
        .unwrap()
        .split_whitespace()
        .find(|w| w.contains("/staff/setup?token="))
        .expect("the setup link is printed at first start")
        .to_owned();
    let setup_token = setup_url.split("token=").nth(1).unwrap().to_owned();
    let setup_path = setup_url.trim_start_matches(&address).to_owned();
    assert_eq!(get(setup_path).await.status(), 200);

    // A form with an error holds its logo under a token, shown back to the partner.
    let page = Html::parse_document(&get("/register".into()).await.text().await.unwrap());
    let csrf = attr(&page, "input[name=csrf_token]", "value").unwrap();
    let response = client
        .post(format!("{address}/register"))
        .multipart(
            FormFields::valid(&csrf)
                .set("client_name", "")
                .to_multipart(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    let logo_token = attr(&page, "input[name=logo_token]", "value").expect("a held logo");
    let held = attr(&page, "#logo-kept img", "src").unwrap();
    assert_eq!(get(held).await.status(), 200);

    let response = client
        .post(format!("{address}/register"))
        .multipart(
            FormFields::valid(&csrf)
                .without("logo")
                .set("logo_token", &logo_token)
                .to_multipart(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let status_path = location(&response);
    let status_token = status_path.trim_start_matches("/submissions/").to_owned();
    assert_eq!(get(status_path.clone()).await.status(), 200);
    // Not editable while pending, but the request is logged all the same.
    get(format!("{status_path}/edit")).await;
    let credentials_token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    get(format!("/credentials/{credentials_token}")).await;

    // Let the last lines reach the file, then stop the server.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap();

    assert_eq!(
        occurrences(&text, &status_token),
        0,
        "status token:\n{text}"
    );
    assert_eq!(
        occurrences(&text, &logo_token),
        0,
        "held logo token:\n{text}"
    );
    assert_eq!(
        occurrences(&text, credentials_token),
        0,
        "credentials:\n{text}"
    );
    assert_eq!(
        occurrences(&text, &setup_token),
        1,
        "the setup link is printed once, at start, and nowhere else:\n{text}"
    );
    assert!(
        text.contains("GET /submissions/[token]"),
        "requests are logged, with their token masked:\n{text}"
    );
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_data_folder_the_mail_folder_the_database_and_every_email_are_private() {
    use std::os::unix::fs::PermissionsExt;
    // A data folder made by hand with the usual modes, as an operator might have.
    let data_dir = tempfile::tempdir().unwrap();
    let open = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    open(data_dir.path(), 0o755);
    std::fs::create_dir(data_dir.path().join("mail")).unwrap();
    open(&data_dir.path().join("mail"), 0o755);
    std::fs::write(data_dir.path().join("registry.db"), b"").unwrap();
    open(&data_dir.path().join("registry.db"), 0o644);

    let app = spawn_app_in(data_dir, |_| {}, |_| {}).await;
    app.register().await;
    while app
        .mail
        .try_send_next()
        .await
        .expect("a worker step")
        .is_some()
    {}

    let dir = app.data_dir.path();
    assert_eq!(mode(dir), 0o700, "DATA_DIR");
    assert_eq!(mode(&dir.join("mail")), 0o700, "the mail folder");
    for file in [
        "registry.db",
        "registry.db-wal",
        "registry.db-shm",
        "session.key",
    ] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    let emails: Vec<_> = std::fs::read_dir(dir.join("mail"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(emails.len(), 2, "{emails:?}");
    for email in emails {
        assert_eq!(mode(&email), 0o600, "{}", email.display());
    }
}
