//! A real browser for `wallwatch bench web` and the page's tests: Debian's headless Chromium
//! driven over WebDriver (its `chromedriver`), which is plain HTTP and JSON, so the API's own
//! HTTP client ([`super::http_client`]) talks to it and no WebDriver crate is needed.
//!
//! Chromium starts headless with a fresh profile directory and the flags that keep it off the
//! network and quiet ([`FLAGS`]). The driver and the browser run in a process group of their
//! own, so that [`Browser`]'s drop (a finished run, or a test that panicked) ends all of them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http_client::Client;

/// How to get the browser where it is missing.
pub const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// Chromium's flags: headless, no sandbox (root in a container), no GPU, and nothing that
/// reaches out to the network by itself.
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
];

/// How long the driver has to start, and a page script to answer.
const START_WITHIN: Duration = Duration::from_secs(30);

/// Where a program is on `PATH` (or the first of `names` found there).
fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A headless Chromium with one WebDriver session.
pub struct Browser {
    driver: Child,
    client: Client,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a browser session `width` × `height`
    /// CSS pixels. The error names what to install when either program is missing.
    pub async fn start(width: u32, height: u32) -> Result<Browser, String> {
        let (Some(driver_exe), Some(chromium)) = (
            find(&["chromedriver"]),
            find(&["chromium", "chromium-browser"]),
        ) else {
            return Err(format!(
                "chromium and chromedriver are not installed: {INSTALL}"
            ));
        };
        let port = free_port()?;
        let profile =
            std::env::temp_dir().join(format!("wallwatch-browser-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&profile)
            .map_err(|e| format!("cannot make {}: {e}", profile.display()))?;
        let mut cmd = Command::new(&driver_exe);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let driver = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", driver_exe.display()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut browser = Browser {
            driver,
            client: Client::new(addr, None),
            session: String::new(),
            profile,
        };
        browser.wait_ready().await?;
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", browser.profile.display()));
        args.push(format!("--window-size={width},{height}"));
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "goog:chromeOptions": {"binary": chromium, "args": args},
                "goog:loggingPrefs": {"browser": "ALL"},
                "unhandledPromptBehavior": "ignore",
            }}
        });
        let created = browser.command("POST", "/session", Some(caps)).await?;
        browser.session = created["sessionId"]
            .as_str()
            .ok_or("chromedriver gave no session id")?
            .to_string();
        browser.viewport(width, height, false).await?;
        Ok(browser)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Ok(a) = self.client.get("/status").await
                && a.status == 200
            {
                return Ok(());
            }
            if start.elapsed() > START_WITHIN {
                return Err("chromedriver did not start within 30 s".into());
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                return Err(format!("chromedriver exited at start ({status})"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One WebDriver command; its `value`, or the driver's error in one line.
    async fn command(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let answer = self.client.write(method, path, &body).await?;
        let mut v = answer.json(path)?;
        let value = v["value"].take();
        if answer.status != 200 {
            let message = value["message"].as_str().unwrap_or("");
            let first = message.lines().next().unwrap_or("");
            return Err(format!(
                "{method} {path}: {} ({first})",
                value["error"].as_str().unwrap_or("error")
            ));
        }
        Ok(value)
    }

    async fn session(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let path = format!("/session/{}{path}", self.session);
        self.command(method, &path, body).await
    }

    /// A Chrome DevTools command (`Emulation.…`, `Network.…`).
    pub async fn devtools(&mut self, cmd: &str, params: Value) -> Result<Value, String> {
        self.session(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    /// The page's size in CSS pixels; `mobile` emulates a phone (2 device pixels a pixel).
    pub async fn viewport(&mut self, width: u32, height: u32, mobile: bool) -> Result<(), String> {
        let params = json!({
            "width": width,
            "height": height,
            "deviceScaleFactor": if mobile { 2 } else { 1 },
            "mobile": mobile,
        });
        self.devtools("Emulation.setDeviceMetricsOverride", params)
            .await
            .map(drop)
    }

    /// The colour scheme the page is told the system prefers (`light` or `dark`).
    pub async fn color_scheme(&mut self, scheme: &str) -> Result<(), String> {
        let features = json!([{"name": "prefers-color-scheme", "value": scheme}]);
        self.devtools(
            "Emulation.setEmulatedMedia",
            json!({ "features": features }),
        )
        .await
        .map(drop)
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&mut self, url: &str) -> Result<(), String> {
        self.session("POST", "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// Runs `script` (a function body: `return …`) in the page; what it returns.
    pub async fn eval(&mut self, script: &str) -> Result<Value, String> {
        self.session(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Polls `script` until it returns something truthy (not false, null, 0 or ""), within
    /// `within`; that value. The error says `what` was waited for and what the script gave last.
    pub async fn wait_for(
        &mut self,
        what: &str,
        script: &str,
        within: Duration,
    ) -> Result<Value, String> {
        let start = Instant::now();
        loop {
            let v = self.eval(script).await?;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(v);
            }
            if start.elapsed() > within {
                return Err(format!(
                    "timed out after {} s waiting for {what} (last: {v})",
                    within.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn element(&mut self, css: &str) -> Result<String, String> {
        let found = self
            .session(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("no element {css}"))
    }

    /// Clicks the element `css` selects, as a person would (it must be shown and enabled).
    pub async fn click(&mut self, css: &str) -> Result<(), String> {
        let id = self.element(css).await?;
        self.session("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await
            .map(drop)
    }

    /// Types `text` into the element `css` selects.
    pub async fn type_into(&mut self, css: &str, text: &str) -> Result<(), String> {
        let id = self.element(css).await?;
        self.session(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await
        .map(drop)
    }

    /// The text of an open `alert`/`confirm`/`prompt` dialog, if one is open.
    pub async fn dialog(&mut self) -> Option<String> {
        self.session("GET", "/alert/text", None)
            .await
            .ok()
            .map(|v| v.as_str().unwrap_or("").to_string())
    }

    /// The browser's console since the last call: (level, message) of each entry.
    pub async fn console(&mut self) -> Result<Vec<(String, String)>, String> {
        let log = self
            .session("POST", "/se/log", Some(json!({"type": "browser"})))
            .await?;
        Ok(log
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
                        (s("level"), s("message"))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The page as a PNG (base64, as WebDriver gives it).
    pub async fn screenshot_base64(&mut self) -> Result<String, String> {
        self.session("GET", "/screenshot", None)
            .await?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "no screenshot".into())
    }

    /// Ends the session (the browser quits), then the driver.
    pub async fn close(mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = self.command("DELETE", &path, None).await;
            self.session.clear();
        }
    }

    /// Where the browser's profile is (removed when the browser goes).
    pub fn profile(&self) -> &Path {
        &self.profile
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver and every browser process it started are in the driver's process group.
        #[cfg(unix)]
        // SAFETY: a plain kill(2) of the group this Browser made for its driver.
        unsafe {
            libc::kill(-(self.driver.id() as i32), libc::SIGKILL);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A loopback port no one listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}
