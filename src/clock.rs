//! The time secrets and the feed run on. Production reads the system clock; tests move a
//! clock forward instead of sleeping, and moving it wakes whatever waits on time (the expiry
//! sweep).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::watch;

#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

struct Inner {
    /// Seconds added to the system clock (0 in production).
    offset: AtomicI64,
    /// Counts moves; a watcher sees every move, even one made while it was busy.
    moved: watch::Sender<u64>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock {
            inner: Arc::new(Inner {
                offset: AtomicI64::new(0),
                moved: watch::Sender::new(0),
            }),
        }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Unix seconds.
    pub fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp() + self.inner.offset.load(Ordering::SeqCst)
    }

    /// Move this clock (and every copy of it) forward, and wake what waits on it.
    pub fn advance(&self, seconds: i64) {
        self.inner.offset.fetch_add(seconds, Ordering::SeqCst);
        self.inner.moved.send_modify(|n| *n += 1);
    }

    pub fn advance_days(&self, days: i64) {
        self.advance(days * 86_400);
    }

    /// Tells when the clock is moved (never, in production).
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.inner.moved.subscribe()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("offset", &self.inner.offset.load(Ordering::SeqCst))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_moves_every_copy() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance_days(2);
        assert!(copy.now() >= before + 2 * 86_400);
    }
}
