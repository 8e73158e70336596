//! What every handler can reach. Built once by `Application::build`.

use std::sync::Arc;

use url::Url;

use crate::auth::csrf::CsrfKey;
use crate::auth::mfa::{KeySeal, MfaPolicy};
use crate::auth::password::HashingPool;
use crate::client_addr::{RateLimit, TrustedProxies};
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::AppEnv;
use crate::domain::scopes::ScopeCatalogue;
use crate::mail::Outbox;
use crate::uploads::Uploads;
use crate::web::form::BodyTimeouts;

pub struct AppState {
    pub db: Db,
    pub env: AppEnv,
    /// `PORTAL_NAME`, `PLATFORM_NAME`, `SUPPORT_EMAIL`: current while a request is served.
    pub branding: Arc<crate::branding::Branding>,
    pub public_url: Url,
    pub scopes: ScopeCatalogue,
    pub csrf: CsrfKey,
    /// Queues mail with its links sealed, and wakes the worker once it is committed.
    pub outbox: Outbox,
    /// `REGISTER_RATE_LIMIT`, per client address.
    pub register_limiter: RateLimit,
    /// `LOGIN_RATE_LIMIT`: every step of a staff login counts, per client address.
    pub login_limiter: RateLimit,
    /// Every Argon2 run of the server (logins, the setup page) goes through it: each holds
    /// 19 MiB, so they are bounded (see `HashingPool`).
    pub hasher: HashingPool,
    /// Whose `X-Forwarded-For` is believed (see `client_addr`).
    pub trusted_proxies: TrustedProxies,
    /// `Secure` and `__Host-` cookies when the public URL is https.
    pub secure_cookies: bool,
    /// The SHA-256 (hex) of the first-run setup link's token, while no staff account exists:
    /// the token itself is printed once and not kept (tokens are keys, SPEC §6).
    pub setup_token_hash: Option<String>,
    /// How long any form's body may take to arrive.
    pub body_timeouts: BodyTimeouts,
    /// `GET /register`'s empty form, rendered once (see `BlankForm` for the figure).
    pub blank_form: crate::routes::blank_form::BlankForm,
    /// Registration forms being read and their logos checked.
    pub uploads: Uploads,
    /// The time secrets and the feed run on (tests move it).
    pub clock: Clock,
    /// `SECRET_LIFETIME_DAYS`, in seconds.
    pub secret_lifetime: i64,
    /// Wakes the feed's delivery worker (a staff retry; new events).
    pub feed_wake: std::sync::Arc<tokio::sync::Notify>,
    /// `STAFF_MFA` (SPEC §9).
    pub staff_mfa: MfaPolicy,
    /// Seals staff TOTP keys under a key derived from the session key.
    pub totp_seal: KeySeal,
}
