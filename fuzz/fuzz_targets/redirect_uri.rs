//! Redirect URI parsing, one URI and a list, in both environments: no panic, and whatever is
//! accepted keeps the rules (no fragment, wildcard or user-info; https, or http to a loopback
//! host in staging; at most 2048 bytes; a fixed point when parsed again).
#![no_main]

use libfuzzer_sys::fuzz_target;
use partner_registry::domain::AppEnv;
use partner_registry::domain::redirect_uri::{MAX_BYTES, MAX_URIS, RedirectUri, RedirectUris};
use url::Host;

fn check_accepted(uri: &RedirectUri, env: AppEnv) {
    let s = uri.as_str();
    assert!(!s.contains('#'), "fragment accepted: {s:?}");
    assert!(!s.contains('*'), "wildcard accepted: {s:?}");
    assert!(s.len() <= MAX_BYTES, "too long accepted: {}", s.len());
    assert!(
        !s.chars().any(|c| c.is_whitespace() || c.is_control()),
        "{s:?}"
    );

    // Read back by an independent parse of the stored string, not the parser's own value.
    let url = url::Url::parse(s).expect("an accepted URI parses");
    assert_eq!(url.as_str(), s);
    assert!(url.fragment().is_none(), "{s:?}");
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "user-info accepted: {s:?}"
    );
    let authority = &s[url.scheme().len() + 3..];
    let authority = &authority[..authority.find('/').unwrap_or(authority.len())];
    assert!(!authority.contains('@'), "user-info accepted: {s:?}");
    let host = url.host().expect("a host");
    assert!(!matches!(host, Host::Domain("")), "{s:?}");
    match url.scheme() {
        "https" => {}
        "http" => {
            assert_eq!(env, AppEnv::Staging, "http accepted in production: {s:?}");
            let loopback = match host {
                Host::Domain(d) => d == "localhost",
                Host::Ipv4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
                Host::Ipv6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
            };
            assert!(loopback, "http to a non-loopback host accepted: {s:?}");
        }
        other => panic!("scheme {other:?} accepted: {s:?}"),
    }

    // Idempotent: the stored form parses to itself.
    let again = RedirectUri::parse(s, env).expect("an accepted URI is accepted again");
    assert_eq!(again.as_str(), s);
    let _ = uri.open_redirect_params();
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(input) = std::str::from_utf8(bytes) else {
        return;
    };

    let mut accepted_in_production = None;
    for env in [AppEnv::Production, AppEnv::Staging] {
        let one = RedirectUri::parse(input, env);
        if let Ok(uri) = &one {
            check_accepted(uri, env);
        }
        match env {
            AppEnv::Production => accepted_in_production = one.ok(),
            // Staging accepts everything production does, normalized the same way.
            AppEnv::Staging => {
                if let Some(p) = &accepted_in_production {
                    assert_eq!(one.as_ref().map(|u| u.as_str()), Ok(p.as_str()));
                }
            }
        }

        match RedirectUris::parse(input, env) {
            Ok(list) => {
                assert!((1..=MAX_URIS).contains(&list.len()));
                let strings = list.as_strings();
                for (i, uri) in list.iter().enumerate() {
                    check_accepted(uri, env);
                    assert!(!strings[..i].contains(&strings[i]), "duplicate accepted");
                }
                let again = RedirectUris::parse(&strings.join("\n"), env).expect("idempotent");
                assert_eq!(again, list);
            }
            Err(messages) => {
                assert!(!messages.is_empty());
                for m in &messages {
                    assert!(!m.chars().any(char::is_control), "{m:?}");
                }
            }
        }
    }
});
