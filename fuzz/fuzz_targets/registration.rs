//! The whole registration parse from a raw multipart body: the app's own streaming multipart
//! reader (`web::form::read_body`, with its limits), then `Registration::parse` with a fake
//! logo outcome (the logo check has its own target). No panic, limits kept, and whatever is
//! accepted keeps the field rules.
//!
//! Input layout: byte 0 picks the chunk size the body arrives in (0 = one chunk), byte 1 the
//! environment and the logo outcome, then the Content-Type header value up to the first `\n`,
//! then the body.
#![no_main]

use std::cell::RefCell;

use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use partner_registry::domain::AppEnv;
use partner_registry::domain::logo::MAX_LOGO_BYTES;
use partner_registry::domain::registration::{LogoId, Registration};
use partner_registry::domain::scopes::ScopeCatalogue;
use partner_registry::web::form::{MAX_BODY_BYTES, Upload, read_body};

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    static CATALOGUE: RefCell<ScopeCatalogue> = RefCell::new(ScopeCatalogue::builtin());
}

fuzz_target!(|data: &[u8]| {
    let [chunking, flags, rest @ ..] = data else {
        return;
    };
    let env = if flags & 1 == 0 {
        AppEnv::Staging
    } else {
        AppEnv::Production
    };
    let (content_type, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&b"multipart/form-data; boundary=X"[..], rest),
    };
    let Ok(content_type) = HeaderValue::from_bytes(content_type) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, content_type);

    let chunk = if *chunking == 0 {
        body.len().max(1)
    } else {
        usize::from(*chunking)
    };
    let chunks: Vec<Result<Bytes, PayloadError>> = body
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures_util::stream::iter(chunks);

    let form = RUNTIME.with(|rt| rt.block_on(read_body(&headers, stream)));
    let Ok(form) = form else {
        return;
    };
    let input = &form.input;
    for (name, value, limit) in [
        ("client_name", &input.client_name, 4096),
        ("client_uri", &input.client_uri, 4096),
        ("contacts", &input.contacts, 4096),
        ("redirect_uris", &input.redirect_uris, 48 * 1024),
        ("scope_reason", &input.scope_reason, 4096),
        ("csrf_token", &form.csrf_token, 4096),
    ] {
        assert!(value.len() <= limit, "{name} is {} bytes", value.len());
    }
    assert!(input.scopes.len() <= 100);
    let logo = match &form.logo {
        Upload::Bytes(b) => {
            assert!(!b.is_empty() && b.len() <= MAX_LOGO_BYTES && b.len() <= MAX_BODY_BYTES);
            if flags & 2 == 0 {
                Ok(LogoId("fuzz".into()))
            } else {
                Err("refused".into())
            }
        }
        Upload::TooLarge => Err("too large".into()),
        Upload::None => Err("none".into()),
    };

    let registration = CATALOGUE.with(|c| Registration::parse(input, logo, env, &c.borrow()));
    match registration {
        Ok(r) => {
            let name = r.client_name.as_str();
            assert!(!name.is_empty() && name.chars().count() <= 100);
            assert!(!name.chars().any(char::is_control), "{name:?}");
            for contact in r.contacts.as_strings() {
                assert!(
                    !contact.chars().any(|c| c.is_control() || c.is_whitespace()),
                    "{contact:?}"
                );
            }
            for uri in &r.redirect_uris {
                let s = uri.as_str();
                assert!(!s.contains('#') && !s.contains('*'), "{s:?}");
                assert!(uri.as_url().username().is_empty() && uri.as_url().password().is_none());
            }
            for url in [
                &r.client_uri,
                &r.tos_uri,
                &r.policy_uri,
                &r.initiation_uri,
                &r.settings_uri,
            ] {
                assert!(url.as_url().username().is_empty() && url.as_url().password().is_none());
            }
            CATALOGUE.with(|c| {
                for scope in r.scopes.iter() {
                    assert!(c.borrow().scope(scope).is_some(), "{scope:?}");
                }
            });
            if let Some(reason) = &r.scope_reason {
                assert!(reason.chars().count() <= 1000);
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for (_, _, messages) in errors.iter() {
                assert!(!messages.is_empty());
            }
        }
    }
});
