//! Starting the real app on port 0 with a temporary data folder, and talking to it.

use std::collections::HashMap;
use std::io::Cursor;

use actix_web::dev::ServerHandle;
use image::{ImageFormat, Rgba, RgbaImage};
use lettre::transport::stub::AsyncStubTransport;
use partner_registry::config::Settings;
use partner_registry::db::outbox::OutboxRow;
use partner_registry::mail::worker::Worker;
use partner_registry::startup::Application;
use reqwest::multipart::{Form, Part};
use reqwest::{Response, redirect};
use scraper::{Html, Selector};
use sqlx::SqlitePool;
use tempfile::TempDir;

pub struct TestApp {
    pub address: String,
    pub db: SqlitePool,
    /// The portal's read pool (query_only connections).
    pub read_db: SqlitePool,
    pub data_dir: TempDir,
    pub client: reqwest::Client,
    /// The first-run staff setup link the log prints.
    pub setup_url: Option<String>,
    /// The outbox worker: tests step it by hand (`mail.try_send_next()`); its loop is off
    /// unless `.settings(..)` turns `run_mail_worker` on.
    pub mail: Worker,
    /// What the app sent, when no SMTP server was given (read through `delivered`).
    memory: Option<AsyncStubTransport>,
    /// `client`'s cookies, for requests sent another way (`post_streamed`).
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    server: ServerHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// The app with the test defaults: `TestApp::builder().start()`.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().start().await
}

/// How a test wants its app: environment variables on top of the test defaults, then
/// adjustments to what is not an environment setting, and optionally an earlier app's data
/// folder (handed back by `stop`) to restart on.
/// One adjustment of the settings, applied in order at `start`.
type Tune = Box<dyn FnOnce(&mut Settings)>;

pub struct TestAppBuilder {
    vars: HashMap<String, String>,
    tunes: Vec<Tune>,
    data_dir: Option<TempDir>,
    eml_files: bool,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        let mut vars = HashMap::new();
        vars.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
        vars.insert("REGISTER_RATE_LIMIT".into(), "0".into());
        vars.insert("LOGIN_RATE_LIMIT".into(), "0".into());
        TestAppBuilder {
            vars,
            tunes: Vec::new(),
            data_dir: None,
            eml_files: false,
        }
    }
}

impl TestAppBuilder {
    /// One environment variable, as an operator would set it.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Any change to the environment the app reads.
    pub fn vars(mut self, adjust: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        adjust(&mut self.vars);
        self
    }

    /// Mail goes to this SMTP server (a `SmtpSink` in the test) instead of memory.
    pub fn smtp(self, url: impl AsRef<str>) -> Self {
        self.var("SMTP_URL", url.as_ref())
    }

    /// Adjust what is not an environment setting (timeouts, the mail loop).
    pub fn settings(mut self, tune: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.tunes.push(Box::new(tune));
        self
    }

    /// Start on an earlier app's data folder, to restart it.
    pub fn data_dir(mut self, data_dir: TempDir) -> Self {
        self.data_dir = Some(data_dir);
        self
    }

    /// Mail is written as `.eml` files, as it is without `SMTP_URL` in production.
    pub fn eml_files(mut self) -> Self {
        self.eml_files = true;
        self
    }

    pub async fn start(self) -> TestApp {
        let data_dir = match self.data_dir {
            Some(dir) => dir,
            None => tempfile::tempdir().expect("a temporary folder"),
        };
        let mut vars = self.vars;
        // A DATA_DIR the test set itself (a restore) wins over the temporary folder.
        vars.entry("DATA_DIR".into())
            .or_insert_with(|| data_dir.path().display().to_string());
        let mut settings = Settings::from_vars(&vars).expect("valid test settings");
        settings.run_mail_worker = false;
        // Without an SMTP server of the test's own, mail is kept in memory for `delivered`.
        let memory =
            (settings.smtp_url.is_none() && !self.eml_files).then(AsyncStubTransport::new_ok);
        settings.memory_mail = memory.clone();
        for tune in self.tunes {
            tune(&mut settings);
        }
        let app = Application::build(settings).await.expect("the app starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let pools = app.db();
        // The portal's write pool: what a test plants queues with the portal's own writers.
        let db = pools.write.clone();
        let setup_url = app.setup_url().map(|u| u.to_string());
        let mail = app.mail_worker();
        let server = app.server_handle();
        let running = tokio::spawn(app.run_until_stopped());
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        TestApp {
            address,
            db,
            read_db: pools.read,
            data_dir,
            client: client_with(Some(jar.clone())),
            setup_url,
            mail,
            memory,
            jar,
            server,
            running,
        }
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn new_client() -> reqwest::Client {
    client_with(None)
}

fn client_with(jar: Option<std::sync::Arc<reqwest::cookie::Jar>>) -> reqwest::Client {
    let builder = reqwest::Client::builder().redirect(redirect::Policy::none());
    match jar {
        Some(jar) => builder.cookie_provider(jar),
        None => builder.cookie_store(true),
    }
    .build()
    .expect("a client")
}

impl TestApp {
    /// Stop the server as a signal would (and its mail loop, if it runs); the data folder
    /// is handed back for a restart.
    pub async fn stop(self) -> TempDir {
        self.server.stop(true).await;
        self.running
            .await
            .expect("the server task ends")
            .expect("the server stops cleanly");
        self.db.close().await;
        self.data_dir
    }

    fn jar_cookies(&self, url: &reqwest::Url) -> Option<String> {
        use reqwest::cookie::CookieStore;
        self.jar
            .cookies(url)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_html(&self, path: &str) -> Html {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        Html::parse_document(&response.text().await.unwrap())
    }

    /// The anti-forgery token of the form at `path` (which also sets our cookie).
    pub async fn csrf_token(&self, path: &str) -> String {
        let page = self.get_html(path).await;
        attr(&page, "input[name=csrf_token]", "value").expect("a csrf_token field")
    }

    pub async fn post_register(&self, form: &FormFields) -> Response {
        self.post_multipart("/register", form).await
    }

    pub async fn post_multipart(&self, path: &str, form: &FormFields) -> Response {
        self.client
            .post(self.url(path))
            .multipart(form.to_multipart())
            .send()
            .await
            .expect("request sent")
    }

    /// Register a valid client and return the status page path.
    pub async fn register(&self) -> String {
        let token = self.csrf_token("/register").await;
        let response = self.post_register(&FormFields::valid(&token)).await;
        assert_eq!(response.status(), 303);
        location(&response)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db)
            .await
            .expect("count query")
    }
}

pub fn location(response: &Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The fields of a registration form, with a logo file.
#[derive(Clone)]
pub struct FormFields {
    pub fields: Vec<(String, String)>,
    pub logo: Option<(Vec<u8>, String)>,
}

impl FormFields {
    pub fn valid(csrf_token: &str) -> FormFields {
        let fields = [
            ("csrf_token", csrf_token),
            ("client_name", "Ledgerly"),
            ("client_uri", "https://ledgerly.example"),
            ("tos_uri", "https://ledgerly.example/terms"),
            ("policy_uri", "https://ledgerly.example/privacy"),
            ("contacts", "dev@ledgerly.example\nops@ledgerly.example"),
            ("initiation_uri", "https://ledgerly.example/connect"),
            ("settings_uri", "https://ledgerly.example/settings"),
            ("client_type", "confidential"),
            (
                "redirect_uris",
                "https://ledgerly.example/callback\nhttp://localhost:8080/cb",
            ),
            ("scopes", "users:read"),
            ("scopes", "expenses:read"),
            ("scope_reason", "We sync expenses into the ledger."),
            ("pkce", "supported"),
            ("pkce_exception", ""),
            ("subject_type", "company"),
        ];
        FormFields {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            logo: Some((png(256, 256), "logo.png".into())),
        }
    }

    /// Replace every value of `name` with one value.
    pub fn set(mut self, name: &str, value: &str) -> FormFields {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> FormFields {
        self.fields.retain(|(k, _)| k != name);
        if name == "logo" {
            self.logo = None;
        }
        self
    }

    pub fn logo(mut self, bytes: Vec<u8>, file_name: &str) -> FormFields {
        self.logo = Some((bytes, file_name.into()));
        self
    }

    pub fn to_multipart(&self) -> Form {
        let mut form = Form::new();
        for (k, v) in &self.fields {
            form = form.text(k.clone(), v.clone());
        }
        let (bytes, name) = self.logo.clone().unwrap_or_default();
        // A browser sends an empty file part when no file is chosen.
        let part = Part::bytes(bytes)
            .file_name(name)
            .mime_str("application/octet-stream")
            .unwrap();
        form.part("logo", part)
    }
}

fn encode(img: RgbaImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    if format == ImageFormat::Jpeg {
        image::DynamicImage::ImageRgba8(img)
            .to_rgb8()
            .write_to(&mut out, format)
            .unwrap();
    } else {
        img.write_to(&mut out, format).unwrap();
    }
    out.into_inner()
}

fn picture(width: u32, height: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, 120, 255])
    })
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(picture(width, height), ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(picture(width, height), ImageFormat::Jpeg)
}

pub fn select(page: &Html, css: &str) -> Vec<String> {
    let selector = Selector::parse(css).expect("valid selector");
    page.select(&selector)
        .map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

pub fn attr(page: &Html, css: &str, name: &str) -> Option<String> {
    let selector = Selector::parse(css).expect("valid selector");
    page.select(&selector)
        .next()
        .and_then(|e| e.value().attr(name))
        .map(str::to_owned)
}

pub fn exists(page: &Html, css: &str) -> bool {
    let selector = Selector::parse(css).expect("valid selector");
    page.select(&selector).next().is_some()
}

pub const STAFF_EMAIL: &str = "reviewer@platform.example";
pub const STAFF_PASSWORD: &str = "a long staff password";

impl TestApp {
    /// A staff account made the way `partner-registry staff add` makes one.
    pub async fn create_staff(&self, email: &str, name: &str, password: &str) {
        let password = password.to_owned().into();
        partner_registry::auth::accounts::create_staff(&self.db, name, email, password)
            .await
            .expect("a new staff account");
    }

    pub async fn post_login(&self, email: &str, password: &str) -> Response {
        let token = self.csrf_token("/staff/login").await;
        self.client
            .post(self.url("/staff/login"))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Create the reviewer account and sign in as it.
    pub async fn sign_in_staff(&self) {
        self.create_staff(STAFF_EMAIL, "Robin Reviewer", STAFF_PASSWORD)
            .await;
        let response = self.post_login(STAFF_EMAIL, STAFF_PASSWORD).await;
        assert_eq!(response.status(), 303, "staff sign-in");
    }

    /// POST a staff form at `path` with the session's anti-forgery token (taken from `page`).
    pub async fn staff_post(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token(page).await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// The id of the submission behind a status page path.
    pub async fn submission_id(&self, status_path: &str) -> i64 {
        let token = status_path.trim_start_matches("/submissions/");
        sqlx::query_scalar("SELECT submission_id FROM status_tokens WHERE token_hash = ?")
            .bind(partner_registry::auth::sha256_hex(token))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// The revision number a reviewer is shown on the detail page: the decision forms' hidden
    /// field, or the status line's where no decision form is drawn.
    pub async fn shown_revision(&self, id: i64) -> String {
        let page = self.get_html(&format!("/staff/submissions/{id}")).await;
        attr(&page, "input[name=revision]", "value")
            .or_else(|| select(&page, "[data-revision]").into_iter().next())
            .expect("a revision on the detail page")
    }

    /// Take a decision as a reviewer would: with the revision the detail page shows.
    /// POST a credentials link's button, as the partner does. A spent link has no form; a
    /// replayed POST then carries the visitor's token from elsewhere.
    pub async fn reveal_credentials(&self, path: &str) -> Response {
        let page = self.get_html(path).await;
        let token = match attr(&page, "input[name=csrf_token]", "value") {
            Some(token) => token,
            None => self.csrf_token("/register").await,
        };
        self.client
            .post(self.url(path))
            .form(&[("csrf_token", token)])
            .send()
            .await
            .unwrap()
    }

    pub async fn decide(&self, id: i64, action: &str, fields: &[(&str, &str)]) -> Response {
        // The revision of that action's own form: a live client's proposal has forms of its
        // own, which carry the proposal's revision rather than the live one.
        let page = self.get_html(&format!("/staff/submissions/{id}")).await;
        let own = format!("form[action$='/{action}'] input[name=revision]");
        let revision = match attr(&page, &own, "value") {
            Some(revision) => revision,
            None => self.shown_revision(id).await,
        };
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("revision", &revision));
        let page = format!("/staff/submissions/{id}");
        self.staff_post(&page, &format!("{page}/{action}"), &form)
            .await
    }

    /// The emails of one kind as their recipients get them, as (recipient, text part), in the
    /// order they were queued: everything due is sent first (to memory, or to `.eml` files
    /// with `eml_files()`). The outbox itself holds no link in plain, so a test reads links
    /// where a partner would.
    pub async fn delivered(&self, kind: &str) -> Vec<(String, String)> {
        while self
            .mail
            .try_send_next()
            .await
            .expect("a worker step")
            .is_some()
        {}
        let messages: Vec<crate::smtp::Received> = match &self.memory {
            Some(memory) => memory
                .messages()
                .await
                .into_iter()
                .map(|(envelope, data)| crate::smtp::Received {
                    from: envelope.from().map(|a| a.to_string()).unwrap_or_default(),
                    recipients: envelope.to().iter().map(|a| a.to_string()).collect(),
                    data,
                })
                .collect(),
            None => match std::fs::read_dir(self.data_dir.path().join("mail")) {
                Ok(entries) => entries
                    .map(|entry| crate::smtp::Received {
                        from: String::new(),
                        recipients: Vec::new(),
                        data: std::fs::read_to_string(entry.unwrap().path()).unwrap(),
                    })
                    .collect(),
                Err(_) => Vec::new(),
            },
        };
        self.outbox()
            .await
            .into_iter()
            .filter(|row| row.kind == kind && row.state == "sent")
            .map(|row| {
                let message = messages
                    .iter()
                    .find(|m| m.header("Message-ID").as_deref() == Some(&*row.message_id))
                    .unwrap_or_else(|| panic!("{} was not delivered", row.message_id));
                (
                    row.recipient,
                    message.part("text/plain").expect("a text part"),
                )
            })
            .collect()
    }

    /// Does `secret` belong to `client_id` now? What a token endpoint would ask.
    pub async fn verify_secret(&self, client_id: &str, secret: &str) -> bool {
        self.verify_secret_at(client_id, secret, partner_registry::db::now())
            .await
    }

    /// Is `secret` one of the valid secrets of `client_id` at `now` (two overlap after a
    /// rotation)?
    pub async fn verify_secret_at(&self, client_id: &str, secret: &str, now: i64) -> bool {
        use partner_registry::credentials::hash_secret;
        let mut conn = self.db.acquire().await.unwrap();
        let valid =
            partner_registry::db::secrets::valid_hashes_of_client(&mut conn, client_id, now)
                .await
                .unwrap();
        valid.contains(&hash_secret(&secret.to_owned().into()))
    }

    /// Staff sessions stored now, signed in or not yet expired.
    pub async fn session_count(&self) -> i64 {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::staff::session_count(&mut conn)
            .await
            .unwrap()
    }

    /// Submissions in `status` (None: all), as the staff queue counts them.
    pub async fn submissions(&self, status: Option<&str>) -> i64 {
        let mut conn = self.db.acquire().await.unwrap();
        let counts = partner_registry::db::submissions::counts(&mut conn)
            .await
            .unwrap();
        counts
            .iter()
            .filter(|(s, _)| status.is_none_or(|wanted| s.as_str() == wanted))
            .map(|(_, n)| n)
            .sum()
    }

    /// (logos stored, of which claimed by a submission).
    pub async fn logos(&self) -> (i64, i64) {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::logos::counts(&mut conn)
            .await
            .unwrap()
    }

    /// A submission's revisions, newest first.
    pub async fn revisions(&self, id: i64) -> Vec<partner_registry::domain::revision::Revision> {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::submissions::revisions(&mut conn, id)
            .await
            .unwrap()
    }

    /// How many events a submission's history holds.
    pub async fn event_count(&self, id: i64) -> usize {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::submissions::events(&mut conn, id)
            .await
            .unwrap()
            .len()
    }

    /// How many credentials links a submission has had.
    pub async fn credential_links(&self, id: i64) -> i64 {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::credentials::count_for(&mut conn, id)
            .await
            .unwrap()
    }

    /// Staff accounts.
    pub async fn staff_count(&self) -> i64 {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::staff::count(&mut conn).await.unwrap()
    }

    /// Failed login attempts on record, for every email.
    pub async fn login_failures(&self) -> i64 {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::staff::failure_count(&mut conn)
            .await
            .unwrap()
    }

    /// How many different logos a submission's revisions show.
    pub async fn distinct_logos(&self, id: i64) -> usize {
        let revisions = self.revisions(id).await;
        let logos: std::collections::HashSet<&str> =
            revisions.iter().map(|r| r.logo.0.as_str()).collect();
        logos.len()
    }

    /// Every outbox row, oldest first.
    pub async fn outbox(&self) -> Vec<OutboxRow> {
        let mut conn = self.db.acquire().await.unwrap();
        partner_registry::db::outbox::all(&mut conn).await.unwrap()
    }
}

/// The first link in `text` that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
}

/// What the server answered a body sent by `post_streamed`, and how much of it got out.
#[derive(Debug)]
pub struct Streamed {
    /// The status line's code, read even when the server stopped the upload half way.
    pub status: u16,
    /// Body bytes the client got onto the wire before the server stopped it (or all of them).
    pub sent: usize,
}

impl TestApp {
    /// POST `chunks` (chunked) to `path` over a plain socket, as a client that keeps sending
    /// while the server answers. reqwest can lose the answer to a write error once the server
    /// stops reading; a socket of our own reads the answer whatever happens to the upload. The
    /// visitor's anti-forgery cookie goes along, so a form token taken with `csrf_token` holds.
    pub async fn post_streamed(
        &self,
        path: &str,
        content_type: &str,
        chunks: impl futures_util::Stream<Item = Vec<u8>> + Send + 'static,
    ) -> Streamed {
        use futures_util::StreamExt;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let host = self.address.trim_start_matches("http://").to_owned();
        let url = reqwest::Url::parse(&self.address).unwrap();
        let cookies = self
            .jar_cookies(&url)
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n{cookies}\r\n"
        );
        let socket = tokio::net::TcpStream::connect(&host)
            .await
            .expect("connect");
        let (mut read, mut write) = socket.into_split();
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        let writer = tokio::spawn(async move {
            write.write_all(head.as_bytes()).await?;
            let mut chunks = std::pin::pin!(chunks);
            while let Some(chunk) = chunks.next().await {
                write
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                write.write_all(&chunk).await?;
                write.write_all(b"\r\n").await?;
                counter.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            write.write_all(b"0\r\n\r\n").await
        });
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        let status = std::str::from_utf8(&answer)
            .ok()
            .and_then(|text| text.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {:?}", String::from_utf8_lossy(&answer)));
        // The upload ends when the server stops taking it (or when it was all sent).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), writer)
            .await
            .expect("the server stops taking a body it refused");
        Streamed {
            status,
            sent: sent.load(Ordering::SeqCst),
        }
    }
}

/// A fresh data folder whose `registry.db` has the schema as it was before migration
/// `before` (every migration whose file name sorts before it), and a pool on it, for tests
/// that write rows the way an older portal did and then start today's.
pub async fn database_before(before: &str) -> (TempDir, sqlx::SqlitePool) {
    let old_migrations = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < before {
            std::fs::copy(&path, old_migrations.path().join(name)).unwrap();
        }
    }
    let data_dir = tempfile::tempdir().unwrap();
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(data_dir.path().join("registry.db"))
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
        )
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old_migrations.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    (data_dir, pool)
}
