//! Where one queued email stands, as staff see it on a submission's page.

/// Read from an outbox row (`OutboxRow::delivery`); the page says it in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Never tried yet, or put back by a staff retry (which starts the count afresh).
    Queued,
    /// A worker holds it right now.
    Sending {
        attempt: i64,
        of: i64,
    },
    /// The last try failed for a reason that may pass; the next is due at `next_at`.
    Retrying {
        attempt: i64,
        of: i64,
        next_at: i64,
        error: String,
    },
    Sent {
        at: i64,
    },
    /// Given up: the relay refused it for good, or every attempt failed. Staff may retry.
    Failed {
        error: String,
    },
    /// Never sent, on purpose (the per-address cap): why.
    Skipped {
        reason: String,
    },
}

impl DeliveryState {
    /// Staff may put it back in the queue.
    pub fn can_retry(&self) -> bool {
        matches!(self, DeliveryState::Failed { .. })
    }
}
