//! Running a monitoring job: the crawler as a source of the monitoring pipeline.
//!
//! A run reads the job's spec, starts (or resumes) its persisted frontier, and crawls through the
//! guarded fetcher on its own tokio runtime while the pipeline matches and stores on other threads.
//! The crawler's events carry the frontier changes, and the pipeline commits them with the page's
//! hits, so a run killed at any point resumes where its last commit left it: done pages are never
//! fetched again, pending ones are. When the run ends, its frontier is cleared and the next run is
//! scheduled from the job's interval.
//!
//! `seal crawl` makes one job per set of seeds (its id derived from them), so running the same command
//! again after a kill resumes it.

use super::jobs::{spec_of, JobError, JobSpec};
use super::pipeline::{
    self, EmbeddedImage, Item, MonitorRef, PageInput, PipelineConfig, Progress, ReportedHit, RunReport, Targets,
};
use crate::store::monitoring::{FrontierEntry, HitRow, JobRow};
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_crawler::crawl::{CrawlConfig, CrawlEvent, CrawlStats, Resume};
use seal_crawler::fetch::Fetcher;
use seal_crawler::frontier::{Entry, EntryKind, Scope};
use seal_licensing::Timestamp;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// Politeness and limits of a run that are settings of the deployment, not of the job.
#[derive(Clone, Debug)]
pub struct CrawlSettings {
    /// Most requests to one host at once.
    pub per_host_concurrency: usize,
    /// Least time between two requests to one host (a longer robots.txt `Crawl-delay` wins).
    pub min_host_delay: Duration,
    /// Largest page body.
    pub max_page_bytes: usize,
    /// Attempts per request for transient failures, and the first backoff.
    pub max_attempts: u32,
    /// First wait before a retry (doubles each time).
    pub backoff_base: Duration,
    /// Crawl tasks at once across hosts.
    pub max_tasks: usize,
    /// Matching threads (0: one per core).
    pub workers: usize,
}

impl Default for CrawlSettings {
    fn default() -> Self {
        CrawlSettings {
            per_host_concurrency: 2,
            min_host_delay: Duration::from_millis(250),
            max_page_bytes: 8 << 20,
            max_attempts: 3,
            backoff_base: Duration::from_millis(500),
            max_tasks: 32,
            workers: 0,
        }
    }
}

/// A run's live counters: the crawler's (pages, bytes, errors, robots) and the pipeline's (hits).
#[derive(Debug, Default)]
pub struct RunProgress {
    /// The crawler's counters.
    pub crawl: seal_crawler::crawl::Progress,
    /// The pipeline's counters.
    pub pipeline: Progress,
}

/// What a run did.
#[derive(Debug)]
pub struct CrawlOutcome {
    /// The job.
    pub job: String,
    /// The crawler's totals for this run (a resumed run counts only what it fetched itself).
    pub stats: CrawlStats,
    /// The pipeline's totals.
    pub report: RunReport,
    /// Every hit on the pages the job finished in this run, including pages finished before a
    /// kill that this run resumed.
    pub hits: Vec<ReportedHit>,
    /// Whether this run resumed a killed one.
    pub resumed: bool,
}

/// Why a run could not run.
#[derive(Debug, thiserror::Error)]
pub enum CrawlRunError {
    /// The job or its spec.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The pipeline.
    #[error(transparent)]
    Pipeline(#[from] pipeline::PipelineError),
    /// The async runtime could not start.
    #[error("could not start the crawler's runtime: {0}")]
    Runtime(String),
}

fn entry_kind(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Page => "page",
        EntryKind::Sitemap => "sitemap",
        EntryKind::Feed => "feed",
    }
}

fn stored_entry(e: &Entry) -> FrontierEntry {
    FrontierEntry { url: e.url.to_string(), depth: e.depth, kind: entry_kind(e.kind) }
}

fn crawler_entry(e: &FrontierEntry) -> Option<Entry> {
    let kind = match e.kind {
        "sitemap" => EntryKind::Sitemap,
        "feed" => EntryKind::Feed,
        _ => EntryKind::Page,
    };
    Url::parse(&e.url).ok().map(|url| Entry { url, depth: e.depth, kind })
}

/// The seeds of a spec as frontier entries.
fn seed_entries(spec: &JobSpec) -> Vec<FrontierEntry> {
    let entries = |urls: &[String], kind: &'static str| -> Vec<FrontierEntry> {
        urls.iter().map(|u| FrontierEntry { url: u.clone(), depth: 0, kind }).collect()
    };
    let mut out = entries(&spec.seeds, "page");
    out.extend(entries(&spec.sitemaps, "sitemap"));
    out.extend(entries(&spec.feeds, "feed"));
    out
}

fn crawl_config(spec: &JobSpec, settings: &CrawlSettings) -> CrawlConfig {
    let urls = |v: &[String]| v.iter().filter_map(|u| Url::parse(u).ok()).collect::<Vec<_>>();
    let mut config = CrawlConfig::new(urls(&spec.seeds));
    config.sitemaps = urls(&spec.sitemaps);
    config.feeds = urls(&spec.feeds);
    config.scope = Scope { hosts: spec.hosts.clone(), path_prefixes: spec.path_prefixes.clone() };
    config.max_pages = spec.max_pages;
    config.max_depth = spec.max_depth;
    config.fetch_images = spec.fetch_images;
    config.per_host_concurrency = settings.per_host_concurrency.max(1);
    config.min_host_delay = settings.min_host_delay;
    config.max_page_bytes = settings.max_page_bytes;
    config.max_attempts = settings.max_attempts.max(1);
    config.backoff_base = settings.backoff_base;
    config.max_tasks = settings.max_tasks.max(1);
    config
}

/// Converts a hit row into the run report's shape.
pub fn reported(h: &HitRow) -> ReportedHit {
    ReportedHit {
        url: h.page_url.clone(),
        image_url: h.image_url.clone(),
        work: h.work.as_str().to_owned(),
        file: h.file.clone(),
        kind: if h.kind == "image" { "image" } else { "text" },
        colour: if h.colour == "white" { "white" } else { "black" },
    }
}

/// Runs (or resumes) one job to its end, with live counters in `progress` for a progress bar.
pub fn run_job<M: MonitorRef>(
    targets: Targets<'_, M>,
    store: &mut SqliteStore,
    fetcher: &Fetcher,
    job: &JobRow,
    settings: &CrawlSettings,
    now: impl Fn() -> Timestamp + Sync,
    progress: &RunProgress,
) -> Result<CrawlOutcome, CrawlRunError> {
    let RunProgress { crawl: crawl_progress, pipeline: progress } = progress;
    let spec = spec_of(job)?;
    let resumed = job.running;
    store.start_run(&job.id, &seed_entries(&spec), !resumed, now())?;
    let (pending, seen, pages_done) = store.frontier(&job.id)?;
    let resume = Resume {
        pending: pending.iter().filter_map(crawler_entry).collect(),
        seen: seen.iter().filter_map(|u| Url::parse(u).ok()).collect(),
        pages_done,
    };
    let config = crawl_config(&spec, settings);
    let stats: Arc<Mutex<Option<CrawlStats>>> = Arc::new(Mutex::new(None));
    let source_stats = Arc::clone(&stats);
    let runtime_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let source_error = Arc::clone(&runtime_error);
    let fetcher = fetcher.clone();
    let crawl_progress = crawl_progress.clone();
    let pipeline_config = PipelineConfig {
        source: "crawl",
        job: Some(job.id.clone()),
        workers: settings.workers,
        ..PipelineConfig::default()
    };
    let clock = &now;
    let report = pipeline::run(targets, store, &pipeline_config, clock, progress, move |tx| {
        let (events_tx, mut events_rx) = tokio::sync::mpsc::channel::<CrawlEvent>(64);
        let crawler = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    *source_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    return;
                }
            };
            let done = runtime.block_on(seal_crawler::crawl::crawl(
                &fetcher,
                &config,
                Some(resume),
                events_tx,
                &crawl_progress,
            ));
            *source_stats.lock().unwrap_or_else(|p| p.into_inner()) = Some(done);
        });
        // This thread only moves events from the crawler's async channel into the pipeline's queue, so
        // a full queue makes the crawler wait without blocking any of its runtime's threads.
        while let Some(event) = events_rx.blocking_recv() {
            let item = match event {
                CrawlEvent::Page(page) => Item::Page(PageInput {
                    url: page.final_url.to_string(),
                    frontier_url: Some(page.url.to_string()),
                    content_type: page.content_type,
                    body: page.body.to_vec(),
                    seen: clock(),
                    images: page
                        .images
                        .into_iter()
                        .map(|i| EmbeddedImage {
                            url: i.url.to_string(),
                            body: i.result.ok().map(|img| Arc::from(img.body.as_ref())),
                        })
                        .collect(),
                    discovered: page.discovered.iter().map(stored_entry).collect(),
                }),
                CrawlEvent::Discovered { from, entries, .. } => {
                    Item::Frontier { done: Some(from.to_string()), entries: entries.iter().map(stored_entry).collect() }
                }
                CrawlEvent::Skipped { url, .. } => Item::Frontier { done: Some(url.to_string()), entries: Vec::new() },
            };
            if tx.send(item).is_err() {
                break;
            }
        }
        drop(events_rx);
        let _ = crawler.join();
    })?;
    if let Some(e) = runtime_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(CrawlRunError::Runtime(e));
    }
    let stats = stats
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or_else(|| CrawlRunError::Runtime("the crawler stopped without a result".into()))?;
    let pages = store.frontier_done_urls(&job.id)?;
    let mut hits: Vec<ReportedHit> = store.hits_on_pages(&pages)?.iter().map(reported).collect();
    hits.sort();
    hits.dedup();
    let next = job.interval_ms.map(|i| Timestamp::from_unix_ms(now().unix_ms().saturating_add(i)));
    let counts = (pages.len() as i64, stats.errors as i64, hits.len() as i64);
    store.finish_run(&job.id, counts, next, now())?;
    Ok(CrawlOutcome { job: job.id.clone(), stats, report, hits, resumed })
}
