//! A reference consumer of the provisioning feed: verifies each delivery's Standard Webhooks
//! signature, drops replays, and prints the event. An operator can start from it.
//!
//!     PROVISION_SECRET=whsec_... RECEIVER_ADDR=127.0.0.1:9090 cargo run --example provision_receiver
//!
//! and run the portal with PROVISION_URL=http://127.0.0.1:9090/hook and the same secret.

use std::collections::HashSet;
use std::sync::Mutex;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Deliveries older or newer than this (seconds) are refused: a replayed capture goes stale.
const TOLERANCE: i64 = 5 * 60;

struct Receiver {
    key: Vec<u8>,
    /// webhook-ids already applied (a real server keeps these in its database).
    seen: Mutex<HashSet<String>>,
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name)?.to_str().ok()
}

async fn hook(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    let (Some(id), Some(ts), Some(signatures)) = (
        header(&req, "webhook-id"),
        header(&req, "webhook-timestamp"),
        header(&req, "webhook-signature"),
    ) else {
        return HttpResponse::BadRequest().body("missing webhook headers");
    };
    let Ok(timestamp) = ts.parse::<i64>() else {
        return HttpResponse::BadRequest().body("bad webhook-timestamp");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if (now - timestamp).abs() > TOLERANCE {
        return HttpResponse::BadRequest().body("timestamp too far from now");
    }
    // The header may carry several space-separated signatures (key rotation).
    let valid = signatures.split(' ').any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|given| {
                let mut mac = Hmac::<Sha256>::new_from_slice(&rx.key).expect("any key length");
                mac.update(format!("{id}.{timestamp}.").as_bytes());
                mac.update(&body);
                // Constant-time comparison.
                mac.verify_slice(&given).is_ok()
            })
    });
    if !valid {
        return HttpResponse::Unauthorized().body("bad signature");
    }
    if !rx.seen.lock().unwrap().insert(id.to_owned()) {
        // Already applied: answer 2xx so the portal stops retrying.
        return HttpResponse::NoContent().finish();
    }
    let event: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return HttpResponse::BadRequest().body("not JSON"),
    };
    println!(
        "{} #{} {} {}",
        event["type"].as_str().unwrap_or("?"),
        event["id"],
        event["data"]["client_id"].as_str().unwrap_or("?"),
        event["data"]
    );
    HttpResponse::NoContent().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let secret = std::env::var("PROVISION_SECRET").expect("PROVISION_SECRET=whsec_…");
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("starts with whsec_"))
        .expect("base64 after whsec_");
    let addr = std::env::var("RECEIVER_ADDR").unwrap_or_else(|_| "127.0.0.1:9090".into());
    let rx = web::Data::new(Receiver {
        key,
        seen: Mutex::default(),
    });
    println!("listening on http://{addr}/hook");
    HttpServer::new(move || {
        App::new()
            .app_data(rx.clone())
            .route("/hook", web::post().to(hook))
    })
    .bind(addr)?
    .run()
    .await
}
