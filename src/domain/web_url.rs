//! A public web page URL of a partner (home page, privacy policy, terms of service, …).

use std::fmt;

use url::Url;

use crate::domain::AppEnv;

/// Most bytes a URL may have, both as entered and once normalized.
pub const MAX_BYTES: usize = 2048;

/// An absolute `https` URL (also `http` in staging) with a host and no user-info,
/// stored in the normalized form produced by [`url::Url`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebUrlError {
    #[error("Enter a URL.")]
    Empty,
    #[error("The URL must be at most {max} bytes; yours is {len}.", max = MAX_BYTES)]
    TooLong { len: usize },
    #[error("The URL must not contain spaces, line breaks or other control characters.")]
    WhitespaceOrControl,
    #[error("Enter an absolute URL starting with https://")]
    NotAbsolute,
    #[error("The URL must use https (http is accepted only in staging); yours uses {scheme}.")]
    SchemeNotAllowed { scheme: String },
    #[error("The URL must not contain a user name or password.")]
    UserInfo,
    #[error("The URL must include a host name, e.g. https://example.com/.")]
    HostRequired,
    #[error("The URL's host name is not valid.")]
    InvalidHost,
    #[error("The URL's port number is not valid.")]
    InvalidPort,
    #[error("This is not a valid URL; enter an absolute URL starting with https://")]
    Invalid,
}

impl WebUrl {
    pub fn parse(input: &str, env: AppEnv) -> Result<WebUrl, WebUrlError> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(WebUrlError::Empty);
        }
        if raw.len() > MAX_BYTES {
            return Err(WebUrlError::TooLong { len: raw.len() });
        }
        // The url crate silently drops tabs and line breaks; refuse them instead.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(WebUrlError::WhitespaceOrControl);
        }
        let url = Url::parse(raw).map_err(map_parse_error)?;
        match (url.scheme(), env) {
            ("https", _) | ("http", AppEnv::Staging) => {}
            (scheme, _) => {
                return Err(WebUrlError::SchemeNotAllowed {
                    scheme: crate::domain::shorten(scheme),
                });
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WebUrlError::UserInfo);
        }
        match url.host_str() {
            Some(host) if !host.is_empty() => {}
            _ => return Err(WebUrlError::HostRequired),
        }
        let len = url.as_str().len();
        if len > MAX_BYTES {
            return Err(WebUrlError::TooLong { len });
        }
        Ok(WebUrl(url))
    }

    /// The normalized URL (`url::Url`'s serialization).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for WebUrl {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

fn map_parse_error(err: url::ParseError) -> WebUrlError {
    use url::ParseError as E;
    match err {
        E::RelativeUrlWithoutBase | E::RelativeUrlWithCannotBeABaseBase => WebUrlError::NotAbsolute,
        E::EmptyHost => WebUrlError::HostRequired,
        E::IdnaError
        | E::InvalidDomainCharacter
        | E::InvalidIpv4Address
        | E::InvalidIpv6Address => WebUrlError::InvalidHost,
        E::InvalidPort => WebUrlError::InvalidPort,
        _ => WebUrlError::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppEnv::{Production, Staging};
    use proptest::prelude::*;

    fn ok(input: &str, env: AppEnv) -> String {
        WebUrl::parse(input, env)
            .unwrap_or_else(|e| panic!("{input:?} should be accepted: {e}"))
            .as_str()
            .to_owned()
    }

    fn err(input: &str, env: AppEnv) -> WebUrlError {
        WebUrl::parse(input, env).expect_err(input)
    }

    #[test]
    fn an_https_url_is_accepted_in_both_environments() {
        assert_eq!(
            ok("https://example.com/privacy", Production),
            "https://example.com/privacy"
        );
        assert_eq!(
            ok("https://example.com/privacy", Staging),
            "https://example.com/privacy"
        );
    }

    #[test]
    fn the_url_is_trimmed_and_normalized() {
        assert_eq!(
            ok("  HTTPS://Example.COM  ", Production),
            "https://example.com/"
        );
        assert_eq!(
            ok("https://example.com:443/a/../b", Production),
            "https://example.com/b"
        );
    }

    #[test]
    fn an_international_host_is_stored_as_punycode() {
        assert_eq!(
            ok("https://bücher.example/", Production),
            "https://xn--bcher-kva.example/"
        );
    }

    #[test]
    fn a_query_and_fragment_are_kept() {
        assert_eq!(
            ok("https://a.example/p?x=1#top", Production),
            "https://a.example/p?x=1#top"
        );
    }

    #[test]
    fn an_empty_or_blank_url_is_refused() {
        assert_eq!(err("", Production), WebUrlError::Empty);
        assert_eq!(err(" \t\n ", Production), WebUrlError::Empty);
        assert_eq!(WebUrlError::Empty.to_string(), "Enter a URL.");
    }

    #[test]
    fn a_relative_url_is_refused() {
        for input in ["example.com", "/privacy", "//example.com/privacy"] {
            assert_eq!(err(input, Production), WebUrlError::NotAbsolute, "{input}");
        }
        assert_eq!(
            WebUrlError::NotAbsolute.to_string(),
            "Enter an absolute URL starting with https://"
        );
    }

    #[test]
    fn http_is_accepted_in_staging_only() {
        assert_eq!(ok("http://example.com/", Staging), "http://example.com/");
        assert_eq!(
            err("http://example.com/", Production),
            WebUrlError::SchemeNotAllowed {
                scheme: "http".into()
            }
        );
    }

    #[test]
    fn other_schemes_are_refused_with_the_scheme_named() {
        let e = err("ftp://example.com/file", Staging);
        assert_eq!(
            e.to_string(),
            "The URL must use https (http is accepted only in staging); yours uses ftp."
        );
        for input in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "mailto:a@b.c",
        ] {
            assert!(
                matches!(err(input, Staging), WebUrlError::SchemeNotAllowed { .. }),
                "{input}"
            );
        }
    }

    #[test]
    fn user_info_is_refused() {
        for input in [
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "https://:pw@example.com/",
        ] {
            assert_eq!(err(input, Production), WebUrlError::UserInfo, "{input}");
        }
        assert_eq!(
            WebUrlError::UserInfo.to_string(),
            "The URL must not contain a user name or password."
        );
    }

    #[test]
    fn a_missing_host_is_refused() {
        assert_eq!(err("https://", Production), WebUrlError::HostRequired);
        assert_eq!(err("https://:443/", Production), WebUrlError::HostRequired);
    }

    #[test]
    fn sloppy_slashes_are_normalized_the_way_browsers_read_them() {
        // WHATWG parsing: the stored (and shown) form is what a browser would visit.
        assert_eq!(ok("https:///path", Production), "https://path/");
        assert_eq!(
            ok("https:\\\\example.com\\a", Production),
            "https://example.com/a"
        );
    }

    #[test]
    fn an_invalid_host_or_port_is_refused() {
        assert_eq!(
            err("https://exa mple.com/", Production),
            WebUrlError::WhitespaceOrControl
        );
        assert_eq!(err("https://[::1/", Production), WebUrlError::InvalidHost);
        assert_eq!(
            err("https://example.com:99999/", Production),
            WebUrlError::InvalidPort
        );
    }

    #[test]
    fn inner_whitespace_and_control_characters_are_refused() {
        for input in [
            "https://example.com/a b",
            "https://exam\tple.com/",
            "https://example.com/\r\nSet-Cookie:x",
            "https://example.com/\u{0}",
            "https://example.com/a\u{2028}b",
        ] {
            assert_eq!(
                err(input, Production),
                WebUrlError::WhitespaceOrControl,
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_url_of_exactly_2048_bytes_is_accepted() {
        let base = "https://example.com/";
        let input = format!("{base}{}", "a".repeat(MAX_BYTES - base.len()));
        assert_eq!(ok(&input, Production).len(), MAX_BYTES);
    }

    #[test]
    fn a_url_of_2049_bytes_is_refused_with_its_length() {
        let base = "https://example.com/";
        let input = format!("{base}{}", "a".repeat(MAX_BYTES + 1 - base.len()));
        assert_eq!(err(&input, Production), WebUrlError::TooLong { len: 2049 });
    }

    #[test]
    fn the_too_long_message_names_the_limit_and_the_length() {
        let input = format!("https://example.com/{}", "a".repeat(3000 - 20));
        assert_eq!(
            err(&input, Production).to_string(),
            "The URL must be at most 2048 bytes; yours is 3000."
        );
    }

    #[test]
    fn a_url_that_grows_past_the_limit_when_normalized_is_refused() {
        // 700 × "é" is 1400 bytes typed but 4200 bytes percent-encoded.
        let input = format!("https://example.com/{}", "é".repeat(700));
        assert!(input.len() <= MAX_BYTES);
        assert!(matches!(err(&input, Production), WebUrlError::TooLong { len } if len > MAX_BYTES));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in any::<String>()) {
            let _ = WebUrl::parse(&s, Staging);
            let _ = WebUrl::parse(&s, Production);
        }

        #[test]
        fn parsing_url_like_strings_never_panics_and_is_idempotent(
            s in "(https?|ftp|HTTPS)://([a-zA-Z0-9@:.\\[\\]-]|é){0,20}(/[a-zA-Z0-9%._~!$&'()*+,;=:@/é-]{0,12}){0,3}(\\?[a-z0-9=&%]{0,10})?(#[a-z0-9%]{0,6})?"
        ) {
            for env in [Staging, Production] {
                if let Ok(url) = WebUrl::parse(&s, env) {
                    prop_assert!(url.as_url().username().is_empty());
                    prop_assert!(url.as_url().password().is_none());
                    prop_assert!(url.as_str().len() <= MAX_BYTES);
                    prop_assert_eq!(WebUrl::parse(url.as_str(), env), Ok(url.clone()));
                }
            }
        }

        #[test]
        fn parsing_arbitrary_strings_is_idempotent(s in any::<String>()) {
            if let Ok(url) = WebUrl::parse(&s, Staging) {
                prop_assert_eq!(WebUrl::parse(url.as_str(), Staging), Ok(url.clone()));
            }
        }
    }
}
