//! What wraps every request: security headers and the cross-site request refusal.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, ResponseError};

use crate::error::AppError;
use crate::startup::AppState;

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
