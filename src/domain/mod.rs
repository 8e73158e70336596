//! Parse, don't validate: one type per concept, each built only through its `parse`.

pub mod client_name;
pub mod contacts;
pub mod delivery;
pub mod fields;
pub mod logo;
pub mod redirect_uri;
pub mod registration;
pub mod revision;
pub mod scopes;
pub mod status;
pub mod web_url;

/// The environment this portal issues clients for; it decides which URLs are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Staging,
    Production,
}

impl AppEnv {
    pub fn as_str(self) -> &'static str {
        match self {
            AppEnv::Staging => "staging",
            AppEnv::Production => "production",
        }
    }
}

/// Keeps an echoed value short (at most 60 characters) and free of control characters.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = s
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if s.chars().nth(MAX).is_some() {
        out.pop();
        out.push('…');
    }
    out
}
