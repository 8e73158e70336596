//! `Logo::parse` and `inspect` on arbitrary bytes: no panic, no runaway allocation, and
//! every outcome consistent with the rules (sizes, messages, a clean re-encoded PNG).
#![no_main]

use libfuzzer_sys::fuzz_target;
use partner_registry::domain::logo::{
    Logo, LogoError, MAX_SIDE, MIN_SIDE, STORED_MAX_SIDE, inspect,
};

fuzz_target!(|bytes: &[u8]| {
    let header = inspect(bytes);
    let parsed = Logo::parse(bytes);

    match (&header, &parsed) {
        // `parse` starts with exactly the checks `inspect` runs.
        (Err(e), parsed) => assert_eq!(parsed.as_ref().unwrap_err(), e),
        (Ok((_, w, h)), _) => {
            assert_eq!(w, h);
            assert!((MIN_SIDE..=MAX_SIDE).contains(w), "{w}");
        }
    }

    match parsed {
        Ok(logo) => {
            let (format, side, _) = header.expect("parse accepted what inspect refused");
            assert_eq!(logo.source_format(), format);
            assert_eq!(logo.original_side(), side);
            assert_eq!(logo.side(), side.min(STORED_MAX_SIDE));
            // The stored copy is itself an acceptable logo of the same size.
            let again = Logo::parse(logo.png()).expect("the re-encoded PNG is accepted");
            assert_eq!(again.side(), logo.side());
            assert_eq!(again.png(), logo.png(), "re-encoding is a fixed point");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            assert!(!message.chars().any(char::is_control), "{message:?}");
            if let LogoError::Unreadable { reason, .. } = &e {
                assert!(
                    !reason.is_empty() && reason.chars().count() <= 120,
                    "{reason:?}"
                );
            }
        }
    }
});
