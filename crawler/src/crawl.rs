//! The monitoring crawler: polite, bounded, resumable, and fetching only through [`Fetcher`].
//!
//! [`crawl`] walks from seeds, explicit sitemaps and feeds, `Sitemap:` lines of robots.txt, and the
//! links, feeds and images of the pages it fetches, and reports what it finds as [`CrawlEvent`]s on a
//! bounded channel. It keeps no store of its own; the platform persists the frontier from the events:
//!
//! - a [`PageEvent`] carries the page *and* the frontier entries it added, so the platform commits
//!   "page done + its discovered URLs + its matches" in one transaction;
//! - a [`CrawlEvent::Discovered`] does the same for a sitemap, feed or robots.txt (these are not pages
//!   and do not count against the page budget);
//! - a [`CrawlEvent::Skipped`] ends an entry that was not fetched or gave no usable answer.
//!
//! An entry is only ever dispatched after the event that reported it was sent, so the platform never
//! hears about a fetch of a URL it does not know. On restart the platform passes a [`Resume`]: its
//! pending entries are queued again and its seen URLs (pages, sitemaps and feeds that are done or
//! pending) are never queued again, so a killed crawl resumes without refetching what it finished.
//! Sitemaps and feeds are "seen URLs" like pages: a processed sitemap is not read again on resume.
//! robots.txt is not persisted; it is fetched again by each run (once per origin).
//!
//! Concurrency: every entry runs as its own tokio task in a `JoinSet` (so HTML parsing uses every
//! worker thread of a multi-threaded runtime), at most `max_tasks` at once and at most
//! `per_host_concurrency` per host; requests pass the host's politeness gate (`polite.rs`) and
//! a crawl-wide permit sized to the fetcher's own concurrency cap. Dropping the future returned by
//! [`crawl`] drops the `JoinSet`, which aborts every task; when the event receiver is dropped, the
//! crawl stops dispatching, aborts what is running and returns.
//!
//! Failures: transient ones (unreachable, timed out, 429, 5xx) are retried with exponential backoff
//! up to `max_attempts`, and never before a `Retry-After` the host sent; the rest (other 4xx, refused, too large, too many redirects) are not. A
//! page that answers with any status other than 429/5xx is a page event (its status tells the story:
//! a 410 means a copy was taken down); 4xx answers also count as errors. A page still answering
//! 429/5xx after the last attempt is `Skipped { Status }`, so the platform can try again later.
//! Bodies are passed on undecoded with the `Content-Type` header: the engine decodes charsets.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

use crate::discover::{gunzip_capped, html_links, is_gzip, xml_links, XmlKind};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::frontier::{authority, normalize, Entry, EntryKind, Frontier, Scope};
use crate::images::ImageCache;
use crate::polite::{backoff, Gates};
use crate::robots::{robots_url, RobotsAnswer, RobotsCache, RobotsRules, Verdict, MAX_ROBOTS_BYTES};

/// What to crawl and how hard. [`CrawlConfig::new`] gives polite defaults.
#[derive(Debug, Clone)]
pub struct CrawlConfig {
    /// Start pages (depth 0).
    pub seeds: Vec<Url>,
    /// Sitemaps to read (plain or gzip, urlset or index), wherever they are; their pages must be in
    /// scope.
    pub sitemaps: Vec<Url>,
    /// RSS or Atom feeds to read, wherever they are; their items must be in scope.
    pub feeds: Vec<Url>,
    /// Which pages may be fetched; hosts default to the seeds' hosts.
    pub scope: Scope,
    /// Pages (any answer counted as a page event) this crawl may fetch, including `Resume::pages_done`.
    pub max_pages: usize,
    /// How many links away from a seed a page may be (seeds and sitemap/feed entries are 0).
    pub max_depth: u32,
    /// Most requests to one host at once. Default 2.
    pub per_host_concurrency: usize,
    /// Least time between the starts of two requests to one host; a longer `Crawl-delay` wins.
    /// Default 1 s.
    pub min_host_delay: Duration,
    /// Largest page body. Default 8 MiB; a larger page is an error (`TooLarge`).
    pub max_page_bytes: usize,
    /// Largest image body. Default 10 MiB.
    pub max_image_bytes: usize,
    /// Largest sitemap or feed, after gunzip. Default 50 MiB (the sitemap protocol's limit).
    pub max_xml_bytes: usize,
    /// Most URLs taken from one sitemap or feed. Default 50,000 (the protocol's limit).
    pub max_urls_per_xml: usize,
    /// Most sitemaps and feeds this run reads (a sitemap index can fan out). Default 1,000.
    pub max_xml_documents: usize,
    /// Fetch the images pages embed and put them in the page events. Default true.
    pub fetch_images: bool,
    /// Most images taken from one page (first in document order, og:image first). Default 32.
    pub max_images_per_page: usize,
    /// Bytes of image results kept for pages that embed the same image. Default 64 MiB.
    pub image_cache_bytes: usize,
    /// Attempts per request for transient failures. Default 3.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles each time. Default 1 s.
    pub backoff_base: Duration,
    /// Longest wait between attempts. Default 60 s.
    pub max_backoff: Duration,
    /// The product token robots.txt groups are matched against. Default `CopyrightSeal`.
    pub robots_agent: String,
    /// How long a robots.txt that could not be read (5xx, 429, no answer) counts as disallow-all
    /// before it is fetched again. Default 10 minutes.
    pub robots_unavailable_ttl: Duration,
    /// Follow `rel=nofollow` links and pages with `<meta name=robots content=nofollow>`. Default false.
    pub follow_nofollow: bool,
    /// Entries processed at once across all hosts (each holds at most one page body). Default 16.
    pub max_tasks: usize,
}

impl CrawlConfig {
    /// A config for `seeds` with the documented defaults.
    pub fn new(seeds: Vec<Url>) -> CrawlConfig {
        CrawlConfig {
            seeds,
            sitemaps: Vec::new(),
            feeds: Vec::new(),
            scope: Scope::default(),
            max_pages: 10_000,
            max_depth: 5,
            per_host_concurrency: 2,
            min_host_delay: Duration::from_secs(1),
            max_page_bytes: 8 << 20,
            max_image_bytes: 10 << 20,
            max_xml_bytes: 50 << 20,
            max_urls_per_xml: 50_000,
            max_xml_documents: 1_000,
            fetch_images: true,
            max_images_per_page: 32,
            image_cache_bytes: 64 << 20,
            max_attempts: 3,
            backoff_base: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            robots_agent: "CopyrightSeal".to_owned(),
            robots_unavailable_ttl: Duration::from_secs(600),
            follow_nofollow: false,
            max_tasks: 16,
        }
    }
}

/// Where a killed crawl left off, loaded by the platform from what it persisted of the events.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Entries reported (in `discovered` / `Discovered`) whose page or document event was not committed.
    pub pending: Vec<Entry>,
    /// Every URL that is done or pending (pages, sitemaps, feeds, and redirect targets of pages):
    /// never queued again by this run.
    pub seen: Vec<Url>,
    /// Pages already fetched; counts against `max_pages`.
    pub pages_done: usize,
}

/// Why an entry or an image gave no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// robots.txt disallows it for our agent.
    RobotsDisallowed,
    /// robots.txt of its origin could not be read (5xx, 429, unreachable): disallow-all for a while.
    RobotsUnavailable,
    /// Outside the crawl's scope or depth (a resumed entry under a narrower config).
    OutOfScope,
    /// The fetch failed.
    Fetch(FetchFailure),
    /// Still 429 or 5xx after the last attempt (or, for images, sitemaps and feeds, any non-2xx).
    Status(u16),
    /// A sitemap or feed that is neither (or broken gzip, or too large once unzipped).
    Unparseable,
}

/// [`FetchError`] as a plain value (the fetcher's error is not `Clone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchFailure {
    /// Not a fetchable web address.
    BadUrl,
    /// The address or port is not allowed (SSRF guard), on the first hop or a redirect.
    Refused,
    /// DNS, connect, TLS or read failure.
    Unreachable,
    /// Past the fetch deadline.
    TimedOut,
    /// The body passed the cap.
    TooLarge,
    /// Too many redirects (a loop, usually).
    TooManyRedirects,
    /// The fetcher's policy is unusable.
    BadPolicy,
}

impl From<&FetchError> for FetchFailure {
    fn from(e: &FetchError) -> FetchFailure {
        match e {
            FetchError::BadUrl => FetchFailure::BadUrl,
            FetchError::Refused => FetchFailure::Refused,
            FetchError::Unreachable => FetchFailure::Unreachable,
            FetchError::TimedOut => FetchFailure::TimedOut,
            FetchError::TooLarge => FetchFailure::TooLarge,
            FetchError::TooManyRedirects => FetchFailure::TooManyRedirects,
            FetchError::BadPolicy => FetchFailure::BadPolicy,
        }
    }
}

/// An image a page embeds, with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Where it was served from, after redirects.
    pub final_url: Url,
    /// HTTP status (always 2xx here; other answers are errors).
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body (shared with other pages that embed the same image).
    pub body: Bytes,
}

/// An image fetch's outcome.
pub type ImageResult = Result<Image, SkipReason>;

/// One embedded image of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The normalised image URL as embedded.
    pub url: Url,
    /// The image, or why there is none.
    pub result: ImageResult,
}

/// One fetched page.
#[derive(Debug, Clone)]
pub struct PageEvent {
    /// The URL as queued (normalised).
    pub url: Url,
    /// Where the page was served from after redirects (may be out of scope: then its links were not
    /// followed).
    pub final_url: Url,
    /// Link distance from a seed.
    pub depth: u32,
    /// HTTP status of the final answer.
    pub status: u16,
    /// The `Content-Type` header, for the consumer's charset decoding.
    pub content_type: Option<String>,
    /// The body, undecoded.
    pub body: Bytes,
    /// New frontier entries this page added (after dedup, scope, depth and budget).
    pub discovered: Vec<Entry>,
    /// The page's images (when `fetch_images`), in document order.
    pub images: Vec<ImageRef>,
}

/// What the crawl reports.
#[derive(Debug, Clone)]
pub enum CrawlEvent {
    /// A page answered.
    Page(PageEvent),
    /// A sitemap, feed or robots.txt was read; `from` is its URL, `entries` the new frontier entries it
    /// added (possibly none: the document is still done).
    Discovered {
        /// The document's URL as queued (robots.txt: its URL).
        from: Url,
        /// What kind of document `from` was queued as (robots.txt reports as `Sitemap`).
        kind: EntryKind,
        /// New frontier entries.
        entries: Vec<Entry>,
    },
    /// An entry (or a discovered link, for robots disallows) that was not fetched or gave nothing.
    Skipped {
        /// The entry's URL.
        url: Url,
        /// What it was queued as.
        kind: EntryKind,
        /// Why.
        reason: SkipReason,
    },
}

/// Live counters for a progress bar; clones share the counters.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    pages: AtomicU64,
    images: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    robots_skipped: AtomicU64,
    in_flight: AtomicU64,
    queued: AtomicU64,
}

impl Progress {
    /// Pages fetched by this run.
    pub fn pages(&self) -> u64 {
        self.0.pages.load(Ordering::Relaxed)
    }
    /// Images fetched (each distinct URL once, unless evicted and fetched again).
    pub fn images(&self) -> u64 {
        self.0.images.load(Ordering::Relaxed)
    }
    /// Body bytes received (pages, images, sitemaps, feeds, robots.txt).
    pub fn bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }
    /// Failed fetches of entries (after retries) and pages answering 4xx. Image failures are not
    /// counted here; they are in the page events.
    pub fn errors(&self) -> u64 {
        self.0.errors.load(Ordering::Relaxed)
    }
    /// URLs not fetched because of robots.txt (disallowed or unavailable).
    pub fn robots_skipped(&self) -> u64 {
        self.0.robots_skipped.load(Ordering::Relaxed)
    }
    /// Requests on the wire right now.
    pub fn in_flight(&self) -> u64 {
        self.0.in_flight.load(Ordering::Relaxed)
    }
    /// Entries waiting in the frontier (updated as the crawl dispatches).
    pub fn queued(&self) -> u64 {
        self.0.queued.load(Ordering::Relaxed)
    }
}

/// A crawl's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawlStats {
    /// Pages fetched by this run.
    pub pages_fetched: u64,
    /// Images fetched.
    pub images_fetched: u64,
    /// URLs skipped for robots.txt.
    pub robots_skipped: u64,
    /// Errors (see [`Progress::errors`]).
    pub errors: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether the crawl stopped because the event receiver was dropped.
    pub stopped: bool,
}

/// Runs a crawl to the end of its frontier or budget, sending events as it goes. Must run inside a
/// tokio runtime. See the module documentation for the contract.
pub async fn crawl(
    fetcher: &Fetcher,
    config: &CrawlConfig,
    resume: Option<Resume>,
    events: mpsc::Sender<CrawlEvent>,
    progress: &Progress,
) -> CrawlStats {
    let started = Instant::now();
    let resume = resume.unwrap_or_default();
    let scope = config.scope.or_seed_hosts(&config.seeds);
    let ctx = Arc::new(Ctx {
        fetcher: fetcher.clone(),
        frontier: Mutex::new(Frontier::new(
            config.per_host_concurrency,
            config.max_pages,
            resume.pages_done,
            config.max_xml_documents,
        )),
        robots: RobotsCache::new(config.robots_unavailable_ttl),
        gates: Gates::new(config.per_host_concurrency, config.min_host_delay),
        global: Arc::new(Semaphore::new(fetcher.policy().max_concurrent.max(1))),
        images: ImageCache::new(config.image_cache_bytes),
        config: config.clone(),
        scope,
        events,
        progress: progress.clone(),
        stopped: AtomicBool::new(false),
    });

    ctx.start(resume).await;
    let mut tasks = JoinSet::new();
    let max_tasks = config.max_tasks.max(1);
    while !ctx.stopped.load(Ordering::SeqCst) {
        while tasks.len() < max_tasks {
            let next = {
                let mut frontier = ctx.frontier();
                let next = frontier.next();
                ctx.progress.0.queued.store(frontier.queued() as u64, Ordering::Relaxed);
                next
            };
            let Some(entry) = next else { break };
            tasks.spawn(Arc::clone(&ctx).run(entry));
        }
        match tasks.join_next().await {
            None => break,
            Some(Err(e)) if e.is_panic() => {
                // A bug, not the site's fault; the entry is lost for this run but the crawl goes on.
                tracing::error!(error = %e, "crawl task panicked");
                ctx.progress.0.errors.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {}
        }
    }
    // Stopped: abort what still runs (also what dropping the future would do).
    tasks.shutdown().await;
    let p = &ctx.progress;
    CrawlStats {
        pages_fetched: p.pages(),
        images_fetched: p.images(),
        robots_skipped: p.robots_skipped(),
        errors: p.errors(),
        bytes: p.bytes(),
        elapsed: started.elapsed(),
        stopped: ctx.stopped.load(Ordering::SeqCst),
    }
}

/// Fetches images outside a crawl (WARC ingestion with `--fetch-images`) under the crawl's rules:
/// robots.txt per origin (and its `Crawl-delay`), per-host politeness, the guarded fetcher, and each
/// URL fetched at most once while it stays in the shared image cache. Cheap to share behind an `Arc`.
pub struct ImageFetcher {
    ctx: Arc<Ctx>,
}

impl ImageFetcher {
    /// An image fetcher with `config`'s politeness, limits and robots agent (its seeds, scope and
    /// page budget are not used: nothing is queued).
    pub fn new(fetcher: &Fetcher, config: &CrawlConfig) -> ImageFetcher {
        // Nothing reads the events of an image fetcher: robots.txt sitemaps are only reported for
        // hosts in scope, and the scope is empty.
        let (events, _) = mpsc::channel(1);
        let ctx = Ctx {
            fetcher: fetcher.clone(),
            frontier: Mutex::new(Frontier::new(config.per_host_concurrency, 0, 0, 0)),
            robots: RobotsCache::new(config.robots_unavailable_ttl),
            gates: Gates::new(config.per_host_concurrency, config.min_host_delay),
            global: Arc::new(Semaphore::new(fetcher.policy().max_concurrent.max(1))),
            images: ImageCache::new(config.image_cache_bytes),
            config: config.clone(),
            scope: Scope::default(),
            events,
            progress: Progress::default(),
            stopped: AtomicBool::new(false),
        };
        ImageFetcher { ctx: Arc::new(ctx) }
    }

    /// The image at `url`, or why there is none. Must run inside a tokio runtime.
    pub async fn get(&self, url: &Url) -> ImageResult {
        self.ctx.images.get(url, || self.ctx.fetch_image(url.clone())).await.0
    }

    /// Live counters (images, bytes, robots skips).
    pub fn progress(&self) -> &Progress {
        &self.ctx.progress
    }
}

/// Everything the tasks of one crawl share.
struct Ctx {
    fetcher: Fetcher,
    config: CrawlConfig,
    scope: Scope,
    frontier: Mutex<Frontier>,
    robots: RobotsCache,
    gates: Gates,
    global: Arc<Semaphore>,
    images: ImageCache,
    events: mpsc::Sender<CrawlEvent>,
    progress: Progress,
    stopped: AtomicBool,
}

/// Ends a dispatched entry in the frontier however its task ends (finished, panicked or aborted).
struct Dispatched {
    ctx: Arc<Ctx>,
    entry: Entry,
    page_fetched: bool,
}

impl Drop for Dispatched {
    fn drop(&mut self) {
        self.ctx.frontier().finish(&self.entry, self.page_fetched);
    }
}

impl Ctx {
    fn frontier(&self) -> std::sync::MutexGuard<'_, Frontier> {
        self.frontier.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, counter: impl Fn(&Counters) -> &AtomicU64, n: u64) {
        counter(&self.progress.0).fetch_add(n, Ordering::Relaxed);
    }

    /// Sends an event; a dropped receiver stops the crawl.
    async fn send(&self, event: CrawlEvent) -> bool {
        if self.events.send(event).await.is_err() {
            self.stopped.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Loads the resume state and queues seeds, sitemaps and feeds (not reported: the platform knows
    /// its own config).
    async fn start(&self, resume: Resume) {
        let mut out_of_scope = Vec::new();
        {
            let mut frontier = self.frontier();
            // Pending entries are in the platform's seen set too: queue them before marking it.
            let mut initial = Vec::new();
            for entry in resume.pending {
                let Some(url) = normalize(&entry.url) else { continue };
                let entry = Entry { url, ..entry };
                if entry.kind == EntryKind::Page
                    && (!self.scope.contains(&entry.url) || entry.depth > self.config.max_depth)
                {
                    out_of_scope.push(entry);
                    continue;
                }
                initial.push(entry);
            }
            let pending: Vec<Entry> = initial.drain(..).filter(|e| frontier.reserve(e)).collect();
            frontier.release(pending);
            for url in resume.seen.iter().filter_map(normalize) {
                frontier.mark_seen(url);
            }
            for url in self.config.seeds.iter().filter_map(normalize) {
                let entry = Entry::page(url, 0);
                if self.scope.contains(&entry.url) {
                    initial.push(entry);
                } else if !frontier.is_seen(&entry.url) {
                    out_of_scope.push(entry);
                }
            }
            for (urls, kind) in [(&self.config.sitemaps, EntryKind::Sitemap), (&self.config.feeds, EntryKind::Feed)] {
                initial.extend(urls.iter().filter_map(normalize).map(|url| Entry { url, depth: 0, kind }));
            }
            let admitted: Vec<Entry> = initial.into_iter().filter(|e| frontier.reserve(e)).collect();
            frontier.release(admitted);
        }
        for entry in out_of_scope {
            self.send(CrawlEvent::Skipped { url: entry.url, kind: entry.kind, reason: SkipReason::OutOfScope }).await;
        }
    }

    /// One entry's task.
    async fn run(self: Arc<Self>, entry: Entry) {
        let mut done = Dispatched { ctx: Arc::clone(&self), entry: entry.clone(), page_fetched: false };
        match self.check_robots(&entry.url).await {
            Verdict::Allowed => {}
            verdict => {
                self.count(|c| &c.robots_skipped, 1);
                let reason = match verdict {
                    Verdict::Disallowed => SkipReason::RobotsDisallowed,
                    _ => SkipReason::RobotsUnavailable,
                };
                self.send(CrawlEvent::Skipped { url: entry.url, kind: entry.kind, reason }).await;
                return;
            }
        }
        match entry.kind {
            EntryKind::Page => done.page_fetched = self.page(entry).await,
            EntryKind::Sitemap | EntryKind::Feed => self.xml(entry).await,
        }
    }

    /// Fetches, reports and follows one page; whether it counted as a fetched page.
    async fn page(self: &Arc<Self>, entry: Entry) -> bool {
        let fetched = match self.fetch(&entry.url, self.config.max_page_bytes).await {
            Ok(f) if !is_transient_status(f.status) => f,
            other => {
                self.count(|c| &c.errors, 1);
                let reason = match other {
                    Ok(f) => SkipReason::Status(f.status),
                    Err(e) => SkipReason::Fetch(FetchFailure::from(&e)),
                };
                self.send(CrawlEvent::Skipped { url: entry.url, kind: entry.kind, reason }).await;
                return false;
            }
        };
        if fetched.status >= 400 {
            self.count(|c| &c.errors, 1);
        }
        let final_url = normalize(&fetched.final_url).unwrap_or_else(|| fetched.final_url.clone());
        let is_html = fetched.content_type.as_deref().is_none_or(|t| t.to_ascii_lowercase().contains("html"));
        let found = if (200..300).contains(&fetched.status) && is_html {
            html_links(&fetched.body, &fetched.final_url, &self.config.robots_agent)
        } else {
            Default::default()
        };

        // Links are followed only from pages whose final URL is in scope (a redirect off-site is
        // recorded, not crawled) and that do not say nofollow.
        let follow = self.scope.contains(&final_url) && (self.config.follow_nofollow || !found.nofollow);
        let mut candidates = Vec::new();
        if follow && entry.depth < self.config.max_depth {
            let depth = entry.depth + 1;
            candidates.extend(found.links.iter().map(|u| (u, depth, EntryKind::Page)));
            candidates.extend(found.feeds.iter().map(|u| (u, depth, EntryKind::Feed)));
        }
        let (discovered, disallowed) = {
            let mut frontier = self.frontier();
            frontier.mark_seen(final_url.clone());
            self.admit(&mut frontier, candidates)
        };
        self.count(|c| &c.pages, 1);

        let images = if self.config.fetch_images { self.page_images(&found.images).await } else { Vec::new() };
        self.report_disallowed(disallowed).await;
        let event = PageEvent {
            url: entry.url,
            final_url,
            depth: entry.depth,
            status: fetched.status,
            content_type: fetched.content_type,
            body: Bytes::from(fetched.body),
            discovered: discovered.clone(),
            images,
        };
        if self.send(CrawlEvent::Page(event)).await {
            self.frontier().release(discovered);
        }
        true
    }

    /// Reads one sitemap or feed and reports what it lists.
    async fn xml(self: &Arc<Self>, entry: Entry) {
        let fail = |reason| CrawlEvent::Skipped { url: entry.url.clone(), kind: entry.kind, reason };
        let fetched = match self.fetch(&entry.url, self.config.max_xml_bytes).await {
            Ok(f) if (200..300).contains(&f.status) => f,
            other => {
                self.count(|c| &c.errors, 1);
                let reason = match other {
                    Ok(f) => SkipReason::Status(f.status),
                    Err(e) => SkipReason::Fetch(FetchFailure::from(&e)),
                };
                self.send(fail(reason)).await;
                return;
            }
        };
        let body = if is_gzip(&fetched.body) {
            gunzip_capped(&fetched.body, self.config.max_xml_bytes)
        } else {
            Some(fetched.body)
        };
        let found = body.map(|b| xml_links(&b, &fetched.final_url, self.config.max_urls_per_xml));
        let Some(found) = found.filter(|f| f.kind != XmlKind::Unknown) else {
            self.count(|c| &c.errors, 1);
            self.send(fail(SkipReason::Unparseable)).await;
            return;
        };
        let kind = if found.kind == XmlKind::SitemapIndex { EntryKind::Sitemap } else { EntryKind::Page };
        let candidates = found.urls.iter().map(|u| (u, entry.depth, kind)).collect();
        let (entries, disallowed) = self.admit(&mut self.frontier(), candidates);
        self.report_disallowed(disallowed).await;
        let event = CrawlEvent::Discovered { from: entry.url, kind: entry.kind, entries: entries.clone() };
        if self.send(event).await {
            self.frontier().release(entries);
        }
    }

    /// Filters candidate URLs into new frontier entries (reserved, not yet released) and URLs that
    /// robots.txt already known for their origin disallows (marked seen, to be reported). Pages must
    /// be in scope; so must sitemaps and feeds found on the way (explicit ones were exempt).
    fn admit(&self, frontier: &mut Frontier, candidates: Vec<(&Url, u32, EntryKind)>) -> (Vec<Entry>, Vec<Entry>) {
        let mut entries = Vec::new();
        let mut disallowed = Vec::new();
        for (url, depth, kind) in candidates {
            let Some(url) = normalize(url) else { continue };
            if frontier.is_seen(&url) || !self.scope.contains(&url) {
                continue;
            }
            let entry = Entry { url, depth, kind };
            // Known robots rules are applied now, so a disallowed link never takes a budget slot;
            // origins whose robots.txt is not loaded yet are checked when the entry is dispatched.
            if self.robots.peek(&entry.url).is_some_and(|r| r.verdict(&entry.url) == Verdict::Disallowed) {
                frontier.mark_seen(entry.url.clone());
                disallowed.push(entry);
                continue;
            }
            if frontier.reserve(&entry) {
                entries.push(entry);
            }
        }
        (entries, disallowed)
    }

    async fn report_disallowed(&self, disallowed: Vec<Entry>) {
        self.count(|c| &c.robots_skipped, disallowed.len() as u64);
        for entry in disallowed {
            let event = CrawlEvent::Skipped { url: entry.url, kind: entry.kind, reason: SkipReason::RobotsDisallowed };
            if !self.send(event).await {
                return;
            }
        }
    }

    /// A page's images: normalised, deduplicated, capped, fetched in parallel through the shared cache.
    async fn page_images(self: &Arc<Self>, raw: &[Url]) -> Vec<ImageRef> {
        let mut seen = HashSet::new();
        let urls: Vec<Url> = raw
            .iter()
            .filter_map(normalize)
            .filter(|u| seen.insert(u.clone()))
            .take(self.config.max_images_per_page)
            .collect();
        let mut set = JoinSet::new();
        for (i, url) in urls.iter().enumerate() {
            let ctx = Arc::clone(self);
            let url = url.clone();
            set.spawn(async move {
                let (result, fresh) = ctx.images.get(&url, || ctx.fetch_image(url.clone())).await;
                if fresh && result.is_ok() {
                    ctx.count(|c| &c.images, 1);
                }
                (i, result)
            });
        }
        let mut results: Vec<Option<ImageResult>> = vec![None; urls.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, result)) = joined {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(result);
                }
            }
        }
        urls.into_iter()
            .zip(results)
            // A panicked image task leaves None: report it as unreachable rather than lose the page.
            .map(|(url, result)| ImageRef {
                url,
                result: result.unwrap_or(Err(SkipReason::Fetch(FetchFailure::Unreachable))),
            })
            .collect()
    }

    async fn fetch_image(&self, url: Url) -> ImageResult {
        match self.check_robots(&url).await {
            Verdict::Allowed => {}
            Verdict::Disallowed => {
                self.count(|c| &c.robots_skipped, 1);
                return Err(SkipReason::RobotsDisallowed);
            }
            Verdict::Unavailable => {
                self.count(|c| &c.robots_skipped, 1);
                return Err(SkipReason::RobotsUnavailable);
            }
        }
        match self.fetch(&url, self.config.max_image_bytes).await {
            Ok(f) if (200..300).contains(&f.status) => Ok(Image {
                final_url: f.final_url,
                status: f.status,
                content_type: f.content_type,
                body: Bytes::from(f.body),
            }),
            Ok(f) => Err(SkipReason::Status(f.status)),
            Err(e) => Err(SkipReason::Fetch(FetchFailure::from(&e))),
        }
    }

    /// robots.txt's verdict on `url`, fetching its origin's file on first use.
    async fn check_robots(&self, url: &Url) -> Verdict {
        let rules = self.robots.get(url, || self.load_robots(url)).await;
        rules.verdict(url)
    }

    /// Fetches and interprets `url`'s origin's robots.txt; raises the host's delay to its
    /// Crawl-delay and reports its sitemaps when the origin is in scope.
    async fn load_robots(&self, url: &Url) -> RobotsRules {
        let Some(robots) = robots_url(url) else {
            return RobotsRules::from_answer(&self.config.robots_agent, url, RobotsAnswer::Failed);
        };
        let answer = self.fetch(&robots, MAX_ROBOTS_BYTES).await;
        let rules = match &answer {
            Ok(f) => RobotsRules::from_answer(
                &self.config.robots_agent,
                &robots,
                RobotsAnswer::Answer { status: f.status, body: &f.body },
            ),
            Err(_) => RobotsRules::from_answer(&self.config.robots_agent, &robots, RobotsAnswer::Failed),
        };
        if let Some(delay) = rules.crawl_delay {
            self.gates.gate(&authority(url)).raise_delay(delay);
        }
        if !rules.sitemaps.is_empty() && self.scope.contains(url) {
            let candidates = rules.sitemaps.iter().map(|u| (u, 0, EntryKind::Sitemap)).collect();
            let (entries, _) = self.admit(&mut self.frontier(), candidates);
            if !entries.is_empty() {
                let event = CrawlEvent::Discovered { from: robots, kind: EntryKind::Sitemap, entries: entries.clone() };
                if self.send(event).await {
                    self.frontier().release(entries);
                }
            }
        }
        rules
    }

    /// One request through the host's gate, retried with backoff on transient failures.
    async fn fetch(&self, url: &Url, cap: usize) -> Result<Fetched, FetchError> {
        let gate = self.gates.gate(&authority(url));
        let attempts = self.config.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let result = {
                let Some(_pass) = gate.pass(&self.global).await else { return Err(FetchError::Unreachable) };
                let _in_flight = InFlight::new(&self.progress);
                let hop = |next: Url| -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
                    let gate = self.gates.gate(&authority(&next));
                    Box::pin(async move { gate.pace().await })
                };
                self.fetcher.get_paced(url, cap, Some(&hop)).await
            };
            if let Ok(f) = &result {
                self.count(|c| &c.bytes, f.body.len() as u64);
            }
            let transient = match &result {
                Ok(f) => is_transient_status(f.status),
                Err(e) => matches!(e, FetchError::Unreachable | FetchError::TimedOut),
            };
            if !transient || attempt >= attempts {
                return result;
            }
            // A host that says when to come back is not asked sooner, by this request or any other;
            // one that asks for longer than our longest backoff is left alone for this run.
            if let Some(wait) = result.as_ref().ok().and_then(|f| f.retry_after) {
                if wait > self.config.max_backoff {
                    return result;
                }
                gate.hold(wait);
            }
            tracing::debug!(%url, attempt, "transient failure; backing off");
            tokio::time::sleep(backoff(self.config.backoff_base, attempt, self.config.max_backoff)).await;
            attempt += 1;
        }
    }
}

/// Counts a request in [`Progress::in_flight`] for as long as it lives, aborted tasks included.
struct InFlight<'a>(&'a Progress);

impl<'a> InFlight<'a> {
    fn new(progress: &'a Progress) -> InFlight<'a> {
        progress.0.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(progress)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0 .0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn is_transient_status(status: u16) -> bool {
    status == 429 || status >= 500
}
