//! A real browser for page tests: Debian's headless Chromium driven through ChromeDriver over the
//! W3C WebDriver protocol on loopback. Each [`Browser`] is its own ChromeDriver and profile, so
//! two browsers are two people with their own cookies.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// WebDriver's name for the id of an element in its answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    session: String,
    client: reqwest::Client,
}

/// Whether page tests can run here; under CI a missing browser fails instead of skipping.
pub fn available() -> bool {
    let found = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !found {
        crate::skip_unless_ci(&format!(
            "{CHROMIUM} or {CHROMEDRIVER} missing (tests/run installs chromium and chromium-driver)"
        ));
    }
    found
}

impl Browser {
    /// A headless Chromium whose pages see a viewport of `width` × `height`.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = crate::smtp::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while client.get(format!("{url}/status")).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}});
        let answer: Value =
            client.post(format!("{url}/session")).json(&capabilities).send().await.unwrap().json().await.unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_owned();
        let browser = Browser { driver, session: format!("{url}/session/{session}"), client };
        // The page sees exactly this viewport; below 600 px wide it is a phone (touch, mobile layout).
        let metrics = json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {"width": width, "height": height,
            "deviceScaleFactor": 1, "mobile": width < 600}});
        browser.call(reqwest::Method::POST, "/goog/cdp/execute", Some(metrics)).await;
        browser
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.client.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// Runs `script` in the page (`arguments[0]`… are `args`) and returns what it returns.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Waits until `script` returns something truthy and returns it; panics after `within`.
    pub async fn wait_for(&self, script: &str, within: Duration) -> Value {
        let started = Instant::now();
        loop {
            let value = self.run(script, json!([])).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false)) && value != json!("") && value != json!(0);
            if truthy {
                return value;
            }
            if started.elapsed() > within {
                let page = self.run("return document.body ? document.body.innerText : ''", json!([])).await;
                panic!("waited {within:?} for `{script}`; the page says:\n{}", page.as_str().unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn element(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_owned()
    }

    /// Clicks the element as a person would (WebDriver scrolls it into view first).
    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Replaces the text of an input by typing `text` into it (for a file input: the file's path).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
        if !text.is_empty() {
            self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let id = self.element(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether a JavaScript dialog (`alert`, `confirm`) is open.
    pub async fn dialog_open(&self) -> bool {
        let answer: Value =
            self.client.get(format!("{}/alert/text", self.session)).send().await.unwrap().json().await.unwrap();
        !answer["value"]["error"].is_string()
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (and its Chromium) before the driver goes.
        let session = self.session.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let _ = reqwest::Client::new().delete(session).timeout(Duration::from_secs(10)).send().await;
                });
            }
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
