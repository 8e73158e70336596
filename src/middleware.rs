//! What wraps every request: security headers and the cross-site request refusal.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::web::Bytes;
use actix_web::{Error, ResponseError};
use futures_util::Stream;

use crate::error::AppError;
use crate::state::AppState;

/// No inline script anywhere; images may be local previews (`blob:`) of a chosen logo file.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; \
     script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

pub fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Status and credentials pages carry tokens in their URLs.
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ));
    if hsts {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// A response that must not be compressed (the page showing a Client Secret) says
/// `Content-Encoding: identity`, which makes `Compress` leave it alone. RFC 9110 §8.4.1 keeps
/// `identity` out of responses, so it is dropped again here, outside `Compress`.
pub async fn drop_identity_encoding(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    if headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        headers.remove(header::CONTENT_ENCODING);
    }
    Ok(response)
}

/// Every staff response (pages, exports, redirects, error pages) and every credentials page is
/// `Cache-Control: no-store`: they show reviewers' data or a secret, and a shared computer's
/// browser cache must not keep them. One place, so a new staff page cannot forget it.
pub async fn no_store_in_private_areas(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path();
    let private =
        path == "/staff" || path.starts_with("/staff/") || path.starts_with("/credentials/");
    let mut response = next.call(req).await?;
    if private {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(response)
}

/// Refuse state-changing requests that a browser says come from another site, before the
/// body is read. Modern browsers send `Sec-Fetch-Site`, which is decisive when present. Older
/// ones send `Origin` on cross-origin POSTs; with our `no-referrer` policy a same-origin form
/// POST may carry `Origin: null`, so `Origin` is consulted only when `Sec-Fetch-Site` is absent.
/// A request with neither (curl, tests) still needs its anti-forgery token.
pub async fn refuse_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && is_cross_site(&req)
    {
        let response = AppError::Forbidden.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn is_cross_site(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        // `same-site` is a sibling subdomain: another site as far as we are concerned.
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let public = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|state| state.public_url.origin().ascii_serialization());
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    origin != own && Some(origin) != public.as_deref()
}

/// What a masked token reads as in the access log.
pub const MASK: &str = "[token]";

/// A request body the handler did not read to the end (a form refused as too large or too
/// slow) is not read on after the answer: the connection closes. actix-http drains the rest of
/// a dropped chunked body to keep the connection alive, so a 50 MB upload refused at 2 MiB
/// would still be read to its last byte. It closes instead while the body is still held when
/// the answer goes out, so the body is held until the response has been sent.
pub async fn close_on_unread_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    use actix_web::HttpMessage;
    let held = Rc::new(RefCell::new(req.take_payload()));
    let reader = held.clone();
    let stream = futures_util::stream::poll_fn(move |cx| {
        std::pin::Pin::new(&mut *reader.borrow_mut()).poll_next(cx)
    });
    req.set_payload(Payload::from(Box::pin(stream)
        as std::pin::Pin<
            Box<dyn Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>,
        >));
    let response = next.call(req).await?;
    Ok(response.map_body(move |_, body| HoldingBody {
        body: body.boxed(),
        _held: held,
    }))
}

/// A response body that keeps the request's body alive until it is dropped.
struct HoldingBody {
    body: BoxBody,
    _held: Rc<RefCell<Payload>>,
}

impl MessageBody for HoldingBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Bytes, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// One line per request: method, path with every token masked, status, duration, and the client address.
/// Tokens are keys (SPEC §6): the status, edit, credentials, held-logo, setup and invitation
/// links must never reach a log file, so actix's `Logger` (which prints the raw request line)
/// is not used. `/healthz` is not logged: uptime monitors would drown the log.
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.path() == "/healthz" {
        return next.call(req).await;
    }
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let target = masked_target(req.path(), req.query_string());
    // The same client address as every limit uses (the peer, or X-Forwarded-For from a
    // trusted proxy).
    let peer = match req.app_data::<actix_web::web::Data<AppState>>() {
        Some(state) => {
            crate::client_addr::ClientAddr::of(req.request(), &state.trusted_proxies).to_string()
        }
        None => "-".to_owned(),
    };
    let response = next.call(req).await;
    let elapsed = started.elapsed().as_millis();
    match &response {
        Ok(res) => tracing::info!(
            "{method} {target} {} {elapsed}ms client={peer}",
            res.status().as_u16()
        ),
        Err(e) => tracing::info!(
            "{method} {target} {} {elapsed}ms client={peer}",
            e.as_response_error().status_code().as_u16()
        ),
    }
    response
}

/// The path and query for the log, with every segment or query value that is shaped like a
/// random token (`auth::is_token_shaped`, after percent-decoding, ignoring an extension such as
/// `.png`) replaced by [`MASK`]. A rule rather than a list of routes, so links added later are
/// masked too. Logo ids are public but token-shaped, and masked as well: harmless.
pub fn masked_target(path: &str, query: &str) -> String {
    let mut out = path
        .split('/')
        .map(|segment| {
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            let stem = decoded.split('.').next().unwrap_or_default();
            if crate::auth::is_token_shaped(stem) {
                MASK
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    if !query.is_empty() {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded: String = url::form_urlencoded::parse(value.as_bytes())
                    .map(|(k, v)| format!("{k}{v}"))
                    .collect();
                if crate::auth::is_token_shaped(decoded.trim()) {
                    format!("{name}={MASK}")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{MASK, masked_target};

    const TOKEN: &str = "q3Zr8kPw_1xY-aBcDeFgHiJkLmNoPqRs";

    #[test]
    fn every_kind_of_link_has_its_token_masked() {
        let cases = [
            (format!("/submissions/{TOKEN}"), "/submissions/[token]"),
            (
                format!("/submissions/{TOKEN}/edit"),
                "/submissions/[token]/edit",
            ),
            (
                format!("/submissions/{TOKEN}/rotate-secret"),
                "/submissions/[token]/rotate-secret",
            ),
            (format!("/credentials/{TOKEN}"), "/credentials/[token]"),
            (
                format!("/register/held-logo/{TOKEN}.png"),
                "/register/held-logo/[token]",
            ),
            (format!("/staff/invite/{TOKEN}"), "/staff/invite/[token]"),
            (format!("/logos/{TOKEN}.png"), "/logos/[token]"),
        ];
        for (path, expected) in cases {
            assert_eq!(masked_target(&path, ""), expected);
        }
    }

    #[test]
    fn a_token_in_the_query_is_masked_and_other_values_are_kept() {
        assert_eq!(
            masked_target("/staff/setup", &format!("token={TOKEN}")),
            format!("/staff/setup?token={MASK}")
        );
        assert_eq!(
            masked_target(
                "/staff/submissions",
                &format!("status=pending&x={TOKEN}&q=ledgerly")
            ),
            format!("/staff/submissions?status=pending&x={MASK}&q=ledgerly")
        );
    }

    #[test]
    fn a_percent_encoded_token_is_masked_too() {
        let encoded = format!("%{:02X}{}", TOKEN.as_bytes()[0], &TOKEN[1..]);
        assert_eq!(
            masked_target(&format!("/submissions/{encoded}"), ""),
            "/submissions/[token]"
        );
        let query = format!("token=%{:02X}{}", TOKEN.as_bytes()[0], &TOKEN[1..]);
        assert_eq!(
            masked_target("/staff/setup", &query),
            format!("/staff/setup?token={MASK}")
        );
    }

    #[test]
    fn ordinary_paths_are_logged_as_they_are() {
        for path in [
            "/",
            "/register",
            "/staff/submissions/42/request-changes",
            "/static/css/site.css",
        ] {
            assert_eq!(masked_target(path, ""), path);
        }
    }
}
