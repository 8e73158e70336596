//! OAuth 2.0 redirect URIs a partner registers for its client.
//!
//! Policy (RFC 9700 §2.1 and §4.1, RFC 8252 §7): redirect URIs are compared by exact
//! string matching, so they must be absolute, without fragment, wildcard or user-info,
//! and use `https`. Plain `http` is accepted only for loopback hosts in staging.
//! Custom (private-use) schemes for native apps are not accepted.

use std::collections::HashMap;
use std::fmt;

use url::{Host, Url};

use crate::domain::AppEnv;

/// Most bytes a redirect URI may have, both as entered and once normalized.
pub const MAX_BYTES: usize = 2048;
/// Most redirect URIs one client may register.
pub const MAX_URIS: usize = 20;

/// Schemes that can run code or read local data in a browser; never a redirect target.
const DANGEROUS_SCHEMES: &[&str] = &[
    "javascript",
    "vbscript",
    "data",
    "file",
    "blob",
    "about",
    "filesystem",
];

/// Query parameter names (compared case-insensitively) that commonly carry a second,
/// attacker-controlled redirect target.
const OPEN_REDIRECT_PARAMS: &[&str] = &[
    "next",
    "url",
    "redirect",
    "redirect_uri",
    "redirect_url",
    "return",
    "return_to",
    "returnto",
    "goto",
    "dest",
    "destination",
    "continue",
    "target",
    "r",
    "u",
];

/// One registered redirect URI, stored in the normalized form produced by [`url::Url`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("Enter a redirect URI.")]
    Empty,
    #[error("Redirect URIs must be at most {max} bytes; yours is {len}.", max = MAX_BYTES)]
    TooLong { len: usize },
    #[error("Redirect URIs must not contain spaces, line breaks or other control characters.")]
    WhitespaceOrControl,
    #[error("Enter an absolute URI starting with https://")]
    NotAbsolute,
    #[error("{scheme}: URIs are never allowed as redirect URIs.")]
    DangerousScheme { scheme: String },
    #[error("Custom schemes ({scheme}) are not accepted; use an https URI.")]
    CustomScheme { scheme: String },
    #[error("Redirect URIs must not contain a fragment (#…).")]
    Fragment,
    #[error("Wildcards (*) are not allowed in redirect URIs.")]
    Wildcard,
    #[error("Redirect URIs must not contain a user name or password.")]
    UserInfo,
    #[error("Redirect URIs must include a host name, e.g. https://app.example.com/callback.")]
    HostRequired,
    #[error("The redirect URI's host name is not valid.")]
    InvalidHost,
    #[error("The redirect URI's port number is not valid.")]
    InvalidPort,
    #[error("This is not a valid URI; enter an absolute URI starting with https://")]
    Invalid,
    #[error("http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]) in staging.")]
    HttpNotAllowed,
}

impl RedirectUri {
    pub fn parse(input: &str, env: AppEnv) -> Result<RedirectUri, RedirectUriError> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(RedirectUriError::Empty);
        }
        if raw.len() > MAX_BYTES {
            return Err(RedirectUriError::TooLong { len: raw.len() });
        }
        // The url crate silently drops tabs and line breaks; refuse them instead.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(RedirectUriError::WhitespaceOrControl);
        }
        let scheme = raw_scheme(raw).ok_or(RedirectUriError::NotAbsolute)?;
        if DANGEROUS_SCHEMES.contains(&scheme.as_str()) {
            return Err(RedirectUriError::DangerousScheme { scheme });
        }
        if scheme != "https" && scheme != "http" {
            return Err(RedirectUriError::CustomScheme {
                scheme: crate::domain::shorten(&scheme),
            });
        }
        // Checked on the raw input: the url crate drops an empty fragment (`…/cb#`).
        if raw.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        if raw.contains('*') {
            return Err(RedirectUriError::Wildcard);
        }
        let url = Url::parse(raw).map_err(map_parse_error)?;
        // Normalization can decode one (`https://%2a.example/`, a full-width `＊` in IDNA).
        if url.as_str().contains('*') {
            return Err(RedirectUriError::Wildcard);
        }
        if url.fragment().is_some() || url.as_str().contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::UserInfo);
        }
        let host = match url.host() {
            Some(Host::Domain("")) | None => return Err(RedirectUriError::HostRequired),
            Some(host) => host,
        };
        if url.scheme() == "http" && !(env == AppEnv::Staging && is_loopback(&host)) {
            return Err(RedirectUriError::HttpNotAllowed);
        }
        let len = url.as_str().len();
        if len > MAX_BYTES {
            return Err(RedirectUriError::TooLong { len });
        }
        Ok(RedirectUri(url))
    }

    /// The normalized URI (`url::Url`'s serialization); the string to match exactly.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn is_http(&self) -> bool {
        self.0.scheme() == "http"
    }

    /// Names of query parameters that look like an open redirector (`?next=…`,
    /// `?return_to=…`, …), as written (percent-decoded), each once. A non-empty result
    /// flags the submission for the reviewer; it does not make the URI invalid.
    pub fn open_redirect_params(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for (name, _) in self.0.query_pairs() {
            let suspicious = OPEN_REDIRECT_PARAMS
                .iter()
                .any(|p| name.eq_ignore_ascii_case(p));
            if suspicious && !found.iter().any(|f| f.as_str() == name) {
                found.push(name.into_owned());
            }
        }
        found
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for RedirectUri {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// 1 to [`MAX_URIS`] distinct redirect URIs, in the order entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUris(Vec<RedirectUri>);

impl RedirectUris {
    /// Parses one URI per line (`\n` or `\r\n`; blank lines ignored). On failure returns
    /// every problem at once, each prefixed with its line number in `input`.
    pub fn parse(input: &str, env: AppEnv) -> Result<RedirectUris, Vec<String>> {
        let count = input.lines().filter(|l| !l.trim().is_empty()).count();
        if count == 0 {
            return Err(vec!["Enter at least one redirect URI.".to_owned()]);
        }
        if count > MAX_URIS {
            return Err(vec![format!(
                "Enter at most {MAX_URIS} redirect URIs; you entered {count}."
            )]);
        }
        let mut uris = Vec::with_capacity(count);
        let mut errors = Vec::new();
        let mut first_line_of: HashMap<String, usize> = HashMap::new();
        for (index, line) in input.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match RedirectUri::parse(line, env) {
                Ok(uri) => match first_line_of.get(uri.as_str()) {
                    Some(first) => errors.push(format!(
                        "Line {line_no} ({}): This redirect URI is listed twice (first on line {first}).",
                        crate::domain::shorten(line)
                    )),
                    None => {
                        first_line_of.insert(uri.as_str().to_owned(), line_no);
                        uris.push(uri);
                    }
                },
                Err(e) => errors.push(format!("Line {line_no} ({}): {e}", crate::domain::shorten(line))),
            }
        }
        if errors.is_empty() {
            Ok(RedirectUris(uris))
        } else {
            Err(errors)
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, RedirectUri> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a parsed list holds at least one URI.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_strings(&self) -> Vec<String> {
        self.0.iter().map(|u| u.as_str().to_owned()).collect()
    }
}

impl<'a> IntoIterator for &'a RedirectUris {
    type Item = &'a RedirectUri;
    type IntoIter = std::slice::Iter<'a, RedirectUri>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The scheme before the first `:`, lowercased, if the input starts with one
/// (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, RFC 3986 §3.1).
fn raw_scheme(raw: &str) -> Option<String> {
    let (scheme, _) = raw.split_once(':')?;
    let mut chars = scheme.chars();
    let first_is_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_is_alpha && rest_ok).then(|| scheme.to_ascii_lowercase())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => *d == "localhost",
        Host::Ipv4(ip) => *ip == std::net::Ipv4Addr::LOCALHOST,
        Host::Ipv6(ip) => *ip == std::net::Ipv6Addr::LOCALHOST,
    }
}

fn map_parse_error(err: url::ParseError) -> RedirectUriError {
    use url::ParseError as E;
    match err {
        E::RelativeUrlWithoutBase | E::RelativeUrlWithCannotBeABaseBase => {
            RedirectUriError::NotAbsolute
        }
        E::EmptyHost => RedirectUriError::HostRequired,
        E::IdnaError
        | E::InvalidDomainCharacter
        | E::InvalidIpv4Address
        | E::InvalidIpv6Address => RedirectUriError::InvalidHost,
        E::InvalidPort => RedirectUriError::InvalidPort,
        _ => RedirectUriError::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppEnv::{Production, Staging};
    use proptest::prelude::*;

    fn ok(input: &str, env: AppEnv) -> RedirectUri {
        RedirectUri::parse(input, env)
            .unwrap_or_else(|e| panic!("{input:?} should be accepted in {env:?}: {e}"))
    }

    fn err(input: &str, env: AppEnv) -> RedirectUriError {
        RedirectUri::parse(input, env).expect_err(input)
    }

    fn both(input: &str) -> [Result<RedirectUri, RedirectUriError>; 2] {
        [
            RedirectUri::parse(input, Staging),
            RedirectUri::parse(input, Production),
        ]
    }

    // --- single URI: accepted ---

    #[test]
    fn an_https_uri_is_accepted_in_both_environments() {
        for r in both("https://app.example.com/oauth/callback") {
            assert_eq!(
                r.unwrap().as_str(),
                "https://app.example.com/oauth/callback"
            );
        }
    }

    #[test]
    fn the_uri_is_trimmed_and_normalized() {
        let uri = ok("  HTTPS://App.Example.COM:443/cb?x=1  ", Production);
        assert_eq!(uri.as_str(), "https://app.example.com/cb?x=1");
        assert!(!uri.is_http());
    }

    #[test]
    fn a_query_string_is_allowed() {
        assert_eq!(
            ok("https://a.example/cb?tenant=42", Production).as_str(),
            "https://a.example/cb?tenant=42"
        );
    }

    // --- single URI: refused ---

    #[test]
    fn an_empty_or_blank_uri_is_refused() {
        assert_eq!(err("", Production), RedirectUriError::Empty);
        assert_eq!(err(" \t ", Staging), RedirectUriError::Empty);
    }

    #[test]
    fn a_relative_uri_is_refused() {
        for input in [
            "/cb",
            "//a.example/cb",
            "a.example/cb",
            "https//a.example/cb",
            "1https://a/",
        ] {
            assert_eq!(
                err(input, Staging),
                RedirectUriError::NotAbsolute,
                "{input}"
            );
        }
    }

    #[test]
    fn a_fragment_is_refused() {
        assert_eq!(
            err("https://a.example/cb#frag", Production),
            RedirectUriError::Fragment
        );
        assert_eq!(
            RedirectUriError::Fragment.to_string(),
            "Redirect URIs must not contain a fragment (#…)."
        );
    }

    #[test]
    fn an_empty_fragment_is_refused() {
        assert_eq!(
            err("https://a.example/cb#", Production),
            RedirectUriError::Fragment
        );
    }

    #[test]
    fn a_wildcard_in_the_host_is_refused() {
        assert_eq!(
            err("https://*.example.com/cb", Production),
            RedirectUriError::Wildcard
        );
    }

    #[test]
    fn a_wildcard_in_the_path_or_query_is_refused() {
        assert_eq!(
            err("https://a.example/*", Production),
            RedirectUriError::Wildcard
        );
        assert_eq!(
            err("https://a.example/cb?x=*", Production),
            RedirectUriError::Wildcard
        );
        assert_eq!(
            RedirectUriError::Wildcard.to_string(),
            "Wildcards (*) are not allowed in redirect URIs."
        );
    }

    #[test]
    fn a_wildcard_that_appears_only_after_normalization_is_refused() {
        for input in [
            "https://%2a.example/cb",
            "https://%2A/",
            "https://\u{FF0A}.example/cb",
        ] {
            assert_eq!(
                err(input, Production),
                RedirectUriError::Wildcard,
                "{input}"
            );
        }
    }

    #[test]
    fn an_encoded_asterisk_in_the_path_is_a_literal_character_not_a_wildcard() {
        assert_eq!(
            ok("https://a.example/%2A", Production).as_str(),
            "https://a.example/%2A"
        );
    }

    #[test]
    fn a_javascript_uri_is_refused_in_any_spelling() {
        for input in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "javascript://a.example/%0aalert(1)",
        ] {
            assert_eq!(
                err(input, Staging),
                RedirectUriError::DangerousScheme {
                    scheme: "javascript".into()
                },
                "{input}"
            );
        }
        assert_eq!(
            err("javascript:alert(1)", Staging).to_string(),
            "javascript: URIs are never allowed as redirect URIs."
        );
    }

    #[test]
    fn a_javascript_uri_split_by_a_tab_is_refused() {
        // The url crate would silently remove the tab and read `javascript:`.
        assert_eq!(
            err("java\tscript:alert(1)", Staging),
            RedirectUriError::WhitespaceOrControl
        );
    }

    #[test]
    fn data_file_and_vbscript_uris_are_refused() {
        assert_eq!(
            err("data:text/html,<script>alert(1)</script>", Staging).to_string(),
            "data: URIs are never allowed as redirect URIs."
        );
        assert_eq!(
            err("file:///etc/passwd", Staging),
            RedirectUriError::DangerousScheme {
                scheme: "file".into()
            }
        );
        assert_eq!(
            err("vbscript:msgbox(1)", Staging),
            RedirectUriError::DangerousScheme {
                scheme: "vbscript".into()
            }
        );
    }

    #[test]
    fn a_custom_scheme_is_refused_with_the_scheme_named() {
        let e = err("com.example.app:/cb", Staging);
        assert_eq!(
            e,
            RedirectUriError::CustomScheme {
                scheme: "com.example.app".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "Custom schemes (com.example.app) are not accepted; use an https URI."
        );
        assert!(matches!(
            err("myapp://callback", Production),
            RedirectUriError::CustomScheme { .. }
        ));
        assert!(matches!(
            err("ftp://a.example/", Production),
            RedirectUriError::CustomScheme { .. }
        ));
    }

    #[test]
    fn user_info_is_refused() {
        for input in [
            "https://user:pw@a.example/",
            "https://user@a.example/cb",
            "https://:pw@a.example/cb",
            "https://a.example@evil.example/cb",
        ] {
            assert_eq!(
                err(input, Production),
                RedirectUriError::UserInfo,
                "{input}"
            );
        }
    }

    #[test]
    fn a_missing_host_is_refused() {
        assert_eq!(err("https://", Production), RedirectUriError::HostRequired);
        assert_eq!(
            err("https://:8443/cb", Production),
            RedirectUriError::HostRequired
        );
    }

    #[test]
    fn an_invalid_host_or_port_is_refused() {
        assert_eq!(
            err("https://[::1/cb", Production),
            RedirectUriError::InvalidHost
        );
        assert_eq!(
            err("https://a.example:70000/cb", Production),
            RedirectUriError::InvalidPort
        );
    }

    #[test]
    fn inner_whitespace_and_control_characters_are_refused() {
        for input in [
            "https://a.example/c b",
            "https://a.example/cb\r\nx",
            "https://a.example/\u{0}",
        ] {
            assert_eq!(
                err(input, Production),
                RedirectUriError::WhitespaceOrControl,
                "{input:?}"
            );
        }
    }

    // --- http and loopback ---

    #[test]
    fn http_to_localhost_is_accepted_in_staging_but_refused_in_production() {
        let uri = ok("http://localhost:8080/cb", Staging);
        assert!(uri.is_http());
        assert_eq!(uri.as_str(), "http://localhost:8080/cb");
        assert_eq!(
            err("http://localhost:8080/cb", Production),
            RedirectUriError::HttpNotAllowed
        );
    }

    #[test]
    fn http_to_127_0_0_1_is_accepted_in_staging_but_refused_in_production() {
        assert!(ok("http://127.0.0.1/cb", Staging).is_http());
        assert_eq!(
            err("http://127.0.0.1/cb", Production),
            RedirectUriError::HttpNotAllowed
        );
    }

    #[test]
    fn http_to_ipv6_loopback_is_accepted_in_staging_but_refused_in_production() {
        assert_eq!(ok("http://[::1]/cb", Staging).as_str(), "http://[::1]/cb");
        assert_eq!(
            err("http://[::1]:9000/cb", Production),
            RedirectUriError::HttpNotAllowed
        );
    }

    #[test]
    fn http_to_a_public_host_is_refused_even_in_staging() {
        let e = err("http://example.com/cb", Staging);
        assert_eq!(e, RedirectUriError::HttpNotAllowed);
        assert_eq!(
            e.to_string(),
            "http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]) in staging."
        );
    }

    #[test]
    fn hosts_that_merely_look_like_loopback_are_refused_over_http() {
        for input in [
            "http://localhost.evil.example/cb",
            "http://127.0.0.1.nip.io/cb",
            "http://127.0.0.2/cb",
            "http://0.0.0.0/cb",
        ] {
            assert_eq!(
                err(input, Staging),
                RedirectUriError::HttpNotAllowed,
                "{input}"
            );
        }
    }

    #[test]
    fn https_to_loopback_is_accepted_in_production() {
        assert!(!ok("https://localhost/cb", Production).is_http());
    }

    // --- length ---

    #[test]
    fn a_uri_of_exactly_2048_bytes_is_accepted() {
        let base = "https://a.example/";
        let input = format!("{base}{}", "a".repeat(MAX_BYTES - base.len()));
        assert_eq!(ok(&input, Production).as_str().len(), MAX_BYTES);
    }

    #[test]
    fn a_uri_of_2049_bytes_is_refused_with_its_length() {
        let base = "https://a.example/";
        let input = format!("{base}{}", "a".repeat(MAX_BYTES + 1 - base.len()));
        let e = err(&input, Production);
        assert_eq!(e, RedirectUriError::TooLong { len: 2049 });
        assert_eq!(
            e.to_string(),
            "Redirect URIs must be at most 2048 bytes; yours is 2049."
        );
    }

    #[test]
    fn a_uri_that_grows_past_the_limit_when_normalized_is_refused() {
        let input = format!("https://a.example/{}", "é".repeat(700));
        assert!(input.len() <= MAX_BYTES);
        assert!(
            matches!(err(&input, Production), RedirectUriError::TooLong { len } if len > MAX_BYTES)
        );
    }

    // --- open redirector flags ---

    #[test]
    fn a_next_parameter_is_flagged_as_a_possible_open_redirect() {
        let uri = ok("https://a.example/cb?next=/x", Production);
        assert_eq!(uri.open_redirect_params(), vec!["next".to_owned()]);
    }

    #[test]
    fn a_state_parameter_is_not_flagged() {
        assert!(
            ok("https://a.example/cb?state=1", Production)
                .open_redirect_params()
                .is_empty()
        );
        assert!(
            ok("https://a.example/cb", Production)
                .open_redirect_params()
                .is_empty()
        );
    }

    #[test]
    fn open_redirect_names_are_matched_case_insensitively_and_reported_once() {
        let uri = ok(
            "https://a.example/cb?Return_To=x&state=1&URL=y&return_to=z&r=1&%6Eext=2",
            Production,
        );
        assert_eq!(
            uri.open_redirect_params(),
            vec!["Return_To", "URL", "return_to", "r", "next"]
        );
    }

    #[test]
    fn every_listed_open_redirect_name_is_flagged() {
        for name in OPEN_REDIRECT_PARAMS {
            let uri = ok(&format!("https://a.example/cb?{name}=x"), Production);
            assert_eq!(uri.open_redirect_params(), vec![name.to_string()]);
        }
    }

    #[test]
    fn names_that_only_contain_a_flagged_word_are_not_flagged() {
        let uri = ok("https://a.example/cb?nextpage=2&user=1&rr=1", Production);
        assert!(uri.open_redirect_params().is_empty());
    }

    // --- lists ---

    fn list(uris: &[String]) -> String {
        uris.join("\n")
    }

    fn numbered(n: usize) -> Vec<String> {
        (1..=n)
            .map(|i| format!("https://a.example/cb{i}"))
            .collect()
    }

    #[test]
    fn a_list_split_by_lf_or_crlf_with_blank_lines_is_accepted_in_order() {
        let input =
            "\r\nhttps://a.example/one\r\n\r\n   \n  https://a.example/two  \nhttps://b.example/\n";
        let uris = RedirectUris::parse(input, Production).unwrap();
        assert_eq!(uris.len(), 3);
        assert!(!uris.is_empty());
        assert_eq!(
            uris.as_strings(),
            vec![
                "https://a.example/one",
                "https://a.example/two",
                "https://b.example/"
            ]
        );
        assert_eq!(uris.iter().count(), 3);
    }

    #[test]
    fn an_empty_list_is_refused() {
        assert_eq!(
            RedirectUris::parse(" \n\r\n \t", Production),
            Err(vec!["Enter at least one redirect URI.".to_owned()])
        );
        assert!(RedirectUris::parse("", Production).is_err());
    }

    #[test]
    fn twenty_uris_are_accepted() {
        assert_eq!(
            RedirectUris::parse(&list(&numbered(20)), Production)
                .unwrap()
                .len(),
            20
        );
    }

    #[test]
    fn twenty_one_uris_are_refused_with_the_count() {
        assert_eq!(
            RedirectUris::parse(&list(&numbered(21)), Production),
            Err(vec![
                "Enter at most 20 redirect URIs; you entered 21.".to_owned()
            ])
        );
    }

    #[test]
    fn ten_thousand_lines_give_one_error_without_parsing_each() {
        let input = "javascript:alert(1)\n".repeat(10_000);
        assert_eq!(
            RedirectUris::parse(&input, Production),
            Err(vec![
                "Enter at most 20 redirect URIs; you entered 10000.".to_owned()
            ])
        );
    }

    #[test]
    fn the_same_uri_twice_is_refused() {
        let input = "https://a.example/cb\nhttps://b.example/cb\nhttps://a.example/cb";
        assert_eq!(
            RedirectUris::parse(input, Production),
            Err(vec![
                "Line 3 (https://a.example/cb): This redirect URI is listed twice (first on line 1)."
                    .to_owned()
            ])
        );
    }

    #[test]
    fn uris_equal_after_normalization_count_as_duplicates() {
        let input = "https://a.example/cb\nHTTPS://A.EXAMPLE:443/cb";
        let errors = RedirectUris::parse(input, Production).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("Line 2 (HTTPS://A.EXAMPLE:443/cb): "),
            "{errors:?}"
        );
    }

    #[test]
    fn every_bad_line_is_reported_at_once_with_its_line_number() {
        let input = "https://ok.example/cb\njavascript:alert(1)\n\nhttp://example.com/cb\nhttps://a.example/cb#x";
        assert_eq!(
            RedirectUris::parse(input, Staging),
            Err(vec![
                "Line 2 (javascript:alert(1)): javascript: URIs are never allowed as redirect URIs."
                    .to_owned(),
                "Line 4 (http://example.com/cb): http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]) in staging."
                    .to_owned(),
                "Line 5 (https://a.example/cb#x): Redirect URIs must not contain a fragment (#…)."
                    .to_owned(),
            ])
        );
    }

    #[test]
    fn a_long_uri_is_shortened_to_60_characters_in_its_error() {
        let long = format!("https://a.example/{}#x", "p".repeat(200));
        let errors = RedirectUris::parse(&long, Production).unwrap_err();
        let shown = errors[0]
            .strip_prefix("Line 1 (")
            .and_then(|rest| rest.split_once("): "))
            .map(|(shown, _)| shown)
            .unwrap();
        assert_eq!(shown.chars().count(), 60);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_lone_carriage_return_inside_a_line_is_refused() {
        let errors = RedirectUris::parse("https://a.example/cb\rhttps://b.example/", Production)
            .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains('\u{FFFD}'),
            "control characters are not echoed: {errors:?}"
        );
        assert!(
            errors[0]
                .ends_with("must not contain spaces, line breaks or other control characters.")
        );
    }

    // --- properties ---

    const URI_LIKE: &str = "(https?|HTTP|javascript|data|file|com\\.example\\.app)://\
        ([a-z0-9.:@*\\[\\]-]|é|%2[aA]){0,16}(/[a-zA-Z0-9%._~!$&'()*+,;=:@#é-]{0,12}){0,3}\
        (\\?(next|state|url|x)=[a-z0-9/%]{0,6})?(#[a-z0-9]{0,4})?";

    proptest! {
        #[test]
        fn parsing_never_panics(s in any::<String>()) {
            for env in [Staging, Production] {
                if let Ok(uri) = RedirectUri::parse(&s, env) {
                    let _ = uri.open_redirect_params();
                }
                let _ = RedirectUris::parse(&s, env);
            }
        }

        #[test]
        fn an_accepted_uri_has_no_fragment_wildcard_or_user_info(s in URI_LIKE) {
            for env in [Staging, Production] {
                if let Ok(uri) = RedirectUri::parse(&s, env) {
                    prop_assert!(!uri.as_str().contains('#'));
                    prop_assert!(!uri.as_str().contains('*'));
                    prop_assert!(!s.contains('#') && !s.contains('*'));
                    prop_assert!(uri.as_url().username().is_empty());
                    prop_assert!(uri.as_url().password().is_none());
                    prop_assert!(uri.as_url().fragment().is_none());
                    prop_assert!(uri.as_url().host().is_some());
                    prop_assert!(uri.as_str().len() <= MAX_BYTES);
                    let scheme_ok = uri.as_url().scheme() == "https"
                        || (env == Staging && uri.as_url().scheme() == "http");
                    prop_assert!(scheme_ok);
                    let _ = uri.open_redirect_params();
                }
            }
        }

        #[test]
        fn parsing_a_uri_is_idempotent(s in URI_LIKE) {
            for env in [Staging, Production] {
                if let Ok(uri) = RedirectUri::parse(&s, env) {
                    prop_assert_eq!(RedirectUri::parse(uri.as_str(), env), Ok(uri.clone()));
                }
            }
        }

        #[test]
        fn a_failed_list_reports_one_line_numbered_message_per_problem(
            lines in proptest::collection::vec(URI_LIKE, 1..6)
        ) {
            if let Err(errors) = RedirectUris::parse(&lines.join("\n"), Production) {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.len() <= lines.len());
                for e in &errors {
                    prop_assert!(e.starts_with("Line ") || e.starts_with("Enter "), "{}", e);
                }
            }
        }
    }

    /// Lists made of plausible lines, kept where they parse on their own, so most lists are
    /// accepted and the check is known to run (a list of arbitrary lines almost never is).
    #[test]
    fn parsing_a_list_is_idempotent_and_most_lists_of_good_lines_are_accepted() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let (tried, accepted) = (&AtomicU32::new(0), &AtomicU32::new(0));
        const GOOD_LIKE: &str = "https://[a-z]{1,10}\\.example(/[a-z0-9._~-]{0,8}){0,3}(\\?state=[a-z0-9]{0,6})?\
            |http://(localhost|127\\.0\\.0\\.1):[1-9][0-9]{1,3}/[a-z]{0,6}\
            |com\\.example\\.app:/[a-z]{1,8}";
        proptest!(|(lines in proptest::collection::vec(GOOD_LIKE, 1..8))| {
            let good: Vec<&String> = lines
                .iter()
                .filter(|l| RedirectUri::parse(l, Staging).is_ok())
                .take(5)
                .collect();
            if good.is_empty() {
                return Ok(());
            }
            tried.fetch_add(1, Ordering::Relaxed);
            let input = good.iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\r\n");
            if let Ok(uris) = RedirectUris::parse(&input, Staging) {
                accepted.fetch_add(1, Ordering::Relaxed);
                let again = RedirectUris::parse(&uris.as_strings().join("\n"), Staging);
                prop_assert_eq!(again, Ok(uris.clone()));
            }
        });
        let (tried, accepted) = (
            tried.load(Ordering::Relaxed),
            accepted.load(Ordering::Relaxed),
        );
        assert!(tried >= 64, "only {tried} lists had a good line");
        assert!(
            accepted * 2 >= tried,
            "only {accepted} of {tried} lists were accepted"
        );
    }
}
