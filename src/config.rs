//! Settings, read once from the environment at start-up. A bad value stops start-up with one
//! line naming the variable; secrets are wrapped so they never reach a log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use lettre::transport::stub::AsyncStubTransport;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sqlx::sqlite::SqliteSynchronous;
use url::Url;

use crate::auth::mfa::MfaPolicy;
use crate::client_addr::TrustedProxies;
use crate::domain::AppEnv;
use crate::domain::scopes::ScopeCatalogue;

pub const SESSION_KEY_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Where the SMTP relay is, parsed enough to refuse plain text to a non-loopback host.
#[derive(Clone)]
pub struct SmtpUrl(SecretString);

impl SmtpUrl {
    pub fn parse(raw: &str) -> Result<SmtpUrl, String> {
        let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        let host = url.host_str().ok_or("has no host")?;
        match url.scheme() {
            "smtps" => {}
            "smtp" => {
                // `tls=opportunistic` falls back to clear text whenever the relay (or anyone in
                // between) leaves STARTTLS out, so it counts as plain.
                let tls_required = url
                    .query_pairs()
                    .any(|(k, v)| k == "tls" && v == "required");
                if !tls_required && !is_loopback_host(host) {
                    return Err(format!(
                        "smtp:// to {host} without ?tls=required could send passwords and mail in clear text; use smtps:// or ?tls=required (plain or opportunistic TLS is allowed only for loopback)"
                    ));
                }
            }
            other => return Err(format!("scheme must be smtps or smtp, not {other}")),
        }
        Ok(SmtpUrl(SecretString::from(raw.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL without its password, for the start-up log.
    pub fn redacted(&self) -> String {
        match Url::parse(self.expose()) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                url.to_string()
            }
            Err(_) => "<invalid>".into(),
        }
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub bind_addr: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub app_env: AppEnv,
    /// `None` means "http://<the address we actually bound>", known only after binding.
    pub public_url: Option<Url>,
    pub smtp_url: Option<SmtpUrl>,
    pub mail_from: Mailbox,
    /// `PORTAL_NAME`, `PLATFORM_NAME`, `SUPPORT_EMAIL`.
    pub branding: crate::branding::Branding,
    /// `None` means: load or create `$DATA_DIR/session.key`.
    pub session_key: Option<std::sync::Arc<SecretBox<[u8; SESSION_KEY_LEN]>>>,
    pub scopes: ScopeCatalogue,
    pub register_rate_limit: u32,
    /// Staff login attempts a minute per client address; 0 = off.
    pub login_rate_limit: u32,
    pub trusted_proxies: TrustedProxies,
    /// `STAFF_MFA`: whether every staff account must have a second factor (SPEC §9).
    pub staff_mfa: MfaPolicy,
    /// Start the background mail worker. Not a setting: tests turn it off and step the worker
    /// by hand.
    pub run_mail_worker: bool,
    /// Start the background feed worker (with PROVISION_URL). Not a setting: tests may step
    /// it by hand.
    pub run_feed_worker: bool,
    /// How long a client may take to send a form's body. Not a setting: tests shorten it.
    pub body_timeout: std::time::Duration,
    /// How long a form's body may send nothing at all before it is cut off (SPEC §6), however
    /// much of `body_timeout` is left. Not a setting: tests shorten it.
    pub body_idle_timeout: std::time::Duration,
    /// How long a form waits for an upload slot before it gets 503 (SPEC §6). Not a setting:
    /// tests shorten it.
    pub upload_slot_wait: std::time::Duration,
    /// `SECRET_LIFETIME_DAYS`: a client secret expires this long after it is revealed.
    pub secret_lifetime_days: i64,
    /// `PROVISION_URL` and `PROVISION_SECRET`: where the feed worker POSTs events, signed.
    pub provision: Option<Provision>,
    /// The time secrets and the feed run on. Not a setting: tests move it forward.
    pub clock: crate::clock::Clock,
    /// How often an idle mail worker looks for retries that came due; new mail wakes it at
    /// once. Not a setting: tests lengthen it to see that the wake-up, not the poll, sends.
    pub mail_idle_poll: std::time::Duration,
    /// SQLite's `synchronous`: FULL (see `db::Db::open`). Not a setting: only
    /// `examples/bench_server.rs` sets NORMAL, so `scripts/bench.sh` can measure what FULL costs.
    pub sqlite_synchronous: SqliteSynchronous,
    /// The password-hashing pool (`HashingPool`). Not a setting: a test shrinks it to one
    /// thread and no queue to see the busy page.
    pub password_hashing: crate::auth::password::PoolSize,
    /// Keep sent mail in this in-process transport instead of files or SMTP. Not a setting:
    /// tests read what was sent from it.
    pub memory_mail: Option<AsyncStubTransport>,
}

/// Where feed events go, and the key they are signed with.
#[derive(Debug, Clone)]
pub struct Provision {
    pub url: Url,
    pub key: std::sync::Arc<crate::feed::signature::SigningKey>,
}

/// `PROVISION_URL` follows the SMTP rule: https, or http only to loopback.
fn provision_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    let host = url.host_str().ok_or("has no host")?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(host) => Ok(url),
        "http" => Err(format!(
            "http:// to {host} would send client metadata in clear text; use https (http is allowed only for loopback)"
        )),
        other => Err(format!("scheme must be https, not {other}")),
    }
}

/// A client secret's lifetime unless `SECRET_LIFETIME_DAYS` says otherwise.
pub const DEFAULT_SECRET_LIFETIME_DAYS: i64 = 365;

/// The whole body of a form must arrive within this.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// A body that sends nothing for this long is cut off (SPEC §6: 10 s).
pub const BODY_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// An idle mail worker looks for due retries this often.
pub const MAIL_IDLE_POLL: std::time::Duration = std::time::Duration::from_secs(5);
/// A form waits at most this long for an upload slot (SPEC §6: 5 s).
pub const UPLOAD_SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Settings::from_vars(&vars)
    }

    /// Tests build settings from a map, exactly as start-up does from the environment.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());

        let bind_addr = get("BIND_ADDR").unwrap_or("127.0.0.1:8080").to_owned();
        if bind_addr.parse::<SocketAddr>().is_err() {
            return Err(bad(
                "BIND_ADDR",
                format!("{bind_addr:?} is not an address like 127.0.0.1:8080"),
            ));
        }
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or("./data"));
        let database_url = match get("DATABASE_URL") {
            Some(url) if url.starts_with("sqlite:") => url.to_owned(),
            Some(url) => return Err(bad("DATABASE_URL", format!("{url:?} is not a sqlite: URL"))),
            None => format!("sqlite://{}", data_dir.join("registry.db").display()),
        };
        let app_env = match get("APP_ENV").unwrap_or("staging") {
            "staging" => AppEnv::Staging,
            "production" => AppEnv::Production,
            other => {
                return Err(bad(
                    "APP_ENV",
                    format!("{other:?} must be staging or production"),
                ));
            }
        };
        let public_url = match get("PUBLIC_URL") {
            None => None,
            Some(raw) => {
                let url = Url::parse(raw).map_err(|e| bad("PUBLIC_URL", format!("{e}")))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(bad("PUBLIC_URL", "must be an http:// or https:// URL"));
                }
                Some(url)
            }
        };
        let smtp_url = get("SMTP_URL")
            .map(SmtpUrl::parse)
            .transpose()
            .map_err(|e| bad("SMTP_URL", e))?;
        let branding = crate::branding::Branding {
            portal_name: match get("PORTAL_NAME") {
                Some(name) => display_name("PORTAL_NAME", name)?,
                None => crate::branding::DEFAULT_PORTAL_NAME.to_owned(),
            },
            platform_name: get("PLATFORM_NAME")
                .map(|name| display_name("PLATFORM_NAME", name))
                .transpose()?,
            support_email: get("SUPPORT_EMAIL")
                .map(|raw| {
                    raw.parse::<lettre::Address>()
                        .map(|address| address.to_string())
                        .map_err(|e| bad("SUPPORT_EMAIL", format!("not an email address ({e})")))
                })
                .transpose()?,
        };
        let mail_from = match get("MAIL_FROM") {
            Some(raw) => raw
                .parse::<Mailbox>()
                .map_err(|e| bad("MAIL_FROM", format!("not a mailbox ({e})")))?,
            None => Mailbox::new(
                Some(branding.portal_name.clone()),
                "no-reply@localhost".parse().expect("a valid address"),
            ),
        };
        let session_key = get("SESSION_KEY")
            .map(|raw| parse_session_key(raw.as_bytes()))
            .transpose()
            .map_err(|e| bad("SESSION_KEY", e))?
            .map(|key| std::sync::Arc::new(SecretBox::new(Box::new(key))));
        let scopes = match get("SCOPES_FILE") {
            None => ScopeCatalogue::builtin(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| bad("SCOPES_FILE", format!("cannot read {path}: {e}")))?;
                ScopeCatalogue::from_toml(&text).map_err(|e| bad("SCOPES_FILE", e))?
            }
        };
        let per_minute = |var: &'static str, default: u32| match get(var) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<u32>()
                .map_err(|_| bad(var, format!("{raw:?} is not a whole number"))),
        };
        let register_rate_limit = per_minute("REGISTER_RATE_LIMIT", 10)?;
        let login_rate_limit = per_minute("LOGIN_RATE_LIMIT", 20)?;
        let trusted_proxies = get("TRUSTED_PROXIES")
            .map(TrustedProxies::parse)
            .transpose()
            .map_err(|e| bad("TRUSTED_PROXIES", e))?
            .unwrap_or_default();
        let staff_mfa = match get("STAFF_MFA") {
            Some(raw) => MfaPolicy::parse(raw).map_err(|e| bad("STAFF_MFA", e))?,
            None if app_env == AppEnv::Production => MfaPolicy::Required,
            None => MfaPolicy::Optional,
        };

        let secret_lifetime_days = match get("SECRET_LIFETIME_DAYS") {
            None => DEFAULT_SECRET_LIFETIME_DAYS,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|d| (8..=3650).contains(d))
                .ok_or_else(|| {
                    bad(
                        "SECRET_LIFETIME_DAYS",
                        format!("{raw:?} is not a whole number of days from 8 to 3650 (the last reminder goes 7 days before)"),
                    )
                })?,
        };

        let provision = match (get("PROVISION_URL"), get("PROVISION_SECRET")) {
            (None, None) => None,
            (Some(url), Some(secret)) => Some(Provision {
                url: provision_url(url).map_err(|e| bad("PROVISION_URL", e))?,
                key: std::sync::Arc::new(
                    crate::feed::signature::SigningKey::parse(secret)
                        .map_err(|e| bad("PROVISION_SECRET", e))?,
                ),
            }),
            (Some(_), None) => {
                return Err(bad(
                    "PROVISION_SECRET",
                    "is required with PROVISION_URL (whsec_ and base64 of at least 24 random bytes)",
                ));
            }
            (None, Some(_)) => {
                return Err(bad("PROVISION_URL", "is required with PROVISION_SECRET"));
            }
        };

        Ok(Settings {
            bind_addr,
            data_dir,
            database_url,
            app_env,
            public_url,
            smtp_url,
            mail_from,
            branding,
            session_key,
            scopes,
            register_rate_limit,
            login_rate_limit,
            trusted_proxies,
            staff_mfa,
            run_mail_worker: true,
            run_feed_worker: true,
            body_timeout: BODY_TIMEOUT,
            body_idle_timeout: BODY_IDLE_TIMEOUT,
            upload_slot_wait: UPLOAD_SLOT_WAIT,
            secret_lifetime_days,
            provision,
            clock: crate::clock::Clock::system(),
            mail_idle_poll: MAIL_IDLE_POLL,
            sqlite_synchronous: SqliteSynchronous::Full,
            password_hashing: crate::auth::password::PoolSize::for_this_machine(),
            memory_mail: None,
        })
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// The session key from the setting, else from `$DATA_DIR/session.key`, created once.
    pub fn load_session_key(&self) -> std::io::Result<SecretBox<[u8; SESSION_KEY_LEN]>> {
        if let Some(key) = &self.session_key {
            return Ok(SecretBox::new(Box::new(*key.expose_secret())));
        }
        let path = self.data_dir.join("session.key");
        match std::fs::read(&path) {
            Ok(bytes) => parse_session_key(&bytes)
                .map(|key| SecretBox::new(Box::new(key)))
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; SESSION_KEY_LEN];
                rand::rngs::OsRng.fill_bytes(&mut key);
                let encoded = hex_encode(&key);
                write_private(&path, encoded.as_bytes())?;
                Ok(SecretBox::new(Box::new(key)))
            }
            Err(e) => Err(e),
        }
    }
}

/// A name shown in page titles and email headers: one line of at most 100 characters.
fn display_name(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    if raw.chars().any(char::is_control) {
        return Err(bad(var, "must be one line without control characters"));
    }
    if raw.chars().count() > 100 {
        return Err(bad(var, "must be at most 100 characters"));
    }
    Ok(raw.to_owned())
}

/// 64 bytes, written as 128 hex digits (so the key file and the variable look the same).
fn parse_session_key(raw: &[u8]) -> Result<[u8; SESSION_KEY_LEN], String> {
    let text = std::str::from_utf8(raw).map_err(|_| "must be 128 hex digits".to_string())?;
    let text = text.trim();
    if text.len() != SESSION_KEY_LEN * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "must be 128 hex digits (64 bytes); it has {} characters",
            text.len()
        ));
    }
    let mut key = [0u8; SESSION_KEY_LEN];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("checked hex");
    }
    Ok(key)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_spec() {
        let s = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!(s.bind_addr, "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://./data/registry.db");
        assert_eq!(s.app_env, AppEnv::Staging);
        assert_eq!(s.register_rate_limit, 10);
        assert_eq!(s.login_rate_limit, 20);
        assert!(s.trusted_proxies.is_empty());
        assert!(s.smtp_url.is_none());
        assert_eq!(s.branding, crate::branding::Branding::default());
        assert_eq!(
            s.mail_from.to_string(),
            "Partner Registry <no-reply@localhost>"
        );
        assert_eq!(s.staff_mfa, MfaPolicy::Optional);
        let production = Settings::from_vars(&vars(&[("APP_ENV", "production")])).unwrap();
        assert_eq!(production.staff_mfa, MfaPolicy::Required);
        let relaxed = vars(&[("APP_ENV", "production"), ("STAFF_MFA", "optional")]);
        assert_eq!(
            Settings::from_vars(&relaxed).unwrap().staff_mfa,
            MfaPolicy::Optional
        );
    }

    #[test]
    fn the_portal_name_is_the_default_sender_name() {
        let s = Settings::from_vars(&vars(&[
            ("PORTAL_NAME", "Pleo Partners"),
            ("PLATFORM_NAME", "Pleo"),
            ("SUPPORT_EMAIL", "partners@pleo.example"),
        ]))
        .unwrap();
        assert_eq!(
            s.mail_from.to_string(),
            "Pleo Partners <no-reply@localhost>"
        );
        assert_eq!(s.branding.platform(), "Pleo");
        assert_eq!(s.branding.account(), "your Pleo account");
        assert_eq!(
            s.branding.support_email.as_deref(),
            Some("partners@pleo.example")
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("APP_ENV", "prod"),
            ("BIND_ADDR", "nowhere"),
            ("REGISTER_RATE_LIMIT", "ten"),
            ("LOGIN_RATE_LIMIT", "-1"),
            ("LOGIN_RATE_LIMIT", "twenty"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "127.0.0.1, proxy.internal"),
            ("PUBLIC_URL", "ftp://x"),
            ("SESSION_KEY", "short"),
            ("MAIL_FROM", "not a mailbox"),
            ("SUPPORT_EMAIL", "support at example"),
            ("PORTAL_NAME", "Two\nlines"),
            ("STAFF_MFA", "sometimes"),
            ("SMTP_URL", "smtp://mail.example.com:587?tls=opportunistic"),
        ] {
            let err = Settings::from_vars(&vars(&[(var, value)])).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(var));
        }
    }

    #[test]
    fn plain_smtp_is_refused_unless_the_host_is_loopback() {
        assert!(SmtpUrl::parse("smtp://mail.example.com:25").is_err());
        assert!(SmtpUrl::parse("smtp://u:p@mail.example.com:587?tls=opportunistic").is_err());
        assert!(SmtpUrl::parse("smtp://127.0.0.1:2525?tls=opportunistic").is_ok());
        assert!(SmtpUrl::parse("smtp://127.0.0.1:2525").is_ok());
        assert!(SmtpUrl::parse("smtp://u:p@mail.example.com:587?tls=required").is_ok());
        assert!(SmtpUrl::parse("smtps://u:p@mail.example.com").is_ok());
    }

    #[test]
    fn the_redacted_smtp_url_hides_the_password() {
        let url = SmtpUrl::parse("smtps://user:hunter2@mail.example.com").unwrap();
        assert!(!url.redacted().contains("hunter2"));
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
