//! Common Crawl ingestion: WARC files (ISO 28500, gzip per record or plain) as a source of the
//! monitoring pipeline.
//!
//! Every `response` (and `resource`) record is read in one streaming pass; memory stays flat whatever
//! the file size because only one record is held at a time and the pipeline's queue is bounded. HTML
//! records become pages (text matching; the hit records the WARC-Target-URI and WARC-Date). Image
//! records are matched as *probes*: their hits belong to the pages of the same ingest that embed the
//! image, which may come before or after the image in the file. So when (and only when) some image
//! matched, a second pass re-reads the files for HTML records that embed one of the matched images
//! and credits the hit to each such page; an image no page embeds is reported under its own URL.
//! The second pass reads links only, so it costs a fraction of the first, and most ingests (Common
//! Crawl holds almost no images) never need it.
//!
//! Damaged, oversize or truncated records are counted and skipped, never fatal.

use super::pipeline::{
    self, EmbeddedImage, Item, MonitorRef, PageInput, PipelineConfig, Progress, ReportedHit, ResolvedImage, Targets,
};
use crate::monitor::EngineHit;
use crate::store::SqliteStore;
use seal_crawler::discover::html_links;
use seal_crawler::warc::{is_html, is_image, WarcConfig, WarcReader};
use seal_licensing::Timestamp;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// Live counters of an ingest, for a progress bar.
#[derive(Debug, Default)]
pub struct IngestProgress {
    /// Records read whole.
    pub records: AtomicU64,
    /// Records skipped as damaged, oversize or truncated.
    pub skipped: AtomicU64,
    /// Compressed bytes read from the files.
    pub bytes: AtomicU64,
}

/// What an ingest did.
#[derive(Debug, Default)]
pub struct IngestOutcome {
    /// Records read whole.
    pub records_read: u64,
    /// Records skipped.
    pub records_skipped: u64,
    /// HTML pages matched.
    pub pages: u64,
    /// Image records matched.
    pub images: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Every hit of the ingest, one per (page, image, work).
    pub hits: Vec<ReportedHit>,
    /// Files that could not be opened, with the reason.
    pub unreadable_files: Vec<(PathBuf, String)>,
}

/// How an ingest runs.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// Matching threads (0: one per core).
    pub workers: usize,
    /// Fetch the images ingested pages embed through this guarded fetcher (Common Crawl's WARCs hold
    /// almost none), under the crawler's rules: robots.txt, per-host politeness, each URL once.
    pub fetch_images: Option<seal_crawler::fetch::Fetcher>,
}

/// Pages waiting for their embedded images, fetched on a small tokio runtime of their own so the
/// WARC reader never waits on the network: at most [`EmbeddedImages::IN_FLIGHT`] pages at once.
struct EmbeddedImages {
    runtime: tokio::runtime::Runtime,
    fetcher: std::sync::Arc<seal_crawler::crawl::ImageFetcher>,
    tasks: Mutex<tokio::task::JoinSet<()>>,
}

impl EmbeddedImages {
    const IN_FLIGHT: usize = 64;
    const PER_PAGE: usize = 16;

    fn new(fetcher: &seal_crawler::fetch::Fetcher) -> Result<EmbeddedImages, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let mut config = seal_crawler::crawl::CrawlConfig::new(Vec::new());
        config.min_host_delay = Duration::from_millis(250);
        let fetcher = std::sync::Arc::new(seal_crawler::crawl::ImageFetcher::new(fetcher, &config));
        Ok(EmbeddedImages { runtime, fetcher, tasks: Mutex::new(tokio::task::JoinSet::new()) })
    }

    /// Queues a page: its images are fetched, then it is sent on. Returns whether the pipeline still
    /// takes items.
    fn submit(&self, mut page: PageInput, tx: std::sync::mpsc::SyncSender<Item>) -> bool {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        while tasks.len() >= Self::IN_FLIGHT {
            let _ = self.runtime.block_on(tasks.join_next());
        }
        let urls: Vec<Url> = Url::parse(&page.url)
            .map(|base| html_links(&page.body, &base, "CopyrightSeal").images)
            .unwrap_or_default()
            .into_iter()
            .take(Self::PER_PAGE)
            .collect();
        let fetcher = std::sync::Arc::clone(&self.fetcher);
        tasks.spawn_on(
            async move {
                for url in urls {
                    let body = fetcher.get(&url).await.ok().map(|img| std::sync::Arc::from(img.body.as_ref()));
                    page.images.push(EmbeddedImage { url: url.to_string(), body });
                }
                // A full queue blocks this worker until the matchers catch up, which is the backpressure.
                tokio::task::block_in_place(|| {
                    let _ = tx.send(Item::Page(page));
                });
            },
            self.runtime.handle(),
        );
        true
    }

    /// Waits for every queued page.
    fn finish(&self) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        self.runtime.block_on(async { while tasks.join_next().await.is_some() {} });
    }
}

/// Why an ingest failed (a bad record never is a reason).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The image fetcher's runtime could not start.
    #[error("could not start the image fetcher: {0}")]
    Runtime(String),
    /// The pipeline (its store) failed.
    #[error(transparent)]
    Pipeline(#[from] pipeline::PipelineError),
}

/// A file reader that counts the bytes it reads.
struct Counting<'a, R> {
    inner: R,
    bytes: &'a AtomicU64,
}

impl<R: std::io::Read> std::io::Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One document of a record: URL, date, HTTP content type and body.
struct Doc {
    url: String,
    seen: Timestamp,
    content_type: String,
    body: Vec<u8>,
}

/// Reads every record of `path`, calling `each` with the documents that have a 2xx status (or no HTTP
/// head), and returns (read, skipped).
fn read_file(
    path: &Path,
    progress: &IngestProgress,
    count: bool,
    mut each: impl FnMut(Doc) -> bool,
) -> Result<(u64, u64), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let counting = Counting { inner: BufReader::with_capacity(1 << 16, file), bytes: &progress.bytes };
    let mut reader = WarcReader::new(counting, WarcConfig::default()).map_err(|e| e.to_string())?;
    while let Some(next) = reader.next_record() {
        let record = match next {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(file = %path.display(), error = %e, "skipped a WARC record");
                if count {
                    progress.skipped.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
        };
        if count {
            progress.records.fetch_add(1, Ordering::Relaxed);
        }
        let (Some(url), seen) = (record.target_uri().map(str::to_owned), record.date_millis()) else { continue };
        let Ok(Some(payload)) = record.payload() else { continue };
        if payload.http_status.is_some_and(|s| !(200..300).contains(&s)) {
            continue;
        }
        let doc = Doc {
            url,
            seen: Timestamp::from_unix_ms(seen.unwrap_or(0)),
            content_type: payload.content_type.clone().unwrap_or_default(),
            body: payload.body.into_owned(),
        };
        if !each(doc) {
            break;
        }
    }
    let stats = reader.stats();
    Ok((stats.records_read, stats.records_skipped))
}

/// Ingests WARC files into the store through the pipeline. See the module docs.
pub fn ingest<M: MonitorRef>(
    targets: Targets<'_, M>,
    store: &mut SqliteStore,
    files: &[PathBuf],
    options: &IngestOptions,
    now: impl Fn() -> Timestamp,
    progress: &Progress,
    ingest_progress: &IngestProgress,
) -> Result<IngestOutcome, IngestError> {
    let started = Instant::now();
    let config = PipelineConfig { source: "warc", job: None, workers: options.workers, ..PipelineConfig::default() };
    let images = match &options.fetch_images {
        Some(fetcher) => Some(EmbeddedImages::new(fetcher).map_err(IngestError::Runtime)?),
        None => None,
    };
    let totals = Mutex::new(IngestOutcome::default());
    let first = pipeline::run(targets, store, &config, &now, progress, |tx| {
        for path in files {
            let mut image_records = 0;
            let result = read_file(path, ingest_progress, true, |doc| {
                let item = if is_html(&doc.content_type) {
                    let page = PageInput {
                        url: doc.url,
                        frontier_url: None,
                        content_type: Some(doc.content_type),
                        body: doc.body,
                        seen: doc.seen,
                        images: Vec::new(),
                        discovered: Vec::new(),
                    };
                    if let Some(images) = &images {
                        // The page goes on once its images are fetched, on the fetcher's runtime.
                        return images.submit(page, tx.clone());
                    }
                    Item::Page(page)
                } else if is_image(&doc.content_type) {
                    image_records += 1;
                    Item::Probe { url: doc.url, body: doc.body, seen: doc.seen }
                } else {
                    return true;
                };
                tx.send(item).is_ok()
            });
            let mut totals = totals.lock().unwrap_or_else(|p| p.into_inner());
            totals.images += image_records;
            match result {
                Ok((read, skipped)) => {
                    totals.records_read += read;
                    totals.records_skipped += skipped;
                }
                Err(e) => totals.unreadable_files.push((path.clone(), e)),
            }
        }
        if let Some(images) = &images {
            images.finish();
        }
    })?;
    let mut outcome = totals.into_inner().unwrap_or_else(|p| p.into_inner());
    outcome.pages = first.pages;
    let mut hits = first.hits;
    if !first.probes.is_empty() {
        hits.extend(credit_images(targets.monitor, store, files, first.probes, &config, &now, progress)?);
    }
    hits.sort();
    hits.dedup();
    outcome.hits = hits;
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// The second pass: finds the pages of the ingest that embed a matched image and stores the image's
/// hits on them (or under the image's own URL when no page embeds it).
fn credit_images<M: MonitorRef>(
    monitor: &M,
    store: &mut SqliteStore,
    files: &[PathBuf],
    probes: Vec<(String, Timestamp, Vec<EngineHit>)>,
    config: &PipelineConfig,
    now: &impl Fn() -> Timestamp,
    progress: &Progress,
) -> Result<Vec<ReportedHit>, IngestError> {
    let mut pages_of: HashMap<String, Vec<(String, String, Timestamp)>> =
        probes.iter().map(|(url, _, _)| (normalise(url), Vec::new())).collect();
    let quiet = IngestProgress::default();
    for path in files {
        let _ = read_file(path, &quiet, false, |doc| {
            if !is_html(&doc.content_type) {
                return true;
            }
            let Ok(page_url) = Url::parse(&doc.url) else { return true };
            let links = html_links(&doc.body, &page_url, "CopyrightSeal");
            let mut title = None;
            for image in links.images {
                if let Some(pages) = pages_of.get_mut(&normalise(image.as_str())) {
                    if !pages.iter().any(|(u, _, _)| u == &doc.url) {
                        let title = title.get_or_insert_with(|| {
                            monitor
                                .with(|m| m.extract_page(&doc.body, Some(&doc.content_type)))
                                .ok()
                                .and_then(|p| p.title)
                                .unwrap_or_default()
                        });
                        pages.push((doc.url.clone(), title.clone(), doc.seen));
                    }
                }
            }
            true
        });
    }
    let report = pipeline::run(Targets { monitor, pages: None }, store, config, now, progress, |tx| {
        for (url, seen, hits) in probes {
            let pages = pages_of.remove(&normalise(&url)).unwrap_or_default();
            let image = ResolvedImage { url, hits, pages, seen };
            if tx.send(Item::Resolved(image)).is_err() {
                break;
            }
        }
    })?;
    Ok(report.hits)
}

/// URL identity for matching image references: parsed and re-serialised, fragment dropped.
fn normalise(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}
