//! The command line: `serve` (the default) and the administrative commands.

use clap::{Parser, Subcommand};
use partner_registry::config::Settings;
use partner_registry::startup::Application;
use partner_registry::telemetry;

#[derive(Parser)]
#[command(
    name = "partner-registry",
    version,
    about = "OAuth 2.0 client registration portal"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default).
    Serve,
}

#[tokio::main]
async fn main() {
    telemetry::init();
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("partner-registry: bad setting {e}");
            std::process::exit(2);
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
    };
    if let Err(e) = outcome {
        eprintln!("partner-registry: {e:#}");
        std::process::exit(1);
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(())
}
