//! Starting the real app on port 0 with a temporary data folder, and talking to it.

use std::collections::HashMap;
use std::io::Cursor;

use actix_web::dev::ServerHandle;
use image::{ImageFormat, Rgba, RgbaImage};
use partner_registry::config::Settings;
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
    pub data_dir: TempDir,
    pub client: reqwest::Client,
    /// The first-run staff setup link the log prints.
    pub setup_url: Option<String>,
    /// The outbox worker: tests step it by hand (`mail.try_send_next()`); its loop is off
    /// unless `tune` turns `run_mail_worker` on.
    pub mail: Worker,
    server: ServerHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Start the app with settings adjusted by `adjust` (on top of the test defaults).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    spawn_app_tuned(adjust, |_| {}).await
}

/// Like `spawn_app_with`, and then `tune` adjusts what is not an environment setting.
pub async fn spawn_app_tuned(
    adjust: impl FnOnce(&mut HashMap<String, String>),
    tune: impl FnOnce(&mut Settings),
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("a temporary folder");
    spawn_app_in(data_dir, adjust, tune).await
}

/// Start the app on `data_dir`: an earlier app's, handed back by `stop`, to restart it.
pub async fn spawn_app_in(
    data_dir: TempDir,
    adjust: impl FnOnce(&mut HashMap<String, String>),
    tune: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut vars = HashMap::new();
    vars.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
    vars.insert("DATA_DIR".into(), data_dir.path().display().to_string());
    vars.insert("REGISTER_RATE_LIMIT".into(), "0".into());
    vars.insert("LOGIN_RATE_LIMIT".into(), "0".into());
    adjust(&mut vars);
    let mut settings = Settings::from_vars(&vars).expect("valid test settings");
    settings.run_mail_worker = false;
    tune(&mut settings);
    let app = Application::build(settings).await.expect("the app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    // The portal's write pool: what a test plants queues with the portal's own writers.
    let db = app.db().write;
    let setup_url = app.setup_url().map(|u| u.to_string());
    let mail = app.mail_worker();
    let server = app.server_handle();
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        data_dir,
        client: new_client(),
        setup_url,
        mail,
        server,
        running,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
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
    pub async fn decide(&self, id: i64, action: &str, fields: &[(&str, &str)]) -> Response {
        let revision = self.shown_revision(id).await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("revision", &revision));
        let page = format!("/staff/submissions/{id}");
        self.staff_post(&page, &format!("{page}/{action}"), &form)
            .await
    }

    /// The emails of one kind as their recipients get them, as (recipient, text part), in the
    /// order they were queued: everything due is sent first (to `.eml` files in the data
    /// folder, the transport when no SMTP_URL is set). The outbox itself holds no link in
    /// plain, so a test reads links where a partner would.
    pub async fn delivered(&self, kind: &str) -> Vec<(String, String)> {
        while self
            .mail
            .try_send_next()
            .await
            .expect("a worker step")
            .is_some()
        {}
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT recipient, message_id FROM outbox WHERE kind = ? AND state = 'sent' ORDER BY id",
        )
        .bind(kind)
        .fetch_all(&self.db)
        .await
        .unwrap();
        let mail_dir = self.data_dir.path().join("mail");
        let files: Vec<crate::smtp::Received> = match std::fs::read_dir(&mail_dir) {
            Ok(entries) => entries
                .map(|entry| crate::smtp::Received {
                    from: String::new(),
                    recipients: Vec::new(),
                    data: std::fs::read_to_string(entry.unwrap().path()).unwrap(),
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        rows.into_iter()
            .map(|(recipient, message_id)| {
                let message = files
                    .iter()
                    .find(|m| m.header("Message-ID").as_deref() == Some(&*message_id))
                    .unwrap_or_else(|| panic!("no .eml file for {message_id}"));
                (recipient, message.part("text/plain").expect("a text part"))
            })
            .collect()
    }
}

/// The first link in `text` that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
}
