//! Monitoring end to end through the real `seal` binary against a fixture website served by the test on
//! 127.0.0.1: robots.txt (a disallowed folder, a longest-match allow, a Crawl-delay, a gzip sitemap
//! index), a page reachable only from the sitemap, an RSS feed, a GBK page with no charset anywhere but
//! in its bytes, redirects, a redirect loop, a redirect to an address the guard must refuse, 404 and
//! 500 answers, a slow page and a 30 MB page, and copies of fixture works that are licensed,
//! allowlisted, on the holder's own channel, or unlicensed.
//!
//! What is asserted: the exact set of hits and their colours; from the server's access log, that
//! nothing disallowed was fetched, that the Crawl-delay was kept and that the refused address saw no
//! connection; that a crawl killed mid-run resumes without refetching; that a licence granted afterwards
//! turns the right hits white; and that a WARC of the same pages gives the same hits.

use crate::corpus;
use anyhow::{ensure, Context, Result};
use seal_api::services::import::DataDir;
use seal_api::store::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The photo every image hit is about.
const PHOTO: &str = "lo_Picture_0B_by_freespace_a.jpg";

/// A fixture work's text body (the `.txt` convention: first line title, rest body) as HTML paragraphs.
fn work_html(file: &str, title: &str, extra: &str) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(corpus("text").join("originals").join(file))?;
    let body = text.split_once('\n').map_or(text.as_str(), |(_, b)| b);
    let paragraphs: String = body
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>\n", p.replace('&', "&amp;").replace('<', "&lt;")))
        .collect();
    Ok(format!("<!doctype html><html><head><title>{title}</title></head><body>{extra}{paragraphs}</body></html>")
        .into_bytes())
}

/// One response of the fixture site.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
}

fn ok(content_type: &str, body: Vec<u8>) -> Answer {
    Answer { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body, delay: Duration::ZERO }
}

fn redirect(status: u16, to: &str) -> Answer {
    Answer { status, headers: vec![("Location".into(), to.into())], body: Vec::new(), delay: Duration::ZERO }
}

/// The fixture website. `trap` is the port of a second listener that must never see a connection.
struct Site {
    port: u16,
    trap: u16,
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn answer(&self, path: &str) -> Result<Answer> {
        let html = "text/html; charset=utf-8";
        let img = r#"<img src="/img/photo.jpg" alt="photo">"#;
        Ok(match path {
            "/robots.txt" => ok(
                "text/plain",
                format!(
                    "User-agent: *\nDisallow: /private/\nAllow: /private/open.html\nCrawl-delay: 1\n\
                     Sitemap: {}\n",
                    self.url("/sitemaps/index.xml.gz")
                )
                .into_bytes(),
            ),
            "/" => ok(
                html,
                br#"<!doctype html><html><head><title>Fixture news</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>
<a href="/news/a.html">a</a> <a href="/licensed/b.html">b</a> <a href="/blog/c.html">c</a>
<a href="/private/secret.html">secret</a> <a href="/private/open.html">open</a>
<a href="/go/redirect">moved</a> <a href="/go/loop1">loop</a> <a href="/go/evil">evil</a>
<a href="/missing.html">missing</a> <a href="/broken.html">broken</a> <a href="/slow.html">slow</a>
<a href="/huge.html">huge</a> <a href="/gbk.html">gbk</a> <a href="/news/later.html">later</a> <a href="/news/a.html#again">same page</a>
<a href="https://elsewhere.example/">off-site</a>
</body></html>"#
                    .to_vec(),
            ),
            "/news/a.html" => ok(html, work_html("en-0001.txt", "Copied story", img)?),
            "/licensed/b.html" => ok(html, work_html("en-0002.txt", "Licensed story", img)?),
            "/blog/c.html" => ok(html, work_html("en-0004.txt", "The holder's own blog", "")?),
            "/private/secret.html" => ok(html, work_html("en-0005.txt", "Secret", "")?),
            "/private/open.html" => ok(html, work_html("en-0006.txt", "Open", "")?),
            "/go/redirect" => redirect(301, "/news/moved.html"),
            "/news/moved.html" => ok(html, work_html("en-0010.txt", "Moved", "")?),
            "/news/later.html" => ok(html, work_html("en-0011.txt", "Registered after the crawl", "")?),
            "/go/loop1" => redirect(302, "/go/loop2"),
            "/go/loop2" => redirect(302, "/go/loop1"),
            "/go/evil" => redirect(302, &format!("http://127.0.0.1:{}/steal", self.trap)),
            "/broken.html" => Answer { status: 500, headers: Vec::new(), body: b"oops".to_vec(), delay: Duration::ZERO },
            "/slow.html" => Answer { delay: Duration::from_secs(6), ..ok(html, b"<p>late</p>".to_vec()) },
            "/huge.html" => ok(html, vec![b'a'; 30 << 20]),
            "/gbk.html" => {
                let text = std::fs::read_to_string(corpus("text").join("originals").join("zh-0001.txt"))?;
                let page = format!(
                    "<html><head><title>转载</title></head><body>{}</body></html>",
                    text.split("\n\n").map(|p| format!("<p>{p}</p>")).collect::<String>()
                );
                // GBK bytes with no charset in the header or the page: the engine must sniff them.
                ok("text/html", encoding_rs::GBK.encode(&page).0.into_owned())
            }
            "/sitemaps/index.xml.gz" => {
                let index = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{}</loc></sitemap></sitemapindex>"#,
                    self.url("/sitemaps/pages.xml")
                );
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(index.as_bytes())?;
                ok("application/gzip", gz.finish()?)
            }
            "/sitemaps/pages.xml" => ok(
                "application/xml",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{}</loc></url></urlset>"#,
                    self.url("/hidden/d.html")
                )
                .into_bytes(),
            ),
            "/hidden/d.html" => ok(html, work_html("en-0008.txt", "Only in the sitemap", "")?),
            "/feed.xml" => ok(
                "application/rss+xml",
                format!(
                    r#"<?xml version="1.0"?><rss version="2.0"><channel><title>f</title><item><title>e</title><link>{}</link></item></channel></rss>"#,
                    self.url("/partners/e.html")
                )
                .into_bytes(),
            ),
            "/partners/e.html" => ok(html, work_html("en-0009.txt", "Partner reprint", "")?),
            "/img/photo.jpg" => ok("image/jpeg", std::fs::read(corpus("images").join("originals").join(PHOTO))?),
            _ => Answer { status: 404, headers: Vec::new(), body: b"not found".to_vec(), delay: Duration::ZERO },
        })
    }
}

/// The access log: (when, path) per request, in arrival order.
type Log = Arc<Mutex<Vec<(Instant, String)>>>;

fn serve_conn(mut stream: TcpStream, log: &Log, answer: impl Fn(&str) -> Result<Answer>) -> Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
                break;
            }
        }
        log.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push((Instant::now(), path.clone()));
        let answer = answer(&path)?;
        std::thread::sleep(answer.delay);
        let mut head = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\n", answer.status, answer.body.len());
        for (k, v) in &answer.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&answer.body)).is_err() {
            return Ok(());
        }
    }
}

/// Starts the site and its trap; returns the site, its log and the trap's connection count.
fn start_site() -> Result<(Arc<Site>, Log, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let trap = TcpListener::bind("127.0.0.1:0")?;
    let site = Arc::new(Site { port: listener.local_addr()?.port(), trap: trap.local_addr()?.port() });
    let log: Log = Arc::default();
    let trapped = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&trapped);
    std::thread::spawn(move || {
        for conn in trap.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    let (s, l) = (Arc::clone(&site), Arc::clone(&log));
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (s, l) = (Arc::clone(&s), Arc::clone(&l));
            std::thread::spawn(move || {
                let _ = serve_conn(conn, &l, |p| s.answer(p));
            });
        }
    });
    Ok((site, log, trapped))
}

fn seal(args: &[&str]) -> Result<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_seal")).args(args).output().context("running seal")?;
    ensure!(output.status.success(), "seal {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).with_context(|| format!("seal {args:?} printed no JSON object"))
}

/// Imports the works, grants the licences, adds the allowlist entry and the verified blog channel.
fn setup(data: &Path, site: &Site) -> Result<()> {
    let d = data.to_string_lossy().into_owned();
    let originals = corpus("text").join("originals");
    let files: Vec<PathBuf> =
        ["en-0001.txt", "en-0002.txt", "en-0004.txt", "en-0005.txt", "en-0006.txt", "en-0010.txt"]
            .iter()
            .chain(&["en-0008.txt", "en-0009.txt", "zh-0001.txt"])
            .map(|f| originals.join(f))
            .chain([corpus("images").join("originals").join(PHOTO)])
            .collect();
    let mut args = vec!["works", "import", "--data", &d, "--owner", "news-co", "--json"];
    let paths: Vec<String> = files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    args.extend(paths.iter().map(String::as_str));
    let imported = seal(&args)?;
    ensure!(imported["imported"] == files.len(), "imports: {imported}");
    let licensed = site.url("/licensed/");
    for work in ["en-0002", "lo_Picture_0B_by_freespace_a.jpg"] {
        seal(&["licences", "grant", "--data", &d, "--work", work, "--scope", &licensed, "--json"])?;
    }
    let partners = site.url("/partners/");
    let status = Command::new(env!("CARGO_BIN_EXE_seal"))
        .args(["licences", "allow", "--data", &d, "--owner", "news-co", "--scope", &partners])
        .status()?;
    ensure!(status.success(), "seal licences allow failed");
    // The holder's own blog, proven: its pages are white as the holder's own channel.
    let mut open = DataDir::open(data)?;
    let channel = seal_licensing::offer::Channel {
        id: seal_licensing::ids::ChannelId::new("news-co-blog")?,
        owner: seal_licensing::ids::PartyId::new("news-co")?,
        kind: seal_licensing::offer::ChannelKind::Blog,
        handle: site.url("/blog"),
        default_offers: Vec::new(),
    };
    open.store.register_channel(&channel)?;
    open.store.put_claim(&channel.id, "test-token")?;
    open.store.verify_claim(&channel.id, "test", seal_licensing::Timestamp::from_unix_ms(1))?;
    Ok(())
}

/// (page path, image path, file, kind, colour) of a JSON hit list.
type HitKey = (String, Option<String>, Option<String>, String, String);

fn hit_set(site: &Site, report: &Value) -> BTreeSet<HitKey> {
    let base = site.url("");
    let path = |v: &Value| v.as_str().map(|s| s.strip_prefix(&base).unwrap_or(s).to_owned());
    report["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            (
                path(&h["url"]).unwrap_or_default(),
                path(&h["image_url"]),
                h["file"].as_str().map(str::to_owned),
                h["kind"].as_str().unwrap_or_default().to_owned(),
                h["colour"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn expected() -> BTreeSet<HitKey> {
    let t = |page: &str, file: &str, colour: &str| {
        (page.to_owned(), None, Some(file.to_owned()), "text".to_owned(), colour.to_owned())
    };
    let i = |page: &str, colour: &str| {
        (
            page.to_owned(),
            Some("/img/photo.jpg".to_owned()),
            Some(PHOTO.to_owned()),
            "image".to_owned(),
            colour.to_owned(),
        )
    };
    [
        t("/news/a.html", "en-0001.txt", "black"),
        i("/news/a.html", "black"),
        t("/licensed/b.html", "en-0002.txt", "white"),
        i("/licensed/b.html", "white"),
        t("/blog/c.html", "en-0004.txt", "white"),
        t("/private/open.html", "en-0006.txt", "black"),
        t("/news/moved.html", "en-0010.txt", "black"),
        t("/hidden/d.html", "en-0008.txt", "black"),
        t("/partners/e.html", "en-0009.txt", "white"),
        t("/gbk.html", "zh-0001.txt", "black"),
    ]
    .into_iter()
    .collect()
}

fn crawl_args(data: &str, site: &Site) -> Vec<String> {
    ["crawl", "--data", data, "--allow-private", "--max-pages", "100", "--timeout-secs", "4", "--json"]
        .iter()
        .map(|s| s.to_string())
        .chain([site.url("/")])
        .collect()
}

/// Paths requested, in order.
fn paths(log: &Log) -> Vec<(Instant, String)> {
    log.lock().map(|l| l.clone()).unwrap_or_default()
}

#[test]
fn crawl_finds_every_copy_keeps_the_rules_and_colours_hits() -> Result<()> {
    let (site, log, trapped) = start_site()?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    setup(&data, &site)?;
    let d = data.to_string_lossy().into_owned();
    let args = crawl_args(&d, &site);
    let report = seal(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    assert_eq!(hit_set(&site, &report), expected(), "the crawl's hits: {report:#}");
    ensure!(report["robots_skipped"].as_u64() >= Some(1), "the disallowed page is counted: {report}");
    ensure!(report["errors"].as_u64() >= Some(4), "404, 500, slow, huge, loop and evil are errors: {report}");
    ensure!(report["pages_fetched"].as_u64() >= Some(10), "{report}");

    let requests = paths(&log);
    ensure!(!requests.iter().any(|(_, p)| p == "/private/secret.html"), "a disallowed page was fetched");
    ensure!(requests.iter().any(|(_, p)| p == "/private/open.html"), "the longest-match allow was not honoured");
    assert_eq!(trapped.load(Ordering::SeqCst), 0, "the redirect to a refused address reached it");
    // Crawl-delay: 1 — consecutive request starts to the host at least a second apart (a little slack
    // for the clock of the server thread that logs them).
    for pair in requests.windows(2) {
        let gap = pair[1].0.duration_since(pair[0].0);
        ensure!(gap >= Duration::from_millis(950), "{} then {} only {gap:?} apart", pair[0].1, pair[1].1);
    }
    let fetched: Vec<&str> = requests.iter().map(|(_, p)| p.as_str()).collect();
    let once = |p: &str| fetched.iter().filter(|f| **f == p).count();
    assert_eq!(once("/news/a.html"), 1, "a URL seen twice (with a fragment) was fetched twice");
    assert_eq!(once("/img/photo.jpg"), 1, "an image embedded by two pages is fetched once");
    assert_eq!(once("/hidden/d.html"), 1, "the page only in the sitemap");

    // A re-crawl updates hits and never duplicates them.
    let before = DataDir::open(&data)?.store.count_hits(&Default::default())?;
    let again = seal(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    assert_eq!(hit_set(&site, &again), expected());
    assert_eq!(DataDir::open(&data)?.store.count_hits(&Default::default())?, before, "a re-crawl duplicated hits");

    // A work registered after the crawl is found on the page already seen, without fetching it again.
    let fetched_before = paths(&log).len();
    let later = corpus("text").join("originals").join("en-0011.txt");
    seal(&["works", "import", "--data", &d, "--owner", "news-co", "--json", &later.to_string_lossy()])?;
    assert_eq!(paths(&log).len(), fetched_before, "retroactive matching fetched pages");
    let open = DataDir::open(&data)?;
    let retro: Vec<_> =
        open.store.hits(&Default::default(), 100)?.into_iter().filter(|h| h.source == "retro").collect();
    ensure!(
        retro.len() == 1 && retro[0].page_url == site.url("/news/later.html") && retro[0].colour == "black",
        "retroactive hits: {retro:?}"
    );
    drop(open);

    // A licence granted afterwards turns exactly the hits it covers white.
    seal(&["licences", "grant", "--data", &d, "--work", "en-0001", "--scope", &site.url("/news/"), "--json"])?;
    let open = DataDir::open(&data)?;
    let hits = open.store.hits(&Default::default(), 100)?;
    for hit in &hits {
        let path = hit.page_url.strip_prefix(&site.url("")).unwrap_or(&hit.page_url);
        let want = expected()
            .iter()
            .find(|e| {
                e.0 == path && e.1.as_deref() == hit.image_url.as_deref().and_then(|u| u.strip_prefix(&site.url("")))
            })
            .map(|e| e.4.clone())
            .unwrap_or_default();
        let now_white = path == "/news/a.html" && hit.kind == "text";
        let colour = if now_white {
            "white"
        } else if path == "/news/later.html" {
            "black"
        } else {
            want.as_str()
        };
        assert_eq!(hit.colour, colour, "{path} {:?} {}", hit.image_url, hit.kind);
    }

    // A WARC of the same pages gives the same hits as crawling them.
    let warc = dir.path().join("site.warc.gz");
    write_warc(&site, &warc)?;
    let fresh = dir.path().join("fresh");
    setup(&fresh, &site)?;
    let ingested = seal(&["ingest", "--data", &fresh.to_string_lossy(), "--json", &warc.to_string_lossy()])?;
    assert_eq!(hit_set(&site, &ingested), expected(), "ingest: {ingested:#}");
    ensure!(ingested["records_read"].as_u64() >= Some(12), "{ingested}");
    ensure!(ingested["records_skipped"].as_u64() >= Some(1), "the damaged record is counted: {ingested}");

    // Common Crawl's WARCs hold almost no images: without the image record, --fetch-images fetches
    // the images the pages embed (politely, through the guard) and credits the hits to the pages.
    let pages_only = dir.path().join("pages.warc.gz");
    write_warc_pages(&site, &pages_only, false)?;
    let third = dir.path().join("third");
    setup(&third, &site)?;
    let fetched = seal(&[
        "ingest",
        "--data",
        &third.to_string_lossy(),
        "--fetch-images",
        "--allow-private",
        "--json",
        &pages_only.to_string_lossy(),
    ])?;
    assert_eq!(hit_set(&site, &fetched), expected(), "ingest --fetch-images: {fetched:#}");
    Ok(())
}

/// Writes the site's pages and its photo as a gzip-per-record WARC, the way Common Crawl does (request
/// and response records, a warcinfo first, a damaged record in the middle that must be skipped).
fn write_warc(site: &Site, path: &Path) -> Result<()> {
    write_warc_pages(site, path, true)
}

/// [`write_warc`], with or without the photo's own record.
fn write_warc_pages(site: &Site, path: &Path, with_image: bool) -> Result<()> {
    use seal_crawler::warc::WarcWriter;
    let file = std::fs::File::create(path)?;
    let mut w = WarcWriter::new(std::io::BufWriter::new(file), true).with_id_seed(7);
    let date = 1_767_225_600_000; // 2026-01-01
    w.write_warcinfo(date, Some("site.warc.gz"), &[("software", "seal tests")])?;
    let pages = [
        "/",
        "/news/a.html",
        "/licensed/b.html",
        "/blog/c.html",
        "/private/open.html",
        "/news/moved.html",
        "/hidden/d.html",
        "/partners/e.html",
        "/gbk.html",
        "/img/photo.jpg",
    ];
    for (n, page) in pages.iter().enumerate() {
        if !with_image && page.ends_with(".jpg") {
            continue;
        }
        let answer = site.answer(page)?;
        let url = site.url(page);
        w.write_request(&url, date, "GET", &[("Host", "fixture")])?;
        let headers: Vec<(&str, &str)> = answer.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        w.write_response(&url, date, answer.status, &headers, &answer.body)?;
        if n == 3 {
            // A damaged record: garbage where a record should start, in its own gzip member.
            let mut raw = w.into_inner()?;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(b"this is not a WARC record\r\n\r\n")?;
            raw.write_all(&gz.finish()?)?;
            w = WarcWriter::new(raw, true).with_id_seed(8);
        }
    }
    w.into_inner()?.flush()?;
    Ok(())
}

#[test]
fn a_crawl_killed_mid_run_resumes_without_refetching() -> Result<()> {
    let (site, log, _) = start_site()?;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    setup(&data, &site)?;
    let d = data.to_string_lossy().into_owned();
    let args = crawl_args(&d, &site);
    let mut child = Command::new(env!("CARGO_BIN_EXE_seal"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // Kill it once a few pages are done (Crawl-delay: 1 spaces them a second apart).
    let deadline = Instant::now() + Duration::from_secs(60);
    while paths(&log).iter().filter(|(_, p)| p.ends_with(".html")).count() < 5 {
        ensure!(Instant::now() < deadline, "the crawl did not get going");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the writer commit what it matched, then kill without warning.
    std::thread::sleep(Duration::from_millis(300));
    child.kill()?;
    child.wait()?;
    let first: Vec<String> = paths(&log).into_iter().map(|(_, p)| p).collect();
    let report = seal(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    assert_eq!(hit_set(&site, &report), expected(), "the resumed crawl reports every hit of the job");
    let all: Vec<String> = paths(&log).into_iter().map(|(_, p)| p).collect();
    let second = &all[first.len()..];
    // Pages the first run finished are not fetched again; at most the one in flight at the kill is.
    let refetched: Vec<&String> = second
        .iter()
        .filter(|p| p.ends_with(".html") && !matches!(p.as_str(), "/broken.html" | "/slow.html" | "/huge.html"))
        .filter(|p| first.contains(p))
        .collect();
    ensure!(refetched.len() <= 1, "refetched after resume: {refetched:?} (first run: {first:?})");
    ensure!(!second.iter().any(|p| p == "/"), "the seed was fetched again");
    Ok(())
}

/// Serves `answer` on 127.0.0.1 (thread per connection, keep-alive); returns the port and the log.
fn serve_with(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Result<(u16, Log)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let log: Log = Arc::default();
    let answer = Arc::new(answer);
    let l = Arc::clone(&log);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (a, l) = (Arc::clone(&answer), Arc::clone(&l));
            std::thread::spawn(move || {
                let _ = serve_conn(conn, &l, |p| Ok(a(p)));
            });
        }
    });
    Ok((port, log))
}

#[test]
fn pages_embedding_the_seal_on_a_verified_channel_become_works_and_never_hits() -> Result<()> {
    let img = std::fs::read(corpus("images").join("originals").join(PHOTO))?;
    let own_port: Arc<std::sync::OnceLock<u16>> = Arc::default();
    let known = Arc::clone(&own_port);
    let (port, _log) = serve_with(move |path| {
        let base = format!("http://127.0.0.1:{}", known.get().copied().unwrap_or(0));
        let html = "text/html; charset=utf-8";
        let seal = r#"<script async src="https://seal.example/seal.js" data-seal="blogger-site"></script>"#;
        let mention = "<p>data-seal=\"blogger-site\" seal.js (a mention is not the code)</p>";
        let page = |file: &str, extra: &str| work_html(file, file, extra).unwrap_or_default();
        match path {
            "/" => ok(html, b"<html><body><a href=\"/post2.html\">2</a></body></html>".to_vec()),
            "/sitemap.xml" => ok(
                "application/xml",
                format!(
                    r#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/post1.html</loc></url><url><loc>{base}/post2.html</loc></url></urlset>"#
                )
                .into_bytes(),
            ),
            "/post1.html" => ok(html, page("en-0012.txt", &format!("{seal}<img src=\"/img/p.jpg\">"))),
            "/post2.html" => ok(html, page("en-0013.txt", mention)),
            "/img/p.jpg" => ok("image/jpeg", img.clone()),
            _ => Answer { status: 404, headers: Vec::new(), body: Vec::new(), delay: Duration::ZERO },
        }
    })?;
    own_port.set(port).map_err(|_| anyhow::anyhow!("port set twice"))?;
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    {
        let mut open = DataDir::open(&data)?;
        let owner = seal_licensing::ids::PartyId::new("blogger")?;
        open.store.register_holder(&seal_licensing::offer::RightsHolder::new(owner.clone(), "A blogger"))?;
        let channel = seal_licensing::offer::Channel {
            id: seal_licensing::ids::ChannelId::new("blogger-site")?,
            owner,
            kind: seal_licensing::offer::ChannelKind::Website,
            handle: base.clone(),
            default_offers: Vec::new(),
        };
        open.store.register_channel(&channel)?;
        open.store.put_claim(&channel.id, "t")?;
        open.store.verify_claim(&channel.id, "test", seal_licensing::Timestamp::from_unix_ms(1))?;
    }
    let d = data.to_string_lossy().into_owned();
    let report = seal(&["include", "--data", &d, "--allow-private", "--delay-ms", "0", "--json"])?;
    ensure!(report["registered"].as_array().map(Vec::len) == Some(1), "inclusion: {report}");
    let open = DataDir::open(&data)?;
    let works = open.store.all_works_of(&seal_licensing::ids::PartyId::new("blogger")?)?;
    ensure!(works.len() == 1 && works[0].source_url == format!("{base}/post1.html"), "works: {works:?}");
    let (_, items) = open.store.content_counts()?;
    assert_eq!(items, 2, "the page's HTML and its image are both registered");
    drop(open);
    // Again: unchanged pages register nothing new.
    let again = seal(&["include", "--data", &d, "--allow-private", "--delay-ms", "0", "--json"])?;
    ensure!(again["registered"].as_array().map(Vec::len) == Some(0), "second inclusion: {again}");
    // Crawling the holder's own site reports no hit of the holder's own page.
    let crawl =
        seal(&["crawl", "--data", &d, "--allow-private", "--delay-ms", "0", "--json", &format!("{base}/post1.html")])?;
    assert_eq!(crawl["hits"], serde_json::json!([]), "the holder's own page came back as a hit: {crawl}");
    Ok(())
}
