//! The display name of a partner's OAuth client, shown on consent screens.

use std::fmt;

/// Most characters (Unicode scalar values, not bytes) a client name may have.
pub const MAX_CHARS: usize = 100;

/// A trimmed, non-empty client name of at most [`MAX_CHARS`] characters
/// without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientNameError {
    #[error(
        "The client name must not contain invisible characters (direction overrides, zero-width spaces)."
    )]
    InvisibleCharacter,
    #[error("Enter the client name.")]
    Empty,
    #[error("The client name must be at most {max} characters; yours is {len}.", max = MAX_CHARS)]
    TooLong { len: usize },
    #[error("The client name must not contain control characters (line breaks, tabs).")]
    ControlCharacter,
}

/// Invisible formatting characters that can make a name on the consent screen read as another
/// (a right-to-left override turns "evil.exe" around; zero-width characters split look-alikes).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}' | '\u{00AD}')
}

impl ClientName {
    pub fn parse(input: &str) -> Result<ClientName, ClientNameError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ClientNameError::Empty);
        }
        let len = name.chars().count();
        if len > MAX_CHARS {
            return Err(ClientNameError::TooLong { len });
        }
        if name.chars().any(char::is_control) {
            return Err(ClientNameError::ControlCharacter);
        }
        if name.chars().any(is_invisible_format) {
            return Err(ClientNameError::InvisibleCharacter);
        }
        Ok(ClientName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ClientName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_direction_overrides_and_zero_width_characters_are_refused() {
        for name in [
            "Pay\u{202E}lapyaP",
            "Goo\u{200B}gle",
            "\u{FEFF}Ledgerly x",
            "Bank\u{2066}ing",
        ] {
            assert_eq!(
                ClientName::parse(name),
                Err(ClientNameError::InvisibleCharacter),
                "{name:?}"
            );
        }
        assert!(ClientName::parse("Café Zürich – 株式会社").is_ok());
    }
    use proptest::prelude::*;

    #[test]
    fn a_plain_name_is_accepted() {
        assert_eq!(
            ClientName::parse("Acme Portal").unwrap().as_str(),
            "Acme Portal"
        );
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(
            ClientName::parse("  \t Acme \r\n").unwrap().as_str(),
            "Acme"
        );
    }

    #[test]
    fn an_empty_name_is_refused() {
        assert_eq!(ClientName::parse(""), Err(ClientNameError::Empty));
    }

    #[test]
    fn a_whitespace_only_name_is_refused_as_empty() {
        assert_eq!(
            ClientName::parse(" \t\r\n\u{3000} "),
            Err(ClientNameError::Empty)
        );
    }

    #[test]
    fn a_single_character_name_is_accepted() {
        assert!(ClientName::parse("A").is_ok());
    }

    #[test]
    fn exactly_100_multibyte_characters_are_accepted() {
        let name = "é".repeat(100);
        assert_eq!(name.len(), 200, "the name is 200 bytes but 100 characters");
        assert_eq!(ClientName::parse(&name).unwrap().as_str(), name);
    }

    #[test]
    fn one_hundred_and_one_multibyte_characters_are_refused_with_the_count() {
        let name = "日".repeat(101);
        assert_eq!(
            ClientName::parse(&name),
            Err(ClientNameError::TooLong { len: 101 })
        );
    }

    #[test]
    fn the_length_is_measured_after_trimming() {
        let name = format!("   {}   ", "a".repeat(100));
        assert!(ClientName::parse(&name).is_ok());
    }

    #[test]
    fn the_too_long_message_names_the_limit_and_the_length() {
        let err = ClientName::parse(&"x".repeat(130)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The client name must be at most 100 characters; yours is 130."
        );
    }

    #[test]
    fn an_inner_tab_is_refused() {
        assert_eq!(
            ClientName::parse("Acme\tPortal"),
            Err(ClientNameError::ControlCharacter)
        );
    }

    #[test]
    fn an_inner_line_break_is_refused() {
        assert_eq!(
            ClientName::parse("Acme\r\nPortal"),
            Err(ClientNameError::ControlCharacter)
        );
        assert_eq!(
            ClientName::parse("Acme\nPortal"),
            Err(ClientNameError::ControlCharacter)
        );
    }

    #[test]
    fn other_control_characters_are_refused() {
        for c in ['\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}'] {
            let name = format!("Acme{c}Portal");
            assert_eq!(
                ClientName::parse(&name),
                Err(ClientNameError::ControlCharacter),
                "{c:?}"
            );
        }
    }

    #[test]
    fn error_messages_are_user_facing_sentences() {
        assert_eq!(ClientNameError::Empty.to_string(), "Enter the client name.");
        assert_eq!(
            ClientNameError::ControlCharacter.to_string(),
            "The client name must not contain control characters (line breaks, tabs)."
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in any::<String>()) {
            let _ = ClientName::parse(&s);
        }

        #[test]
        fn an_accepted_name_is_trimmed_short_and_free_of_control_characters(s in "\\PC{0,120}|[ \\t\\r\\na-z]{0,20}") {
            if let Ok(name) = ClientName::parse(&s) {
                let n = name.as_str();
                prop_assert_eq!(n, n.trim());
                prop_assert!(!n.is_empty());
                prop_assert!(n.chars().count() <= MAX_CHARS);
                prop_assert!(!n.chars().any(char::is_control));
            }
        }
    }

    /// Printable names, most of them acceptable, so the check is known to run.
    #[test]
    fn parsing_is_idempotent_and_most_printable_names_are_accepted() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let (tried, accepted) = (&AtomicU32::new(0), &AtomicU32::new(0));
        proptest!(|(s in "[ \t]{0,2}\\PC{1,60}[ \t]{0,2}")| {
            tried.fetch_add(1, Ordering::Relaxed);
            if let Ok(name) = ClientName::parse(&s) {
                accepted.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(ClientName::parse(name.as_str()), Ok(name.clone()));
            }
        });
        let (tried, accepted) = (
            tried.load(Ordering::Relaxed),
            accepted.load(Ordering::Relaxed),
        );
        assert!(
            accepted * 2 >= tried,
            "only {accepted} of {tried} names were accepted"
        );
    }
}
