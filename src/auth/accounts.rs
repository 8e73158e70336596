//! Creating a staff account: the same rules and steps for the setup page, `staff add` and tests.

use lettre::Address;
use secrecy::SecretString;
use sqlx::SqlitePool;

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
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Check the name, email and password, hash the password (Argon2id, off the async threads)
/// and store the account. Returns its id. For `staff add` and tests, which hash one password
/// outside the server; the server goes through its `HashingPool` (`create_staff_through`).
pub async fn create_staff(
    pool: &SqlitePool,
    name: &str,
    email: &str,
    password: SecretString,
) -> Result<i64, NewStaffError> {
    create_staff_through(None, pool, name, email, password).await
}

/// `create_staff`, hashing through `hasher` when given.
pub async fn create_staff_through(
    hasher: Option<&HashingPool>,
    pool: &SqlitePool,
    name: &str,
    email: &str,
    password: SecretString,
) -> Result<i64, NewStaffError> {
    let mut errors = Vec::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push("Enter a name of 1 to 100 characters.".to_owned());
    }
    let email = email.trim();
    if email.parse::<Address>().is_err() {
        errors.push("Enter a valid email address.".to_owned());
    }
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
    let mut conn = pool.acquire().await?;
    db::staff::insert(&mut conn, email, name, &hash, db::now())
        .await?
        .ok_or_else(|| NewStaffError::Taken(email.to_owned()))
}
