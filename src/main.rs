//! The command line: `serve` (the default) and the administrative commands.

use clap::{Parser, Subcommand};
use partner_registry::auth::accounts::create_staff_as;
use partner_registry::auth::mfa::Role;
use partner_registry::config::Settings;
use partner_registry::db;
use partner_registry::startup::Application;
use partner_registry::telemetry;
use secrecy::SecretString;

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
    /// Write a consistent copy of the database to FILE while the portal runs (VACUUM INTO).
    Backup {
        /// Where to write the copy; it must not exist yet.
        file: std::path::PathBuf,
    },
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff account. The password is read from standard input (one line) when it is
    /// not a terminal, else prompted for without echo.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the account an admin (the first account always is one).
        #[arg(long)]
        admin: bool,
    },
    /// Disable a staff account and end its sessions at once (the locked-out case: no admin
    /// can sign in to do it).
    Disable {
        #[arg(long)]
        email: String,
    },
}

#[tokio::main]
async fn main() {
    telemetry::init();
    let cli = Cli::parse();
    // Before any command writes a file: the database and backups are private (SPEC §6).
    partner_registry::startup::private_files();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("partner-registry: bad setting {e}");
            std::process::exit(2);
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Backup { file } => backup(settings, &file).await,
        Command::Staff {
            command: StaffCommand::Add { email, name, admin },
        } => staff_add(settings, &email, &name, admin).await,
        Command::Staff {
            command: StaffCommand::Disable { email },
        } => staff_disable(settings, &email).await,
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

async fn staff_add(settings: Settings, email: &str, name: &str, admin: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal};

    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password (at least 12 characters): ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    partner_registry::startup::create_private_dir(&settings.data_dir)?;
    let db = db::Db::open(&settings.database_url).await?;
    let role = if admin { Role::Admin } else { Role::Reviewer };
    create_staff_as(&db.write, name, email, SecretString::from(password), role).await?;
    println!("Staff account created for {}.", email.trim());
    Ok(())
}

async fn staff_disable(settings: Settings, email: &str) -> anyhow::Result<()> {
    let db = db::Db::open(&settings.database_url).await?;
    let email = email.trim();
    partner_registry::auth::accounts::disable_from_command_line(&db.write, email).await?;
    println!("Staff account {email} is disabled; its sessions have ended.");
    Ok(())
}

async fn backup(settings: Settings, file: &std::path::Path) -> anyhow::Result<()> {
    if file.exists() {
        anyhow::bail!("{} already exists; choose a new file name", file.display());
    }
    let db = db::Db::open(&settings.database_url).await?;
    // `VACUUM INTO` only reads this database, but SQLite counts it as a write, so the
    // read pool's `query_only` refuses it.
    db::backup(&db.write, file).await?;
    println!("Backup written to {}.", file.display());
    Ok(())
}
