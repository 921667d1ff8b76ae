//! A W3C WebDriver client over `reqwest`, driving headless Chromium through ChromeDriver.
//! ChromeDriver and the Chromium it starts are killed when the `Browser` is dropped, so a
//! failing test leaves no browser behind.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Long enough for a loaded machine (the whole suite runs beside the browser on two cores).
const WAIT: Duration = Duration::from_secs(30);
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The first of `names` found on the `PATH`, or as a path.
fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        if name.contains('/') {
            return Path::new(name).is_file().then(|| PathBuf::from(name));
        }
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// ChromeDriver's process (in a process group of its own, with the Chromium it starts) and
/// the browser's profile directory.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
    session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Ask ChromeDriver to quit Chromium cleanly; a blocking request, as Drop cannot await.
        if let Some(session) = self.session.take() {
            let _ = delete_session(self.port, &session);
        }
        // Then make sure: the group holds ChromeDriver and every Chromium process it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn delete_session(port: u16, session: &str) -> std::io::Result<()> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    Ok(())
}

pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:<port>/session/<id>`.
    url: String,
    /// Held for its `Drop`, which ends the browser.
    _driver: Driver,
}

impl Browser {
    /// Starts ChromeDriver on a free port and opens a headless Chromium session. Fails (does
    /// not skip) when either is missing: the board's test must run in CI.
    pub async fn start() -> Self {
        let driver_bin = which(&["chromedriver"]).unwrap_or_else(|| {
            panic!(
                "chromedriver is not on the PATH: the board's browser test needs it \
                 (`apt-get install -y chromium chromium-driver`; .ci/run installs them)"
            )
        });
        let chromium =
            which(&["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
                panic!(
                    "no chromium on the PATH: the board's browser test needs it \
                     (`apt-get install -y chromium chromium-driver`; .ci/run installs them)"
                )
            });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let profile =
            std::env::temp_dir().join(format!("quorum-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new(&driver_bin)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // A group of its own, so that Drop can kill Chromium with it.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", driver_bin.display()))
        };
        // Owned before anything can fail, so that a failure below still kills it.
        let mut driver = Driver {
            child,
            port,
            profile,
            session: None,
        };
        let http = reqwest::Client::builder()
            .timeout(WAIT + Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(res) = ready {
                let status: Value = res.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("chromedriver exited: {exit}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not answer on port {port} within {WAIT:?}"
            );
            // Polling a starting process, not waiting for an event.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                    "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                    format!("--user-data-dir={}", driver.profile.display())],
            },
        } } });
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a JSON answer");
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {res}"))
            .to_owned();
        driver.session = Some(session.clone());
        let browser = Self {
            http,
            url: format!("{base}/session/{session}"),
            _driver: driver,
        };
        browser
            .command(
                "POST",
                "/timeouts",
                json!({ "script": WAIT.as_millis() as u64, "pageLoad": WAIT.as_millis() as u64, "implicit": 0 }),
            )
            .await;
        browser
    }

    /// One WebDriver command; its `value`. A WebDriver error fails the test with its message.
    async fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.url);
        let req = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.post(&url).json(&body),
        };
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("chromedriver {method} {path}: {e}"));
        let ok = res.status().is_success();
        let answer: Value = res.json().await.unwrap_or_default();
        assert!(ok, "WebDriver {method} {path} failed: {answer}");
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url })).await;
    }

    /// The element matching `css` now.
    pub async fn find(&self, css: &str) -> String {
        let v = self
            .command(
                "POST",
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element for {css}: {v}"))
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.command(
            "POST",
            &format!("/element/{el}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Clicks the element matching `css`. A live page may redraw it between finding and
    /// clicking ("stale element reference"): then it is found again.
    pub async fn click(&self, css: &str) {
        for _ in 0..3 {
            let el = self.find(css).await;
            let res = self
                .http
                .post(format!("{}/element/{el}/click", self.url))
                .json(&json!({}))
                .send()
                .await
                .unwrap_or_else(|e| panic!("chromedriver click {css}: {e}"));
            if res.status().is_success() {
                return;
            }
            let answer: Value = res.json().await.unwrap_or_default();
            assert_eq!(
                answer["value"]["error"], "stale element reference",
                "clicking {css}: {answer}"
            );
        }
        panic!("{css} was redrawn under every click");
    }

    /// Runs `js` (a function body; `arguments` are `args`) in the page; what it returns.
    pub async fn script(&self, js: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": js, "args": args }),
        )
        .await
    }

    /// Waits until the JavaScript expression `condition` is true in the page, watching the DOM
    /// rather than polling. Fails after `WAIT` naming `what`, with the page's text.
    pub async fn wait_until(&self, condition: &str, what: &str) {
        // The condition is pasted into the script rather than evaluated in the page: the
        // board's CSP allows no eval.
        let js = format!(
            "const done = arguments[arguments.length - 1];
             const ok = () => {{ try {{ return Boolean({condition}); }} catch (e) {{ return false; }} }};
             if (ok()) {{ done(true); return; }}
             const watch = new MutationObserver(() => {{
               if (ok()) {{ watch.disconnect(); done(true); }}
             }});
             watch.observe(document.documentElement,
               {{ subtree: true, childList: true, attributes: true, characterData: true }});"
        );
        let url = format!("{}/execute/async", self.url);
        let res = self
            .http
            .post(&url)
            .json(&json!({ "script": js, "args": [] }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("chromedriver execute/async: {e}"));
        if !res.status().is_success() {
            let answer: Value = res.json().await.unwrap_or_default();
            let text = self
                .script(
                    "return document.body ? document.body.innerText : ''",
                    json!([]),
                )
                .await;
            panic!(
                "waited {WAIT:?} for {what} ({condition}): {}\n--- page text ---\n{}",
                answer["value"]["message"],
                text.as_str().unwrap_or_default()
            );
        }
    }

    /// Waits until an element matches `css`.
    pub async fn wait_for(&self, css: &str, what: &str) {
        let condition = format!("document.querySelector({})", json!(css));
        self.wait_until(&condition, what).await;
    }

    /// A Chrome DevTools Protocol command (ChromeDriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.command(
            "POST",
            "/goog/cdp/execute",
            json!({ "cmd": cmd, "params": params }),
        )
        .await
    }

    /// Cuts the page off the network (new connections fail) or puts it back.
    pub async fn offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.command("GET", "/screenshot", json!({})).await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("a base64 PNG")
    }
}
