//! CSS, scripts and icons, embedded in the binary so `cargo run` needs no files beside it.
//!
//! Each is served under a name that carries a hash of its content (`css/app.1a2b3c4d5e6f.css`),
//! computed once at start, so browsers may keep it for a year: a changed file gets a new URL.
//! Pages link to them through [`url`].

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Cache a file under its content-hashed name for as long as browsers allow.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    /// The name a template asks for: `css/app.css`.
    name: &'static str,
    /// The name it is served under: `css/app.<hash>.css`.
    hashed: String,
    content_type: &'static str,
    body: &'static [u8],
}

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "css/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/app.css"),
    ),
    (
        "js/form.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/form.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../static/icon.svg"),
    ),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, body)| Asset {
            name,
            hashed: hashed_name(name, body),
            content_type,
            body,
        })
        .collect()
});

/// `css/app.css` → `css/app.<first 12 hex digits of its SHA-256>.css`.
fn hashed_name(name: &str, body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{name}.{hash}"),
    }
}

/// The URL a page links a static file by. Panics on a name that is not embedded: a template
/// asking for one is a bug that the first render of that page shows.
pub fn url(name: &str) -> String {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no static file {name:?} is embedded"));
    format!("/static/{}", asset.hashed)
}

pub async fn serve(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.hashed == path.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(("Cache-Control", IMMUTABLE))
        .body(asset.body))
}

/// `/favicon.ico`, where browsers look without being told. Its URL cannot change, so it is
/// cached for a day rather than for ever.
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(&include_bytes!("../../static/favicon.ico")[..])
}

#[cfg(test)]
mod tests {
    use super::{hashed_name, url};

    #[test]
    fn a_hashed_name_changes_with_the_content_and_keeps_the_extension() {
        let a = hashed_name("css/app.css", b"body { color: red }");
        let b = hashed_name("css/app.css", b"body { color: blue }");
        assert_ne!(a, b);
        assert!(a.starts_with("css/app.") && a.ends_with(".css"), "{a}");
        assert_eq!(a.len(), "css/app..css".len() + 12);
    }

    #[test]
    fn every_embedded_file_has_a_url() {
        for name in ["css/app.css", "js/form.js", "icon.svg"] {
            assert!(url(name).starts_with("/static/"));
        }
    }
}
