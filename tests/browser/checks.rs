//! What the browser tests look at on each page: axe-core's WCAG findings and screenshots.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::browser::{Browser, Js};

const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"];

fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {path} ({e}). axe-core comes from npm, pinned by package-lock.json: run \
             `npm ci` in the project folder (scripts/test.sh does it when it is missing)."
        )
    })
}

/// Where screenshots go: target/screenshots/.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("a screenshot folder");
    dir
}

impl Browser {
    /// axe-core's violations on the current page, one readable paragraph each.
    pub async fn axe_violations(&self) -> Vec<String> {
        let loaded = self
            .script("return typeof window.axe === 'object'", vec![])
            .await;
        if loaded != json!(true) {
            self.script(&format!("{}\n;return true;", axe_source()), vec![])
                .await;
        }
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })
              .then(r => done(r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                  nodes: v.nodes.map(n => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
              }))))
              .catch(e => done([{ id: 'axe-error', help: String(e), nodes: [] }]));
        "#;
        let result = self
            .client
            .execute_async(script, vec![json!(AXE_TAGS)])
            .await
            .unwrap_or_else(|e| panic!("axe-core did not run: {e}"));
        let Value::Array(violations) = result else {
            panic!("axe-core answered {result}");
        };
        violations.iter().map(describe_violation).collect()
    }

    /// A PNG of the whole page at the current window width, in target/screenshots/.
    pub async fn screenshot(&self, name: &str) {
        let (width, height) = self
            .client
            .get_window_size()
            .await
            .expect("the window size");
        let sizes = self
            .script(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]",
                vec![],
            )
            .await;
        let page_height = sizes[0].as_u64().unwrap_or(height);
        let chrome = sizes[1].as_u64().unwrap_or(0);
        let full = (page_height + chrome).clamp(height, 8000);
        self.client
            .set_window_size(width as u32, full as u32)
            .await
            .expect("resized");
        let png = self.client.screenshot().await.expect("a screenshot");
        self.client
            .set_window_size(width as u32, height as u32)
            .await
            .expect("resized back");
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png)
            .expect("screenshot written");
    }
}

fn describe_violation(v: &Value) -> String {
    let mut out = format!(
        "[{}] {} ({}), {}",
        v["impact"].as_str().unwrap_or("?"),
        v["help"].as_str().unwrap_or(""),
        v["id"].as_str().unwrap_or(""),
        v["url"].as_str().unwrap_or(""),
    );
    for node in v["nodes"].as_array().into_iter().flatten() {
        let html: String = node["html"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(160)
            .collect();
        let _ = write!(
            out,
            "\n    at {}\n       {html}",
            node["target"].as_str().unwrap_or("")
        );
        for line in node["summary"].as_str().unwrap_or("").lines() {
            let _ = write!(out, "\n       {}", line.trim());
        }
    }
    out
}

/// Collects findings page by page, so one run reports every page's problems at once.
pub struct Findings {
    /// axe-core runs only where the page may run scripts (its checks are asynchronous).
    enabled: bool,
    pages: Vec<(String, Vec<String>)>,
}

impl Findings {
    pub fn new(js: Js) -> Findings {
        Findings {
            enabled: js == Js::On,
            pages: Vec::new(),
        }
    }

    /// Check the current page with axe-core and keep a screenshot of it under `name`.
    pub async fn look_at(&mut self, browser: &Browser, name: &str) {
        if !self.enabled {
            return;
        }
        browser.screenshot(name).await;
        let violations = browser.axe_violations().await;
        self.pages.push((name.to_owned(), violations));
    }

    pub fn assert_clean(&self) {
        let mut report = String::new();
        for (page, violations) in &self.pages {
            for violation in violations {
                let _ = write!(report, "\n\n{page}: {violation}");
            }
        }
        assert!(report.is_empty(), "axe-core found WCAG violations:{report}");
        assert!(
            !self.enabled || !self.pages.is_empty(),
            "no page was checked"
        );
    }
}
