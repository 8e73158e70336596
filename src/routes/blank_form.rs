//! The empty registration form, rendered once and joined around each visitor's token.

use std::sync::OnceLock;

use crate::error::AppError;

/// `GET /register` without anything entered depends only on the scope catalogue, the branding
/// and the visitor's anti-forgery token, and rendering it was most of that page's server time.
/// So it is rendered once, split around a marker where the token goes, and each request only
/// joins the two halves around its own (freshly masked) token.
///
/// Measured with `ONLY=a scripts/bench.sh` (2026-12-04, quiet machine, medians of 3 × 5 s):
/// rendering per request gave 64,560–65,040 req/s against robots.txt's 146–152k (0.43–0.44);
/// the joined halves give the figure in docs/benchmarks.md (a).
#[derive(Default)]
pub struct BlankForm(OnceLock<(String, String)>);

/// Where the token goes: a string no rendered form contains.
const MARK: &str = "\u{0}csrf\u{0}";

impl BlankForm {
    /// The page for `csrf_token`; `render` draws it (once) with a placeholder token.
    pub fn page(
        &self,
        csrf_token: &str,
        render: impl FnOnce(&str) -> Result<String, askama::Error>,
    ) -> Result<String, AppError> {
        let (head, tail) = match self.0.get() {
            Some(halves) => halves,
            None => {
                let page = render(MARK)?;
                let halves = page
                    .split_once(MARK)
                    .map(|(head, tail)| (head.to_owned(), tail.to_owned()))
                    .ok_or_else(|| {
                        AppError::Internal(anyhow::anyhow!("the form lost its token"))
                    })?;
                // Two first visitors may both render it; either copy is the same.
                self.0.get_or_init(|| halves)
            }
        };
        // The token is URL-safe base64: nothing in it needs escaping.
        Ok([head.as_str(), csrf_token, tail.as_str()].concat())
    }
}
