//! The server as `partner-registry` serves it, but with SQLite's `synchronous=NORMAL` instead
//! of FULL. Only for `scripts/bench.sh` (figure (b), FULL vs NORMAL): what one fsync per commit
//! costs under a sustained load is measured, not remembered.

use partner_registry::config::Settings;
use partner_registry::startup::Application;
use partner_registry::telemetry;
use sqlx::sqlite::SqliteSynchronous;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    partner_registry::startup::private_files();
    let mut settings = Settings::from_env()?;
    settings.sqlite_synchronous = SqliteSynchronous::Normal;
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
