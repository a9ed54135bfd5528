//! `seal crawl`: crawls from seed URLs within their hosts (links, sitemaps, feeds, embedded images),
//! matches every page against the registered works and stores the hits, white or black. The flags and
//! the JSON keys are a fixed contract.
//!
//! One monitoring job per set of seeds (its id is derived from them), so running the same command
//! again after the process was killed resumes the crawl without refetching finished pages.

use super::settle::system_now;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use seal_api::services::crawl::{run_job, CrawlSettings, RunProgress};
use seal_api::services::import::DataDir;
use seal_api::services::jobs::{JobSpec, MAX_PAGES};
use seal_api::services::pipeline::{ReportedHit, Targets};
use seal_api::services::retro::drain_retro;
use seal_api::services::subscribers::drain_recolour;
use seal_api::store::monitoring::JobRow;
use seal_api::store::prelude::*;
use seal_crawler::fetch::{FetchPolicy, Fetcher};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Arguments of `seal crawl`.
#[derive(Args, Debug)]
pub struct CrawlArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Allow loopback and private addresses, on any port of the seeds (tests and intranets).
    #[arg(long)]
    pub allow_private: bool,
    /// Page budget.
    #[arg(long, default_value_t = 10_000)]
    pub max_pages: usize,
    /// Link depth budget (seeds are depth 0).
    #[arg(long, default_value_t = 10)]
    pub max_depth: u32,
    /// Most requests to one host at once.
    #[arg(long, default_value_t = 2)]
    pub per_host: usize,
    /// Least milliseconds between two requests to one host (robots.txt Crawl-delay wins when longer).
    #[arg(long, default_value_t = 250)]
    pub delay_ms: u64,
    /// Seconds one fetch may take, redirects and body included.
    #[arg(long, default_value_t = 10)]
    pub timeout_secs: u64,
    /// Do not fetch the images pages embed.
    #[arg(long)]
    pub no_images: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Seed URLs.
    #[arg(required = true)]
    pub urls: Vec<String>,
}

#[derive(Serialize)]
struct JsonHit<'a> {
    url: &'a str,
    image_url: Option<&'a str>,
    work: &'a str,
    file: Option<&'a str>,
    kind: &'a str,
    colour: &'a str,
}

/// The fixed JSON hit shape, shared with `seal ingest`.
pub fn json_hits(hits: &[ReportedHit]) -> serde_json::Value {
    let list: Vec<JsonHit<'_>> = hits
        .iter()
        .map(|h| JsonHit {
            url: &h.url,
            image_url: h.image_url.as_deref(),
            work: &h.work,
            file: h.file.as_deref(),
            kind: h.kind,
            colour: h.colour,
        })
        .collect();
    serde_json::to_value(list).unwrap_or_default()
}

/// A live progress line on a terminal (hidden otherwise), refreshed from counters by `tick`.
pub fn live_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs `work` while a thread refreshes `bar`'s message from `render` five times a second.
pub fn with_ticker<R: Send>(
    bar: &ProgressBar,
    render: impl Fn() -> String + Sync,
    work: impl FnOnce() -> R + Send,
) -> R {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let ticker = scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                bar.set_message(render());
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        let _ = ticker.join();
        result
    })
}

/// Human bytes.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn job_id(seeds: &[String]) -> String {
    use sha2::Digest;
    let mut sorted = seeds.to_vec();
    sorted.sort();
    sorted.dedup();
    let digest = sha2::Sha256::digest(sorted.join("\n").as_bytes());
    format!("cli-{}", &hex::encode(digest)[..16])
}

/// `--allow-private` (tests and intranets): seeds on literal addresses (a test site on
/// 127.0.0.1:PORT) are allowed exactly and nothing else private is, so a redirect to another local
/// port or address is still refused. Seeds by name lift the address rules, on the seeds' ports only.
pub fn allow_private_seeds(policy: &mut FetchPolicy, seeds: &[url::Url]) {
    let exact: Vec<std::net::SocketAddr> = seeds
        .iter()
        .filter_map(|u| {
            let ip: std::net::IpAddr = u.host_str()?.trim_matches(['[', ']']).parse().ok()?;
            Some(std::net::SocketAddr::new(ip, u.port_or_known_default()?))
        })
        .collect();
    if exact.len() == seeds.len() {
        policy.allow_exact = exact;
    } else {
        policy.allow_private = true;
        for port in seeds.iter().filter_map(url::Url::port_or_known_default) {
            if !policy.allowed_ports.contains(&port) {
                policy.allowed_ports.push(port);
            }
        }
    }
}

/// Runs `seal crawl`.
pub fn run(args: &CrawlArgs) -> Result<()> {
    if args.max_pages == 0 || args.max_pages > MAX_PAGES {
        anyhow::bail!("--max-pages must be between 1 and {MAX_PAGES}");
    }
    let spec = JobSpec {
        seeds: args.urls.clone(),
        sitemaps: Vec::new(),
        feeds: Vec::new(),
        hosts: Vec::new(),
        path_prefixes: Vec::new(),
        max_pages: args.max_pages,
        max_depth: args.max_depth,
        fetch_images: !args.no_images,
    }
    .validated()
    .context("the seed URLs")?;
    let mut data = DataDir::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    // Licences granted and allowlists changed since the last run recolour first, and works registered
    // since are looked for on the pages already seen.
    drain_recolour(&mut data.store, system_now()).context("applying pending events")?;
    drain_retro(&mut data.store, &data.content, &data.pages, system_now()).context("retroactive matching")?;

    let id = job_id(&spec.seeds);
    let spec_json = serde_json::to_string(&spec)?;
    let job = match data.store.job(&id)? {
        Some(mut job) => {
            if !job.running {
                job.spec = spec_json;
                job.status = "active".into();
                data.store.update_job(&job)?;
            }
            job
        }
        None => {
            let now = system_now();
            let job = JobRow::active(id.clone(), format!("seal crawl {}", spec.seeds.join(" ")), spec_json, now);
            data.store.put_job(&job)?;
            job
        }
    };

    let mut policy = FetchPolicy { deadline: Duration::from_secs(args.timeout_secs.max(1)), ..FetchPolicy::default() };
    if args.allow_private {
        let seeds: Vec<url::Url> = spec.seeds.iter().filter_map(|s| url::Url::parse(s).ok()).collect();
        allow_private_seeds(&mut policy, &seeds);
    }
    policy.max_concurrent = 64;
    let fetcher = Fetcher::new(policy).context("setting up the fetcher")?;
    let settings = CrawlSettings {
        per_host_concurrency: args.per_host.max(1),
        min_host_delay: Duration::from_millis(args.delay_ms),
        ..CrawlSettings::default()
    };

    let progress = RunProgress::default();
    let (crawl_progress, pipeline_progress) = (&progress.crawl, &progress.pipeline);
    let bar = live_bar();
    let started = Instant::now();
    let outcome = with_ticker(
        &bar,
        || {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let pages = crawl_progress.pages();
            format!(
                "pages {pages} · {} · hits {} · {:.0} pages/s · errors {} · robots skipped {}",
                bytes(crawl_progress.bytes()),
                pipeline_progress.hits.load(Ordering::Relaxed),
                pages as f64 / secs,
                crawl_progress.errors(),
                crawl_progress.robots_skipped(),
            )
        },
        || {
            let targets = Targets { monitor: &data.monitor, pages: Some(&data.pages) };
            run_job(targets, &mut data.store, &fetcher, &job, &settings, system_now, &progress)
        },
    )?;
    bar.finish_and_clear();
    data.pages.checkpoint().context("writing the page index")?;
    drain_recolour(&mut data.store, system_now()).context("applying pending events")?;
    let secs = outcome.stats.elapsed.as_secs_f64().max(0.001);
    let pages_per_s = outcome.stats.pages_fetched as f64 / secs;
    if args.json {
        let out = serde_json::json!({
            "pages_fetched": outcome.stats.pages_fetched,
            "pages_per_s": (pages_per_s * 10.0).round() / 10.0,
            "robots_skipped": outcome.stats.robots_skipped,
            "errors": outcome.stats.errors,
            "hits": json_hits(&outcome.hits),
        });
        println!("{out}");
        return Ok(());
    }
    let black = outcome.hits.iter().filter(|h| h.colour == "black").count();
    println!(
        "{} pages ({:.0}/s, {}), {} robots-skipped, {} errors; {} hits ({} white, {} black){}",
        outcome.stats.pages_fetched,
        pages_per_s,
        bytes(outcome.stats.bytes),
        outcome.stats.robots_skipped,
        outcome.stats.errors,
        outcome.hits.len(),
        outcome.hits.len() - black,
        black,
        if outcome.resumed { " (resumed)" } else { "" }
    );
    for h in outcome.hits.iter().take(100) {
        println!(
            "  {:5} {:5} {} {}{}",
            h.colour,
            h.kind,
            h.work,
            h.url,
            h.image_url.as_deref().map(|i| format!(" image {i}")).unwrap_or_default()
        );
    }
    Ok(())
}
