//! Registration forms carry a logo of up to 2 MiB and need a CPU-heavy check: how many are
//! read at once, and where their logos are checked.

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::domain::logo::{Logo, LogoError};
use crate::error::{AppError, Busy};
use crate::logo_checker::LogoChecker;

/// Registration forms read and checked at once: each may hold up to 2 MiB, so a burst of
/// uploads waits in the kernel's socket buffers instead of in memory.
pub const UPLOAD_SLOTS: usize = 16;

pub struct Uploads {
    slots: Semaphore,
    /// How long a form waits for a slot before it is refused.
    slot_wait: Duration,
    checker: LogoChecker,
}

impl Uploads {
    pub fn new(slot_wait: Duration, checker: LogoChecker) -> Uploads {
        Uploads {
            slots: Semaphore::new(UPLOAD_SLOTS),
            slot_wait,
            checker,
        }
    }

    /// A slot to read one form in, held until its logo is checked. Bounded: while slow or
    /// stalled uploads hold every slot, a form is refused after a short wait instead of
    /// queuing behind them for as long as they care to take.
    pub async fn slot(&self) -> Result<SemaphorePermit<'_>, AppError> {
        match tokio::time::timeout(self.slot_wait, self.slots.acquire()).await {
            Ok(slot) => slot.map_err(|e| AppError::Internal(e.into())),
            Err(_) => {
                tracing::warn!("no upload slot came free in time; form refused with 503");
                Err(Busy::Uploads.into())
            }
        }
    }

    /// Check an upload's logo (see `LogoChecker`).
    pub async fn check_logo(&self, bytes: Vec<u8>) -> Result<Result<Logo, LogoError>, AppError> {
        self.checker
            .check(bytes)
            .await
            .map_err(|e| AppError::Internal(e.into()))
    }
}
