//! WARC ingestion benchmark: `seal_api::services::ingest::ingest` (as `seal ingest` runs it) over a
//! gzip-per-record WARC against a data directory with 100,000 registered works, timed with 1 and with
//! 2 matching threads. What is timed: reading and gunzipping every record, parsing WARC and HTTP heads,
//! text extraction, fingerprinting, matching, classification, and the writer committing pages and hits
//! to SQLite (and page fingerprints to the retroactive-matching index). Figures: pages/s, pages/s per
//! matching thread, and pages per CPU-second of the whole process (reader + matchers + writer), which
//! is the honest "per core" figure; from it, the core-hours one monthly Common Crawl snapshot
//! (~2.5 billion pages) would take. Target: ≥ 3,000 pages/s per core.
//!
//! Not timed: registering the works (`SEAL_BENCH_WORKS`, default 100,000; cached under the target
//! directory and copied fresh for each run) and writing the WARC (cached too). The WARC has
//! `SEAL_BENCH_WARC_PAGES` pages (default 30,000), each a `request` + `response` record pair as Common
//! Crawl writes them, across 500 hosts: HTML of 20–60 KB (head with a style block and scripts, a
//! navigation of 40 links, an article of 5–20 KB of text, a footer), one page in ten copying a
//! registered work whole and one in ten quoting an excerpt.
//!
//! Memory: the peak RSS (`VmHWM`, reset before each run when the kernel allows) is printed per run; it
//! includes the loaded indexes of the registered works. For the ~1 GB WARC figure:
//! `SEAL_BENCH_WARC_PAGES=75000 SEAL_BENCH_INGEST_WORKERS=2`.
//!
//! Run: `cargo bench --bench ingest`. divan times one ingest per thread count and reports pages/s; the
//! per-CPU-second figure and the snapshot estimate are printed beside its table.

mod support;

use seal_api::services::import::DataDir;
use seal_api::services::ingest::{ingest, IngestOptions, IngestProgress};
use seal_api::services::pipeline::{Progress, Targets};
use seal_crawler::warc::WarcWriter;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;
use support::{env_or, push_words, Rng};

/// Pages in one monthly Common Crawl snapshot.
const SNAPSHOT_PAGES: f64 = 2.5e9;

/// A realistic page: markup, a style block, scripts, navigation, the article, a footer.
fn page(i: u64, works: u64) -> Vec<u8> {
    let mut rng = Rng::new(i ^ 0x1e57);
    let mut out = String::with_capacity(64 << 10);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    push_words(&mut out, &mut rng, 7);
    out.push_str("</title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>\n");
    for k in 0..(20 + rng.below(60)) {
        support::push_fmt(
            &mut out,
            format_args!(
                ".c{k}{{margin:{}px {}px;color:#{:06x};font-size:{}rem}}\n",
                k % 13,
                k % 7,
                rng.next() & 0xffffff,
                k % 3 + 1
            ),
        );
    }
    out.push_str("</style>\n");
    let script_bytes = 3_000 + rng.below(15_000) as usize;
    out.push_str("<script>\n");
    let start = out.len();
    while out.len() - start < script_bytes {
        let (a, b) = (rng.below(1000), rng.below(1000));
        support::push_fmt(
            &mut out,
            format_args!(
                "var f{a}=function(x){{return x*{b}+window.dataLayer.length;}};dataLayer.push({{'e{a}':f{a}({b})}});\n"
            ),
        );
    }
    out.push_str("</script>\n</head><body class=\"c1\">\n<header><nav><ul>");
    for _ in 0..40 {
        support::push_fmt(
            &mut out,
            format_args!("<li class=\"c{}\"><a href=\"/section/{}/\">", rng.below(20), rng.below(500)),
        );
        push_words(&mut out, &mut rng, 2);
        out.push_str("</a></li>");
    }
    out.push_str("</ul></nav></header>\n<main><article class=\"c2\"><h1>");
    push_words(&mut out, &mut rng, 9);
    out.push_str("</h1>\n<div class=\"byline\">By ");
    push_words(&mut out, &mut rng, 2);
    out.push_str("</div>\n");
    let text_bytes = 5_000 + rng.below(15_000) as usize;
    support::page_paragraphs(&mut out, &mut rng, i, works, text_bytes);
    out.push_str("</article>\n<aside><ul>");
    for _ in 0..10 {
        support::push_fmt(&mut out, format_args!("<li><a href=\"/article/{}.html\">", rng.below(1_000_000)));
        push_words(&mut out, &mut rng, 6);
        out.push_str("</a></li>");
    }
    out.push_str("</ul></aside></main>\n<footer><p>");
    push_words(&mut out, &mut rng, 40);
    out.push_str("</p></footer>\n<script src=\"/static/app.js\" async></script>\n</body></html>\n");
    out.into_bytes()
}

/// The cached WARC of `pages` pages (written once; not timed).
fn warc(pages: u64, works: u64) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("seal-bench-{pages}p-{works}w.warc.gz"));
    if path.exists() {
        return path;
    }
    let started = Instant::now();
    eprintln!("writing {} (once; cached) ...", path.display());
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).expect("create warc");
    let mut writer = WarcWriter::new(BufWriter::with_capacity(1 << 20, file), true).with_id_seed(7);
    let date = 1_790_000_000_000;
    writer.write_warcinfo(date, Some("bench.warc.gz"), &[("software", "seal bench")]).expect("warcinfo");
    let mut html_bytes = 0u64;
    for i in 0..pages {
        let url = format!("https://site{}.example/article/{i}.html", i % 500);
        let body = page(i, works);
        html_bytes += body.len() as u64;
        writer
            .write_request(&url, date, "GET", &[("Host", "example"), ("User-Agent", "CCBot/2.0"), ("Accept", "*/*")])
            .expect("request");
        let length = body.len().to_string();
        let headers = [
            ("Content-Type", "text/html; charset=UTF-8"),
            ("Content-Length", length.as_str()),
            ("Server", "nginx"),
            ("Cache-Control", "max-age=600"),
        ];
        writer.write_response(&url, date + i as i64, 200, &headers, &body).expect("response");
    }
    writer.into_inner().expect("flush");
    std::fs::rename(&tmp, &path).expect("rename");
    let size = path.metadata().map_or(0, |m| m.len());
    eprintln!(
        "  {pages} pages, {:.0} MiB of HTML (mean {:.1} KiB), {:.0} MiB gzipped, in {:.1} s",
        html_bytes as f64 / 1048576.0,
        html_bytes as f64 / pages as f64 / 1024.0,
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    path
}

fn main() {
    divan::main();
}

fn works() -> u64 {
    env_or("SEAL_BENCH_WORKS", 100_000)
}

fn pages() -> u64 {
    env_or("SEAL_BENCH_WARC_PAGES", 30_000)
}

/// Matching threads to time (`SEAL_BENCH_INGEST_WORKERS`, default `1,2`).
fn worker_counts() -> Vec<usize> {
    std::env::var("SEAL_BENCH_INGEST_WORKERS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|w| w.trim().parse().ok())
        .collect()
}

/// A fresh copy of the registered works, opened; removed when dropped (after the clock stops).
struct Prepared {
    dir: PathBuf,
    data: DataDir,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Ingestion of the generated WARC with `workers` matching threads. Counter: its pages.
#[divan::bench(sample_count = 1, sample_size = 1, args = worker_counts())]
fn ingest_warc(bencher: divan::Bencher, workers: usize) {
    let registered = support::works_dir(works());
    let file = warc(pages(), works());
    let size = file.metadata().map_or(0, |m| m.len());
    let prepare = || {
        let dir = support::fresh_copy(&registered, &format!("ingest-{workers}"));
        let data = DataDir::open(&dir).expect("open data dir");
        Prepared { dir, data }
    };
    bencher.counter(divan::counter::ItemsCount::new(pages())).with_inputs(prepare).bench_local_values(|mut p| {
        let progress = Progress::default();
        let counters = IngestProgress::default();
        let reset = support::reset_peak_rss();
        let (load, cpu) = (support::loadavg(), support::cpu_seconds());
        let started = Instant::now();
        let targets = Targets { monitor: &p.data.monitor, pages: support::page_index(&p.data.pages) };
        let options = IngestOptions { workers, fetch_images: None };
        let outcome = ingest(
            targets,
            &mut p.data.store,
            std::slice::from_ref(&file),
            &options,
            support::now,
            &progress,
            &counters,
        )
        .expect("ingest");
        let secs = started.elapsed().as_secs_f64();
        let cpu = support::cpu_seconds() - cpu;
        let rate = outcome.pages as f64 / secs;
        let per_cpu = outcome.pages as f64 / cpu.max(0.001);
        eprintln!(
            "ingest workers={workers}: {} pages ({} records, {} skipped) of {:.0} MiB gzip in {secs:.2} s = {rate:.0} \
             pages/s, {:.0} pages/s per matching thread, {per_cpu:.0} pages per CPU-second (process CPU {cpu:.1} s, \
             {:.2} cores busy); {} hits; peak RSS {}{}; load before {load}, after {}",
            outcome.pages,
            outcome.records_read,
            outcome.records_skipped,
            size as f64 / 1048576.0,
            rate / workers as f64,
            cpu / secs,
            outcome.hits.len(),
            support::mib(support::proc_status_kib("VmHWM")),
            if reset { " (reset before the run)" } else { " (process lifetime)" },
            support::loadavg(),
        );
        eprintln!(
            "  one Common Crawl snapshot (2.5e9 pages) at {per_cpu:.0} pages/CPU-s: {:.0} core-hours",
            SNAPSHOT_PAGES / per_cpu / 3600.0,
        );
        assert_eq!(outcome.pages, pages(), "every page of the WARC is matched");
        p
    });
}
