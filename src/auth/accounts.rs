//! Creating a staff account: the same rules and steps for the setup page, `staff add` and tests.

use lettre::Address;
use secrecy::SecretString;
use sqlx::SqlitePool;

use crate::auth::mfa::Role;
use crate::auth::password::{HashError, HashingPool, NewPassword};
use crate::db;

#[derive(Debug, thiserror::Error)]
pub enum NewStaffError {
    /// Every problem with the name, email and password, as sentences.
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    #[error("{0} already has a staff account.")]
    Taken(String),
    /// The server's hashing pool is full (`HashingPool`).
    #[error("The server is busy; try again in a few seconds.")]
    Busy,
    /// The first-run setup found an account already there (made by a concurrent setup).
    #[error("the first staff account exists already")]
    NotFirst,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Check the name, email and password, hash the password (Argon2id, off the async threads)
/// and store the account (`staff add` and tests). Returns its id.
pub async fn create_staff(
    pool: &SqlitePool,
    name: &str,
    email: &str,
    password: SecretString,
) -> Result<i64, NewStaffError> {
    create_staff_as(pool, name, email, password, Role::Reviewer).await
}

/// Like `create_staff`, with a role (`staff add --admin`). The first account is an admin
/// whatever `role` says.
pub async fn create_staff_as(
    pool: &SqlitePool,
    name: &str,
    email: &str,
    password: SecretString,
    role: Role,
) -> Result<i64, NewStaffError> {
    let (name, email, hash) = checked(None, name, email, password).await?;
    let mut conn = pool.acquire().await?;
    db::staff::insert(&mut conn, email, name, &hash, role, db::now())
        .await?
        .ok_or_else(|| NewStaffError::Taken(email.to_owned()))
}

/// The setup link's account: like `create_staff`, hashed through the server's pool, and
/// stored only if no account exists at that moment, in the same statement, so two setups
/// posted at once make one account.
pub async fn create_first_staff(
    hasher: &HashingPool,
    pool: &SqlitePool,
    name: &str,
    email: &str,
    password: SecretString,
) -> Result<i64, NewStaffError> {
    let (name, email, hash) = checked(Some(hasher), name, email, password).await?;
    let mut conn = pool.acquire().await?;
    db::staff::insert_first(&mut conn, email, name, &hash, db::now())
        .await?
        .ok_or(NewStaffError::NotFirst)
}

/// The trimmed name and email, or every problem with them (an invitation checks these alone).
pub fn check_name_and_email<'a>(
    name: &'a str,
    email: &'a str,
) -> Result<(&'a str, &'a str), Vec<String>> {
    let mut errors = Vec::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push("Enter a name of 1 to 100 characters.".to_owned());
    }
    let email = email.trim();
    if email.parse::<Address>().is_err() {
        errors.push("Enter a valid email address.".to_owned());
    }
    if errors.is_empty() {
        Ok((name, email))
    } else {
        Err(errors)
    }
}

/// The trimmed name and email and the password's hash (through `hasher` when given), or every
/// problem with them.
pub async fn checked<'a>(
    hasher: Option<&HashingPool>,
    name: &'a str,
    email: &'a str,
    password: SecretString,
) -> Result<(&'a str, &'a str, String), NewStaffError> {
    let (mut errors, name, email) = match check_name_and_email(name, email) {
        Ok((name, email)) => (Vec::new(), name, email),
        Err(errors) => (errors, name, email),
    };
    let password = NewPassword::parse(password)
        .map_err(|e| errors.push(e))
        .ok();
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return Err(NewStaffError::Invalid(errors));
    };
    let hash = match hasher {
        None => password.hash().await?,
        Some(hasher) => hasher.hash(password).await.map_err(|e| match e {
            HashError::Busy => NewStaffError::Busy,
            HashError::Failed(e) => NewStaffError::Other(e),
        })?,
    };
    Ok((name, email, hash))
}

/// `staff disable --email`: disable the account and end its sessions, with an audit entry, in
/// one transaction. An error when no account has the email.
pub async fn disable_from_command_line(pool: &SqlitePool, email: &str) -> anyhow::Result<()> {
    let now = db::now();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let Some(id) = db::accounts::disable_by_email(&mut tx, email, now).await? else {
        anyhow::bail!("no staff account has the email {email}");
    };
    db::staff::delete_sessions_of(&mut tx, id, None).await?;
    let by = db::audit::Actor {
        staff_id: None,
        email: "command line".to_owned(),
        name: "command line".to_owned(),
        client: "local".to_owned(),
    };
    db::audit::record(
        &mut tx,
        &by,
        db::audit::Kind::Disabled,
        Some(email),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
