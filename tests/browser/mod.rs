//! The live-server and WebDriver helpers the browser tests share (`tests/web.rs`,
//! `tests/web_ui.rs`): a `docgate serve` child process on a free port, and a
//! minimal WebDriver client over chromedriver driving real headless Chromium.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ------------------------------------------------------------ live server

pub struct Server {
    pub child: Child,
    pub url: String,
    pub _dir: tempfile::TempDir,
    pub stdout: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn docgate(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_docgate"));
    c.arg("--data-dir").arg(dir);
    c.env_remove("DOCGATE_CONFIG")
        .env("DOCGATE_WEB__PUBLIC_RATE_PER_MINUTE", "0");
    c
}

pub fn wait_http(url: &str, child: &mut Child, out: &Path) {
    let start = Instant::now();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    loop {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "docgate serve exited {st}: {}",
                std::fs::read_to_string(out).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn start_server(demo: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = docgate::testing::free_port();
    let out = dir.path().join("stdout.txt");
    let mut cmd = docgate(&dir.path().join("data"));
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"));
    if demo {
        cmd.arg("--demo");
    }
    let mut child = cmd
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    wait_http(&url, &mut child, &out);
    Server {
        child,
        url,
        _dir: dir,
        stdout: out,
    }
}

pub fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(&home).join(".pyenv/shims"));
        dirs.push(PathBuf::from(&home).join(".local/bin"));
    }
    dirs.push("/usr/local/bin".into());
    for n in names {
        for d in &dirs {
            let p = d.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

// ------------------------------------------------------------ Chromium

/// A minimal WebDriver client over chromedriver's HTTP interface.
pub struct Driver {
    pub base: String,
    pub session: String,
    pub http: reqwest::Client,
    pub child: Child,
    pub _profile: tempfile::TempDir,
}

pub const ELEM: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    pub async fn start() -> Option<Driver> {
        let chromium = Path::new("/usr/bin/chromium");
        let driver = find_tool(&["chromedriver"]);
        let (true, Some(driver)) = (chromium.exists(), driver) else {
            docgate::testing::missing_service(
                "Chromium and chromedriver",
                ".ci/setup/browser.sh installs them",
            );
            return None;
        };
        let port = docgate::testing::free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let start = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display())]}}}});
        let mut d = Driver {
            base,
            session: String::new(),
            http,
            child,
            _profile: profile,
        };
        let v = d.call("POST", "/session", Some(caps)).await;
        d.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Some(d)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let url = format!("{}{}", self.base, path);
        let req = match method {
            "POST" => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.unwrap_or(serde_json::json!({})).to_string()),
            "DELETE" => self.http.delete(&url),
            _ => self.http.get(&url),
        };
        let text = req.send().await.unwrap().text().await.unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.get("value")
            .cloned()
            .map(|val| {
                if path == "/session" {
                    serde_json::json!({"sessionId": val["sessionId"].clone()})
                } else {
                    val
                }
            })
            .unwrap_or(v)
    }

    pub fn s(&self, p: &str) -> String {
        format!("/session/{}{}", self.session, p)
    }

    pub async fn goto(&self, url: &str) {
        self.call(
            "POST",
            &self.s("/url"),
            Some(serde_json::json!({"url": url})),
        )
        .await;
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                &self.s("/element"),
                Some(serde_json::json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEM]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &self.s(&format!("/element/{e}/click")), None)
            .await;
    }

    pub async fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call("POST", &self.s(&format!("/element/{e}/clear")), None)
            .await;
        self.call(
            "POST",
            &self.s(&format!("/element/{e}/value")),
            Some(serde_json::json!({"text": text})),
        )
        .await;
    }

    /// Waits (up to 10 s) until the browser's address ends with `suffix`: a click's
    /// navigation may still be under way when the next command arrives.
    pub async fn wait_url_ends_with(&self, suffix: &str) {
        for _ in 0..100 {
            if self.current_url().await.ends_with(suffix) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "the browser did not reach …{suffix}; it is at {}",
            self.current_url().await
        );
    }

    /// The page source once `ready` holds of it (up to 10 s; then the last one).
    pub async fn wait_source(&self, ready: impl Fn(&str) -> bool) -> String {
        let mut page = String::new();
        for _ in 0..100 {
            page = self.source().await;
            if ready(&page) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        page
    }

    pub async fn source(&self) -> String {
        self.call("GET", &self.s("/source"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn current_url(&self) -> String {
        self.call("GET", &self.s("/url"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self.call("GET", &self.s("/screenshot"), None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Driver {
    /// Sets the browser window's size (CSS pixels in headless Chromium).
    pub async fn window_size(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.s("/window/rect"),
            Some(serde_json::json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn execute(&self, script: &str, args: serde_json::Value) -> serde_json::Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(serde_json::json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs `script` asynchronously: it ends by calling `arguments[arguments.length - 1](result)`.
    pub async fn execute_async(&self, script: &str, args: serde_json::Value) -> serde_json::Value {
        self.call(
            "POST",
            &self.s("/execute/async"),
            Some(serde_json::json!({"script": script, "args": args})),
        )
        .await
    }

    /// Logs in through the login form as `name` and waits to leave the login page.
    pub async fn log_in(&self, url: &str, name: &str, password: &str) {
        self.goto(&format!("{url}/login")).await;
        self.type_in("#name", name).await;
        self.type_in("#password", password).await;
        self.click("#login-submit").await;
        for _ in 0..100 {
            if !self.current_url().await.ends_with("/login") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{name} could not log in");
    }
}

/// The demo's password of `who` from `serve --demo`'s printed logins.
pub fn demo_password(printed: &str, who: &str) -> String {
    printed
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{who} ")))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no login for {who} in: {printed}"))
        .to_string()
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
