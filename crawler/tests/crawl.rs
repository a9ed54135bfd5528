//! The crawler against real HTTP servers on 127.0.0.1.
//!
//! Each test builds small sites ([`Site`]: a std `TcpListener` in a thread answering HTTP/1.1 by
//! hand from a route table) that log every request with the time it arrived, so politeness,
//! deduplication and resume are checked where they matter: at the server. `localhost` and
//! `127.0.0.1` count as different hosts for scope, which lets one machine stand in for several sites.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use seal_crawler::{
    crawl, CrawlConfig, CrawlEvent, CrawlStats, Entry, EntryKind, FetchFailure, FetchPolicy, Fetcher, PageEvent,
    Progress, Resume, SkipReason,
};
use tokio::sync::mpsc;
use url::Url;

// ---------------------------------------------------------------------------------------------
// The test server

#[derive(Clone)]
struct Resp {
    status: u16,
    headers: Vec<String>,
    body: Arc<Vec<u8>>,
    /// Wait before answering (a slow server).
    delay: Duration,
    /// Send the body chunked, without a Content-Length (the client only finds its size by reading).
    chunked: bool,
}

impl Resp {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            headers: vec![format!("Content-Type: {content_type}")],
            body: Arc::new(body.into()),
            delay: Duration::ZERO,
            chunked: false,
        }
    }
    fn delayed(mut self, delay: Duration) -> Resp {
        self.delay = delay;
        self
    }
    fn chunked(mut self) -> Resp {
        self.chunked = true;
        self
    }
}

fn html(body: &str) -> Resp {
    Resp::new(200, "text/html; charset=utf-8", body)
}

fn status(code: u16) -> Resp {
    Resp::new(code, "text/plain", format!("status {code}"))
}

fn redirect(code: u16, location: &str) -> Resp {
    let mut r = Resp::new(code, "text/plain", "");
    r.headers.push(format!("Location: {location}"));
    r
}

#[derive(Default)]
struct Shared {
    /// path (with query) → responses for the 1st, 2nd, … request; the last one repeats.
    routes: Mutex<HashMap<String, Vec<Resp>>>,
    log: Mutex<Vec<(String, Instant)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct Site {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Site {
    fn start() -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        let accept = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accept);
                thread::spawn(move || serve(stream, &shared));
            }
        });
        Site { addr, shared }
    }

    /// Routes `path` to `resp` for every request.
    fn route(&self, path: &str, resp: Resp) -> &Site {
        self.seq(path, vec![resp])
    }

    /// Routes `path` to `resps` in turn (the last repeats).
    fn seq(&self, path: &str, resps: Vec<Resp>) -> &Site {
        self.shared.routes.lock().expect("routes").insert(path.to_owned(), resps);
        self
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("site URL")
    }

    /// The same server named `localhost`: another host as far as scope is concerned.
    fn localhost_url(&self, path: &str) -> Url {
        Url::parse(&format!("http://localhost:{}{path}", self.addr.port())).expect("site URL")
    }

    fn hits(&self, path: &str) -> usize {
        self.shared.log.lock().expect("log").iter().filter(|(p, _)| p == path).count()
    }

    fn requests(&self) -> Vec<(String, Instant)> {
        self.shared.log.lock().expect("log").clone()
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let nth = {
        let mut log = shared.log.lock().expect("log");
        let nth = log.iter().filter(|(p, _)| *p == path).count();
        log.push((path.clone(), Instant::now()));
        nth
    };
    let resp = {
        let routes = shared.routes.lock().expect("routes");
        match routes.get(&path) {
            Some(seq) => seq[nth.min(seq.len() - 1)].clone(),
            None => status(404),
        }
    };
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    thread::sleep(resp.delay);
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", resp.status);
    for h in &resp.headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    if resp.chunked {
        out.push_str("Transfer-Encoding: chunked\r\n\r\n");
        if stream.write_all(out.as_bytes()).is_err() {
            return;
        }
        for chunk in resp.body.chunks(64 * 1024) {
            let framed = format!("{:x}\r\n", chunk.len());
            if stream.write_all(framed.as_bytes()).and_then(|()| stream.write_all(chunk)).is_err() {
                return;
            }
            let _ = stream.write_all(b"\r\n");
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    } else {
        out.push_str(&format!("Content-Length: {}\r\n\r\n", resp.body.len()));
        if stream.write_all(out.as_bytes()).is_ok() {
            let _ = stream.write_all(&resp.body);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running crawls

fn policy(sites: &[&Site]) -> FetchPolicy {
    FetchPolicy {
        allow_private: true,
        allowed_ports: sites.iter().map(|s| s.addr.port()).collect(),
        deadline: Duration::from_secs(5),
        ..FetchPolicy::default()
    }
}

/// A config for tests: no politeness delay, quick backoff, seeds as given.
fn config(seeds: Vec<Url>) -> CrawlConfig {
    CrawlConfig {
        min_host_delay: Duration::ZERO,
        backoff_base: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
        ..CrawlConfig::new(seeds)
    }
}

struct Run {
    events: Vec<CrawlEvent>,
    stats: CrawlStats,
}

impl Run {
    fn pages(&self) -> Vec<&PageEvent> {
        self.events
            .iter()
            .filter_map(|e| match e {
                CrawlEvent::Page(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    fn page(&self, url: &Url) -> &PageEvent {
        self.pages().into_iter().find(|p| &p.url == url).unwrap_or_else(|| panic!("no page event for {url}"))
    }

    fn skipped(&self, url: &Url) -> Option<SkipReason> {
        self.events.iter().find_map(|e| match e {
            CrawlEvent::Skipped { url: u, reason, .. } if u == url => Some(*reason),
            _ => None,
        })
    }
}

async fn run_with(policy: FetchPolicy, config: &CrawlConfig, resume: Option<Resume>) -> Run {
    let fetcher = Fetcher::new(policy).expect("valid policy");
    let (tx, mut rx) = mpsc::channel(8);
    let collector = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        events
    });
    let progress = Progress::default();
    let stats = tokio::time::timeout(Duration::from_secs(60), crawl(&fetcher, config, resume, tx, &progress))
        .await
        .expect("the crawl ends");
    let events = collector.await.expect("collector");
    assert_eq!(stats.pages_fetched, progress.pages());
    Run { events, stats }
}

async fn run(sites: &[&Site], config: &CrawlConfig) -> Run {
    run_with(policy(sites), config, None).await
}

// ---------------------------------------------------------------------------------------------
// robots.txt

#[tokio::test]
async fn robots_disallow_and_longest_match_allow_for_our_agent() {
    let site = Site::start();
    site.route(
        "/robots.txt",
        Resp::new(
            200,
            "text/plain",
            "User-agent: *\nDisallow: /\n\nUser-agent: CopyrightSeal\nDisallow: /private\nAllow: /private/public\n",
        ),
    )
    .route("/", html(r#"<a href="/private/secret">s</a><a href="/private/public/ok">o</a><a href="/open">o</a>"#))
    .route("/private/secret", html("secret"))
    .route("/private/public/ok", html("ok"))
    .route("/open", html(r#"<a href="/private/other">x</a>"#));
    let r = run(&[&site], &config(vec![site.url("/")])).await;
    assert_eq!(site.hits("/robots.txt"), 1, "robots.txt is fetched once per origin");
    assert_eq!(site.hits("/private/secret"), 0);
    assert_eq!(site.hits("/private/other"), 0);
    assert_eq!(site.hits("/private/public/ok"), 1, "the longer Allow wins");
    assert_eq!(site.hits("/open"), 1);
    assert_eq!(r.skipped(&site.url("/private/secret")), Some(SkipReason::RobotsDisallowed));
    assert_eq!(r.stats.robots_skipped, 2);
    assert_eq!(r.stats.pages_fetched, 3);
}

#[tokio::test]
async fn robots_answers_decide_data_driven() {
    // (robots.txt answer, whether the seed is fetched, the skip reason if not)
    let cases: Vec<(Resp, bool, Option<SkipReason>)> = vec![
        (status(404), true, None),
        (status(403), true, None),
        (Resp::new(200, "text/plain", "User-agent: *\nDisallow: /\n"), false, Some(SkipReason::RobotsDisallowed)),
        (status(500), false, Some(SkipReason::RobotsUnavailable)),
        (status(429), false, Some(SkipReason::RobotsUnavailable)),
        (Resp::new(200, "text/plain", vec![b'#'; 600 * 1024]), false, Some(SkipReason::RobotsUnavailable)),
    ];
    for (answer, fetched, reason) in cases {
        let site = Site::start();
        let code = answer.status;
        site.route("/robots.txt", answer).route("/", html("hello"));
        let r = run(&[&site], &config(vec![site.url("/")])).await;
        assert_eq!(site.hits("/") == 1, fetched, "robots {code}");
        assert_eq!(r.skipped(&site.url("/")), reason, "robots {code}");
        if code >= 500 || code == 429 {
            assert_eq!(site.hits("/robots.txt"), 3, "a failing robots.txt is retried like any fetch");
        }
    }
}

#[tokio::test]
async fn crawl_delay_spaces_requests_to_a_host() {
    let site = Site::start();
    site.route("/robots.txt", Resp::new(200, "text/plain", "User-agent: *\nCrawl-delay: 0.4\n"))
        .route("/", html(r#"<a href="/a">a</a><a href="/b">b</a><a href="/c">c</a>"#))
        .route("/a", html("a"))
        .route("/b", html("b"))
        .route("/c", html("c"));
    let r = run(&[&site], &config(vec![site.url("/")])).await;
    assert_eq!(r.stats.pages_fetched, 4);
    let times: Vec<Instant> = site.requests().into_iter().map(|(_, t)| t).collect();
    assert_eq!(times.len(), 5, "robots.txt and four pages");
    for pair in times.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        // The server stamps arrival, a little after the client's start; allow a few ms of skew.
        assert!(gap >= Duration::from_millis(380), "requests {gap:?} apart, Crawl-delay is 0.4 s");
    }
}

#[tokio::test]
async fn per_host_concurrency_holds_while_hosts_run_in_parallel() {
    let slow = Duration::from_millis(300);
    let sites = [Site::start(), Site::start()];
    for site in &sites {
        let links: String = (0..6).map(|i| format!(r#"<a href="/p{i}">p</a>"#)).collect();
        site.route("/", html(&links));
        for i in 0..6 {
            site.route(&format!("/p{i}"), html("page").delayed(slow));
        }
    }
    let started = Instant::now();
    let r = run(&[&sites[0], &sites[1]], &config(vec![sites[0].url("/"), sites[1].url("/")])).await;
    let elapsed = started.elapsed();
    assert_eq!(r.stats.pages_fetched, 14);
    for site in &sites {
        assert!(site.shared.max_in_flight.load(Ordering::SeqCst) <= 2, "more than 2 requests at once to one host");
    }
    // 6 slow pages per host, 2 at a time: 3 rounds of 300 ms per host. Serially over both hosts it
    // would be 6 rounds; in parallel it is about 3.
    assert!(elapsed < Duration::from_millis(6 * 300), "hosts were not crawled in parallel: {elapsed:?}");
}

// ---------------------------------------------------------------------------------------------
// Discovery

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

#[tokio::test]
async fn pages_reachable_only_from_sitemaps_gzip_index_and_explicit() {
    let site = Site::start();
    let index = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>{}</loc></sitemap></sitemapindex>"#,
        site.url("/sitemap-posts.xml")
    );
    let posts = format!(
        r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{}</loc></url>
        <url><loc>{}</loc></url><url><loc>http://elsewhere.invalid/x</loc></url></urlset>"#,
        site.url("/orphan1"),
        site.url("/orphan2?a=1&amp;b=2"),
    );
    site.route(
        "/robots.txt",
        Resp::new(200, "text/plain", format!("User-agent: *\nAllow: /\nSitemap: {}\n", site.url("/sitemap.xml.gz"))),
    )
    .route("/", html("no links here"))
    .route("/sitemap.xml.gz", Resp::new(200, "application/octet-stream", gzip(index.as_bytes())))
    .route("/sitemap-posts.xml", Resp::new(200, "application/xml", posts))
    .route("/explicit.xml", Resp::new(200, "text/xml", "<urlset><url><loc>/orphan3</loc></url></urlset>"))
    .route("/orphan1", html("one"))
    .route("/orphan2?a=1&b=2", html("two"))
    .route("/orphan3", html("three"));
    let cfg = CrawlConfig { sitemaps: vec![site.url("/explicit.xml")], ..config(vec![site.url("/")]) };
    let r = run(&[&site], &cfg).await;
    for path in ["/orphan1", "/orphan2?a=1&b=2", "/orphan3", "/sitemap.xml.gz", "/sitemap-posts.xml"] {
        assert_eq!(site.hits(path), 1, "{path}");
    }
    assert_eq!(r.stats.pages_fetched, 4);
    // Every document reports what it added, robots.txt included, so the platform can persist it.
    let discovered: HashMap<String, Vec<String>> = r
        .events
        .iter()
        .filter_map(|e| match e {
            CrawlEvent::Discovered { from, entries, .. } => {
                Some((from.path().to_owned(), entries.iter().map(|e| e.url.path().to_owned()).collect()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(discovered["/robots.txt"], ["/sitemap.xml.gz"]);
    assert_eq!(discovered["/sitemap.xml.gz"], ["/sitemap-posts.xml"]);
    assert_eq!(discovered["/sitemap-posts.xml"], ["/orphan1", "/orphan2"]);
    assert_eq!(discovered["/explicit.xml"], ["/orphan3"]);
}

#[tokio::test]
async fn rss_and_atom_feeds_lead_to_pages() {
    let site = Site::start();
    let rss = format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{}</link>
        <item><title>p</title><link>{}</link></item></channel></rss>"#,
        site.url("/"),
        site.url("/post-rss")
    );
    let atom = r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
        <entry><title>a</title><link rel="alternate" href="/post-atom"/><link rel="edit" href="/edit"/></entry></feed>"#;
    site.route("/", html(r#"<head><link rel="alternate" type="application/rss+xml" href="/feed.rss"></head>"#))
        .route("/feed.rss", Resp::new(200, "application/rss+xml", rss))
        .route("/atom.xml", Resp::new(200, "application/atom+xml", atom))
        .route("/post-rss", html("rss post"))
        .route("/post-atom", html("atom post"));
    let cfg = CrawlConfig { feeds: vec![site.url("/atom.xml")], ..config(vec![site.url("/")]) };
    let r = run(&[&site], &cfg).await;
    assert_eq!(site.hits("/post-rss"), 1);
    assert_eq!(site.hits("/post-atom"), 1);
    assert_eq!(site.hits("/edit"), 0);
    assert!(r.page(&site.url("/")).discovered.iter().any(|e| e.kind == EntryKind::Feed));
    assert_eq!(r.stats.pages_fetched, 3);
}

// ---------------------------------------------------------------------------------------------
// Redirects and fetch failures

#[tokio::test]
async fn a_redirect_is_followed_and_recorded() {
    let site = Site::start();
    site.route("/", html(r#"<a href="/old">old</a>"#))
        .route("/old", redirect(301, "/new"))
        .route("/new", html(r#"<a href="/after">after</a>"#))
        .route("/after", html("after"));
    let r = run(&[&site], &config(vec![site.url("/")])).await;
    let page = r.page(&site.url("/old"));
    assert_eq!(page.final_url, site.url("/new"));
    assert_eq!(page.status, 200);
    assert_eq!(site.hits("/after"), 1, "links of the redirect target are followed, relative to it");
    assert_eq!(site.hits("/new"), 1);
}

#[tokio::test]
async fn a_redirect_loop_is_an_error_not_a_hang() {
    let site = Site::start();
    site.route("/", html(r#"<a href="/loop">loop</a><a href="/fine">fine</a>"#))
        .route("/loop", redirect(302, "/loop"))
        .route("/fine", html("fine"));
    let r = run(&[&site], &config(vec![site.url("/")])).await;
    assert_eq!(r.skipped(&site.url("/loop")), Some(SkipReason::Fetch(FetchFailure::TooManyRedirects)));
    assert_eq!(site.hits("/loop"), 6, "the first request and five redirects, not retried");
    assert_eq!(site.hits("/fine"), 1);
    assert_eq!(r.stats.errors, 1);
}

#[tokio::test]
async fn a_redirect_to_a_forbidden_address_is_refused() {
    let site = Site::start();
    let internal = Site::start();
    internal.route("/admin", html("internal"));
    site.route("/", html(r#"<a href="/evil">x</a>"#)).route("/evil", redirect(302, internal.url("/admin").as_str()));
    // The production rules, except that this one test server may be reached.
    let guarded = FetchPolicy { allow_exact: vec![site.addr], ..FetchPolicy::default() };
    let r = run_with(guarded, &config(vec![site.url("/")]), None).await;
    assert_eq!(r.skipped(&site.url("/evil")), Some(SkipReason::Fetch(FetchFailure::Refused)));
    assert_eq!(site.hits("/evil"), 1, "a refusal is not retried");
    assert!(internal.requests().is_empty(), "the forbidden address was contacted");
}

#[tokio::test]
async fn statuses_retries_and_backoff_data_driven() {
    // (responses in turn, requests expected at the server, page status or skip reason)
    enum Want {
        Page(u16),
        Skip(SkipReason),
    }
    let cases: Vec<(Vec<Resp>, usize, Want)> = vec![
        (vec![status(404)], 1, Want::Page(404)),
        (vec![status(410)], 1, Want::Page(410)),
        (vec![status(500)], 3, Want::Skip(SkipReason::Status(500))),
        (vec![status(429)], 3, Want::Skip(SkipReason::Status(429))),
        (vec![status(503), html("back")], 2, Want::Page(200)),
        (vec![status(502), status(500), html("back")], 3, Want::Page(200)),
    ];
    for (i, (resps, hits, want)) in cases.into_iter().enumerate() {
        let site = Site::start();
        site.seq("/p", resps);
        let cfg = CrawlConfig { backoff_base: Duration::from_millis(100), ..config(vec![site.url("/p")]) };
        let r = run(&[&site], &cfg).await;
        assert_eq!(site.hits("/p"), hits, "case {i}");
        match want {
            Want::Page(code) => assert_eq!(r.page(&site.url("/p")).status, code, "case {i}"),
            Want::Skip(reason) => assert_eq!(r.skipped(&site.url("/p")), Some(reason), "case {i}"),
        }
        let is_error = !matches!(want, Want::Page(200));
        assert_eq!(r.stats.errors, u64::from(is_error), "case {i}");
        // Backoff: 100 ms before the second attempt, 200 ms before the third.
        let times: Vec<Instant> = site.requests().into_iter().filter(|(p, _)| p == "/p").map(|(_, t)| t).collect();
        for (n, pair) in times.windows(2).enumerate() {
            let least = Duration::from_millis(100 << n) - Duration::from_millis(10);
            assert!(pair[1].duration_since(pair[0]) >= least, "case {i}: attempt {} came too soon", n + 2);
        }
    }
}

#[tokio::test]
async fn a_slow_page_hits_the_deadline() {
    let site = Site::start();
    site.route("/", html(r#"<a href="/slow">s</a><a href="/quick">q</a>"#))
        .route("/slow", html("late").delayed(Duration::from_secs(4)))
        .route("/quick", html("quick"));
    let slow_policy = FetchPolicy { deadline: Duration::from_millis(800), ..policy(&[&site]) };
    let cfg = CrawlConfig { max_attempts: 1, ..config(vec![site.url("/")]) };
    let started = Instant::now();
    let r = run_with(slow_policy, &cfg, None).await;
    assert_eq!(r.skipped(&site.url("/slow")), Some(SkipReason::Fetch(FetchFailure::TimedOut)));
    assert_eq!(site.hits("/quick"), 1);
    assert!(started.elapsed() < Duration::from_secs(3), "the crawl waited for the slow page");
}

#[tokio::test]
async fn an_oversize_page_is_refused_by_the_cap() {
    let big = vec![b'a'; 30 << 20];
    let site = Site::start();
    site.route("/", html(r#"<a href="/declared">d</a><a href="/streamed">s</a><a href="/ok">ok</a>"#))
        .route("/declared", Resp::new(200, "text/html", big.clone()))
        .route("/streamed", Resp::new(200, "text/html", big).chunked())
        .route("/ok", html("ok"));
    // The default page cap: 8 MiB.
    let r = run(&[&site], &config(vec![site.url("/")])).await;
    for path in ["/declared", "/streamed"] {
        assert_eq!(r.skipped(&site.url(path)), Some(SkipReason::Fetch(FetchFailure::TooLarge)), "{path}");
        assert_eq!(site.hits(path), 1, "{path}: too large is not retried");
    }
    assert_eq!(r.stats.errors, 2);
    assert_eq!(site.hits("/ok"), 1);
    assert!(r.stats.bytes < 1 << 20, "bytes of refused bodies were counted or kept");
}

// ---------------------------------------------------------------------------------------------
// Budgets, scope, dedup

#[tokio::test]
async fn depth_and_page_budgets() {
    let site = Site::start();
    site.route("/d0", html(r#"<a href="/d1">1</a>"#))
        .route("/d1", html(r#"<a href="/d2">2</a>"#))
        .route("/d2", html(r#"<a href="/d3">3</a>"#))
        .route("/d3", html("too deep"));
    let r = run(&[&site], &CrawlConfig { max_depth: 2, ..config(vec![site.url("/d0")]) }).await;
    assert_eq!((site.hits("/d2"), site.hits("/d3")), (1, 0));
    assert_eq!(r.page(&site.url("/d2")).depth, 2);
    assert!(r.page(&site.url("/d2")).discovered.is_empty());

    let wide = Site::start();
    let links: String = (0..10).map(|i| format!(r#"<a href="/p{i}">p</a>"#)).collect();
    wide.route("/", html(&links));
    for i in 0..10 {
        wide.route(&format!("/p{i}"), html("p"));
    }
    let r = run(&[&wide], &CrawlConfig { max_pages: 4, ..config(vec![wide.url("/")]) }).await;
    assert_eq!(r.pages().len(), 4);
    assert_eq!(r.page(&wide.url("/")).discovered.len(), 3, "the frontier never exceeds the budget");
    let fetched: usize = (0..10).map(|i| wide.hits(&format!("/p{i}"))).sum();
    assert_eq!(fetched, 3);
}

#[tokio::test]
async fn off_host_links_are_not_followed_but_images_and_redirect_targets_are_recorded() {
    let a = Site::start();
    let b = Site::start();
    a.route(
        "/",
        html(&format!(
            r#"<a href="{}">off</a><a href="/away">away</a><img src="{}">"#,
            b.localhost_url("/page"),
            b.localhost_url("/img.png")
        )),
    )
    .route("/away", redirect(302, b.localhost_url("/landing").as_str()));
    b.route("/page", html("off site"))
        .route("/landing", html(r#"<a href="/deeper">deeper</a>"#))
        .route("/deeper", html("deeper"))
        .route("/img.png", Resp::new(200, "image/png", b"\x89PNG fake".to_vec()));
    let r = run(&[&a, &b], &config(vec![a.url("/")])).await;
    assert_eq!(b.hits("/page"), 0, "an off-host link was followed");
    assert_eq!(b.hits("/deeper"), 0, "links of an off-scope redirect target were followed");
    assert_eq!(b.hits("/landing"), 1);
    assert_eq!(b.hits("/img.png"), 1, "images are fetched wherever they are");
    assert_eq!(b.hits("/robots.txt"), 1, "the image host's robots.txt is read too");
    assert_eq!(r.page(&a.url("/away")).final_url, b.localhost_url("/landing"));
    let images = &r.page(&a.url("/")).images;
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].result.as_ref().map(|i| &i.body[..]), Ok(&b"\x89PNG fake"[..]));
}

#[tokio::test]
async fn no_url_is_fetched_twice() {
    let site = Site::start();
    let p = site.addr.port();
    // Cycles and many spellings of the same URLs: fragments, case, default-less ports, dot segments.
    site.route(
        "/",
        html(&format!(
            "<a href='/a'>1</a><a href='/a#top'>2</a><a href='HTTP://127.0.0.1:{p}/a'>3</a><a href='/x/../b'>4</a><a href='/a?q=1'>5</a>"
        )),
    )
    .route("/a", html("<a href='/'>home</a><a href='/b#x'>b</a>"))
    .route("/b", html("<a href='/a'>a</a><a href='./'>home</a>"))
    .route("/a?q=1", Resp::new(200, "text/html; charset=gbk", b"\xc4\xe3\xba\xc3".to_vec()));
    let r = run(&[&site], &config(vec![site.url("/"), site.url("/#again")])).await;
    for path in ["/", "/a", "/b", "/a?q=1"] {
        assert_eq!(site.hits(path), 1, "{path}");
    }
    assert_eq!(r.stats.pages_fetched, 4);
    // The Content-Type goes through untouched, for the engine's charset decoding.
    let gbk = r.page(&site.url("/a?q=1"));
    assert_eq!(gbk.content_type.as_deref(), Some("text/html; charset=gbk"));
    assert_eq!(&gbk.body[..], b"\xc4\xe3\xba\xc3");
}

#[tokio::test]
async fn an_image_is_fetched_once_however_many_pages_embed_it() {
    let site = Site::start();
    let n = 8;
    let links: String = (0..n).map(|i| format!(r#"<a href="/p{i}">p</a>"#)).collect();
    site.route("/", html(&links))
        // Slow, so several pages wait on the one fetch in flight.
        .route("/logo.png", Resp::new(200, "image/png", b"LOGO".to_vec()).delayed(Duration::from_millis(300)));
    for i in 0..n {
        site.route(
            &format!("/p{i}"),
            html(&format!(r#"<img src="/logo.png"><img src="/logo.png#again"><img srcset="/own{i}.png 1x">"#)),
        )
        .route(&format!("/own{i}.png"), Resp::new(200, "image/png", format!("OWN{i}").into_bytes()));
    }
    let cfg = CrawlConfig { per_host_concurrency: 4, ..config(vec![site.url("/")]) };
    let r = run(&[&site], &cfg).await;
    assert_eq!(site.hits("/logo.png"), 1);
    for i in 0..n {
        let page = r.page(&site.url(&format!("/p{i}")));
        let bodies: Vec<&[u8]> =
            page.images.iter().map(|img| img.result.as_ref().map(|i| &i.body[..]).expect("image")).collect();
        assert_eq!(bodies, [&b"LOGO"[..], format!("OWN{i}").as_bytes()], "page {i}");
    }
    assert_eq!(r.stats.images_fetched, 1 + n as u64);
}

// ---------------------------------------------------------------------------------------------
// Persistence and stopping

#[tokio::test]
async fn resume_does_not_refetch_seen_urls() {
    let site = Site::start();
    site.route("/", html(r#"<a href="/a">a</a><a href="/b">b</a><a href="/c">c</a>"#))
        .route("/a", html(r#"<a href="/">home</a>"#))
        .route("/b", html(r#"<a href="/d">d</a>"#))
        .route("/c", html(r#"<a href="/a">a</a><a href="/e">e</a>"#))
        .route("/d", html("d"))
        .route("/e", html("e"))
        .route("/sitemap.xml", Resp::new(200, "application/xml", "<urlset><url><loc>/d</loc></url></urlset>"));
    // A first run fetched / and /a, discovered /b and /c, and read the sitemap, then was killed.
    let resume = Resume {
        pending: vec![Entry::page(site.url("/b"), 1), Entry::page(site.url("/c"), 1)],
        seen: ["/", "/a", "/b", "/c", "/sitemap.xml"].iter().map(|p| site.url(p)).collect(),
        pages_done: 2,
    };
    let cfg = CrawlConfig { sitemaps: vec![site.url("/sitemap.xml")], ..config(vec![site.url("/")]) };
    let r = run_with(policy(&[&site]), &cfg, Some(resume.clone())).await;
    for (path, hits) in [("/", 0), ("/a", 0), ("/sitemap.xml", 0), ("/b", 1), ("/c", 1), ("/d", 1), ("/e", 1)] {
        assert_eq!(site.hits(path), hits, "{path}");
    }
    assert_eq!(r.stats.pages_fetched, 4);

    // The page budget counts the pages done before the resume: 2 done + 2 allowed now.
    let again = Site::start();
    for (path, body) in [("/b", r#"<a href="/d">d</a>"#), ("/c", r#"<a href="/e">e</a>"#), ("/d", "d"), ("/e", "e")] {
        again.route(path, html(body));
    }
    let resume = Resume {
        pending: vec![Entry::page(again.url("/b"), 1), Entry::page(again.url("/c"), 1)],
        seen: ["/", "/a", "/b", "/c"].iter().map(|p| again.url(p)).collect(),
        pages_done: 2,
    };
    let cfg = CrawlConfig { max_pages: 4, ..config(vec![again.url("/")]) };
    let r = run_with(policy(&[&again]), &cfg, Some(resume)).await;
    assert_eq!(r.stats.pages_fetched, 2);
    assert_eq!(again.hits("/d") + again.hits("/e"), 0);
}

#[tokio::test]
async fn events_report_entries_before_they_are_fetched() {
    // The persistence contract: every fetched entry was reported (as a seed, in `discovered` or in a
    // `Discovered` event) before its own event arrives.
    let site = Site::start();
    site.route("/robots.txt", Resp::new(200, "text/plain", format!("Sitemap: {}\n", site.url("/s.xml"))))
        .route("/", html(r#"<a href="/a">a</a><a href="/b">b</a>"#))
        .route("/a", html(r#"<a href="/b">b</a><a href="/c">c</a>"#))
        .route("/b", html(r#"<a href="/c">c</a>"#))
        .route("/c", html("c"))
        .route("/s.xml", Resp::new(200, "application/xml", "<urlset><url><loc>/from-sitemap</loc></url></urlset>"))
        .route("/from-sitemap", html("s"));
    let cfg = CrawlConfig { per_host_concurrency: 4, ..config(vec![site.url("/")]) };
    let r = run(&[&site], &cfg).await;
    let mut known = vec![site.url("/")];
    for event in &r.events {
        let (url, added) = match event {
            CrawlEvent::Page(p) => (&p.url, p.discovered.iter().collect::<Vec<_>>()),
            CrawlEvent::Discovered { from, entries, .. } => (from, entries.iter().collect()),
            CrawlEvent::Skipped { url, .. } => (url, vec![]),
        };
        if url.path() != "/robots.txt" {
            assert!(known.contains(url), "{url} was fetched before it was reported");
        }
        known.extend(added.into_iter().map(|e| e.url.clone()));
    }
    assert_eq!(r.stats.pages_fetched, 5);
}

#[tokio::test]
async fn dropping_the_receiver_stops_the_crawl() {
    let site = Site::start();
    let links: String = (0..50).map(|i| format!(r#"<a href="/p{i}">p</a>"#)).collect();
    site.route("/", html(&links));
    for i in 0..50 {
        site.route(&format!("/p{i}"), html("p").delayed(Duration::from_millis(50)));
    }
    let fetcher = Fetcher::new(policy(&[&site])).expect("policy");
    let (tx, mut rx) = mpsc::channel(1);
    let reader = tokio::spawn(async move {
        let first = rx.recv().await;
        drop(rx);
        first.is_some()
    });
    let cfg = config(vec![site.url("/")]);
    let stats = tokio::time::timeout(Duration::from_secs(10), crawl(&fetcher, &cfg, None, tx, &Progress::default()))
        .await
        .expect("the crawl stops");
    assert!(reader.await.expect("reader"));
    assert!(stats.stopped);
    let fetched: usize = (0..50).map(|i| site.hits(&format!("/p{i}"))).sum();
    assert!(fetched < 20, "{fetched} pages fetched after the receiver was gone");
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_long_one_ends_the_attempts() {
    // A 503 asking for two seconds: the retry comes no sooner, though our own backoff is 100 ms.
    let site = Site::start();
    let mut busy = status(503);
    busy.headers.push("Retry-After: 2".into());
    site.seq("/p", vec![busy, html("back")]);
    let cfg = CrawlConfig {
        backoff_base: Duration::from_millis(100),
        max_backoff: Duration::from_secs(5),
        ..config(vec![site.url("/p")])
    };
    let r = run(&[&site], &cfg).await;
    assert_eq!(r.page(&site.url("/p")).status, 200);
    let times: Vec<Instant> = site.requests().into_iter().filter(|(p, _)| p == "/p").map(|(_, t)| t).collect();
    assert_eq!(times.len(), 2);
    assert!(times[1].duration_since(times[0]) >= Duration::from_millis(1990), "retried before Retry-After");

    // A 429 asking for an hour, longer than the longest backoff (500 ms here): one request, then the
    // page is left.
    let site = Site::start();
    let mut limited = status(429);
    limited.headers.push("Retry-After: 3600".into());
    site.route("/p", limited);
    let r =
        run(&[&site], &CrawlConfig { backoff_base: Duration::from_millis(100), ..config(vec![site.url("/p")]) }).await;
    assert_eq!(site.hits("/p"), 1);
    assert_eq!(r.skipped(&site.url("/p")), Some(SkipReason::Status(429)));
}

#[test]
fn retry_after_values_data_driven() {
    use seal_crawler::fetch::parse_retry_after;
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
    let cases: Vec<(String, Option<(u64, u64)>)> = vec![
        ("120".into(), Some((120, 120))),
        (" 0 ".into(), Some((0, 0))),
        (soon, Some((28, 30))),
        ("Sun, 06 Nov 1994 08:49:37 GMT".into(), Some((0, 0))), // in the past: now
        ("-5".into(), None),
        ("soon".into(), None),
        ("".into(), None),
    ];
    for (value, want) in cases {
        let got = parse_retry_after(&value).map(|d| d.as_secs());
        match want {
            Some((lo, hi)) => assert!(got.is_some_and(|s| (lo..=hi).contains(&s)), "{value:?}: {got:?}"),
            None => assert_eq!(got, None, "{value:?}"),
        }
    }
}
