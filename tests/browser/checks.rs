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
    /// Show `html` as a page of `origin` (so its styles load), with its scripts taken out: what
    /// a browser without JavaScript shows.
    pub async fn show_without_scripts(&self, origin: &str, html: &str) {
        self.open(&format!("{origin}/robots.txt")).await;
        self.script(
            r#"
            const page = new DOMParser().parseFromString(arguments[0], 'text/html');
            page.querySelectorAll('script').forEach(s => s.remove());
            document.replaceChild(document.adoptNode(page.documentElement), document.documentElement);
            "#,
            vec![json!(html)],
        )
        .await;
        self.wait_for_styles().await;
    }

    /// Show what the server answered a request made with `fetch` (a POST a form could send, or
    /// one a test crafts), as the page a browser would show for it; returns its status.
    pub async fn show_response(&self, origin: &str, path: &str, init: Value) -> u16 {
        self.open(&format!("{origin}/robots.txt")).await;
        let answer = self
            .client
            .execute_async(
                r#"
                const [path, init, done] = arguments;
                fetch(path, init).then(async r => done([r.status, await r.text()]))
                    .catch(e => done([0, String(e)]));
                "#,
                vec![json!(path), init],
            )
            .await
            .unwrap_or_else(|e| panic!("fetch {path}: {e}"));
        let status = answer[0].as_u64().expect("a status") as u16;
        let html = answer[1].as_str().expect("a body").to_owned();
        self.show_without_scripts(origin, &html).await;
        status
    }

    /// Wait until every stylesheet of the page has loaded, so colour contrast is judged on the
    /// real styles.
    async fn wait_for_styles(&self) {
        for _ in 0..100 {
            let ready = self
                .script(
                    "return [...document.querySelectorAll('link[rel=stylesheet]')]
                        .every(l => l.sheet !== null);",
                    vec![],
                )
                .await;
            if ready == json!(true) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the page's styles did not load");
    }

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
    js: Js,
    /// axe-core needs scripts, so a page seen without them is checked here: its markup, scripts
    /// taken out, shown in a browser that may run axe.
    checker: Option<Browser>,
    pages: Vec<(String, Vec<String>)>,
}

impl Findings {
    pub fn new(js: Js) -> Findings {
        Findings {
            js,
            checker: None,
            pages: Vec::new(),
        }
    }

    /// Check the current page with axe-core and keep a screenshot of it under `name`.
    pub async fn look_at(&mut self, browser: &Browser, name: &str) {
        let violations = match self.js {
            Js::On => {
                browser.screenshot(name).await;
                browser.axe_violations().await
            }
            Js::Off => {
                let (html, origin) = (browser.source().await, browser.origin().await);
                if self.checker.is_none() {
                    self.checker = Some(Browser::start(Js::On).await);
                }
                let checker = self.checker.as_ref().unwrap();
                checker.show_without_scripts(&origin, &html).await;
                checker.screenshot(&format!("{name}-without-js")).await;
                checker.axe_violations().await
            }
        };
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
        assert!(!self.pages.is_empty(), "no page was checked");
    }
}
