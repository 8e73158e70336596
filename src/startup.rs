//! `Application::build`: the pool and migrations, the routes and middleware, the background
//! tasks. `main` and every integration test start the portal through it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use secrecy::ExposeSecret;
use url::Url;

use crate::auth::csrf::CsrfKey;
use crate::auth::mfa::KeySeal;
use crate::auth::password::HashingPool;
use crate::client_addr::RateLimit;
use crate::config::Settings;
use crate::db::Db;
use crate::logo_checker::LogoChecker;
use crate::mail::Outbox;
use crate::mail::seal::LinkSeal;
use crate::mail::transport::MailTransport;
use crate::mail::worker::{Worker, WorkerHandle};
use crate::state::AppState;
use crate::uploads::Uploads;
use crate::web::form::BodyTimeouts;
use crate::{db, middleware, routes};

pub struct Application {
    port: u16,
    public_url: Url,
    setup_url: Option<Url>,
    db: Db,
    server: Server,
    mail_worker: Worker,
    mail_task: Option<WorkerHandle>,
    feed_worker: Option<crate::feed::worker::FeedWorker>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        private_files();
        fewer_malloc_arenas();
        create_private_dir(&settings.data_dir).context("DATA_DIR")?;
        let db = Db::open_with(&settings.database_url, settings.sqlite_synchronous)
            .await
            .with_context(|| format!("DATABASE_URL: cannot open {}", settings.database_url))?;
        let session_key = settings.load_session_key().context("SESSION_KEY")?;

        let listener = TcpListener::bind(&settings.bind_addr)
            .with_context(|| format!("BIND_ADDR: cannot listen on {}", settings.bind_addr))?;
        let address = listener.local_addr()?;
        let public_url = match &settings.public_url {
            Some(url) => url.clone(),
            None => Url::parse(&format!("http://{address}")).expect("an address is a URL"),
        };
        let https = public_url.scheme() == "https";
        tracing::info!(%address, public_url = %public_url, env = settings.app_env.as_str(), "listening");

        let setup_token = first_run_setup_token(&db, &public_url).await?;
        let setup_url = setup_token.as_ref().map(|t| {
            public_url
                .join(&format!("staff/setup?token={t}"))
                .expect("a path")
        });
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let state = web::Data::new(AppState {
            db: db.clone(),
            env: settings.app_env,
            branding: Arc::new(settings.branding.clone()),
            public_url: public_url.clone(),
            scopes: settings.scopes.clone(),
            csrf: CsrfKey::new(session_key.expose_secret(), https),
            outbox: Outbox::new(LinkSeal::new(session_key.expose_secret()), &public_url),
            register_limiter: RateLimit::per_minute(settings.register_rate_limit),
            login_limiter: RateLimit::per_minute(settings.login_rate_limit),
            trusted_proxies: settings.trusted_proxies.clone(),
            hasher: HashingPool::with_size(settings.password_hashing)?,
            secure_cookies: https,
            setup_token_hash: setup_token.as_deref().map(crate::auth::sha256_hex),
            body_timeouts: BodyTimeouts {
                whole: settings.body_timeout,
                idle: settings.body_idle_timeout,
            },
            blank_form: Default::default(),
            uploads: Uploads::new(settings.upload_slot_wait, LogoChecker::start(cores)?),
            clock: settings.clock.clone(),
            secret_lifetime: settings.secret_lifetime_days * 86_400,
            feed_wake: Default::default(),
            staff_mfa: settings.staff_mfa,
            totp_seal: KeySeal::new(session_key.expose_secret()),
        });

        spawn_housekeeping(state.clone().into_inner());
        crate::expiry::spawn(state.clone().into_inner());
        let feed_worker = settings.provision.clone().map(|provision| {
            crate::feed::worker::FeedWorker::new(
                db.write.clone(),
                provision,
                settings.clock.clone(),
                state.feed_wake.clone(),
            )
        });
        if let Some(worker) = &feed_worker
            && settings.run_feed_worker
        {
            worker.clone().spawn();
        }
        let transport = MailTransport::from_settings(&settings)?;
        let mail_worker = Worker::new(
            db.write.clone(),
            state.outbox.wake_handle(),
            transport,
            settings.mail_from.clone(),
            state.outbox.seal().clone(),
            settings.clock.clone(),
        );
        let mail_task = settings
            .run_mail_worker
            .then(|| mail_worker.clone().spawn(settings.mail_idle_poll));

        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(routes::query_config())
                .app_data(routes::path_config())
                .wrap(from_fn(middleware::close_on_unread_body))
                .wrap(from_fn(middleware::refuse_cross_site))
                .wrap(from_fn(middleware::no_store_in_private_areas))
                .wrap(middleware::security_headers(https))
                .wrap(from_fn(middleware::access_log))
                .wrap(from_fn(crate::branding::scope))
                // gzip or brotli when accepted. Pages mask their anti-forgery token on every
                // render (auth::csrf) and the secret page opts out (routes::credentials): BREACH.
                .wrap(Compress::default())
                .wrap(from_fn(middleware::drop_identity_encoding))
                .configure(routes::configure)
        })
        .listen(listener)?
        // A client that is slow to send its headers is cut off; the body has its own timeout.
        .client_request_timeout(Duration::from_secs(10))
        .shutdown_timeout(10)
        .run();

        Ok(Application {
            port: address.port(),
            public_url,
            setup_url,
            db,
            server,
            mail_worker,
            mail_task,
            feed_worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &Url {
        &self.public_url
    }

    /// The first-run link printed in the log, when no staff account existed at start.
    pub fn setup_url(&self) -> Option<&Url> {
        self.setup_url.as_ref()
    }

    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// A handle on the outbox worker, to step it by hand (tests run without the loop).
    pub fn mail_worker(&self) -> Worker {
        self.mail_worker.clone()
    }

    /// Stops the server from outside (tests simulate a restart with it).
    /// A handle on the feed worker (with PROVISION_URL set), to step it by hand.
    pub fn feed_worker(&self) -> Option<crate::feed::worker::FeedWorker> {
        self.feed_worker.clone()
    }

    pub fn server_handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serve until stopped (a signal or the handle), then let the mail worker finish the
    /// message in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // The setup link was printed once; the server keeps only its hash.
        drop(self.setup_url);
        let served = self.server.await;
        if let Some(mail_task) = self.mail_task {
            mail_task.stop().await;
        }
        served
    }
}

/// Everything the portal writes is for its own user only (SPEC §6): the database and its WAL
/// hold registrations, `session.key` signs sessions, `.eml` files carry links. umask 077 makes
/// every file and folder created from here on 0600 / 0700, SQLite's and lettre's included.
pub fn private_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Create `dir` if needed and make it 0700 even if it existed already with a wider mode.
pub fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (0700)", dir.display()))?;
    }
    Ok(())
}

/// glibc gives threads up to 8 malloc arenas per core, and each arena keeps the memory freed
/// in it. Upload buffers (~1 MiB each) are allocated on the HTTP threads and freed on the logo
/// checkers', so a burst of 50 concurrent 1 MiB uploads kept ~200 MB resident for ~60 MB in
/// use. Two arenas keep that burst near 100 MB at no measurable cost in throughput
/// (docs/benchmarks.md, figure (d)). Set here rather than in `main`, so tests run what
/// production runs.
fn fewer_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator parameter, under the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// With no staff account yet, print a one-time link to create the first one.
async fn first_run_setup_token(db: &Db, public_url: &Url) -> anyhow::Result<Option<String>> {
    let mut conn = db.read.acquire().await?;
    if db::staff::count(&mut conn).await? > 0 {
        return Ok(None);
    }
    let token = crate::auth::random_token(32);
    let url = public_url.join(&format!("staff/setup?token={token}"))?;
    tracing::warn!("no staff account yet: create the first one at {url}");
    Ok(Some(token))
}

/// Expire held logos nobody came back for and ended sessions; forget idle rate-limit entries.
fn spawn_housekeeping(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            state.register_limiter.retain_recent();
            state.login_limiter.retain_recent();
            match state.db.write.acquire().await {
                Ok(mut conn) => {
                    let now = db::now();
                    if let Err(e) = db::logos::expire_unclaimed(&mut conn, now).await {
                        tracing::warn!(error = %e, "expiring held logos failed");
                    }
                    let idle = now - crate::auth::session::IDLE_TIMEOUT_SECONDS;
                    let absolute = now - crate::auth::session::ABSOLUTE_TIMEOUT_SECONDS;
                    let waiting = now - crate::auth::session::SECOND_FACTOR_TIMEOUT_SECONDS;
                    if let Err(e) =
                        db::staff::delete_expired_sessions(&mut conn, idle, absolute, waiting).await
                    {
                        tracing::warn!(error = %e, "expiring staff sessions failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "housekeeping could not reach the database"),
            }
        }
    });
}
