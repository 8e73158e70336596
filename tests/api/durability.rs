//! Crash safety and backups, with the real binary.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start the release-profile-independent binary on `port` with `data_dir`; wait until it answers.
async fn start_binary(data_dir: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", data_dir)
        .env("REGISTER_RATE_LIMIT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let client = new_client();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not answer on port {port}");
}

/// Submissions of every status, as the staff queue counts them.
async fn submission_count(app: &TestApp) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    let counts = partner_registry::db::submissions::counts(&mut conn)
        .await
        .unwrap();
    counts.iter().map(|(_, n)| n).sum()
}

#[tokio::test]
async fn every_pooled_connection_is_in_wal_mode_and_syncs_fully() {
    let app = spawn_app().await;
    // The one writer, and readers held at once so each is a connection of its own.
    let mut held = vec![app.db.acquire().await.unwrap()];
    for _ in 0..4 {
        held.push(app.read_db.acquire().await.unwrap());
    }
    for conn in &mut held {
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        assert_eq!(synchronous, 2, "FULL");
    }
}

#[tokio::test]
async fn the_benchmark_can_serve_with_synchronous_normal_to_measure_what_full_costs() {
    let app = TestApp::builder()
        .settings(|s| s.sqlite_synchronous = sqlx::sqlite::SqliteSynchronous::Normal)
        .start()
        .await;
    for pool in [&app.db, &app.read_db] {
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(synchronous, 1, "NORMAL");
    }
}

#[tokio::test]
async fn every_acknowledged_registration_survives_a_sigkill() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start_binary(data_dir.path(), port).await;
    let address = format!("http://127.0.0.1:{port}");

    // Four partners registering as fast as they can; the server is killed right after the
    // KILL_AFTER-th registration it acknowledged, whatever the machine's speed.
    const KILL_AFTER: usize = 12;
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let enough = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut partners = Vec::new();
    for _ in 0..4 {
        let address = address.clone();
        let (acked, enough) = (acked.clone(), enough.clone());
        partners.push(tokio::spawn(async move {
            let client = new_client();
            let page = client
                .get(format!("{address}/register"))
                .send()
                .await
                .unwrap();
            let body = page.text().await.unwrap();
            let token = {
                let html = scraper::Html::parse_document(&body);
                attr(&html, "input[name=csrf_token]", "value").unwrap()
            };
            let mut acknowledged = Vec::new();
            loop {
                let form = FormFields::valid(&token).to_multipart();
                match client
                    .post(format!("{address}/register"))
                    .multipart(form)
                    .send()
                    .await
                {
                    Ok(response) if response.status() == 303 => {
                        acknowledged.push(location(&response));
                        let n = acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        if n == KILL_AFTER {
                            enough.notify_one();
                        }
                    }
                    Ok(response) => panic!("unexpected {}", response.status()),
                    Err(_) => return acknowledged, // the server is gone
                }
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(60), enough.notified())
        .await
        .expect("the server acknowledged registrations");
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let mut acknowledged = Vec::new();
    for partner in partners {
        acknowledged.extend(partner.await.unwrap());
    }
    assert!(
        acknowledged.len() >= KILL_AFTER,
        "{} acknowledged before the kill",
        acknowledged.len()
    );

    let app = TestApp::builder()
        .vars(|vars| {
            vars.insert("DATA_DIR".into(), data_dir.path().display().to_string());
        })
        .start()
        .await;
    for path in &acknowledged {
        assert_eq!(
            app.get(path).await.status(),
            200,
            "{path} was acknowledged, then lost"
        );
    }
    let submissions = submission_count(&app).await;
    assert!(submissions >= acknowledged.len() as i64);
    let receipts = app
        .outbox()
        .await
        .iter()
        .filter(|row| row.kind == "receipt")
        .count() as i64;
    assert_eq!(
        receipts,
        2 * submissions,
        "every submission kept both receipts"
    );
}

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_restores_every_submission() {
    let app = spawn_app().await;
    let first = app.register().await;
    let second = app.register().await;
    let backup_dir = tempfile::tempdir().unwrap();
    let file = backup_dir.path().join("backup.db");

    let output = Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .arg("backup")
        .arg(&file)
        .env("DATA_DIR", app.data_dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = Command::new(env!("CARGO_BIN_EXE_partner-registry"))
        .arg("backup")
        .arg(&file)
        .env("DATA_DIR", app.data_dir.path())
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );

    // Restore as the README says: the copy becomes registry.db in a data folder.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&file, restored.path().join("registry.db")).unwrap();
    let app2 = TestApp::builder()
        .vars(|vars| {
            vars.insert("DATA_DIR".into(), restored.path().display().to_string());
        })
        .start()
        .await;
    for path in [&first, &second] {
        let page = app2.get_html(path).await;
        assert_eq!(select(&page, "h1"), ["Ledgerly"]);
        let logo = attr(&page, "img.logo", "src").unwrap();
        assert_eq!(app2.get(&logo).await.status(), 200);
    }
}
