//! Logo checks run on a few threads of their own, at low CPU priority.
//!
//! A logo check (decode, checks, resize, re-encode) is the one CPU-heavy step of a registration.
//! On the async threads it would stall every other request; on actix's blocking pool it ran at
//! the same priority as the threads that answer requests and commit to SQLite. Under a burst of
//! uploads those threads then waited for a core between every statement of a registration's
//! transaction while holding SQLite's write lock, and the other registrations queued behind it
//! with the cores half idle (measured: 20–30 % idle at 300 registrations/s). Here the checks
//! use whatever CPU the request path leaves, one thread per core.
//!
//! Measured against the same build with each check on tokio's `spawn_blocking` instead
//! (`ONLY=b scripts/bench.sh`, 2026-12-04, quiet machine, 3 × 5 s): 526 registrations/s on
//! the blocking pool, 690–695 /s here (+31 %), so the private threads stay.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::domain::logo::{self, Logo, LogoError};

/// Decoded pixels may take this much memory at once, all logo checks together. The largest
/// logo (4096×4096 at 8 bytes a pixel) fits alone; typical ones run side by side.
pub const DECODE_BUDGET_MIB: u32 = 128;

/// Nice value of the checking threads: they yield to request handling and SQLite whenever
/// both want a core, and use all of it otherwise.
const NICENESS: i32 = 10;

/// An upload waiting for a checking thread, with the decode memory reserved for it. The
/// waiting request and the queued job share it: the thread takes it out to decode it, and a
/// request dropped before that takes it back (`Withdraw`), which frees the bytes and the
/// reservation at once and leaves the thread an empty job to skip.
type Pending = Arc<Mutex<Option<(Vec<u8>, OwnedSemaphorePermit)>>>;

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Result<Logo, LogoError>>,
}

/// What a checking thread runs on each upload: `Logo::parse`. Tests start a checker with a
/// decoder that misbehaves (panics, or blocks until told) to see what the pool does around it.
type Parse = Arc<dyn Fn(&[u8]) -> Result<Logo, LogoError> + Send + Sync>;

pub struct LogoChecker {
    /// Unbounded, so queuing never blocks the async worker thread that queues: the memory
    /// budget is the bound. Each live job holds at least 1 MiB of it, so at most
    /// `DECODE_BUDGET_MIB` wait with their bytes; a withdrawn one is an empty shell.
    jobs: Sender<Job>,
    /// One permit per MiB of `DECODE_BUDGET_MIB`, reserved from the header before decoding,
    /// so a burst of large logos waits its turn instead of adding up. A reservation is held
    /// from the time its job is queued until its decode ends, and no longer.
    memory: Arc<Semaphore>,
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
        let (jobs, queue) = channel::<Job>();
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
            memory: Arc::new(Semaphore::new(DECODE_BUDGET_MIB as usize)),
        })
    }

    /// Check an upload; the bytes are moved, not copied, and freed once decoded (or once
    /// this future is dropped, if no thread has started on them yet).
    pub async fn check(&self, bytes: Vec<u8>) -> Result<Result<Logo, LogoError>, CheckerStopped> {
        // A header that does not parse is refused by `parse` at once, without decoding.
        let megabytes = match logo::inspect(&bytes) {
            Ok((_, width, height)) => decode_megabytes(width, height),
            Err(_) => 1,
        };
        let memory = self
            .memory
            .clone()
            .acquire_many_owned(megabytes)
            .await
            .map_err(|_| CheckerStopped)?;
        let pending: Pending = Arc::new(Mutex::new(Some((bytes, memory))));
        let _withdraw = Withdraw(pending.clone());
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { pending, reply })
            .map_err(|_| CheckerStopped)?;
        answer.await.map_err(|_| CheckerStopped)
    }
}

/// Dropped with the request's future: takes the upload back unless a thread already has it.
struct Withdraw(Pending);

impl Drop for Withdraw {
    fn drop(&mut self) {
        drop(take(&self.0));
    }
}

/// Whoever takes first, the request or a thread, has the upload and its reservation. Nothing
/// panics while holding the lock, so a poisoned one is still sound.
fn take(pending: &Pending) -> Option<(Vec<u8>, OwnedSemaphorePermit)> {
    pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

fn run(queue: &Mutex<Receiver<Job>>, parse: &dyn Fn(&[u8]) -> Result<Logo, LogoError>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job, never while checking.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(Job { pending, reply }) = job else {
            return; // the checker was dropped
        };
        let Some((bytes, memory)) = take(&pending) else {
            continue; // the request went away while this waited: nothing to decode
        };
        // A panic in a decoder must not take a checking thread with it. It comes from the
        // file (a decoder bug it triggers), so the partner is asked for another file (422),
        // and the thread goes on.
        let result = catch_unwind(AssertUnwindSafe(|| parse(&bytes))).unwrap_or_else(|_| {
            tracing::error!("a logo decoder panicked; the upload is refused as undecodable");
            Err(LogoError::Undecodable)
        });
        // The decode's memory is freed by now: so is its reservation.
        drop(bytes);
        drop(memory);
        let _ = reply.send(result);
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

    /// A decoder that waits until it is opened, and notes which uploads it was given: a slow
    /// decode keeps the one thread busy while the test queues and drops checks behind it.
    #[derive(Default)]
    struct Gate {
        open: Mutex<bool>,
        opened: std::sync::Condvar,
        seen: Mutex<Vec<Vec<u8>>>,
    }

    impl Gate {
        fn parse(self: &Arc<Gate>) -> Parse {
            let gate = self.clone();
            Arc::new(move |bytes: &[u8]| {
                gate.seen.lock().unwrap().push(bytes.to_vec());
                let mut open = gate.open.lock().unwrap();
                while !*open {
                    open = gate.opened.wait(open).unwrap();
                }
                Err(LogoError::Empty)
            })
        }

        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }

        fn seen(&self) -> Vec<Vec<u8>> {
            self.seen.lock().unwrap().clone()
        }

        /// Wait (a little) until the decoder has been given `count` uploads.
        async fn until_seen(&self, count: usize) {
            for _ in 0..500 {
                if self.seen.lock().unwrap().len() >= count {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("the decoder never got {count} uploads");
        }
    }

    async fn until_available(checker: &LogoChecker, permits: usize) {
        for _ in 0..500 {
            if checker.memory.available_permits() == permits {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!(
            "{} MiB of the budget free, not {permits}",
            checker.memory.available_permits()
        );
    }

    const BUDGET: usize = DECODE_BUDGET_MIB as usize;

    #[tokio::test]
    async fn a_decoder_panic_is_refused_as_undecodable_and_its_thread_goes_on() {
        // No known input panics `image` 0.25's decoders today; what matters is what the pool
        // does when one does, so the decoder here is `Logo::parse` behind a panicking file.
        let parse: Parse = Arc::new(|bytes: &[u8]| {
            if bytes == b"crash" {
                panic!("a decoder bug");
            }
            Logo::parse(bytes)
        });
        let checker = LogoChecker::start_with(1, parse).unwrap();
        let outcome = checker.check(b"crash".to_vec()).await;
        let message = match outcome {
            Ok(Err(refused)) => refused.to_string(),
            other => panic!("a refusal for the form, not {:?}", other.map(|r| r.is_ok())),
        };
        assert!(message.contains("could not be decoded"), "{message}");
        assert_eq!(checker.memory.available_permits(), BUDGET);
        // The only thread survived the panic and checks the next logo.
        let mut png = Vec::new();
        image::RgbaImage::from_pixel(128, 128, image::Rgba([1, 2, 3, 255]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(checker.check(png).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_check_dropped_while_queued_frees_its_reservation_at_once_and_is_never_decoded() {
        let gate = Arc::new(Gate::default());
        let checker = Arc::new(LogoChecker::start_with(1, gate.parse()).unwrap());
        // Junk headers reserve 1 MiB each.
        let first = tokio::spawn({
            let checker = checker.clone();
            async move { checker.check(b"first".to_vec()).await }
        });
        gate.until_seen(1).await;
        let queued = tokio::spawn({
            let checker = checker.clone();
            async move { checker.check(b"queued".to_vec()).await }
        });
        until_available(&checker, BUDGET - 2).await;

        queued.abort();
        assert!(queued.await.unwrap_err().is_cancelled());
        assert_eq!(
            checker.memory.available_permits(),
            BUDGET - 1,
            "the dropped check's reservation is back while the first still decodes"
        );

        gate.open();
        assert!(first.await.unwrap().unwrap().is_err());
        // One thread takes jobs in order: once a later check is answered, the dropped one
        // has been dealt with.
        assert!(checker.check(b"later".to_vec()).await.unwrap().is_err());
        assert_eq!(
            gate.seen(),
            [b"first".to_vec(), b"later".to_vec()],
            "the dropped check was never decoded"
        );
        assert_eq!(checker.memory.available_permits(), BUDGET);
    }

    #[tokio::test]
    async fn a_check_dropped_while_decoding_keeps_its_reservation_until_the_decode_ends() {
        let gate = Arc::new(Gate::default());
        let checker = Arc::new(LogoChecker::start_with(1, gate.parse()).unwrap());
        let decoding = tokio::spawn({
            let checker = checker.clone();
            async move { checker.check(b"decoding".to_vec()).await }
        });
        gate.until_seen(1).await;
        decoding.abort();
        assert!(decoding.await.unwrap_err().is_cancelled());
        assert_eq!(
            checker.memory.available_permits(),
            BUDGET - 1,
            "the decode still uses the memory reserved for it"
        );
        gate.open();
        until_available(&checker, BUDGET).await;
    }

    #[test]
    fn queuing_a_check_never_blocks_even_behind_many_abandoned_ones() {
        use futures_util::FutureExt;
        // A blocked send would block this runtime's only thread: run it on a thread of its
        // own and give up waiting for it, rather than hang the test run.
        let (done, finished) = std::sync::mpsc::channel();
        let gate = Arc::new(Gate::default());
        let test_gate = gate.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let checker = LogoChecker::start_with(1, test_gate.parse()).unwrap();
                let busy = checker.check(b"busy".to_vec());
                tokio::pin!(busy);
                assert!((&mut busy).now_or_never().is_none());
                test_gate.until_seen(1).await;
                // Each is queued (polled once) and dropped: more than any queue's capacity.
                for n in 0..(2 * BUDGET) {
                    let abandoned = checker.check(format!("abandoned {n}").into_bytes());
                    assert!(abandoned.now_or_never().is_none());
                    // tokio's budget would soon make `acquire` wait without yielding here.
                    tokio::task::yield_now().await;
                }
                test_gate.open();
                assert!(busy.await.unwrap().is_err());
                assert!(checker.check(b"last".to_vec()).await.unwrap().is_err());
                assert_eq!(checker.memory.available_permits(), BUDGET);
            });
            let _ = done.send(());
        });
        let outcome = finished.recv_timeout(std::time::Duration::from_secs(20));
        gate.open();
        assert!(
            outcome.is_ok(),
            "queuing a check blocked its thread (or failed)"
        );
        assert_eq!(
            gate.seen(),
            [b"busy".to_vec(), b"last".to_vec()],
            "no abandoned check was decoded"
        );
    }
}
