//! Debian's Chromium driven through chromedriver, which each test starts on a free port.
//!
//! A missing browser or driver fails the test with instructions; it never skips.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

const CHROMIUM: &str = "/usr/bin/chromium";
const HOW_TO_INSTALL: &str = "The browser tests need Debian's Chromium and chromedriver. Install them with \
     `apt-get install chromium chromium-driver` (as root), or run `scripts/test.sh`, which installs \
     them and axe-core when they are missing.";

/// Whether the page may run its scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Js {
    On,
    Off,
}

/// The chromedriver process, in its own process group so that Chromium goes with it.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGKILL the whole group: chromedriver and every Chromium process it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Browser {
    pub client: Client,
    // Dropped after the client: the driver, then the profile folder.
    _driver: Driver,
    _profile: TempDir,
}

fn chromedriver_path() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromedriver"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| panic!("chromedriver is not on the PATH. {HOW_TO_INSTALL}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Browser {
    /// A fresh headless Chromium with an empty profile, 1280×900.
    pub async fn start(js: Js) -> Browser {
        assert!(
            Path::new(CHROMIUM).is_file(),
            "{CHROMIUM} is missing. {HOW_TO_INSTALL}"
        );
        let driver_path = chromedriver_path();
        let port = free_port();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(&driver_path)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start {}: {e}. {HOW_TO_INSTALL}",
                        driver_path.display()
                    )
                })
        };
        let driver = Driver { child };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let profile = tempfile::tempdir().expect("a profile folder");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            "--lang=en-GB".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        // Clipboard reads are allowed, so a test can check what the copy button copied.
        let mut prefs = json!({ "profile.default_content_setting_values.clipboard": 1 });
        if js == Js::Off {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args, "prefs": prefs }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!("chromedriver could not start Chromium: {e}. {HOW_TO_INSTALL}")
            });
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// End the WebDriver session (Chromium exits); the driver goes when `self` is dropped.
    pub async fn close(self) {
        let Browser {
            client,
            _driver,
            _profile,
        } = self;
        let _ = client.close().await;
    }

    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The current page's markup as the browser holds it (no script needed to read it).
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    /// The current page's origin, e.g. `http://127.0.0.1:4321`.
    pub async fn origin(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        url.origin().ascii_serialization()
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        url.path().to_owned()
    }

    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element {css:?} on {}: {e}", self.path().await),
        }
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("a query")
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// Wait (up to 10 s) for an element, e.g. on the page a click leads to.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css:?} did not appear: {e}"))
    }

    /// The element's text with whitespace collapsed.
    pub async fn text(&self, css: &str) -> String {
        let text = self.find(css).await.text().await.expect("its text");
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .expect("its value")
            .unwrap_or_default()
    }

    /// Replace a text field's content by typing, as a person does.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("cleared");
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn is_checked(&self, css: &str) -> bool {
        self.find(css).await.is_selected().await.expect("its state")
    }

    /// Run a script in the page and return its result.
    pub async fn script(&self, code: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(code, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{code}"))
    }

    pub async fn set_width(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("window resized");
    }

    /// Wait (up to 10 s) for an element to have some text, and return it.
    pub async fn wait_for_text(&self, css: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.text(css).await;
            if !text.is_empty() {
                return text;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{css:?} stayed empty"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait (up to 10 s) until an element's text is `expected`, e.g. after a form posts back
    /// to the page it came from.
    pub async fn wait_for_text_eq(&self, css: &str, expected: &str) {
        let start = Instant::now();
        loop {
            let found = self.find_all(css).await;
            if let Some(element) = found.first()
                && let Ok(text) = element.text().await
                && text.split_whitespace().collect::<Vec<_>>().join(" ") == expected
            {
                return;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let now = if found.is_empty() {
                    None
                } else {
                    Some(self.text(css).await)
                };
                panic!(
                    "{css:?} never read {expected:?} on {}; it reads {now:?}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether an image element has loaded a real picture.
    pub async fn image_loaded(&self, css: &str) -> bool {
        let img = self.find(css).await;
        let script = "const img = arguments[0]; return img.complete && img.naturalWidth > 0;";
        let arg = serde_json::to_value(&img).expect("an element reference");
        self.script(script, vec![arg]).await == json!(true)
    }

    /// Nothing on the page is wider than the window: no sideways scrolling.
    pub async fn assert_fits_width(&self) {
        let widths = self
            .script(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                vec![],
            )
            .await;
        let (page, window) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert!(
            page <= window,
            "{} is {page} px wide in a {window} px window",
            self.path().await
        );
    }

    /// Press and release one key, wherever the focus is.
    pub async fn press(&self, key: Key) {
        let value: char = key.into();
        let actions = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client
            .perform_actions(actions)
            .await
            .expect("a key press");
    }

    /// The focused element and how its focus is drawn.
    pub async fn focused(&self) -> Focused {
        let script = r#"
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
            return {
                name: el.id ? '#' + el.id : el.tagName.toLowerCase() + (text ? ':' + text : ''),
                outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                on_screen: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
                    && box.left < window.innerWidth,
                focus_visible: el.matches(':focus-visible'),
            };
        "#;
        serde_json::from_value(self.script(script, vec![]).await).expect("a focus description")
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct Focused {
    /// `#id`, or `tag:text` for an element without an id.
    pub name: String,
    /// A solid outline at least 2 px wide.
    pub outline: bool,
    pub on_screen: bool,
    pub focus_visible: bool,
}
