//! `Application::build`: the pool and migrations, the routes and middleware, the background
//! tasks. `main` and every integration test start the portal through it.

use std::net::{IpAddr, TcpListener};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Logger, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::ExposeSecret;
use sqlx::SqlitePool;
use tokio::sync::Semaphore;
use url::Url;

use crate::auth::csrf::CsrfKey;
use crate::config::Settings;
use crate::domain::AppEnv;
use crate::domain::scopes::ScopeCatalogue;
use crate::{db, middleware, routes};

/// What every handler can reach.
pub struct AppState {
    pub db: SqlitePool,
    pub env: AppEnv,
    pub public_url: Url,
    pub scopes: ScopeCatalogue,
    pub csrf: CsrfKey,
    pub register_limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Logo decoding is CPU-bound: at most one per core at a time, so a burst of uploads
    /// queues instead of multiplying memory.
    pub logo_slots: Semaphore,
}

pub struct Application {
    port: u16,
    public_url: Url,
    db: SqlitePool,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("DATA_DIR: cannot create {}", settings.data_dir.display()))?;
        let db = db::connect(&settings.database_url)
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

        let register_limiter = NonZeroU32::new(settings.register_rate_limit)
            .map(|per_minute| RateLimiter::keyed(Quota::per_minute(per_minute)));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let state = web::Data::new(AppState {
            db: db.clone(),
            env: settings.app_env,
            public_url: public_url.clone(),
            scopes: settings.scopes.clone(),
            csrf: CsrfKey::new(session_key.expose_secret(), https),
            register_limiter,
            logo_slots: Semaphore::new(cores),
        });

        spawn_housekeeping(state.clone().into_inner());

        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(middleware::refuse_cross_site))
                .wrap(middleware::security_headers(https))
                .wrap(Logger::new("%r %s %Dms").exclude("/healthz"))
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
            db,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &Url {
        &self.public_url
    }

    pub fn db(&self) -> SqlitePool {
        self.db.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Expire held logos nobody came back for, and forget idle rate-limit entries.
fn spawn_housekeeping(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Some(limiter) = &state.register_limiter {
                limiter.retain_recent();
            }
            match state.db.acquire().await {
                Ok(mut conn) => {
                    if let Err(e) = db::logos::expire_unclaimed(&mut conn, db::now()).await {
                        tracing::warn!(error = %e, "expiring held logos failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "housekeeping could not reach the database"),
            }
        }
    });
}
