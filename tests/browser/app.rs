//! The real app on port 0 with a temporary data folder, sending its mail to an SMTP sink.
//! (Copied in spirit from tests/api/helpers.rs: a second test binary cannot import it.)

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{ImageFormat, Rgba, RgbaImage};
use partner_registry::config::Settings;
use partner_registry::startup::Application;
use sqlx::SqlitePool;
use tempfile::TempDir;

use crate::smtp::SmtpSink;

pub struct TestApp {
    pub address: String,
    pub db: SqlitePool,
    pub data_dir: TempDir,
    pub mail: SmtpSink,
    /// The first-run staff setup link the log prints.
    pub setup_url: Option<String>,
}

/// Start the portal with its background mail worker delivering to a fresh SMTP sink.
pub async fn spawn_app() -> TestApp {
    let mail = SmtpSink::start();
    let data_dir = tempfile::tempdir().expect("a temporary folder");
    let mut vars = HashMap::new();
    vars.insert("BIND_ADDR".to_owned(), "127.0.0.1:0".to_owned());
    vars.insert("DATA_DIR".to_owned(), data_dir.path().display().to_string());
    vars.insert("REGISTER_RATE_LIMIT".to_owned(), "0".to_owned());
    vars.insert("SMTP_URL".to_owned(), mail.url());
    let settings = Settings::from_vars(&vars).expect("valid test settings");
    assert!(
        settings.run_mail_worker,
        "the browser tests rely on the real mail worker"
    );
    let app = Application::build(settings).await.expect("the app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    // The portal's write pool: what a test plants queues with the portal's own writers.
    let db = app.db().write;
    let setup_url = app.setup_url().map(|u| u.to_string());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        data_dir,
        mail,
        setup_url,
    }
}

pub const STAFF_EMAIL: &str = "reviewer@platform.example";
pub const STAFF_PASSWORD: &str = "a long staff password";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A staff account made the way `partner-registry staff add` makes one.
    pub async fn create_staff(&self, email: &str, name: &str, password: &str) {
        let password = password.to_owned().into();
        partner_registry::auth::accounts::create_staff(&self.db, name, email, password)
            .await
            .expect("a new staff account");
    }

    /// A file in the test's data folder, for the browser's file input.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.data_dir.path().join(name);
        std::fs::write(&path, bytes).expect("a test file");
        path
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// A generated picture: a soft gradient with a dark mark in the middle, so it shows on light
/// and dark backgrounds alike.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, y| {
        let (cx, cy) = (x as i64 - width as i64 / 2, y as i64 - height as i64 / 2);
        let r = (width.min(height) / 4) as i64;
        if cx * cx + cy * cy < r * r {
            Rgba([18, 52, 86, 255])
        } else {
            Rgba([
                (90 + x * 120 / width.max(1)) as u8,
                (160 + y * 60 / height.max(1)) as u8,
                200,
                255,
            ])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The first link in `text` that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
}
