//! The monitoring pipeline: source → match → classify → hit store. Data flows one way.
//!
//! A *source* (the crawler, a WARC file, retroactive matching) pushes [`Item`]s into a bounded queue.
//! A pool of matching threads (one per core) extracts each page's text and matches it, and each
//! embedded image, against the monitor's indexes; they need no store, so they never wait on the
//! database. One writer (the calling thread) names the works behind engine ids, classifies every hit
//! ([`Classifier`]) and commits pages in batches: per page its `pages` row, its hits and, for a crawl
//! job, its frontier entry marked done with the links it discovered, in one transaction. So a killed
//! run loses at most the pages of an uncommitted batch, and those are still pending in the frontier.
//!
//! Fetching never blocks matching and matching never blocks fetching: the source runs on its own
//! thread (the crawler on its own tokio runtime) and only waits when the queue is full, which is the
//! backpressure that keeps memory bounded.

use super::classify::Classifier;
use crate::domain::EngineId;
use crate::monitor::pages::PageStore;
use crate::monitor::{EngineHit, Monitor};
use crate::store::monitoring::{FrontierEntry, NewHit, PageDone, Reason};
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_engine::text::{PageFingerprint, PageIndexConfig, PageKey};
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, RwLock};

/// Read access to the monitor from many threads: a monitor owned by a command-line run, or the
/// server's shared one (read-locked per item, so registration is never held up for a whole run).
pub trait MonitorRef: Sync {
    /// Runs `f` with the monitor.
    fn with<R>(&self, f: impl FnOnce(&Monitor) -> R) -> R;
}

impl MonitorRef for Monitor {
    fn with<R>(&self, f: impl FnOnce(&Monitor) -> R) -> R {
        f(self)
    }
}

impl MonitorRef for RwLock<Monitor> {
    fn with<R>(&self, f: impl FnOnce(&Monitor) -> R) -> R {
        f(&self.read().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What a run matches against and feeds: the monitor's indexes, and the page index of retroactive
/// matching when the run's pages should be kept for it.
pub struct Targets<'a, M> {
    /// The works' fingerprint indexes.
    pub monitor: &'a M,
    /// Where page fingerprints go (`None`: not kept).
    pub pages: Option<&'a PageStore>,
}

impl<M> Clone for Targets<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Targets<'_, M> {}

/// An image a page embeds, with its bytes when they were fetched.
#[derive(Clone, Debug)]
pub struct EmbeddedImage {
    /// The image's own URL.
    pub url: String,
    /// Its bytes; `None` when it was not fetched (or could not be).
    pub body: Option<Arc<[u8]>>,
}

/// A fetched or archived HTML page.
#[derive(Clone, Debug)]
pub struct PageInput {
    /// The page's URL after redirects: what hits name.
    pub url: String,
    /// The crawl-frontier URL this page was fetched as (before redirects), for a crawl job.
    pub frontier_url: Option<String>,
    /// The HTTP `Content-Type` (its charset decides the decoding when present).
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// When it was seen: the fetch time, or the WARC record's date.
    pub seen: Timestamp,
    /// The images it embeds.
    pub images: Vec<EmbeddedImage>,
    /// New frontier entries it discovered.
    pub discovered: Vec<FrontierEntry>,
}

/// An image already matched (a WARC image record), to be credited to the pages that embed it, or to
/// its own URL when none does.
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    /// The image's URL.
    pub url: String,
    /// Its engine hits.
    pub hits: Vec<EngineHit>,
    /// The pages showing it: (url, title, seen).
    pub pages: Vec<(String, String, Timestamp)>,
    /// When the image itself was seen (used when no page shows it).
    pub seen: Timestamp,
}

/// What a source pushes.
#[derive(Clone, Debug)]
pub enum Item {
    /// A page to match.
    Page(PageInput),
    /// An image to match whose hits are only reported back ([`RunReport::probes`]), not stored: the
    /// caller decides whose pages they belong to.
    Probe {
        /// The image's URL.
        url: String,
        /// Its bytes.
        body: Vec<u8>,
        /// When it was seen.
        seen: Timestamp,
    },
    /// An already matched image to store.
    Resolved(ResolvedImage),
    /// Frontier changes outside pages for the run's job: a sitemap or feed read (done) with the
    /// entries it listed, or an entry skipped (done, no entries).
    Frontier {
        /// The entry that is finished.
        done: Option<String>,
        /// New entries.
        entries: Vec<FrontierEntry>,
    },
}

/// How a run is stored.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// `crawl`, `warc` or `retro`: stored with each hit.
    pub source: &'static str,
    /// The crawl job whose frontier the pages complete.
    pub job: Option<String>,
    /// Matching threads; 0 means one per core.
    pub workers: usize,
    /// Pages per commit at most.
    pub batch: usize,
    /// How often a long run writes the page index's snapshot (callers write one at its end too), so a
    /// crash hours into an ingest loses at most this much of retroactive matching's memory.
    pub snapshot_every: std::time::Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            source: "crawl",
            job: None,
            workers: 0,
            batch: 512,
            snapshot_every: std::time::Duration::from_secs(600),
        }
    }
}

/// Live counters, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    /// Pages matched and stored.
    pub pages: AtomicU64,
    /// Images matched.
    pub images: AtomicU64,
    /// Hits stored (new or seen again).
    pub hits: AtomicU64,
    /// Pages or images that could not be read.
    pub unreadable: AtomicU64,
}

/// One hit as a run reports it (the fixed JSON shape of `seal crawl` and `seal ingest`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportedHit {
    /// The page.
    pub url: String,
    /// The image's URL, for an image hit.
    pub image_url: Option<String>,
    /// The work id.
    pub work: String,
    /// The imported file's base name.
    pub file: Option<String>,
    /// `text` or `image`.
    pub kind: &'static str,
    /// `white` or `black`.
    pub colour: &'static str,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Pages stored.
    pub pages: u64,
    /// Hits new to the store.
    pub new_hits: u64,
    /// Hits seen again (updated in place).
    pub updated_hits: u64,
    /// Pages or images that could not be read.
    pub unreadable: u64,
    /// Every hit of the run, one per (page, image, work).
    pub hits: Vec<ReportedHit>,
    /// The engine hits of [`Item::Probe`] images that matched something: (url, seen, hits).
    pub probes: Vec<(String, Timestamp, Vec<EngineHit>)>,
    /// The stored pages: (row id, url), for the page-side index.
    pub stored_pages: Vec<(i64, String)>,
}

/// Why a run failed. Unreadable pages are counted, not errors.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The records store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A matched item on its way to the writer.
enum Matched {
    Page {
        input: Box<PageInput>,
        title: String,
        text: Vec<EngineHit>,
        images: Vec<(String, Vec<EngineHit>)>,
        fingerprint: Option<PageFingerprint>,
        /// The extracted text, only for a page with hits.
        page_text: Option<String>,
        unreadable: u64,
    },
    Probe {
        url: String,
        seen: Timestamp,
        hits: Vec<EngineHit>,
        unreadable: u64,
    },
    Resolved(ResolvedImage),
    Frontier {
        done: Option<String>,
        entries: Vec<FrontierEntry>,
    },
}

/// The article URL a WeChat page declares for itself, when it was reached by a short link
/// (`mp.weixin.qq.com/s/AbC…`) that does not carry the account's `__biz`. WeChat writes the page's own
/// full link into its `og:url` meta element and its `msg_link` variable; storing the hit under it lets a
/// licence or allowlist entry for the account recognise the page. Only those two self-descriptions are
/// read (an article's text may link to other accounts' articles), and only a link on WeChat's own host
/// with a valid `__biz` is taken.
fn wechat_canonical(url: &str, body: &[u8]) -> Option<String> {
    use seal_licensing::licence::UseScope;
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    if !rest.starts_with("mp.weixin.qq.com/") || rest.contains("__biz=") {
        return None;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(512 * 1024)]);
    let declared = |marker: &str| -> Option<String> {
        let at = text.find(marker)? + marker.len();
        let end = text[at..].find(['"', '\'', '<', '>', '#', ' ']).map_or(text.len(), |e| at + e);
        let link = text[at..end].replace("&amp;", "&").replace("\\x26", "&").replace("\\/", "/");
        let candidate = format!("https://{}", link.split_once("://").map_or(link.as_str(), |(_, r)| r));
        UseScope::wechat(&candidate, "").is_ok().then_some(candidate)
    };
    declared("property=\"og:url\" content=\"").or_else(|| declared("var msg_link = \""))
}

fn match_item(monitor: &impl MonitorRef, item: Item, progress: &Progress) -> Matched {
    match item {
        Item::Page(mut input) => {
            if let Some(canonical) = wechat_canonical(&input.url, &input.body) {
                input.url = canonical;
            }
            let mut unreadable = 0;
            let (title, text, fingerprint, page_text) =
                monitor.with(|m| match m.extract_page(&input.body, input.content_type.as_deref()) {
                    Ok(page) => {
                        // The page side of retroactive matching, cut here (from the tokens matching
                        // cut) so the writer only inserts.
                        let (hits, fingerprint) =
                            m.text_hits_and_fingerprint(&page.text, PageIndexConfig::default().fingerprint);
                        (page.title.unwrap_or_default(), hits, Some(fingerprint), page.text)
                    }
                    Err(_) => {
                        unreadable += 1;
                        (String::new(), Vec::new(), None, String::new())
                    }
                });
            let mut images = Vec::new();
            for image in &input.images {
                let Some(body) = &image.body else { continue };
                progress.images.fetch_add(1, Ordering::Relaxed);
                match monitor.with(|m| m.image_hits(body)) {
                    Ok(hits) if !hits.is_empty() => images.push((image.url.clone(), hits)),
                    Ok(_) => {}
                    Err(_) => unreadable += 1,
                }
            }
            // Only a page with hits keeps its text (for search); the rest is dropped here.
            let page_text = (!text.is_empty() || !images.is_empty()).then_some(page_text);
            Matched::Page { input: Box::new(input), title, text, images, fingerprint, page_text, unreadable }
        }
        Item::Probe { url, body, seen } => {
            progress.images.fetch_add(1, Ordering::Relaxed);
            match monitor.with(|m| m.image_hits(&body)) {
                Ok(hits) => Matched::Probe { url, seen, hits, unreadable: 0 },
                Err(_) => Matched::Probe { url, seen, hits: Vec::new(), unreadable: 1 },
            }
        }
        Item::Resolved(r) => Matched::Resolved(r),
        Item::Frontier { done, entries } => Matched::Frontier { done, entries },
    }
}

/// Runs `source` through the pipeline into `store` and returns what it did. `source` gets the queue's
/// sending end and runs on its own thread; the run ends when it returns and the queue is drained.
pub fn run<M, S>(
    targets: Targets<'_, M>,
    store: &mut SqliteStore,
    config: &PipelineConfig,
    now: impl Fn() -> Timestamp,
    progress: &Progress,
    source: S,
) -> Result<RunReport, PipelineError>
where
    M: MonitorRef,
    S: FnOnce(SyncSender<Item>) + Send,
{
    let Targets { monitor, pages } = targets;
    let workers = match config.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let (item_tx, item_rx) = sync_channel::<Item>(workers * 4);
    let (done_tx, done_rx) = sync_channel::<Matched>(workers * 4);
    let item_rx = Mutex::new(item_rx);
    std::thread::scope(|scope| {
        scope.spawn(move || source(item_tx));
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let item_rx = &item_rx;
            scope.spawn(move || loop {
                // The lock is held only while waiting for the next item, never while matching.
                let next = item_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok(item) = next else { break };
                if done_tx.send(match_item(monitor, item, progress)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let mut writer = Writer::new(config, progress, pages);
        let result = writer.drain(store, &done_rx, &now);
        // On a store failure, stop the workers and the source: dropping the receiver fails their sends.
        drop(done_rx);
        result.map(|()| writer.finish())
    })
}

/// What the writer knows about an engine id.
#[derive(Clone)]
struct Named {
    work: WorkId,
    owner: PartyId,
    file: Option<String>,
    source_url: String,
}

/// How long the writer gathers pages for one commit after the first arrives.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

struct Writer<'a> {
    config: &'a PipelineConfig,
    pages: Option<&'a PageStore>,
    /// The fingerprints of the batch's pages, in batch order (`None` for rows that are not fetched pages).
    fingerprints: Vec<Option<PageFingerprint>>,
    progress: &'a Progress,
    classifier: Classifier,
    names: HashMap<EngineId, Option<Named>>,
    report: RunReport,
    hits: BTreeMap<(String, String, String), ReportedHit>,
    /// When the page index's snapshot was last written by this run (or the run started).
    snapshot_at: std::time::Instant,
    /// The time of the item taken last: when the batch it joins is stored.
    now: Timestamp,
}

impl<'a> Writer<'a> {
    fn new(config: &'a PipelineConfig, progress: &'a Progress, pages: Option<&'a PageStore>) -> Self {
        Writer {
            config,
            pages,
            fingerprints: Vec::new(),
            progress,
            classifier: Classifier::new(),
            names: HashMap::new(),
            report: RunReport::default(),
            hits: BTreeMap::new(),
            snapshot_at: std::time::Instant::now(),
            now: Timestamp::from_unix_ms(0),
        }
    }

    fn drain(
        &mut self,
        store: &mut SqliteStore,
        rx: &Receiver<Matched>,
        now: &impl Fn() -> Timestamp,
    ) -> Result<(), PipelineError> {
        let mut batch = Vec::new();
        // Block for the first item, then gather what arrives within a short window, up to a batch: a
        // slow source commits page by page, a fast one in large batches (each commit is an fsync, and
        // committing whatever happened to be ready made a fast ingest commit every few pages).
        while let Ok(first) = rx.recv() {
            let until = std::time::Instant::now() + BATCH_WINDOW;
            self.take(store, first, &mut batch, now)?;
            while batch.len() < self.config.batch {
                let wait = until.saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(wait) {
                    Ok(m) => self.take(store, m, &mut batch, now)?,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            self.flush(store, &mut batch)?;
        }
        self.flush(store, &mut batch)
    }

    fn flush(&mut self, store: &mut SqliteStore, batch: &mut Vec<PageDone>) -> Result<(), PipelineError> {
        if batch.is_empty() {
            return Ok(());
        }
        // New unlicensed copies are announced to their holders (`notifications`) in the same
        // transaction that stores them.
        let now = self.now;
        let stored = store.atomically(|s| -> Result<_, StoreError> {
            let stored = s.store_pages(batch)?;
            super::notifications::record_black_hits(s, &stored, now)?;
            Ok(stored)
        })?;
        self.report.new_hits += stored.new_hits as u64;
        self.report.updated_hits += stored.updated_hits as u64;
        self.progress.hits.fetch_add((stored.new_hits + stored.updated_hits) as u64, Ordering::Relaxed);
        for (page, id) in batch.iter().zip(&stored.page_ids) {
            self.report.stored_pages.push((*id, page.url.clone()));
        }
        if let Some(pages) = self.pages {
            let mut index = pages.index().lock().unwrap_or_else(|p| p.into_inner());
            for (fingerprint, id) in self.fingerprints.drain(..).zip(&stored.page_ids) {
                if let (Some(fp), Ok(key)) = (fingerprint, u64::try_from(*id)) {
                    if let Err(e) = index.insert(PageKey(key), &fp) {
                        tracing::warn!(error = %e, "page fingerprint not kept");
                    }
                }
            }
            drop(index);
            if self.snapshot_at.elapsed() >= self.config.snapshot_every {
                if let Err(e) = pages.checkpoint() {
                    tracing::warn!(error = %e, "writing the page index snapshot");
                }
                self.snapshot_at = std::time::Instant::now();
            }
        }
        self.fingerprints.clear();
        batch.clear();
        Ok(())
    }

    fn finish(mut self) -> RunReport {
        self.report.hits = std::mem::take(&mut self.hits).into_values().collect();
        self.report
    }

    fn name(&mut self, store: &SqliteStore, id: EngineId) -> Result<Option<Named>, StoreError> {
        if let Some(named) = self.names.get(&id) {
            return Ok(named.clone());
        }
        let named = match store.content_by_engine_id(id)? {
            Some((row, _title)) => {
                let source_url = store.work(&row.work)?.map(|w| w.source_url).unwrap_or_default();
                Some(Named { work: row.work, owner: row.owner, file: row.file, source_url })
            }
            None => None,
        };
        self.names.insert(id, named.clone());
        Ok(named)
    }

    /// Turns engine hits on one page into stored hits: names, classification, and the report.
    fn hits_for(
        &mut self,
        store: &SqliteStore,
        at: Sighting<'_>,
        found: &[EngineHit],
        now: Timestamp,
    ) -> Result<Vec<NewHit>, StoreError> {
        let Sighting { page_url, image_url, title, seen } = at;
        let mut out: Vec<NewHit> = Vec::new();
        for hit in found {
            let Some(named) = self.name(store, hit.engine_id)? else { continue };
            // A work's own source page is the work, not a use of it (automatic inclusion registers
            // pages of the holder's channels as works; they must never come back as hits).
            if !named.source_url.is_empty() && same_page(&named.source_url, page_url) {
                continue;
            }
            // One hit per (page, image, work): a work with several matching items keeps its best.
            if out.iter().any(|h| h.work == named.work) {
                continue;
            }
            let reason = self.classifier.classify(store, &named.work, &named.owner, page_url, now)?;
            let colour = reason.0.colour();
            self.hits.insert(
                (page_url.to_owned(), image_url.unwrap_or("").to_owned(), named.work.as_str().to_owned()),
                ReportedHit {
                    url: page_url.to_owned(),
                    image_url: image_url.map(str::to_owned),
                    work: named.work.as_str().to_owned(),
                    file: named.file.clone(),
                    kind: hit.kind.as_str(),
                    colour,
                },
            );
            out.push(NewHit {
                work: named.work,
                owner: named.owner,
                page_url: page_url.to_owned(),
                image_url: image_url.map(str::to_owned),
                title: title.to_owned(),
                kind: hit.kind.as_str(),
                copy: hit.copy.to_owned(),
                score: hit.score,
                page_coverage: hit.page_coverage,
                evidence: hit.evidence.clone(),
                file: named.file,
                reason,
                source: self.config.source,
                seen,
            });
        }
        Ok(out)
    }

    fn take(
        &mut self,
        store: &mut SqliteStore,
        matched: Matched,
        batch: &mut Vec<PageDone>,
        now: &impl Fn() -> Timestamp,
    ) -> Result<(), PipelineError> {
        let now = now();
        self.now = now;
        match matched {
            Matched::Page { input, title, text, images, fingerprint, page_text, unreadable } => {
                let input = *input;
                self.count_unreadable(unreadable);
                self.report.pages += 1;
                self.progress.pages.fetch_add(1, Ordering::Relaxed);
                let at = Sighting { page_url: &input.url, image_url: None, title: &title, seen: input.seen };
                let mut hits = self.hits_for(store, at, &text, now)?;
                for (image_url, found) in &images {
                    hits.extend(self.hits_for(store, Sighting { image_url: Some(image_url), ..at }, found, now)?);
                }
                batch.push(PageDone {
                    url: input.url,
                    title,
                    seen: input.seen.unix_ms(),
                    hits,
                    frontier_done: self.config.job.clone().zip(input.frontier_url),
                    discovered: input.discovered,
                    text: page_text,
                });
                self.fingerprints.push(fingerprint);
            }
            Matched::Probe { url, seen, hits, unreadable } => {
                self.count_unreadable(unreadable);
                if !hits.is_empty() {
                    self.report.probes.push((url, seen, hits));
                }
            }
            Matched::Resolved(image) => {
                let pages = if image.pages.is_empty() {
                    vec![(image.url.clone(), String::new(), image.seen)]
                } else {
                    image.pages.clone()
                };
                for (page_url, title, seen) in pages {
                    let at = Sighting { page_url: &page_url, image_url: Some(&image.url), title: &title, seen };
                    let hits = self.hits_for(store, at, &image.hits, now)?;
                    // Not a page fetch of its own: the page row is only touched through its hits.
                    batch.push(PageDone { url: page_url, title, seen: seen.unix_ms(), hits, ..PageDone::default() });
                    self.fingerprints.push(None);
                }
            }
            Matched::Frontier { done, entries } => {
                if let Some(job) = &self.config.job {
                    // Earlier pages of the batch must be committed first, so that on resume nothing
                    // is marked done before the page that discovered it.
                    self.flush(store, batch)?;
                    store.add_frontier(job, done.as_deref(), &entries)?;
                }
            }
        }
        Ok(())
    }

    fn count_unreadable(&mut self, n: u64) {
        self.report.unreadable += n;
        self.progress.unreadable.fetch_add(n, Ordering::Relaxed);
    }
}

/// Where engine hits were seen: the page, the image (for image hits), the page's title and when.
#[derive(Clone, Copy)]
struct Sighting<'a> {
    page_url: &'a str,
    image_url: Option<&'a str>,
    title: &'a str,
    seen: Timestamp,
}

/// Whether two URLs name the same page (scheme and a trailing slash aside).
fn same_page(a: &str, b: &str) -> bool {
    let strip = |u: &str| {
        let rest = u.split_once("://").map_or(u, |(_, r)| r);
        rest.trim_end_matches('/').to_ascii_lowercase()
    };
    strip(a) == strip(b)
}

/// Re-judges stored hits (of one work, or of every work of one rights holder) with a fresh
/// classifier: what a licence granted or ended, or an allowlist change, does. Returns how many changed
/// colour or reason.
pub fn recolour(
    store: &mut SqliteStore,
    work: Option<&WorkId>,
    owner: Option<&PartyId>,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut classifier = Classifier::new();
    let mut changed = 0;
    for hit in store.hits_of(work, owner)? {
        let (reason, reference) = classifier.classify(store, &hit.work, &hit.owner, &hit.page_url, now)?;
        if (reason, reference.as_str()) != (hit.reason, hit.reason_ref.as_str())
            && store.recolour_hit(hit.id, reason, &reference)?
        {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Whether a hit's reason may lapse with time alone (a licence's validity window), so a periodic
/// sweep re-judges it.
pub fn may_lapse(reason: Reason) -> bool {
    reason == Reason::Licence
}

#[cfg(test)]
mod tests {
    use super::wechat_canonical;

    #[test]
    fn a_wechat_short_link_is_stored_under_the_article_link_it_declares() {
        let page = br#"<html><head><meta property="og:url" content="http://mp.weixin.qq.com/s?__biz=MzA3NjE1NDkwMA==&amp;mid=2247&amp;idx=1&amp;sn=ab12#rd"></head>
            <script>var msg_link = "http://mp.weixin.qq.com/s?__biz=MzA3NjE1NDkwMA==\x26mid=2247";</script></html>"#;
        assert_eq!(
            wechat_canonical("https://mp.weixin.qq.com/s/AbCdEf", page).as_deref(),
            Some("https://mp.weixin.qq.com/s?__biz=MzA3NjE1NDkwMA==&mid=2247&idx=1&sn=ab12")
        );
        // A link that already names the account, another host, or a page declaring a foreign host: unchanged.
        assert_eq!(wechat_canonical("https://mp.weixin.qq.com/s?__biz=MzA3NjE1NDkwMA==&mid=1", page), None);
        assert_eq!(wechat_canonical("https://news.example.com/s/AbCdEf", page), None);
        let forged = br#"<meta property="og:url" content="https://evil.example/s?__biz=MzA3NjE1NDkwMA==&amp;mid=1">"#;
        assert_eq!(wechat_canonical("https://mp.weixin.qq.com/s/AbCdEf", forged), None);
        assert_eq!(wechat_canonical("https://mp.weixin.qq.com/s/AbCdEf", b"no link here"), None);
        let escaped = br#"var msg_link = "http:\/\/mp.weixin.qq.com\/s?__biz=MzkzODA0NTY3OA==\x26mid=7";"#;
        assert_eq!(
            wechat_canonical("https://mp.weixin.qq.com/s/Zz", escaped).as_deref(),
            Some("https://mp.weixin.qq.com/s?__biz=MzkzODA0NTY3OA==&mid=7")
        );
        // A link in the article's text to another account's article says nothing about this page.
        let linking =
            r#"<p>转载自 <a href="https://mp.weixin.qq.com/s?__biz=MzkzODA0NTY3OA==&amp;mid=9">另一个号</a></p>"#;
        assert_eq!(wechat_canonical("https://mp.weixin.qq.com/s/Zz", linking.as_bytes()), None);
    }
}
