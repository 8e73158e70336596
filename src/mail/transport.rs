//! How a built message leaves the portal: an SMTP relay when `SMTP_URL` is set, otherwise
//! `.eml` files in `$DATA_DIR/mail` (so a fresh checkout works without a mail server). Tests
//! keep it in memory instead.

use std::time::Duration;

use anyhow::Context;
use lettre::transport::stub::AsyncStubTransport;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;

/// Connecting to the relay waits at most this long (the worker bounds the whole send).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub enum MailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
    /// lettre's stub: it keeps every message (envelope and raw text) where the test that
    /// handed it in can read it, with no folder to scan and no server to run.
    Memory(AsyncStubTransport),
}

/// Why a send failed, sorted by what the worker should do about it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The relay refused the message for good (SMTP 5xx): retrying cannot help.
    #[error("{0}")]
    Permanent(String),
    /// Anything else: the relay is down, busy (4xx), slow, or the disk is full.
    #[error("{0}")]
    Transient(String),
}

impl MailTransport {
    /// The transport the settings ask for, logged (without the password) so an operator can
    /// see where mail goes.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<MailTransport> {
        if let Some(memory) = &settings.memory_mail {
            return Ok(MailTransport::Memory(memory.clone()));
        }
        match &settings.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .with_context(|| format!("SMTP_URL: cannot use {}", url.redacted()))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                tracing::info!(smtp_url = %url.redacted(), "mail goes to the SMTP relay");
                Ok(MailTransport::Smtp(transport))
            }
            None => {
                let dir = settings.mail_dir();
                crate::startup::create_private_dir(&dir).context("DATA_DIR")?;
                tracing::info!(folder = %dir.display(), "no SMTP_URL: mail is written as .eml files");
                Ok(MailTransport::Files(AsyncFileTransport::new(dir)))
            }
        }
    }

    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        match self {
            MailTransport::Smtp(smtp) => smtp
                .send_raw(message.envelope(), &message.formatted())
                .await
                .map(drop)
                .map_err(|e| {
                    if e.is_permanent() {
                        SendError::Permanent(e.to_string())
                    } else {
                        SendError::Transient(e.to_string())
                    }
                }),
            // A file that cannot be written (full disk, permissions) may be writable later.
            MailTransport::Files(files) => files
                .send_raw(message.envelope(), &message.formatted())
                .await
                .map(drop)
                .map_err(|e| SendError::Transient(e.to_string())),
            MailTransport::Memory(memory) => memory
                .send_raw(message.envelope(), &message.formatted())
                .await
                .map_err(|e| SendError::Transient(e.to_string())),
        }
    }

    /// Close pooled SMTP connections politely (QUIT) when the server stops.
    pub async fn shutdown(&self) {
        if let MailTransport::Smtp(smtp) = self {
            smtp.shutdown().await;
        }
    }
}
