//! Whose portal this is: `PORTAL_NAME`, `PLATFORM_NAME` and `SUPPORT_EMAIL` (SPEC §1).
//!
//! Every page and email shows them, and there are dozens of templates: rather than thread a
//! field through each one, the middleware [`scope`] makes the server's branding current for the
//! task that serves a request, and templates read it with [`current`]. A task-local, not a
//! global, so several servers with different names can run in one process (the tests do).

use std::sync::Arc;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

pub const DEFAULT_PORTAL_NAME: &str = "Partner Registry";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub portal_name: String,
    /// `None`: not set, and the pages speak of "the platform".
    pub platform_name: Option<String>,
    /// A checked email address, when set.
    pub support_email: Option<String>,
}

impl Default for Branding {
    fn default() -> Branding {
        Branding {
            portal_name: DEFAULT_PORTAL_NAME.to_owned(),
            platform_name: None,
            support_email: None,
        }
    }
}

impl Branding {
    /// "Pleo", or "the platform" when `PLATFORM_NAME` is not set.
    pub fn platform(&self) -> &str {
        self.platform_name.as_deref().unwrap_or("the platform")
    }

    /// How the consent screen names the user's account: "your Pleo account", or "your account"
    /// alone when no platform name is set ("your the platform account" reads wrong).
    pub fn account(&self) -> String {
        match &self.platform_name {
            Some(name) => format!("your {name} account"),
            None => "your account".to_owned(),
        }
    }
}

tokio::task_local! {
    static CURRENT: Arc<Branding>;
}

/// The branding of the server whose request is being served; the defaults outside a request
/// (a unit test rendering a template).
pub fn current() -> Arc<Branding> {
    CURRENT
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::new(Branding::default()))
}

/// Run `f` with `branding` current: for rendering outside a request (the mail worker, tests).
pub async fn with<F: Future>(branding: Arc<Branding>, f: F) -> F::Output {
    CURRENT.scope(branding, f).await
}

/// The middleware: the server's branding is current while its request is served.
pub async fn scope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let branding = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| state.branding.clone())
        .unwrap_or_default();
    with(branding, next.call(req)).await
}
