//! Evidence capture against real HTTP servers on 127.0.0.1, and the WACZ it makes checked by the
//! reference tools.
//!
//! The servers (a std `TcpListener` per test, raw HTTP, as in `tests/fetch.rs`) serve a page in
//! Chinese that loads an image, a gzip-compressed stylesheet, a chunked script, a missing image, a
//! resource over the size cap and two resources at forbidden addresses; they record every request head
//! they receive, so the archive's request records are compared with what really went over the wire,
//! and the forbidden second server counts connections, so "refused" is proven to mean "never
//! contacted". Only 127.0.0.1 is ever contacted.
//!
//! The WACZ is then checked by tools that are not ours:
//! - `wacz validate` (py-wacz, the WACZ reference implementation) and `cdxj-indexer` (the index it
//!   builds from the WARC), from the venv at `SEAL_PYTHON`;
//! - `openssl dgst -verify` for the signature over the exact signed text;
//! - Node's WebCrypto making the same calls as ReplayWeb.page's `verifyWACZSignature` (P-384 SPKI
//!   import, ECDSA/SHA-256 over the `hash` text, raw `r || s`).
//!
//! Without a venv that has `wacz`, or without `openssl` or `node`, those checks skip with a note,
//! unless `SEAL_REQUIRE_WACZ=1` (CI sets it, and installs all three), where they fail instead.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use proptest::prelude::*;
use seal_crawler::evidence::{
    self, capture, package, verify, Capture, CaptureError, CaptureLimits, EvidenceSigner, Exchange, FailureReason,
    Screenshot,
};
use seal_crawler::warc::{WarcConfig, WarcReader};
use seal_crawler::{FetchError, FetchPolicy, Fetcher};
use sha2::{Digest, Sha256};
use url::Url;

// ---------------------------------------------------------------------------------------------
// Test servers

/// What a route answers: the status line, extra header lines, and the body bytes as sent.
struct Answer {
    status: &'static str,
    headers: String,
    body: Vec<u8>,
}

type Routes = HashMap<&'static str, Answer>;

/// Request heads received, by path, in arrival order.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A server answering from a route table, recording each request head (by path) and counting
/// connections.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Seen,
}

impl Server {
    fn start(routes: Routes) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let routes = Arc::new(routes);
        let (count, seen) = (Arc::clone(&accepted), Arc::clone(&requests));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let routes = Arc::clone(&routes);
                let seen = Arc::clone(&seen);
                thread::spawn(move || {
                    let head = read_request(&mut stream);
                    let path = String::from_utf8_lossy(&head).split(' ').nth(1).unwrap_or("").to_owned();
                    seen.lock().expect("lock").push((path.clone(), head));
                    let reply = match routes.get(path.as_str()) {
                        Some(a) => [
                            format!("HTTP/1.1 {}\r\n{}Connection: close\r\n\r\n", a.status, a.headers).into_bytes(),
                            a.body.clone(),
                        ]
                        .concat(),
                        None => b"HTTP/1.1 500 Unrouted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                    };
                    let _ = stream.write_all(&reply);
                });
            }
        });
        Server { addr, accepted, requests }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("server URL")
    }

    fn accepted(&self) -> usize {
        // Give a connection that might be racing in a moment to be counted, so "none" means it.
        thread::sleep(Duration::from_millis(50));
        self.accepted.load(Ordering::SeqCst)
    }

    fn request_head(&self, path: &str) -> Vec<u8> {
        let seen = self.requests.lock().expect("lock");
        seen.iter().find(|(p, _)| p == path).map(|(_, h)| h.clone()).unwrap_or_default()
    }
}

/// Reads a request head up to the blank line.
fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    seen
}

fn fixed(status: &'static str, content_type: &str, body: &[u8]) -> Answer {
    Answer {
        status,
        headers: format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", body.len()),
        body: body.to_vec(),
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

fn chunked(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

const CSS: &[u8] = b"body { font-family: sans-serif; color: #333 } /* \xe7\x89\x88\xe6\x9d\x83 */\n";
const JS_PARTS: [&[u8]; 3] =
    [b"console.log('part one');\n", b"console.log('\xe7\xac\xac\xe4\xba\x8c');\n", b"// end\n"];
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// The page's HTML: Chinese text, resources that work, one that is missing, one over the cap, two at
/// forbidden addresses, a duplicate and a `data:` URL that must not be fetched.
fn page_html(forbidden: SocketAddr) -> String {
    format!(
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">\
         <title>侵权页面：《长安十二时辰》全文</title>\
         <link rel=\"stylesheet\" href=\"/style.css\"><script src=\"/app.js\"></script></head>\
         <body><h1>第一章</h1><p>长安城的清晨，钟声响起。</p>\
         <img src=\"/img.png\"><img src=\"img.png#again\"><img src=\"/missing.png\"><img src=\"/big.bin\">\
         <img src=\"http://169.254.169.254/latest/meta-data/\"><img src=\"http://{forbidden}/secret.png\">\
         <img src=\"data:image/png;base64,iVBORw0KGgo=\"></body></html>"
    )
}

/// The site under test and the forbidden server beside it.
struct Site {
    server: Server,
    forbidden: Server,
    html: String,
}

fn site() -> Site {
    let forbidden = Server::start(HashMap::from([("/secret.png", fixed("200 OK", "image/png", PNG))]));
    let html = page_html(forbidden.addr);
    let routes: Routes = HashMap::from([
        (
            "/start",
            Answer {
                status: "302 Found",
                headers: "Location: /page\r\nContent-Length: 0\r\n".into(),
                body: Vec::new(),
            },
        ),
        ("/page", fixed("200 OK", "text/html; charset=utf-8", html.as_bytes())),
        ("/img.png", fixed("200 OK", "image/png", PNG)),
        ("/style.css", {
            let body = gzip(CSS);
            Answer {
                status: "200 OK",
                headers: format!(
                    "Content-Type: text/css\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n",
                    body.len()
                ),
                body,
            }
        }),
        (
            "/app.js",
            Answer {
                status: "200 OK",
                headers: "Content-Type: application/javascript\r\nTransfer-Encoding: chunked\r\n".into(),
                body: chunked(&JS_PARTS),
            },
        ),
        ("/missing.png", fixed("404 Not Found", "text/plain", b"no such image")),
        ("/big.bin", fixed("200 OK", "application/octet-stream", &vec![7u8; 100 * 1024])),
    ]);
    Site { server: Server::start(routes), forbidden, html }
}

fn fetcher(server: &Server) -> Fetcher {
    Fetcher::new(FetchPolicy { allow_exact: vec![server.addr], ..FetchPolicy::default() }).expect("valid policy")
}

fn limits() -> CaptureLimits {
    CaptureLimits { max_resource_bytes: 64 * 1024, ..CaptureLimits::default() }
}

/// A clock that starts at a fixed moment and moves 1 ms per reading, so dates are predictable.
fn clock() -> impl Fn() -> i64 {
    let tick = AtomicUsize::new(0);
    move || 1_767_225_600_000 + tick.fetch_add(1, Ordering::SeqCst) as i64
}

fn signer() -> EvidenceSigner {
    EvidenceSigner::generate("CopyrightSeal evidence test").expect("a key")
}

fn resource<'c>(capture: &'c Capture, path: &str) -> &'c Exchange {
    capture.resources.iter().find(|e| e.url.path() == path).unwrap_or_else(|| panic!("no exchange for {path}"))
}

fn sha256_label(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

// ---------------------------------------------------------------------------------------------
// Capture

#[tokio::test]
async fn capture_records_page_resources_and_failures_without_touching_forbidden_addresses() {
    let site = site();
    let start = site.server.url("/start");
    let captured = capture(&fetcher(&site.server), &start, &limits(), clock()).await.expect("the page is captured");

    // The redirect is its own exchange; the page is the last hop.
    assert_eq!(captured.requested_url, start);
    assert_eq!(captured.redirects.len(), 1);
    assert_eq!(captured.redirects[0].status, 302);
    assert_eq!(captured.page.url, site.server.url("/page"));
    assert_eq!(captured.page.status, 200);
    assert_eq!(captured.page.body, site.html.as_bytes());
    assert_eq!(captured.title.as_deref(), Some("侵权页面：《长安十二时辰》全文"));
    assert_eq!(captured.page.http_version, "HTTP/1.1");
    for exchange in captured.exchanges() {
        assert_eq!(exchange.remote_addr, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), "{}", exchange.url);
    }
    assert!(captured.redirects[0].fetched_ms < captured.page.fetched_ms);

    // Fetched once each, in page order; the 404 is archived as the answer the site gave.
    let paths: Vec<&str> = captured.resources.iter().map(|e| e.url.path()).collect();
    assert_eq!(paths, ["/style.css", "/app.js", "/img.png", "/missing.png"]);
    assert_eq!(resource(&captured, "/missing.png").status, 404);
    assert_eq!(resource(&captured, "/img.png").body, PNG);
    // Bytes as sent: the stylesheet stays gzip, with its Content-Encoding.
    let css = resource(&captured, "/style.css");
    assert_eq!(css.body, gzip(CSS));
    assert_eq!(css.header("content-encoding"), Some("gzip"));
    // The chunked framing is undone by the HTTP stack; the content is whole.
    assert_eq!(resource(&captured, "/app.js").body, JS_PARTS.concat());

    let failures: HashMap<String, FailureReason> =
        captured.failures.iter().map(|f| (f.url.to_string(), f.reason)).collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert_eq!(failures.get("http://169.254.169.254/latest/meta-data/"), Some(&FailureReason::Refused));
    assert_eq!(failures.get(&format!("http://{}/secret.png", site.forbidden.addr)), Some(&FailureReason::Refused));
    assert_eq!(failures.get(site.server.url("/big.bin").as_str()), Some(&FailureReason::TooLarge));
    assert_eq!(site.forbidden.accepted(), 0, "a forbidden resource must never be connected to");

    // The request headers recorded are the ones the server received, in order.
    for exchange in captured.exchanges() {
        let head = site.server.request_head(exchange.url.path());
        let text = String::from_utf8(head).expect("ASCII request head");
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some(format!("GET {} HTTP/1.1", exchange.url.path()).as_str()));
        let received: Vec<(String, String)> = lines
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        assert_eq!(received, exchange.request_headers, "{}", exchange.url);
    }
    let names: Vec<&str> = captured.page.request_headers.iter().map(|(n, _)| n.as_str()).collect();
    for needed in ["host", "user-agent", "accept", "accept-encoding"] {
        assert!(names.contains(&needed), "{needed} missing from {names:?}");
    }
}

#[tokio::test]
async fn limits_on_count_and_total_size_leave_resources_out_with_a_reason() {
    let site = site();
    let page = site.server.url("/page");
    let f = fetcher(&site.server);

    let one = CaptureLimits { max_resources: 1, ..limits() };
    let captured = capture(&f, &page, &one, clock()).await.expect("captured");
    assert_eq!(captured.resources.len(), 1);
    assert_eq!(captured.resources[0].url.path(), "/style.css");
    let limited = captured.failures.iter().filter(|f| f.reason == FailureReason::LimitReached).count();
    assert_eq!(limited, 6, "{:?}", captured.failures);

    // The page alone is about 700 bytes; a budget just above it leaves room for the small
    // resources only, and never lets the total pass it.
    let page_len = site.html.len();
    let tight = CaptureLimits { max_total_bytes: page_len + 200, ..limits() };
    let captured = capture(&f, &page, &tight, clock()).await.expect("captured");
    let total: usize = captured.exchanges().map(|e| e.body.len()).sum();
    assert!(total <= tight.max_total_bytes, "{total} > {}", tight.max_total_bytes);
    assert!(captured.failures.iter().any(|f| f.reason == FailureReason::OverBudget), "{:?}", captured.failures);

    // The page over its own cap fails the capture.
    let small = CaptureLimits { max_page_bytes: 100, ..limits() };
    let err = capture(&f, &page, &small, clock()).await.expect_err("page over the cap");
    assert!(matches!(err, CaptureError::Page(FetchError::TooLarge)), "{err:?}");
}

#[tokio::test]
async fn a_forbidden_page_fails_without_a_connection() {
    let site = site();
    let f = Fetcher::new(FetchPolicy::default()).expect("policy");
    let err = capture(&f, &site.server.url("/page"), &limits(), clock()).await.expect_err("refused");
    assert!(matches!(err, CaptureError::Page(FetchError::Refused)), "{err:?}");
    assert_eq!(site.server.accepted(), 0);
}

// ---------------------------------------------------------------------------------------------
// WARC

#[tokio::test]
async fn the_warc_reads_back_with_the_crates_reader_record_by_record() {
    let site = site();
    let captured =
        capture(&fetcher(&site.server), &site.server.url("/start"), &limits(), clock()).await.expect("captured");
    let warc = evidence::write_warc(&captured, "test software").expect("WARC written");

    let reader = WarcReader::new(Cursor::new(&warc), WarcConfig::default()).expect("reader");
    assert!(reader.is_gzip());
    let records: Vec<_> = reader.map(|r| r.expect("every record reads")).collect();
    assert_eq!(records.len(), 1 + 2 * captured.exchanges().count());

    let info = &records[0];
    assert_eq!(info.warc_type(), Some("warcinfo"));
    let info_text = String::from_utf8_lossy(info.block()).into_owned();
    assert!(info_text.contains("software: test software\r\n"), "{info_text}");
    assert!(info_text.contains("resource-not-captured: http://169.254.169.254/latest/meta-data/"), "{info_text}");

    let mut ids = std::collections::HashSet::new();
    for record in &records {
        assert_eq!(record.version(), "1.1");
        let id = record.record_id().expect("record id");
        assert!(id.starts_with("<urn:uuid:") && id.ends_with('>') && id.len() == 47, "{id}");
        assert!(ids.insert(id.to_owned()), "duplicate id {id}");
        assert!(record.date_millis().is_some(), "{record:?}");
        assert_eq!(record.header("WARC-Block-Digest"), Some(sha256_label(record.block()).as_str()));
        assert_eq!(record.header("Content-Length"), Some(record.block().len().to_string().as_str()));
    }

    for (pair, exchange) in records[1..].chunks(2).zip(captured.exchanges()) {
        let (response, request) = (&pair[0], &pair[1]);
        let uri = exchange.url.as_str();
        assert_eq!(response.warc_type(), Some("response"));
        assert_eq!(request.warc_type(), Some("request"));
        assert_eq!(response.target_uri(), Some(uri));
        assert_eq!(request.target_uri(), Some(uri));
        assert_eq!(response.content_type(), Some("application/http;msgtype=response"));
        assert_eq!(request.content_type(), Some("application/http;msgtype=request"));
        assert_eq!(response.header("WARC-IP-Address"), Some("127.0.0.1"));
        assert_eq!(request.header("WARC-Concurrent-To"), response.record_id());
        assert_eq!(response.header("WARC-Concurrent-To"), request.record_id());
        assert_eq!(response.date_millis(), Some(exchange.fetched_ms));
        assert_eq!(response.header("WARC-Payload-Digest"), Some(sha256_label(&exchange.body).as_str()));

        // The reader decodes the payload the way a replay tool would: gzip undone, and the body
        // exactly what the page loaded.
        let payload = response.payload().expect("HTTP payload parses").expect("a response has a payload");
        assert_eq!(payload.http_status, Some(exchange.status));
        let expected: Vec<u8> = match exchange.url.path() {
            "/style.css" => CSS.to_vec(),
            _ => exchange.body.clone(),
        };
        assert_eq!(payload.body.as_ref(), expected.as_slice(), "{uri}");

        let head = String::from_utf8_lossy(request.block()).into_owned();
        assert!(head.starts_with(&format!("GET {} HTTP/1.1\r\n", exchange.url.path())), "{head}");
    }

    // Framing fields describe the held body: the chunked script gets a Content-Length and keeps
    // its original Transfer-Encoding under the webrecorder name.
    let script = records
        .iter()
        .find(|r| r.warc_type() == Some("response") && r.target_uri().is_some_and(|u| u.ends_with("/app.js")));
    let payload = script.expect("script record").payload().expect("parses").expect("payload");
    assert_eq!(payload.http_header("x-archive-orig-transfer-encoding"), Some("chunked"));
    assert_eq!(payload.http_header("transfer-encoding"), None);
    assert_eq!(payload.http_header("content-length"), Some(JS_PARTS.concat().len().to_string().as_str()));
    let css = records
        .iter()
        .find(|r| r.warc_type() == Some("response") && r.target_uri().is_some_and(|u| u.ends_with("/style.css")));
    let payload = css.expect("css record").payload().expect("parses").expect("payload");
    assert_eq!(payload.http_header("content-encoding"), Some("gzip"));
    assert_eq!(payload.http_header("content-length"), Some(gzip(CSS).len().to_string().as_str()));
}

// ---------------------------------------------------------------------------------------------
// WACZ

/// The files of a zip, in order, with their compression.
fn unzip(bytes: &[u8]) -> Vec<(String, zip::CompressionMethod, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).expect("entry");
            let name = file.name().expect("name").into_owned();
            let method = file.compression();
            let mut data = Vec::new();
            file.read_to_end(&mut data).expect("entry reads");
            (name, method, data)
        })
        .collect()
}

/// A zip of `files` (a tampered WACZ, with valid zip checksums, so only the WACZ's own hashes can
/// catch the change).
fn rezip(files: &[(String, zip::CompressionMethod, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, method, data) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default().compression_method(*method))
            .expect("start");
        zip.write_all(data).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

fn edit(bytes: &[u8], name: &str, change: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut files = unzip(bytes);
    let file = files.iter_mut().find(|(n, _, _)| n == name).unwrap_or_else(|| panic!("no {name}"));
    change(&mut file.2);
    rezip(&files)
}

fn json(bytes: &[u8], name: &str) -> serde_json::Value {
    let files = unzip(bytes);
    let data = &files.iter().find(|(n, _, _)| n == name).unwrap_or_else(|| panic!("no {name}")).2;
    serde_json::from_slice(data).expect("JSON")
}

#[tokio::test]
async fn the_wacz_is_complete_signed_and_verifies() {
    let site = site();
    let captured =
        capture(&fetcher(&site.server), &site.server.url("/start"), &limits(), clock()).await.expect("captured");
    let signer = signer();
    let wacz = package(&captured, &signer, 1_767_225_660_123).expect("packaged");

    let files = unzip(&wacz.bytes);
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "pages/pages.jsonl",
            "archive/data.warc.gz",
            "indexes/index.cdx",
            "datapackage.json",
            "datapackage-digest.json"
        ]
    );
    let warc = files.iter().find(|(n, _, _)| n == "archive/data.warc.gz").expect("warc");
    assert_eq!(warc.1, zip::CompressionMethod::Stored, "the WARC must be stored for random access");

    // The manifest lists every other file with its true hash and size.
    let datapackage = json(&wacz.bytes, "datapackage.json");
    assert_eq!(datapackage["profile"], "data-package");
    assert_eq!(datapackage["wacz_version"], "1.1.1");
    assert_eq!(datapackage["created"], "2026-01-01T00:01:00.123Z");
    assert_eq!(datapackage["mainPageURL"], site.server.url("/page").as_str());
    let resources = datapackage["resources"].as_array().expect("resources");
    assert_eq!(resources.len(), 3);
    for listed in resources {
        let path = listed["path"].as_str().expect("path");
        let data = &files.iter().find(|(n, _, _)| n == path).expect("listed file present").2;
        assert_eq!(listed["hash"], sha256_label(data), "{path}");
        assert_eq!(listed["bytes"], data.len(), "{path}");
    }
    let raw_datapackage = &files.iter().find(|(n, _, _)| n == "datapackage.json").expect("datapackage").2;
    assert_eq!(wacz.datapackage_sha256, <[u8; 32]>::from(Sha256::digest(raw_datapackage)));

    // Pages and index.
    let pages = String::from_utf8(files[0].2.clone()).expect("UTF-8 pages");
    let mut lines = pages.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().expect("header")).expect("JSON");
    assert_eq!(header, serde_json::json!({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}));
    let page: serde_json::Value = serde_json::from_str(lines.next().expect("page")).expect("JSON");
    assert_eq!(page["url"], site.server.url("/page").as_str());
    assert_eq!(page["title"], "侵权页面：《长安十二时辰》全文");
    assert!(page["ts"].as_str().is_some_and(|ts| ts.starts_with("2026-01-01T00:00:00")), "{page}");
    let index = String::from_utf8(files[2].2.clone()).expect("UTF-8 index");
    let keys: Vec<&str> = index.lines().collect();
    assert_eq!(keys.len(), captured.exchanges().count());
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "the index must be sorted");
    assert!(index.contains(&format!("1,0,0,127:{})/page 20260101000000 {{", site.server.addr.port())), "{index}");

    // The signed digest.
    let digest = json(&wacz.bytes, "datapackage-digest.json");
    let hash = format!("sha256:{}", hex::encode(wacz.datapackage_sha256));
    assert_eq!(digest["path"], "datapackage.json");
    assert_eq!(digest["hash"], hash);
    assert_eq!(digest["signedData"]["hash"], hash);
    assert_eq!(digest["signedData"]["created"], datapackage["created"]);
    assert_eq!(digest["signedData"]["software"], "CopyrightSeal evidence test");
    let signature = BASE64.decode(digest["signedData"]["signature"].as_str().expect("signature")).expect("base64");
    assert_eq!(signature.len(), 96, "raw r || s for P-384, as WebCrypto writes it");
    let public_key = BASE64.decode(digest["signedData"]["publicKey"].as_str().expect("key")).expect("base64");
    assert_eq!(public_key, signer.public_key_der().expect("key"));

    let verified = verify(&wacz.bytes).expect("verifies");
    assert_eq!(verified.public_key_der, public_key);
    assert_eq!(verified.main_page_url.as_deref(), Some(site.server.url("/page").as_str()));
    assert_eq!(verified.created, "2026-01-01T00:01:00.123Z");
    assert_eq!(verified.files, 3);
    assert_eq!(verified.datapackage_sha256, wacz.datapackage_sha256);

    // The reference tools agree.
    reference_checks(&wacz.bytes, &captured);
}

#[tokio::test]
async fn verify_rejects_every_kind_of_tampering() {
    let site = site();
    let captured =
        capture(&fetcher(&site.server), &site.server.url("/page"), &limits(), clock()).await.expect("captured");
    let wacz = package(&captured, &signer(), 1_767_225_660_000).expect("packaged").bytes;
    verify(&wacz).expect("the untouched WACZ verifies");

    // One changed byte in any listed file.
    for name in ["pages/pages.jsonl", "archive/data.warc.gz", "indexes/index.cdx"] {
        let tampered = edit(&wacz, name, |data| {
            let middle = data.len() / 2;
            data[middle] ^= 0x01;
        });
        let err = verify(&tampered).expect_err(name);
        assert!(matches!(&err, CaptureError::HashMismatch { path } if path == name), "{name}: {err:?}");
    }
    // A changed byte in the stored WARC without fixing the zip checksum is caught too.
    let mut raw = wacz.clone();
    let at = raw.windows(8).position(|w| w == b"WARC/1.1").unwrap_or(raw.len() / 3);
    raw[at + 200] ^= 0x01;
    assert!(verify(&raw).is_err());

    // The manifest changed (a hash swapped to match a forged file) breaks the digest ...
    let forged = edit(&wacz, "datapackage.json", |data| {
        let text = String::from_utf8(data.clone()).expect("UTF-8").replace("Evidence:", "Evidence (edited):");
        *data = text.into_bytes();
    });
    assert!(matches!(verify(&forged), Err(CaptureError::DigestMismatch)));
    // ... and fixing the digest's hash too leaves the signed hash behind ...
    let new_hash = {
        let files = unzip(&forged);
        sha256_label(&files.iter().find(|(n, _, _)| n == "datapackage.json").expect("dp").2)
    };
    let set_digest = |bytes: &[u8], f: &dyn Fn(&mut serde_json::Value)| {
        edit(bytes, "datapackage-digest.json", |data| {
            let mut value: serde_json::Value = serde_json::from_slice(data).expect("JSON");
            f(&mut value);
            *data = serde_json::to_vec_pretty(&value).expect("JSON");
        })
    };
    let rehashed = set_digest(&forged, &|v| v["hash"] = new_hash.clone().into());
    assert!(matches!(verify(&rehashed), Err(CaptureError::DigestMismatch)));
    // ... and fixing the signed hash as well fails the signature.
    let resigned_hash = set_digest(&rehashed, &|v| v["signedData"]["hash"] = new_hash.clone().into());
    assert!(matches!(verify(&resigned_hash), Err(CaptureError::BadSignature)));

    // A signature swapped for another key's signature of the same hash fails; re-signing with
    // another key and swapping the public key as well verifies, but names the other key.
    let other = package(&captured, &signer(), 1_767_225_660_000).expect("packaged").bytes;
    let other_digest = json(&other, "datapackage-digest.json");
    let swapped =
        set_digest(&wacz, &|v| v["signedData"]["signature"] = other_digest["signedData"]["signature"].clone());
    assert!(matches!(verify(&swapped), Err(CaptureError::BadSignature)));
    let mut garbled =
        json(&wacz, "datapackage-digest.json")["signedData"]["signature"].as_str().expect("sig").to_owned();
    garbled.replace_range(0..4, if garbled.starts_with("AAAA") { "BBBB" } else { "AAAA" });
    let garbled = set_digest(&wacz, &|v| v["signedData"]["signature"] = garbled.clone().into());
    assert!(matches!(verify(&garbled), Err(CaptureError::BadSignature)));

    // The creation time is signed.
    let redated = set_digest(&wacz, &|v| v["signedData"]["created"] = "2020-01-01T00:00:00Z".into());
    assert!(matches!(verify(&redated), Err(CaptureError::DigestMismatch)));
    let renamed = set_digest(&wacz, &|v| v["signedData"]["software"] = "someone else".into());
    assert!(matches!(verify(&renamed), Err(CaptureError::DigestMismatch)));

    // A file added or removed.
    let mut files = unzip(&wacz);
    files.push(("timestamp.tsr".to_owned(), zip::CompressionMethod::Stored, b"token".to_vec()));
    assert!(matches!(verify(&rezip(&files)), Err(CaptureError::UnlistedFile { path }) if path == "timestamp.tsr"));
    let files: Vec<_> = unzip(&wacz).into_iter().filter(|(n, _, _)| n != "indexes/index.cdx").collect();
    assert!(matches!(verify(&rezip(&files)), Err(CaptureError::MissingFile { path }) if path == "indexes/index.cdx"));

    // Unsigned, and not a WACZ at all.
    let unsigned = set_digest(&wacz, &|v| {
        if let Some(map) = v.as_object_mut() {
            map.remove("signedData");
        }
    });
    assert!(matches!(verify(&unsigned), Err(CaptureError::Unsigned)));
    assert!(matches!(verify(b"PK not really"), Err(CaptureError::NotAWacz(_))));
}

/// A capture built in memory, for the property test (no network needed to exercise packaging).
fn synthetic(body: Vec<u8>, title: Option<String>, extra: Vec<Vec<u8>>) -> Capture {
    let page_url = Url::parse("https://news.example.cn/a/1.html?x=1").expect("URL");
    let exchange = |url: Url, body: Vec<u8>, at: i64| Exchange {
        url,
        method: "GET".to_owned(),
        request_headers: vec![("host".to_owned(), "news.example.cn".to_owned())],
        status: 200,
        http_version: "HTTP/1.1".to_owned(),
        headers: vec![("content-type".to_owned(), b"text/html".to_vec())],
        body,
        fetched_ms: at,
        remote_addr: Some(IpAddr::V4(Ipv4Addr::new(93, 184, 216, 34))),
    };
    let resources = extra
        .into_iter()
        .enumerate()
        .map(|(i, b)| exchange(page_url.join(&format!("/r/{i}")).expect("URL"), b, 1_700_000_000_100 + i as i64))
        .collect();
    Capture {
        requested_url: page_url.clone(),
        redirects: Vec::new(),
        page: exchange(page_url, body, 1_700_000_000_000),
        title,
        resources,
        failures: Vec::new(),
        started_ms: 1_700_000_000_000,
        screenshot: Some(Screenshot { png: b"\x89PNG synthetic".to_vec(), taken_ms: 1_700_000_000_200 }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn packaged_hashes_match_and_any_flipped_byte_is_caught(
        body in proptest::collection::vec(any::<u8>(), 0..2000),
        title in proptest::option::of("[a-z 版权侵权]{0,30}"),
        extra in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..500), 0..4),
        pick in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
    ) {
        let captured = synthetic(body, title, extra);
        let signer = EvidenceSigner::generate("proptest").expect("key");
        let wacz = package(&captured, &signer, 1_700_000_100_000).expect("packaged");
        let verified = verify(&wacz.bytes).expect("verifies");
        prop_assert_eq!(verified.files, 3);

        let files = unzip(&wacz.bytes);
        let datapackage: serde_json::Value =
            serde_json::from_slice(&files.iter().find(|(n, _, _)| n == "datapackage.json").expect("dp").2).expect("JSON");
        for listed in datapackage["resources"].as_array().expect("resources") {
            let path = listed["path"].as_str().expect("path");
            let data = &files.iter().find(|(n, _, _)| n == path).expect("present").2;
            let expected = sha256_label(data);
            prop_assert_eq!(listed["hash"].as_str(), Some(expected.as_str()));
        }

        // Every byte of the listed files and of the manifest is covered; the digest file's own
        // unsigned metadata is not (the spec signs only the hash), so it is not flipped here.
        let mut tampered = files.clone();
        let target = pick.index(tampered.len() - 1);
        prop_assert_ne!(tampered[target].0.as_str(), "datapackage-digest.json");
        let data = &mut tampered[target].2;
        let at = position.index(data.len());
        data[at] ^= 0x20;
        prop_assert!(verify(&rezip(&tampered)).is_err(), "flipping byte {} of {} went unnoticed", at, tampered[target].0);
    }
}

// ---------------------------------------------------------------------------------------------
// Reference tools

fn required() -> bool {
    std::env::var("SEAL_REQUIRE_WACZ").as_deref() == Ok("1")
}

/// Skips (with a note) or, under `SEAL_REQUIRE_WACZ=1`, fails for a missing reference tool.
fn missing(what: &str) -> bool {
    assert!(!required(), "SEAL_REQUIRE_WACZ=1 but {what}");
    eprintln!("skipping a reference check: {what} (set SEAL_REQUIRE_WACZ=1 to fail instead)");
    true
}

/// The venv python with py-wacz, from `SEAL_PYTHON` (or the venv `.ci/run` makes).
fn wacz_python() -> Option<PathBuf> {
    let python = std::env::var("SEAL_PYTHON").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/copyright-seal/py/bin/python")
    });
    let works = python.with_file_name("wacz").is_file()
        && Command::new(&python).args(["-c", "import wacz, cdxj_indexer"]).output().is_ok_and(|o| o.status.success());
    if works {
        Some(python)
    } else {
        missing(&format!("{} cannot import wacz (.ci/run installs it)", python.display()));
        None
    }
}

fn run(command: &mut Command) -> (bool, String) {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?} runs: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("$ {command:?}\n{text}");
    (out.status.success(), text)
}

fn reference_checks(wacz: &[u8], captured: &Capture) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("capture.wacz");
    std::fs::write(&path, wacz).expect("write WACZ");
    if let Some(python) = wacz_python() {
        wacz_validate(&python, dir.path(), &path, wacz);
        cdxj_indexer_agrees(&python, dir.path(), wacz, captured);
    }
    signature_checks(dir.path(), wacz);
}

/// `wacz validate` accepts the WACZ, and rejects it with one byte of the WARC changed or an unlisted
/// file added (the reason there is no `timestamp.tsr` inside). It runs as the venv's `wacz` console
/// script: `python -m wacz` drops the verdict and always exits 0.
fn wacz_validate(python: &Path, dir: &Path, path: &Path, wacz: &[u8]) {
    let cli = python.with_file_name("wacz");
    let validate = |file: &Path| run(Command::new(&cli).args(["validate", "-f"]).arg(file));
    let (ok, text) = validate(path);
    assert!(ok && text.contains("Validation succeeded"), "wacz validate rejected our WACZ:\n{text}");
    assert!(text.contains("Version detected as 1.1.1"), "{text}");

    // A byte of the first gzip member's MTIME field: the WARC still decompresses (gzip does not
    // check it), so only the manifest's hash can tell.
    let tampered = edit(wacz, "archive/data.warc.gz", |d| d[4] ^= 1);
    let bad = dir.join("tampered.wacz");
    std::fs::write(&bad, tampered).expect("write");
    let (ok, text) = validate(&bad);
    // Frictionless (inside `wacz validate`) checks the listed hash first; py-wacz's own check would
    // say "hash does not match".
    let caught = text.contains("Hash Count Error") || text.contains("hash does not match");
    assert!(!ok && caught, "wacz validate accepted a changed WARC:\n{text}");

    let mut files = unzip(wacz);
    files.push(("timestamp.tsr".to_owned(), zip::CompressionMethod::Stored, b"token".to_vec()));
    let extra = dir.join("extra.wacz");
    std::fs::write(&extra, rezip(&files)).expect("write");
    let (ok, text) = validate(&extra);
    assert!(!ok && text.contains("not listed in the datapackage"), "{text}");
}

/// cdxj-indexer (what py-wacz indexes WARCs with) finds the same response records at the same
/// offsets and lengths, with the same payload digests, as our index says.
fn cdxj_indexer_agrees(python: &Path, dir: &Path, wacz: &[u8], captured: &Capture) {
    let files = unzip(wacz);
    let warc = dir.join("data.warc.gz");
    std::fs::write(&warc, &files.iter().find(|(n, _, _)| n == "archive/data.warc.gz").expect("warc").2).expect("write");
    let (ok, text) = run(Command::new(python)
        .args(["-c", "import sys; from cdxj_indexer.main import main; main(sys.argv[1:])"])
        .arg(&warc));
    assert!(ok, "cdxj-indexer failed:\n{text}");
    let facts = |line: &str| -> (String, String, String, String, String) {
        let json: serde_json::Value = serde_json::from_str(&line[line.find('{').expect("JSON part")..]).expect("JSON");
        let s = |k: &str| json[k].as_str().map(str::to_owned).unwrap_or_else(|| json[k].to_string());
        (s("url"), s("status"), s("digest"), s("offset"), s("length"))
    };
    let mut theirs: Vec<_> = text.lines().filter(|l| l.contains(" {")).map(facts).collect();
    let index = String::from_utf8(files.iter().find(|(n, _, _)| n == "indexes/index.cdx").expect("index").2.clone())
        .expect("UTF-8");
    let mut ours: Vec<_> = index.lines().map(facts).collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours.len(), captured.exchanges().count());
    assert_eq!(ours, theirs);
}

/// OpenSSL verifies the signature over the exact signed text (after re-encoding r || s as DER, the
/// form `openssl dgst` reads), and Node's WebCrypto verifies it as ReplayWeb.page does; both reject
/// it over a changed text.
fn signature_checks(dir: &Path, wacz: &[u8]) {
    let digest = json(wacz, "datapackage-digest.json");
    let signed = &digest["signedData"];
    let hash = signed["hash"].as_str().expect("hash");
    let signature_b64 = signed["signature"].as_str().expect("signature");
    let key_b64 = signed["publicKey"].as_str().expect("key");
    let raw = BASE64.decode(signature_b64).expect("base64");
    let der = p384::ecdsa::Signature::from_slice(&raw).expect("96-byte raw signature").to_der();
    std::fs::write(dir.join("sig.der"), der.as_bytes()).expect("write");
    std::fs::write(dir.join("pub.der"), BASE64.decode(key_b64).expect("base64")).expect("write");
    std::fs::write(dir.join("signed.txt"), hash).expect("write");
    std::fs::write(dir.join("forged.txt"), hash.replace("sha256:", "sha256:0")).expect("write");

    let have_openssl = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if have_openssl || !missing("no `openssl` on the PATH") {
        let (ok, text) = run(Command::new("openssl")
            .current_dir(dir)
            .args(["pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "pub.pem"]));
        assert!(ok, "{text}");
        let (_, text) =
            run(Command::new("openssl").current_dir(dir).args(["pkey", "-pubin", "-in", "pub.pem", "-noout", "-text"]));
        assert!(text.contains("P-384") || text.contains("secp384r1"), "{text}");
        let verify = |file: &str| {
            run(Command::new("openssl").current_dir(dir).args([
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "sig.der",
                file,
            ]))
        };
        let (ok, text) = verify("signed.txt");
        assert!(ok && text.contains("Verified OK"), "openssl rejected our signature:\n{text}");
        let (ok, text) = verify("forged.txt");
        assert!(!ok, "openssl accepted a signature over another text:\n{text}");
    }

    let have_node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if have_node || !missing("no `node` on the PATH") {
        // The calls of wabac.js `verifyWACZSignature` for an anonymous signature.
        let script = r#"
            const [hash, signature, publicKey] = process.argv.slice(1);
            const subtle = globalThis.crypto.subtle;
            const key = await subtle.importKey("spki", Buffer.from(publicKey, "base64"),
                { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]);
            const check = (text) => subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key,
                Buffer.from(signature, "base64"), new TextEncoder().encode(text));
            console.log(JSON.stringify({ signed: await check(hash), forged: await check(hash + "0") }));
        "#;
        let (ok, text) =
            run(Command::new("node").args(["--input-type=module", "-e", script, hash, signature_b64, key_b64]));
        assert!(ok, "{text}");
        assert!(text.contains(r#"{"signed":true,"forged":false}"#), "WebCrypto (as ReplayWeb.page) disagrees:\n{text}");
    }
}
