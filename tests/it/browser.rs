//! The one real-browser test: headless Debian Chromium, driven by playwright-core
//! (`tests/browser/seal_checkout.mjs`), against the real `seal serve` binary on 127.0.0.1 and a
//! third-party page on another 127.0.0.1 port that embeds `seal.js`. It opens the seal, reads the
//! rules, buys a licence through the sandbox (whose webhook crosses real HTTP), downloads the letter,
//! verifies it with `seal verify`, and stops the server with SIGTERM.
//!
//! `.ci/run` installs Chromium and playwright-core. Without them the test fails, naming what is
//! missing; `SEAL_SKIP_BROWSER=1` skips it knowingly on a machine without a browser.

use anyhow::{bail, ensure, Context, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A publisher's page that loads seal.js from its own origin, whose seal API is broken: answers 503
/// to every `/api/` request.
fn page_with_broken_api() -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>host</title></head><body><h1>宿主页面 Host page</h1>\
         <script async src=\"{base}/seal.js\" data-seal=\"rh-a-site\" data-work=\"rh-a-w0\"></script>\
         <script>window.hostScriptRan = true;</script></body></html>"
    );
    let js = include_str!("../../api/static/seal.js");
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (status, kind, body) = if req.starts_with("GET /seal.js") {
                ("200 OK", "text/javascript", js.to_owned())
            } else if req.starts_with("GET /api/") {
                ("503 Service Unavailable", "text/html", "<h1>down</h1>".to_owned())
            } else {
                ("200 OK", "text/html; charset=utf-8", html.clone())
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(format!("{base}/news/1.html"))
}

/// Serves `html` for every request: the third-party publisher's page.
fn third_party_page(html: String) -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/news/2026/reprint.html", listener.local_addr()?);
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    Ok(url)
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn wait_healthy(base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = base.trim_start_matches("http://");
    while Instant::now() < deadline {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            let _ = write!(s, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("seal serve did not become healthy at {base}")
}

/// `seal serve --demo` on a free 127.0.0.1 port with a fresh data folder (its log in `serve.log` there),
/// once healthy: the folder, the server (stopped when dropped) and its base URL.
fn demo_server() -> Result<(tempfile::TempDir, Server, String)> {
    let data = tempfile::tempdir()?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(data.path().join("serve.log"))?;
    let child = Command::new(env!("CARGO_BIN_EXE_seal"))
        .args(["serve", "--demo", "--data"])
        .arg(data.path())
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting seal serve")?;
    let server = Server(child);
    wait_healthy(&base)?;
    Ok((data, server, base))
}

#[test]
fn a_reader_buys_a_licence_from_the_seal_in_chromium() -> Result<()> {
    if std::env::var("SEAL_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SEAL_SKIP_BROWSER=1: skipping the browser test");
        return Ok(());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    ensure!(Path::new(&chromium).exists(), "no Chromium at {chromium}: run .ci/run (it installs it) or set CHROMIUM");
    let node_modules = std::env::var("SEAL_NODE_MODULES").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/copyright-seal/node")
    });
    ensure!(
        node_modules.join("node_modules/playwright-core").exists() || node_modules.join("playwright-core").exists(),
        "playwright-core is not installed under {}: run .ci/run (it installs it) or set SEAL_NODE_MODULES",
        node_modules.display()
    );

    let (data, mut server, base) = demo_server()?;

    let page = third_party_page(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>转载：示例作品</title>\
         <style>body{{font-family:serif;max-width:640px;margin:2rem auto;letter-spacing:1px}}</style></head><body>\
         <h1>示例作品 0-0（转载）</h1><p>本文经授权转载。This article is reprinted under licence.</p>\
         <script async src=\"{base}/seal.js\" data-seal=\"rh-a-site\" data-work=\"rh-a-w0\"></script>\
         <p>正文……</p></body></html>"
    ))?;
    let out_dir = data.path().join("browser");
    std::fs::create_dir_all(&out_dir)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/seal_checkout.mjs");
    let run = Command::new("node")
        .arg(&script)
        .arg(&page)
        .arg(&out_dir)
        .env("SEAL_NODE_MODULES", &node_modules)
        .env("CHROMIUM", &chromium)
        .output()
        .context("running node (install Node.js)")?;
    let serve_log = std::fs::read_to_string(data.path().join("serve.log")).unwrap_or_default();
    ensure!(
        run.status.success(),
        "browser run failed:\n{}\n{}\nserver log:\n{serve_log}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(
        run.stdout.split(|&b| b == b'\n').rfind(|l| l.starts_with(b"{")).context("the driver printed no JSON")?,
    )?;

    // What the reader saw.
    let rules = report["rules"].as_str().unwrap_or("");
    ensure!(rules.contains("¥19.99") && rules.contains("须署名"), "rules as shown: {rules}");
    ensure!(report["statement"].as_str().unwrap_or("").contains("版权所有"), "{report}");
    // Chromium asked for Chinese, and the checkout answered in it alone.
    ensure!(report["checkout_lang"] == "zh-CN" && report["continue_label"] == "继续", "{report}");
    // The sandbox's webhook crossed real HTTP to the server.
    ensure!(serve_log.contains("sandbox webhook delivered"), "no webhook delivery in the log:\n{serve_log}");

    // The letter verifies offline with the platform's key, and names the buyer.
    let letter = report["letter"].as_str().context("letter path")?;
    let verify =
        Command::new(env!("CARGO_BIN_EXE_seal")).args(["verify", "--data"]).arg(data.path()).arg(letter).output()?;
    let said = String::from_utf8_lossy(&verify.stdout);
    ensure!(verify.status.success(), "seal verify failed: {said}{}", String::from_utf8_lossy(&verify.stderr));
    ensure!(said.contains("测试买家 Test Buyer"), "{said}");
    ensure!(said.contains(report["licence_id"].as_str().unwrap_or("?")), "{said}");
    let mut tampered = std::fs::read(letter)?;
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let bad = data.path().join("tampered.jws");
    std::fs::write(&bad, tampered)?;
    ensure!(!Command::new(env!("CARGO_BIN_EXE_seal"))
        .args(["verify", "--data"])
        .arg(data.path())
        .arg(&bad)
        .output()?
        .status
        .success());
    if let Some(pdf) = report["pdf"].as_str().filter(|p| !p.is_empty()) {
        ensure!(std::fs::read(pdf)?.starts_with(b"%PDF"), "the PDF letter is not a PDF");
    }

    // Keep the screenshot where people look for it.
    let shot = report["screenshot"].as_str().context("screenshot")?;
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target)?;
    std::fs::copy(shot, target.join("seal-panel.png"))?;

    // With its API failing, the seal shows nothing and the host page is untouched.
    let down = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/seal_down.mjs"))
        .arg(page_with_broken_api()?)
        .env("SEAL_NODE_MODULES", &node_modules)
        .env("CHROMIUM", &chromium)
        .output()?;
    ensure!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    let down: serde_json::Value = serde_json::from_slice(&down.stdout)?;
    ensure!(down["page_errors"].as_array().is_some_and(Vec::is_empty), "seal.js broke the host page: {down}");
    ensure!(down["host_ok"] == true && down["badge_visible"] == false, "{down}");
    // And it did run: the element was defined and mounted and it asked the (failing) API.
    ensure!(down["defined"] == true && down["mounted"] == true, "the seal never rendered: {down}");
    ensure!(down["api_requests"].as_u64().is_some_and(|n| n >= 1), "the seal never asked its API: {down}");

    // SIGTERM stops the server gracefully (exit status 0).
    ensure!(Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status()?.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.0.try_wait()? {
            ensure!(status.success(), "seal serve exited with {status} on SIGTERM");
            break;
        }
        ensure!(Instant::now() < deadline, "seal serve did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// The main pages in both languages on a desktop and on a phone (390×844): each page in the chosen
/// language, nothing scrolling sideways, the seal page's licence button above the fold on a phone.
/// Screenshots go to the test's temporary folder (and `target/phones/` for people to look at).
#[test]
fn the_main_pages_fit_a_phone_in_both_languages() -> Result<()> {
    if std::env::var("SEAL_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("SEAL_SKIP_BROWSER=1: skipping the browser test");
        return Ok(());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    ensure!(Path::new(&chromium).exists(), "no Chromium at {chromium}: run .ci/run (it installs it) or set CHROMIUM");
    let node_modules = std::env::var("SEAL_NODE_MODULES").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/copyright-seal/node")
    });
    let (data, _server, base) = demo_server()?;
    let out_dir = data.path().join("phones");
    let run = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/phones.mjs"))
        .arg(&base)
        .arg(&out_dir)
        .env("SEAL_NODE_MODULES", &node_modules)
        .env("CHROMIUM", &chromium)
        .output()
        .context("running node (install Node.js)")?;
    ensure!(
        run.status.success(),
        "phone walk failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(
        run.stdout.split(|&b| b == b'\n').rfind(|l| l.starts_with(b"{")).context("the driver printed no JSON")?,
    )?;
    // 15 pages × 2 languages × 2 sizes.
    ensure!(report["screenshots"] == 60, "{report}");
    let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/phones");
    std::fs::create_dir_all(&keep)?;
    for entry in std::fs::read_dir(&out_dir)? {
        let p = entry?.path();
        if let Some(name) = p.file_name() {
            std::fs::copy(&p, keep.join(name))?;
        }
    }
    Ok(())
}
