//! The bare logo pipeline (`Logo::parse`: sniff, header checks, decode, resize, re-encode)
//! timed in-process, for comparison with `POST /register` in `scripts/bench.sh`.
//!
//! `cargo run --release --example logo_pipeline -- FILE [ITERATIONS] [THREADS]`
//!
//! Runs ITERATIONS parses (default 400) spread over THREADS threads (default: the cores, as
//! many as the server's logo slots) and prints `logos_per_second=… ms_per_logo=…`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use partner_registry::domain::logo::Logo;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .expect("usage: logo_pipeline FILE [ITERATIONS] [THREADS]");
    let iterations: usize = args.next().map_or(400, |n| n.parse().expect("ITERATIONS"));
    let threads: usize = args.next().map_or_else(
        || std::thread::available_parallelism().map_or(2, |n| n.get()),
        |n| n.parse().expect("THREADS"),
    );
    let bytes = std::fs::read(&file).expect("read FILE");

    // Warm up (page faults, allocator) and check the file is an acceptable logo at all.
    let logo = Logo::parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    for _ in 0..3 {
        Logo::parse(&bytes).unwrap();
    }

    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < iterations {
                    std::hint::black_box(Logo::parse(std::hint::black_box(&bytes)).unwrap());
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "logos_per_second={:.1} ms_per_logo={:.2} iterations={iterations} threads={threads} side={}->{} stored_bytes={}",
        iterations as f64 / seconds,
        seconds * 1000.0 / iterations as f64 * threads as f64,
        logo.original_side(),
        logo.side(),
        logo.png().len(),
    );
}
