//! Logo checks run on a few threads of their own, at low CPU priority.
//!
//! A logo check (decode, checks, resize, re-encode) is the one CPU-heavy step of a registration.
//! On the async threads it would stall every other request; on actix's blocking pool it ran at
//! the same priority as the threads that answer requests and commit to SQLite. Under a burst of
//! uploads those threads then waited for a core between every statement of a registration's
//! transaction while holding SQLite's write lock, and the other registrations queued behind it
//! with the cores half idle (measured: 20–30 % idle at 300 registrations/s). Here the checks
//! use whatever CPU the request path leaves, one thread per core.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, oneshot};

use crate::domain::logo::{self, Logo, LogoError};

/// Decoded pixels may take this much memory at once, all logo checks together. The largest
/// logo (4096×4096 at 8 bytes a pixel) fits alone; typical ones run side by side.
pub const DECODE_BUDGET_MIB: u32 = 128;

/// Nice value of the checking threads: they yield to request handling and SQLite whenever
/// both want a core, and use all of it otherwise.
const NICENESS: i32 = 10;

type Job = (Vec<u8>, oneshot::Sender<Result<Logo, LogoError>>);

/// What a checking thread runs on each upload: `Logo::parse`. Tests start a checker with a
/// decoder that misbehaves (panics, or blocks until told) to see what the pool does around it.
type Parse = Arc<dyn Fn(&[u8]) -> Result<Logo, LogoError> + Send + Sync>;

pub struct LogoChecker {
    jobs: SyncSender<Job>,
    /// One permit per MiB of `DECODE_BUDGET_MIB`, reserved from the header before decoding,
    /// so a burst of large logos waits its turn instead of adding up.
    memory: Semaphore,
}

#[derive(Debug, thiserror::Error)]
#[error("the logo check stopped unexpectedly")]
pub struct CheckerStopped;

impl LogoChecker {
    /// Starts `threads` checking threads; they stop when the checker is dropped.
    pub fn start(threads: usize) -> std::io::Result<LogoChecker> {
        LogoChecker::start_with(threads, Arc::new(Logo::parse))
    }

    fn start_with(threads: usize, parse: Parse) -> std::io::Result<LogoChecker> {
        // Jobs wait here until a thread is free. Each holds at least 1 MiB of the memory
        // budget, so no more than `DECODE_BUDGET_MIB` are ever queued and `send` never blocks.
        let (jobs, queue) = sync_channel::<Job>(DECODE_BUDGET_MIB as usize);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let parse = parse.clone();
            std::thread::Builder::new()
                .name(format!("logo-check-{n}"))
                .spawn(move || run(&queue, &*parse))?;
        }
        Ok(LogoChecker {
            jobs,
            memory: Semaphore::new(DECODE_BUDGET_MIB as usize),
        })
    }

    /// Check an upload; the bytes are moved, not copied, and freed once decoded.
    pub async fn check(&self, bytes: Vec<u8>) -> Result<Result<Logo, LogoError>, CheckerStopped> {
        // A header that does not parse is refused by `parse` at once, without decoding.
        let megabytes = match logo::inspect(&bytes) {
            Ok((_, width, height)) => decode_megabytes(width, height),
            Err(_) => 1,
        };
        let _memory = self
            .memory
            .acquire_many(megabytes)
            .await
            .map_err(|_| CheckerStopped)?;
        let (reply, answer) = oneshot::channel();
        self.jobs.send((bytes, reply)).map_err(|_| CheckerStopped)?;
        answer.await.map_err(|_| CheckerStopped)
    }
}

fn run(queue: &Mutex<Receiver<Job>>, parse: &dyn Fn(&[u8]) -> Result<Logo, LogoError>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job, never while checking.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok((bytes, reply)) = job else {
            return; // the checker was dropped
        };
        // A panic in a decoder must not take a checking thread with it: the request gets a
        // 500 (its reply is dropped) and the thread goes on.
        if let Ok(result) = catch_unwind(AssertUnwindSafe(|| parse(&bytes))) {
            drop(bytes);
            let _ = reply.send(result);
        }
    }
}

fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on this thread; a failure only leaves the priority as is.
        let done = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICENESS)
        };
        if done != 0 {
            tracing::warn!("could not lower the logo checks' CPU priority");
        }
    }
}

/// Memory a decode may need, in MiB: up to 8 bytes a pixel (16-bit RGBA, or the decoded source
/// beside its RGBA8 copy), capped at the whole budget so the largest logo still runs, alone.
fn decode_megabytes(width: u32, height: u32) -> u32 {
    let bytes = u64::from(width) * u64::from(height) * 8;
    (bytes.div_ceil(1024 * 1024) as u32).clamp(1, DECODE_BUDGET_MIB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decode_reservation_grows_with_the_pixels_and_the_largest_logo_runs_alone() {
        assert_eq!(decode_megabytes(128, 128), 1);
        assert_eq!(decode_megabytes(512, 512), 2);
        assert_eq!(decode_megabytes(2048, 2048), 32);
        assert_eq!(decode_megabytes(4096, 4096), DECODE_BUDGET_MIB);
        assert_eq!(
            decode_megabytes(60_000, 60_000),
            DECODE_BUDGET_MIB,
            "capped: refused by parse anyway"
        );
    }

    #[tokio::test]
    async fn a_logo_is_checked_on_the_pool_and_junk_is_refused() {
        let checker = LogoChecker::start(2).unwrap();
        let mut png = Vec::new();
        image::RgbaImage::from_pixel(128, 128, image::Rgba([10, 20, 30, 255]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let logo = checker.check(png).await.unwrap().unwrap();
        assert_eq!(logo.side(), 128);
        assert!(
            checker
                .check(b"not an image".to_vec())
                .await
                .unwrap()
                .is_err()
        );
    }
}
