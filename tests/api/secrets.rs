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

    let app = TestApp::builder()
        .data_dir(data_dir)
        .eml_files()
        .start()
        .await;
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

/// Every value of every row of `table`, as bytes (numbers as their text).
async fn stored_values(db: &sqlx::SqlitePool, table: &str) -> Vec<Vec<u8>> {
    use sqlx::Row;
    let rows = sqlx::query(&format!("SELECT * FROM {table}"))
        .fetch_all(db)
        .await
        .unwrap();
    let mut values = Vec::new();
    for row in rows {
        for i in 0..row.len() {
            let value: Option<Vec<u8>> = row.try_get_unchecked(i).unwrap();
            values.extend(value);
        }
    }
    values
}

/// The tables that hold `token` in some value. All but the outbox, whose emails carry links
/// in plain until their encryption lands (see the ignored test below).
async fn stored_anywhere(db: &sqlx::SqlitePool, token: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'outbox'",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "submissions") && tables.iter().any(|t| t == "logos"));
    let mut found = Vec::new();
    for table in &tables {
        let hit = stored_values(db, table)
            .await
            .iter()
            .any(|v| v.windows(token.len()).any(|w| w == token.as_bytes()));
        if hit {
            found.push(table.clone());
        }
    }
    found
}

#[tokio::test]
async fn no_table_of_submissions_or_logos_holds_a_status_or_held_logo_token() {
    let app = spawn_app().await;
    let csrf = app.csrf_token("/register").await;
    let response = app
        .post_register(&FormFields::valid(&csrf).set("client_name", ""))
        .await;
    assert_eq!(response.status(), 422);
    let page = Html::parse_document(&response.text().await.unwrap());
    let logo_token = attr(&page, "input[name=logo_token]", "value").expect("a held logo");
    assert_eq!(app.logos().await.0, 1);
    assert_eq!(
        stored_anywhere(&app.db, &logo_token).await,
        Vec::<String>::new()
    );

    let response = app
        .post_register(
            &FormFields::valid(&csrf)
                .without("logo")
                .set("logo_token", &logo_token),
        )
        .await;
    assert_eq!(response.status(), 303);
    let status_path = location(&response);
    let status_token = status_path.trim_start_matches("/submissions/");
    assert_eq!(app.get(&status_path).await.status(), 200);
    assert_eq!(
        stored_anywhere(&app.db, status_token).await,
        Vec::<String>::new()
    );
    assert_eq!(
        stored_anywhere(&app.db, &logo_token).await,
        Vec::<String>::new()
    );
}

/// The database files as they are now, by name.
fn database_files(dir: &std::path::Path) -> Vec<(&'static str, Vec<u8>)> {
    ["registry.db", "registry.db-wal", "registry.db-shm"]
        .into_iter()
        .filter_map(|name| Some((name, std::fs::read(dir.join(name)).ok()?)))
        .collect()
}

/// The names of the files in `snapshot` whose bytes contain `token`.
fn holding(snapshot: &[(&'static str, Vec<u8>)], token: &str) -> Vec<&'static str> {
    snapshot
        .iter()
        .filter(|(_, bytes)| bytes.windows(token.len()).any(|w| w == token.as_bytes()))
        .map(|(name, _)| *name)
        .collect()
}

/// The names of the database files that hold `token` now.
fn files_holding(dir: &std::path::Path, token: &str) -> Vec<String> {
    holding(&database_files(dir), token)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Every token in the links of `text`: the last path segment of a status, edit or
/// credentials link.
fn tokens_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.contains("/submissions/") || w.contains("/credentials/"))
        .map(|w| {
            let path = w
                .trim_end_matches(['.', ',', ')', '>'])
                .trim_end_matches("/edit");
            path.rsplit('/').next().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_database_files_hold_no_token_a_partner_received_before_or_after_delivery() {
    let app = spawn_app().await;
    let csrf = app.csrf_token("/register").await;
    let response = app
        .post_register(&FormFields::valid(&csrf).set("client_name", ""))
        .await;
    let page = Html::parse_document(&response.text().await.unwrap());
    let logo_token = attr(&page, "input[name=logo_token]", "value").expect("a held logo");
    let response = app
        .post_register(
            &FormFields::valid(&csrf)
                .without("logo")
                .set("logo_token", &logo_token),
        )
        .await;
    assert_eq!(response.status(), 303);
    let status_path = location(&response);
    let status_token = status_path.trim_start_matches("/submissions/").to_owned();
    // A change request (a fresh status token in an edit link) and then, after the partner's
    // edit, an approval (a credentials link), all queued and not yet sent.
    app.sign_in_staff().await;
    let id = app.submission_id(&status_path).await;
    let asked = app
        .decide(
            id,
            "request-changes",
            &[("message", "Please add a logo with a border.")],
        )
        .await;
    assert_eq!(asked.status(), 303);
    let queued = database_files(app.data_dir.path());

    let mut received: Vec<String> = [status_token, logo_token.clone()].into();
    for kind in ["receipt", "changes_requested"] {
        let emails = app.delivered(kind).await;
        assert_eq!(emails.len(), 2, "{kind} to both contacts");
        for (_, text) in emails {
            received.extend(tokens_in(&text));
        }
    }
    let edit_token = tokens_in(&app.delivered("changes_requested").await[0].1)[0].clone();
    let edit_page = format!("/submissions/{edit_token}/edit");
    let csrf = app.csrf_token(&edit_page).await;
    let resubmitted = app
        .post_multipart(
            &edit_page,
            &FormFields::valid(&csrf)
                .without("logo")
                .set("redirect_uris", "https://ledgerly.example/callback"),
        )
        .await;
    assert_eq!(resubmitted.status(), 303, "the edit link works");
    assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
    let approval_queued = database_files(app.data_dir.path());
    let approvals = app.delivered("approved").await;
    assert_eq!(approvals.len(), 2);
    for (_, text) in &approvals {
        assert_eq!(text.matches("/credentials/").count(), 1, "{text}");
        received.extend(tokens_in(text));
    }
    let delivered = database_files(app.data_dir.path());

    // The two at registration, then a fresh status token in each email and a credentials link in
    // each approval.
    assert_eq!(received.len(), 2 + 2 + 2 + 2 + 2 * 2, "{received:?}");
    for token in &received {
        for (when, snapshot) in [
            ("before delivery", &queued),
            ("while the approval was queued", &approval_queued),
            ("after delivery", &delivered),
        ] {
            assert_eq!(
                holding(snapshot, token),
                Vec::<&str>::new(),
                "{token} {when}"
            );
        }
    }
}

#[tokio::test]
async fn a_database_from_before_hashing_keeps_its_links_working_and_loses_the_plain_tokens() {
    // The schema as it was before tokens were hashed (migration 20261202110000), then rows
    // written the way the portal wrote them.
    let (data_dir, old) = database_before("20261202110000").await;
    let status_token = "oldStatusToken0123456789abcdefgh";
    let hold_token = "oldHoldToken_0123456789abcdefghi";
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let logo = png(64, 64);
    for (id, hold, claimed) in [
        ("oldLogoId0123456789", None, 1),
        ("heldLogoId012345678", Some(hold_token), 0),
    ] {
        sqlx::query("INSERT INTO logos (id, hold_token, png, side, claimed, created_at) VALUES (?, ?, ?, 64, ?, ?)")
            .bind(id)
            .bind(hold)
            .bind(&logo)
            .bind(claimed)
            .bind(now)
            .execute(&old)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO submissions (id, token, client_name, contacts, created_at, updated_at)
         VALUES (1, ?, 'Oldco', 'dev@oldco.example', ?, ?)",
    )
    .bind(status_token)
    .bind(now)
    .bind(now)
    .execute(&old)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO revisions (submission_id, number, client_name, client_uri, logo_id, tos_uri,
            policy_uri, contacts, initiation_uri, settings_uri, client_type, redirect_uris, scopes,
            pkce, created_at)
         VALUES (1, 1, 'Oldco', 'https://oldco.example', 'oldLogoId0123456789',
            'https://oldco.example/terms', 'https://oldco.example/privacy', '[\"dev@oldco.example\"]',
            'https://oldco.example/connect', 'https://oldco.example/settings', 'public',
            '[\"https://oldco.example/cb\"]', '[\"users:read\"]', 'supported', ?)",
    )
    .bind(now)
    .execute(&old)
    .await
    .unwrap();
    old.close().await;
    assert!(
        !files_holding(data_dir.path(), status_token).is_empty(),
        "the old format"
    );

    let app = TestApp::builder().data_dir(data_dir).start().await;
    let page = app.get_html(&format!("/submissions/{status_token}")).await;
    assert_eq!(select(&page, "h1"), ["Oldco"]);
    let held = app
        .get(&format!("/register/held-logo/{hold_token}.png"))
        .await;
    assert_eq!(held.status(), 200);
    for token in [status_token, hold_token] {
        assert_eq!(stored_anywhere(&app.db, token).await, Vec::<String>::new());
        assert_eq!(
            files_holding(app.data_dir.path(), token),
            Vec::<String>::new(),
            "{token} in the files of the running portal"
        );
    }

    // Started again, nothing is hashed twice: the links still work.
    let data_dir = app.stop().await;
    let app = TestApp::builder().data_dir(data_dir).start().await;
    assert_eq!(
        app.get(&format!("/submissions/{status_token}"))
            .await
            .status(),
        200
    );
    let held = app
        .get(&format!("/register/held-logo/{hold_token}.png"))
        .await;
    assert_eq!(held.status(), 200);
    let dir = app.data_dir.path().to_owned();
    let leftovers: Vec<_> = [status_token, hold_token]
        .iter()
        .flat_map(|token| files_holding(&dir, token))
        .collect();
    assert_eq!(
        leftovers,
        Vec::<String>::new(),
        "no plain token left in the files"
    );
}
