//! End-to-end crawl benchmark: one timed crawl of a generated site served by the bench itself on
//! 127.0.0.1, through `seal_api::services::crawl::run_job` exactly as `seal crawl` runs it (guarded
//! fetcher, robots.txt, sitemaps, link discovery, text extraction, fingerprinting, matching against the
//! registered works, classification, and the writer committing pages, hits and frontier to SQLite in
//! batches). Figure: pages/s. Target from the product issue: ≥ 1,000 pages/s on 2 cores.
//!
//! The site (`Site`): `SEAL_BENCH_PAGES` pages (default 10,000) at `/p/{i}.html`, 5–20 KB of text from
//! a 5,000-word vocabulary each, with navigation and 12 links to other pages (page i always links to
//! i+1, so every page is reachable from `/p/0.html`), a robots.txt allowing everything with no
//! Crawl-delay and naming a sitemap index (sitemaps of 10,000 URLs). One page in ten copies a
//! registered work whole and one in ten quotes an excerpt (see `support/mod.rs`). Pages are generated on
//! each request from their number, so the server holds nothing in memory; it is std threads, one per
//! connection, HTTP/1.1 keep-alive. It runs in the bench's process, so it takes its share of the same
//! two cores (as it does for Scrapy).
//!
//! Before the timed run (not timed): `SEAL_BENCH_CRAWL_WORKS` works (default 1,000) are registered in
//! a data directory cached under the target directory, then copied fresh for the run.
//!
//! Settings: per-host concurrency `SEAL_BENCH_PER_HOST` (default 32), no host delay, `max_tasks` =
//! `SEAL_BENCH_MAX_TASKS` (default 64), the fetcher's `max_concurrent` 64 (as `seal crawl` sets it),
//! matching threads `SEAL_BENCH_WORKERS` (default 0: one per core).
//!
//! Scrapy beside it: when `SEAL_BENCH_SCRAPY` names a `scrapy` executable (or a `python` with Scrapy
//! installed), the bench runs `benches/scrapy_spider.py` (a do-nothing callback following every
//! `a[href]`, the same concurrency, DOWNLOAD_DELAY 0, ROBOTSTXT_OBEY, HTTPCACHE off) against the same
//! server and prints its pages/s (fetch only) and the ratio ours/Scrapy (goal ≥ 3×). Otherwise that
//! part is skipped with a message.
//!
//! Memory: the peak RSS of the process (`VmHWM`, reset before the crawl) is printed; it includes the
//! site server. `SEAL_BENCH_PAGES=100000` gives the 100k-page figure.
//!
//! Run:
//! ```text
//! export CARGO_TARGET_DIR=...   # any
//! cargo bench --bench crawl --no-run            # then run the printed binary, or:
//! SEAL_BENCH_SCRAPY=/path/to/venv/bin/scrapy cargo bench --bench crawl
//! ```
//! divan times a single crawl (a crawl of 10k pages is its own average) and reports pages/s; the
//! Scrapy run and the ratio follow its table, since the ratio needs both runs.

mod support;

use seal_api::services::crawl::{run_job, CrawlSettings, RunProgress};
use seal_api::services::import::DataDir;
use seal_api::services::jobs::JobSpec;
use seal_api::services::pipeline::Targets;
use seal_api::store::monitoring::JobRow;
use seal_api::store::prelude::*;
use seal_crawler::fetch::{FetchPolicy, Fetcher};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use support::{env_or, push_words, Rng};

/// Sitemap files hold this many URLs each.
const SITEMAP_URLS: u64 = 10_000;

/// The generated site.
struct Site {
    addr: SocketAddr,
    pages: u64,
    works: u64,
    /// Requests answered (any path).
    requests: AtomicU64,
}

impl Site {
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn page(&self, i: u64) -> Vec<u8> {
        let mut rng = Rng::new(i ^ 0x51_7e);
        let mut out = String::with_capacity(24 << 10);
        out.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
        push_words(&mut out, &mut rng, 6);
        out.push_str("</title><link rel=\"stylesheet\" href=\"/s.css\"></head><body>\n<header><nav>");
        for section in ["news", "sport", "culture", "science", "opinion"] {
            support::push_fmt(&mut out, format_args!("<a href=\"/p/{}.html\">{section}</a> ", rng.below(self.pages)));
        }
        out.push_str("</nav></header>\n<main><article><h1>");
        push_words(&mut out, &mut rng, 8);
        out.push_str("</h1>\n");
        let text_bytes = 4_000 + rng.below(15_000) as usize;
        support::page_paragraphs(&mut out, &mut rng, i, self.works, text_bytes);
        out.push_str("</article>\n<aside><h2>Related</h2><ul>");
        let mut links = vec![(i + 1) % self.pages, (i * 31 + 7) % self.pages];
        links.extend((0..5).map(|_| rng.below(self.pages)));
        for l in links {
            support::push_fmt(&mut out, format_args!("<li><a href=\"/p/{l}.html\">"));
            push_words(&mut out, &mut rng, 5);
            out.push_str("</a></li>");
        }
        out.push_str("</ul></aside></main><footer>");
        push_words(&mut out, &mut rng, 20);
        out.push_str("</footer></body></html>\n");
        out.into_bytes()
    }

    fn answer(&self, path: &str) -> (u16, &'static str, Vec<u8>) {
        let html = "text/html; charset=utf-8";
        let xml = "application/xml";
        if path == "/robots.txt" {
            let body = format!("User-agent: *\nAllow: /\n\nSitemap: {}/sitemap.xml\n", self.base());
            return (200, "text/plain", body.into_bytes());
        }
        if path == "/sitemap.xml" {
            let mut out = String::from(
                r#"<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"#,
            );
            for k in 0..self.pages.div_ceil(SITEMAP_URLS) {
                support::push_fmt(
                    &mut out,
                    format_args!("<sitemap><loc>{}/sitemap-{k}.xml</loc></sitemap>", self.base()),
                );
            }
            out.push_str("</sitemapindex>");
            return (200, xml, out.into_bytes());
        }
        if let Some(k) =
            path.strip_prefix("/sitemap-").and_then(|r| r.strip_suffix(".xml")).and_then(|k| k.parse().ok())
        {
            let k: u64 = k;
            let mut out = String::from(
                r#"<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"#,
            );
            for i in k * SITEMAP_URLS..((k + 1) * SITEMAP_URLS).min(self.pages) {
                support::push_fmt(&mut out, format_args!("<url><loc>{}/p/{i}.html</loc></url>", self.base()));
            }
            out.push_str("</urlset>");
            return (200, xml, out.into_bytes());
        }
        if let Some(i) = path.strip_prefix("/p/").and_then(|r| r.strip_suffix(".html")).and_then(|i| i.parse().ok()) {
            let i: u64 = i;
            if i < self.pages {
                return (200, html, self.page(i));
            }
        }
        (404, "text/plain", b"not found".to_vec())
    }

    fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let mut reader = BufReader::with_capacity(8 << 10, stream.try_clone()?);
        let mut writer = std::io::BufWriter::with_capacity(64 << 10, stream);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let mut close = false;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
                    break;
                }
                close |= header.to_ascii_lowercase().starts_with("connection: close");
            }
            let (status, content_type, body) = self.answer(&path);
            self.requests.fetch_add(1, Ordering::Relaxed);
            write!(
                writer,
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}\r\n",
                if status == 200 { "OK" } else { "Not Found" },
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            )?;
            writer.write_all(&body)?;
            writer.flush()?;
            if close {
                return Ok(());
            }
        }
    }

    fn start(pages: u64, works: u64) -> Arc<Site> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let site =
            Arc::new(Site { addr: listener.local_addr().expect("addr"), pages, works, requests: AtomicU64::new(0) });
        let s = Arc::clone(&site);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    let _ = s.serve(conn);
                });
            }
        });
        site
    }
}

/// What one timed crawl measured, for the report after divan's table and the Scrapy ratio.
#[derive(Default)]
struct Ours {
    pages: u64,
    secs: f64,
}

static OURS: Mutex<Ours> = Mutex::new(Ours { pages: 0, secs: 0.0 });

fn site() -> &'static Arc<Site> {
    static SITE: OnceLock<Arc<Site>> = OnceLock::new();
    SITE.get_or_init(|| Site::start(env_or("SEAL_BENCH_PAGES", 10_000), works()))
}

fn works() -> u64 {
    env_or("SEAL_BENCH_CRAWL_WORKS", 1_000)
}

fn per_host() -> usize {
    env_or("SEAL_BENCH_PER_HOST", 32)
}

/// Everything a crawl needs, made before the clock starts: a fresh copy of the registered works,
/// the job, the guarded fetcher and the settings.
struct Prepared {
    dir: std::path::PathBuf,
    data: DataDir,
    job: JobRow,
    fetcher: Fetcher,
    settings: CrawlSettings,
}

fn prepare(site: &Site) -> Prepared {
    let dir = support::fresh_copy(&support::works_dir(works()), "crawl");
    let mut data = DataDir::open(&dir).expect("open data dir");
    let spec = JobSpec {
        seeds: vec![format!("{}/p/0.html", site.base())],
        sitemaps: Vec::new(),
        feeds: Vec::new(),
        hosts: Vec::new(),
        path_prefixes: Vec::new(),
        max_pages: site.pages as usize,
        max_depth: 50,
        fetch_images: true,
    }
    .validated()
    .expect("spec");
    let spec = serde_json::to_string(&spec).expect("spec json");
    let job = JobRow::active("bench-crawl".into(), "bench crawl".into(), spec, support::now());
    data.store.put_job(&job).expect("job");
    let policy = FetchPolicy {
        allow_exact: vec![site.addr],
        max_concurrent: env_or("SEAL_BENCH_FETCH_MAX", 64),
        ..FetchPolicy::default()
    };
    let settings = CrawlSettings {
        per_host_concurrency: per_host(),
        min_host_delay: Duration::ZERO,
        max_tasks: env_or("SEAL_BENCH_MAX_TASKS", 64),
        workers: env_or("SEAL_BENCH_WORKERS", 0),
        ..CrawlSettings::default()
    };
    Prepared { dir, data, job, fetcher: Fetcher::new(policy).expect("fetcher"), settings }
}

/// The end-to-end crawl of the generated site: fetch, robots.txt, sitemaps, links, extract,
/// fingerprint, match, classify, store. Counter: the site's pages.
#[divan::bench(sample_count = 1, sample_size = 1)]
fn crawl_site(bencher: divan::Bencher) {
    let site = site();
    support::works_dir(works());
    bencher.counter(divan::counter::ItemsCount::new(site.pages)).with_inputs(|| prepare(site)).bench_local_values(
        |mut p| {
            let progress = RunProgress::default();
            let reset = support::reset_peak_rss();
            let (load, cpu) = (support::loadavg(), support::cpu_seconds());
            let started = Instant::now();
            let targets = Targets { monitor: &p.data.monitor, pages: support::page_index(&p.data.pages) };
            let outcome = run_job(targets, &mut p.data.store, &p.fetcher, &p.job, &p.settings, support::now, &progress)
                .expect("crawl");
            let secs = started.elapsed().as_secs_f64();
            let cpu = support::cpu_seconds() - cpu;
            eprintln!(
                "ours: {} pages in {secs:.2} s = {:.0} pages/s; {} hits, {} errors; {:.1} MiB of bodies; \
                 process CPU {cpu:.1} s ({:.0}% of 2 cores, server included); peak RSS {}{}; load before {load}, \
                 after {}",
                outcome.stats.pages_fetched,
                outcome.stats.pages_fetched as f64 / secs,
                outcome.hits.len(),
                outcome.stats.errors,
                outcome.stats.bytes as f64 / f64::from(1u32 << 20),
                100.0 * cpu / secs / 2.0,
                support::mib(support::proc_status_kib("VmHWM")),
                if reset { " (reset before the crawl)" } else { " (process lifetime)" },
                support::loadavg(),
            );
            assert_eq!(outcome.stats.pages_fetched, site.pages, "every page of the site is reachable");
            *OURS.lock().expect("lock") = Ours { pages: outcome.stats.pages_fetched, secs };
            p
        },
    );
}

impl Drop for Prepared {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the Scrapy spider; (pages, seconds from the spider's open to its close, wall seconds).
fn crawl_scrapy(site: &Site, scrapy: &str, concurrency: usize) -> Option<(u64, f64, f64)> {
    let spider = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scrapy_spider.py");
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("scrapy-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let mut command = if Path::new(scrapy).file_name().is_some_and(|n| n.to_string_lossy().starts_with("python")) {
        let mut c = std::process::Command::new(scrapy);
        c.args(["-m", "scrapy"]);
        c
    } else {
        std::process::Command::new(scrapy)
    };
    command
        .arg("runspider")
        .arg(&spider)
        .arg("-a")
        .arg(format!("start={}/p/0.html", site.base()))
        .arg("-a")
        .arg(format!("out={}", out.display()))
        .arg("-s")
        .arg(format!("CONCURRENT_REQUESTS={concurrency}"))
        .arg("-s")
        .arg(format!("CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}"));
    let started = Instant::now();
    let status = command.status().ok()?;
    let wall = started.elapsed().as_secs_f64();
    if !status.success() {
        eprintln!("scrapy failed: {status}");
        return None;
    }
    let report = std::fs::read_to_string(&out).ok()?;
    let _ = std::fs::remove_file(&out);
    let value: serde_json::Value = serde_json::from_str(&report).ok()?;
    Some((value["pages"].as_u64()?, value["seconds"].as_f64()?, wall))
}

fn main() {
    divan::main();
    let ours = std::mem::take(&mut *OURS.lock().expect("lock"));
    if ours.pages == 0 {
        return; // filtered out, or divan only listed the benches
    }
    let ours_rate = ours.pages as f64 / ours.secs;
    println!("crawl: {} pages in {:.2} s = {ours_rate:.0} pages/s (goal >= 1000)", ours.pages, ours.secs);
    let site = site();
    match std::env::var("SEAL_BENCH_SCRAPY") {
        Ok(scrapy) if !scrapy.is_empty() => {
            let before = site.requests.load(Ordering::Relaxed);
            let load = support::loadavg();
            match crawl_scrapy(site, &scrapy, per_host()) {
                Some((n, secs, wall)) => {
                    let rate = n as f64 / secs;
                    println!(
                        "scrapy: {n} pages, {secs:.2} s (spider open to close; {wall:.2} s with start-up), {rate:.0} \
                         pages/s; server saw {} requests; load before {load}, after {}",
                        site.requests.load(Ordering::Relaxed) - before,
                        support::loadavg()
                    );
                    println!("ratio ours/scrapy: {:.2}x (goal >= 3x)", ours_rate / rate);
                }
                None => println!("scrapy: no result (see its output above)"),
            }
        }
        _ => println!("scrapy: skipped (set SEAL_BENCH_SCRAPY=/path/to/venv/bin/scrapy to compare)"),
    }
}
