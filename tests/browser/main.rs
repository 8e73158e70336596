//! The portal in a real browser: Debian's Chromium through chromedriver (fantoccini), the real
//! app on a free port with its mail worker sending to an in-test SMTP server, axe-core for WCAG.
//!
//! Needs `chromium`, `chromium-driver` (apt) and `node_modules/axe-core` (`npm ci`);
//! `scripts/test.sh` installs them. Screenshots land in `target/screenshots/`.

mod accounts;
mod app;
mod browser;
mod checks;
mod journey;
mod keyboard;
mod pages;
mod preview;
#[path = "../support/smtp.rs"]
#[allow(dead_code)] // shared with the other test binary, which uses other parts
mod smtp;
