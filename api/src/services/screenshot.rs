//! A full-page screenshot of a captured page, rendered by headless Chromium **from the archive
//! alone**, when Chromium is installed.
//!
//! **Why not just point Chromium at the URL.** A browser fetching the live page would go around the
//! SSRF guard (the page could load `http://169.254.169.254/`), and would show what the site serves
//! now, not what the capture holds. So Chromium is driven over the DevTools protocol with request
//! interception (`Fetch.enable` for every URL): each request the page makes is answered from the
//! capture's own exchanges (bytes as archived, decoded), and anything not in the capture is refused.
//! Belt and braces, the browser also resolves no host name (`--host-resolver-rules`) and sends what
//! might slip past interception to a dead proxy. Scripts are disabled: the screenshot shows the
//! archived markup and styles, which is what the evidence is.
//!
//! The protocol is spoken over Chromium's DevTools WebSocket on 127.0.0.1 with tungstenite (a small
//! synchronous client); the caller runs [`render`] on a blocking thread. Any failure only means no
//! screenshot: the capture itself never depends on a browser.

use base64::Engine as _;
use seal_crawler::evidence::{Capture, Exchange};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The viewport width pages are rendered at.
const WIDTH: u32 = 1280;

/// The tallest screenshot taken, in CSS pixels: long pages are cut there.
const MAX_HEIGHT: u32 = 12_000;

/// How long a whole rendering may take.
const DEADLINE: Duration = Duration::from_secs(30);

/// The Chromium binary: `SEAL_CHROMIUM` if set, else the first of the usual names on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SEAL_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .flat_map(|name| std::env::split_paths(&paths).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Renders the capture's page as a PNG with `chromium`.
pub fn render(chromium: &Path, capture: &Capture) -> Result<Vec<u8>, String> {
    // A fresh profile each time, removed afterwards: nothing of one rendering reaches the next.
    let profile = std::env::temp_dir().join(format!("seal-shot-{}", crate::services::tokens::random_token(12)));
    std::fs::create_dir_all(&profile).map_err(|e| format!("a profile folder: {e}"))?;
    let result = launch(chromium, &profile).and_then(|mut child| {
        let result = drive(&mut child, capture);
        let _ = child.kill();
        let _ = child.wait();
        result
    });
    let _ = std::fs::remove_dir_all(&profile);
    result
}

fn launch(chromium: &Path, profile: &Path) -> Result<Child, String> {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless=new",
        "--disable-gpu",
        "--hide-scrollbars",
        "--mute-audio",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-sync",
        "--disable-component-update",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
    ]);
    // Chromium refuses to start its sandbox as root; the page runs no script and reaches no network.
    if is_root() {
        cmd.arg("--no-sandbox");
    }
    cmd.arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd.spawn().map_err(|e| format!("starting {}: {e}", chromium.display()))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// The DevTools endpoint Chromium prints on standard error.
fn endpoint(child: &mut Child) -> Result<String, String> {
    let stderr = child.stderr.take().ok_or("no standard error")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end, so Chromium never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("ws://") {
                let _ = tx.send(line[at..].trim().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(15)).map_err(|_| "Chromium did not open its DevTools endpoint".to_owned())
}

struct Cdp<'a> {
    socket: tungstenite::WebSocket<std::net::TcpStream>,
    next: u64,
    session: Option<String>,
    capture: &'a Capture,
    loaded: bool,
    deadline: Instant,
}

fn drive(child: &mut Child, capture: &Capture) -> Result<Vec<u8>, String> {
    let url = endpoint(child)?;
    let deadline = Instant::now() + DEADLINE;
    let address = url.trim_start_matches("ws://").split('/').next().unwrap_or_default().to_owned();
    let stream = std::net::TcpStream::connect(&address).map_err(|e| format!("DevTools: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    let (socket, _) = tungstenite::client(url.as_str(), stream).map_err(|e| format!("DevTools handshake: {e}"))?;
    let mut cdp = Cdp { socket, next: 0, session: None, capture, loaded: false, deadline };
    let target = cdp.call("Target.createTarget", json!({"url": "about:blank"}))?;
    let target = target["targetId"].as_str().ok_or("no target")?.to_owned();
    let attached = cdp.call("Target.attachToTarget", json!({"targetId": target, "flatten": true}))?;
    cdp.session = Some(attached["sessionId"].as_str().ok_or("no session")?.to_owned());
    cdp.call("Fetch.enable", json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}))?;
    cdp.call("Emulation.setScriptExecutionDisabled", json!({"value": true}))?;
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    )?;
    cdp.call("Page.enable", json!({}))?;
    cdp.call("Page.navigate", json!({"url": capture.page.url.as_str()}))?;
    while !cdp.loaded {
        cdp.pump(None)?;
    }
    let metrics = cdp.call("Page.getLayoutMetrics", json!({}))?;
    let height = metrics["cssContentSize"]["height"].as_f64().unwrap_or(900.0).clamp(1.0, f64::from(MAX_HEIGHT));
    let shot = cdp.call(
        "Page.captureScreenshot",
        json!({"format": "png", "captureBeyondViewport": true,
               "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height.ceil(), "scale": 1}}),
    )?;
    let data = shot["data"].as_str().ok_or("no screenshot data")?;
    base64::engine::general_purpose::STANDARD.decode(data).map_err(|e| format!("screenshot data: {e}"))
}

impl Cdp<'_> {
    fn send(&mut self, method: &str, params: Value) -> Result<u64, String> {
        self.next += 1;
        let mut msg = json!({"id": self.next, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.socket.send(tungstenite::Message::text(msg.to_string())).map_err(|e| format!("DevTools: {e}"))?;
        Ok(self.next)
    }

    /// Sends a command and answers events until its reply comes.
    fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.send(method, params)?;
        loop {
            if let Some(reply) = self.pump(Some(id))? {
                return Ok(reply);
            }
        }
    }

    /// Reads one message: answers an intercepted request, notes the load event, and returns the
    /// result when it is the reply to `waiting`.
    fn pump(&mut self, waiting: Option<u64>) -> Result<Option<Value>, String> {
        if Instant::now() > self.deadline {
            return Err("the rendering took too long".into());
        }
        let text = match self.socket.read() {
            Ok(tungstenite::Message::Text(t)) => t.to_string(),
            Ok(_) => return Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(format!("DevTools: {e}")),
        };
        let msg: Value = serde_json::from_str(&text).map_err(|e| format!("DevTools: {e}"))?;
        if let (Some(id), Some(want)) = (msg["id"].as_u64(), waiting) {
            if id == want {
                if let Some(err) = msg.get("error") {
                    return Err(format!("DevTools: {err}"));
                }
                return Ok(Some(msg["result"].clone()));
            }
        }
        match msg["method"].as_str() {
            Some("Fetch.requestPaused") => self.answer(&msg["params"])?,
            Some("Page.loadEventFired") => self.loaded = true,
            _ => {}
        }
        Ok(None)
    }

    /// Answers a request from the archive, or refuses it.
    fn answer(&mut self, params: &Value) -> Result<(), String> {
        let id = params["requestId"].as_str().unwrap_or_default().to_owned();
        let url = params["request"]["url"].as_str().unwrap_or_default();
        let url = url.split('#').next().unwrap_or(url);
        let found = self.capture.exchanges().find(|e| e.url.as_str() == url);
        match found.and_then(archived) {
            Some((status, headers, body)) => {
                let body = base64::engine::general_purpose::STANDARD.encode(body);
                self.send(
                    "Fetch.fulfillRequest",
                    json!({"requestId": id, "responseCode": status, "responseHeaders": headers, "body": body}),
                )?;
            }
            None => {
                self.send("Fetch.failRequest", json!({"requestId": id, "errorReason": "BlockedByClient"}))?;
            }
        }
        Ok(())
    }
}

/// An exchange as the browser should receive it: status, headers without the transfer and content
/// codings, and the body decoded.
fn archived(e: &Exchange) -> Option<(u16, Vec<Value>, Vec<u8>)> {
    let gzip = e.header("content-encoding").is_some_and(|c| c.trim().eq_ignore_ascii_case("gzip"));
    let body = if gzip {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(e.body.as_slice()).read_to_end(&mut out).ok()?;
        out
    } else if e.header("content-encoding").is_some_and(|c| !c.trim().eq_ignore_ascii_case("identity")) {
        return None;
    } else {
        e.body.clone()
    };
    let skip = ["content-encoding", "content-length", "transfer-encoding", "set-cookie"];
    let headers = e
        .headers
        .iter()
        .filter(|(n, _)| !skip.iter().any(|s| n.eq_ignore_ascii_case(s)))
        .filter_map(|(n, v)| Some(json!({"name": n, "value": std::str::from_utf8(v).ok()?})))
        .collect();
    Some((e.status, headers, body))
}
