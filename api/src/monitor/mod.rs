//! The monitor: the platform's fingerprint indexes of every registered work, kept durable on disk and
//! always reconcilable with the records store.
//!
//! It owns one text index and one image matcher (the pure engine) and speaks only in [`EngineId`]s to
//! them; hits are mapped back to platform works through the store ([`ids`] is the one mapping). The
//! indexes are *derived* data: `work_contents` and the content store are the truth, so [`Monitor::open`]
//! loads the snapshots, replays the log ([`log`]) and then compares the engine ids the store has with the
//! ids the indexes hold, re-fingerprinting what is missing and removing what the store does not have.
//! That check is what makes a crash between the SQLite commit and the log append, a deleted `index/`
//! directory or a stale snapshot harmless; the log only keeps the common start-up short.

pub mod log;
pub mod pages;

use crate::content::ContentStore;
use crate::domain::{ContentKind, EngineId, Sha256Hex};
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use log::{LogRecord, LogWriter, Op};
use seal_engine::image::{self, ImageConfig, ImageMatcher, OriginalFingerprint};
use seal_engine::text::{self, ExtractConfig, MatchConfig, TextIndex};
use seal_licensing::ids::{PartyId, WorkId};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// Why the monitor failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// Reading or writing the index files or the content store failed.
    #[error("index io: {0}")]
    Io(#[from] io::Error),
    /// The records store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Text could not be extracted or fingerprinted.
    #[error("text: {0}")]
    Text(#[from] text::TextError),
    /// An image could not be decoded or fingerprinted.
    #[error("image: {0}")]
    Image(#[from] image::ImageError),
    /// An image item's engine id does not fit the image engine's 32 bits.
    #[error("engine id {0} is out of the image engine's range")]
    IdRange(u64),
}

/// Settings of the monitor.
#[derive(Clone, Debug)]
pub struct MonitorConfig {
    /// Text extraction limits.
    pub extract: ExtractConfig,
    /// Text matching thresholds.
    pub text_match: MatchConfig,
    /// Image fingerprinting and matching settings.
    pub image: ImageConfig,
    /// Log records after which [`Monitor::maybe_checkpoint`] writes new snapshots. Replaying a record
    /// re-fingerprints one item from the content store (about 0.1 ms for text), so 20,000 keeps the
    /// replay at start-up around two seconds at worst, while a snapshot of a large index (which
    /// rewrites the whole index) stays rare.
    pub checkpoint_records: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            extract: ExtractConfig::default(),
            text_match: MatchConfig::default(),
            image: ImageConfig::default(),
            checkpoint_records: 20_000,
        }
    }
}

/// A fingerprinted content item, ready to be added once its registration is committed.
#[derive(Clone, Debug)]
pub enum Prepared {
    /// The text to index (already extracted).
    Text(String),
    /// An image's fingerprint.
    Image(Box<OriginalFingerprint>),
}

/// Whose works a match may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every registered work (administrators, the crawler, the command line).
    All,
    /// Only this rights holder's works.
    Owner(PartyId),
}

/// What kind of bytes a query is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindHint {
    /// Guess: image magic bytes make an image, otherwise HTML if it looks like markup, else plain text.
    Auto,
    /// Plain text.
    Text,
    /// An HTML page.
    Html,
    /// An image.
    Image,
}

/// Which engine found a hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitKind {
    /// The text index.
    Text,
    /// The image matcher.
    Image,
}

impl HitKind {
    /// `"text"` or `"image"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Text => "text",
            HitKind::Image => "image",
        }
    }
}

/// One registered work found in a query.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorHit {
    /// The platform work.
    pub work: WorkId,
    /// Its rights holder.
    pub owner: PartyId,
    /// Its title.
    pub title: String,
    /// The base name of the file the matched content item was imported from.
    pub file: Option<String>,
    /// Text or image.
    pub kind: HitKind,
    /// The engine's kind of copy: `full`, `excerpt`, `near-duplicate` for text; the signal (`whole`,
    /// `flipped`, `rotated`, `region`) for images.
    pub copy: &'static str,
    /// 0..1. Text: the fraction of the registered work found in the query (`work_coverage`). Images: the
    /// engine's confidence. Hits come in the engine's order (best first), which for text ranks by the
    /// number of the work's words covered.
    pub score: f32,
    /// The content item matched.
    pub engine_id: EngineId,
}

/// A hit as the engine reports it, before the store names its work: what the monitoring pipeline's
/// matching threads produce without touching the store.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineHit {
    /// The content item matched.
    pub engine_id: EngineId,
    /// Text or image.
    pub kind: HitKind,
    /// The engine's kind of copy (see [`MonitorHit::copy`]).
    pub copy: &'static str,
    /// 0..1 (see [`MonitorHit::score`]).
    pub score: f32,
    /// 0..1: the share of the page the work explains (text only).
    pub page_coverage: f32,
    /// JSON evidence: `{"spans": [[page_start, page_end, work_start, work_end], …], "matched_words": n}`
    /// for text (character offsets), `{"signal", "distance", "region"}` for images.
    pub evidence: String,
}

/// What [`Monitor::open`] found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Whether each snapshot was loaded (text, image).
    pub snapshots_loaded: (bool, bool),
    /// Log records replayed.
    pub replayed: usize,
    /// Items the store has that the indexes lacked, re-fingerprinted from the content store.
    pub added: usize,
    /// Items the indexes held that the store does not have, removed.
    pub removed: usize,
    /// Items that could not be re-fingerprinted (content missing or damaged), with the reason.
    pub unrepairable: Vec<(EngineId, String)>,
    /// Items registered, text and image.
    pub registered: (usize, usize),
}

/// Where the check of the image snapshot [`Monitor::open`] loaded stands. A mapped snapshot is used
/// at once and checked in full (checksum, every window) on a thread of its own: at a million images
/// the check reads 12 GB, 7-45 s from a cold disk, where the load alone takes 1.5-3.5 s. See
/// `ImageMatcher::from_shared_deferred`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSnapshotState {
    /// Checked and sound, or nothing to check (no snapshot, or the matcher was rebuilt).
    Verified,
    /// The check is still running.
    Checking,
    /// The check failed, with the reason: [`Monitor::repair_damaged_images`] rebuilds the matcher
    /// from the store, and until then no checkpoint writes it.
    Damaged(String),
}

/// The outcome of the image snapshot's check, shared with the thread that runs it.
#[derive(Debug, Clone)]
struct SnapshotCheckOutcome(std::sync::Arc<(std::sync::Mutex<ImageSnapshotState>, std::sync::Condvar)>);

impl SnapshotCheckOutcome {
    fn settled(state: ImageSnapshotState) -> Self {
        Self(std::sync::Arc::new((std::sync::Mutex::new(state), std::sync::Condvar::new())))
    }

    /// Runs `check` on a thread of its own (or here, when no thread can be started).
    fn spawn(check: image::SnapshotCheck) -> Self {
        if !check.is_pending() {
            return Self::settled(ImageSnapshotState::Verified);
        }
        let outcome = Self::settled(ImageSnapshotState::Checking);
        let shared = outcome.clone();
        let run = move || {
            // A check that panicked must not leave `Checking` behind: checkpoints would wait forever.
            let state = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check.run())) {
                Ok(Ok(())) => ImageSnapshotState::Verified,
                Ok(Err(e)) => ImageSnapshotState::Damaged(e.to_string()),
                Err(_) => ImageSnapshotState::Damaged("the check panicked".into()),
            };
            shared.set(state);
        };
        // Kept where both this thread and the new one can take it: a thread that fails to start
        // drops what it was given, and the check must still run.
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(run)));
        let taken = std::sync::Arc::clone(&slot);
        let started = std::thread::Builder::new().name("seal-image-check".into()).spawn(move || {
            if let Some(run) = taken.lock().unwrap_or_else(|p| p.into_inner()).take() {
                run();
            }
        });
        if started.is_err() {
            if let Some(run) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
                run();
            }
        }
        outcome
    }

    fn set(&self, state: ImageSnapshotState) {
        let (lock, changed) = &*self.0;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = state;
        changed.notify_all();
    }

    fn get(&self) -> ImageSnapshotState {
        self.0 .0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The state once the check has finished.
    fn wait(&self) -> ImageSnapshotState {
        let (lock, changed) = &*self.0;
        let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *state == ImageSnapshotState::Checking {
            state = changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.clone()
    }
}

/// The fingerprint indexes and their files. See the module docs.
#[derive(Debug)]
pub struct Monitor {
    dir: PathBuf,
    config: MonitorConfig,
    text: TextIndex,
    images: ImageMatcher,
    log: LogWriter,
    next_seq: u64,
    /// Set by [`Monitor::defer_checkpoints`] for a bulk import, cleared by [`Monitor::checkpoint`].
    deferred: bool,
    /// The check of the image snapshot loaded at open.
    image_check: SnapshotCheckOutcome,
}

impl Monitor {
    /// Opens the indexes of a data directory (`data_dir/index`): loads snapshots, replays the log, and
    /// reconciles the indexes with `store`, re-fingerprinting from `content` what is missing. Damaged
    /// snapshots or log tails are dropped and repaired the same way, never fatal.
    pub fn open(
        data_dir: &Path,
        store: &SqliteStore,
        content: &ContentStore,
        config: MonitorConfig,
    ) -> Result<(Monitor, OpenReport), MonitorError> {
        let dir = data_dir.join("index");
        std::fs::create_dir_all(&dir)?;
        let mut report = OpenReport::default();
        let (text_covers, text) =
            match log::read_snapshot(&dir.join("text.snap")).ok().flatten().and_then(|(covers, bytes)| {
                TextIndex::from_bytes(&bytes)
                    .ok()
                    .filter(|t| t.config() == TextIndex::default().config())
                    .map(|t| (covers, t))
            }) {
                Some((covers, index)) => {
                    report.snapshots_loaded.0 = true;
                    (covers, index)
                }
                None => (0, TextIndex::default()),
            };
        let (image_covers, images, image_check) =
            // Mapped and read in place: at a million works, reading it into memory took 20 s. Its full
            // check runs beside whatever comes next (see `ImageSnapshotState`).
            match log::map_snapshot(&dir.join("image.snap")).ok().flatten().and_then(|snapshot| {
                ImageMatcher::from_shared_deferred(snapshot.engine, config.image.clone())
                    .ok()
                    .map(|(m, check)| (snapshot.covers, m, check))
            }) {
                Some((covers, matcher, check)) => {
                    report.snapshots_loaded.1 = true;
                    (covers, matcher, SnapshotCheckOutcome::spawn(check))
                }
                None => (0, ImageMatcher::new(config.image.clone()), SnapshotCheckOutcome::settled(ImageSnapshotState::Verified)),
            };
        let (log, records) = LogWriter::open(&dir.join("log"))?;
        let next_seq = records.iter().map(|r| r.seq).chain([text_covers, image_covers]).max().unwrap_or(0) + 1;
        let mut monitor = Monitor { dir, config, text, images, log, next_seq, deferred: false, image_check };

        for record in &records {
            let covers = if record.kind == ContentKind::Image { image_covers } else { text_covers };
            if record.seq <= covers {
                continue;
            }
            report.replayed += 1;
            match record.op {
                // A missing or damaged content file is left to the reconciliation below, which reports it.
                Op::Add => {
                    if let Ok(prepared) = content
                        .get(&record.sha256)
                        .map_err(MonitorError::from)
                        .and_then(|b| monitor.prepare(record.kind, &b))
                    {
                        monitor.insert(record.engine_id, &prepared)?;
                    }
                }
                Op::Remove => monitor.delete(record.engine_id, record.kind),
            }
        }
        monitor.reconcile(store, content, &mut report)?;
        if report.added + report.removed > 0 || monitor.log.len() >= monitor.config.checkpoint_records {
            monitor.checkpoint()?;
        }
        report.registered = (monitor.text.len(), monitor.images.len());
        Ok((monitor, report))
    }

    /// Compares the store's engine ids with the indexes' and repairs the difference.
    fn reconcile(
        &mut self,
        store: &SqliteStore,
        content: &ContentStore,
        report: &mut OpenReport,
    ) -> Result<(), MonitorError> {
        let stored = store.engine_ids()?;
        let mut want_text = HashSet::new();
        let mut want_image = HashSet::new();
        for (id, kind) in &stored {
            if *kind == ContentKind::Image {
                want_image.insert(*id);
            } else {
                want_text.insert(*id);
            }
        }
        let extra_text: Vec<_> =
            self.text.ids().filter_map(EngineId::from_text).filter(|id| !want_text.contains(id)).collect();
        let extra_image: Vec<_> =
            self.images.ids().filter_map(EngineId::from_image).filter(|id| !want_image.contains(id)).collect();
        let mut records = Vec::new();
        for (ids, kind) in [(extra_text, ContentKind::Text), (extra_image, ContentKind::Image)] {
            for id in ids {
                self.delete(id, kind);
                records.push(self.record(Op::Remove, kind, id, Sha256Hex::of(b"")));
                report.removed += 1;
            }
        }
        let missing: HashSet<EngineId> = stored
            .iter()
            .filter(|(id, kind)| match kind {
                ContentKind::Image => id.image().is_none_or(|i| !self.images.contains(i)),
                _ => !self.text.contains(id.text()),
            })
            .map(|(id, _)| *id)
            .collect();
        if !missing.is_empty() {
            for row in store.content_rows()?.into_iter().filter(|r| missing.contains(&r.engine_id)) {
                let prepared =
                    content.get(&row.sha256).map_err(MonitorError::from).and_then(|b| self.prepare(row.kind, &b));
                match prepared.and_then(|p| self.insert(row.engine_id, &p)) {
                    Ok(()) => {
                        records.push(self.record(Op::Add, row.kind, row.engine_id, row.sha256));
                        report.added += 1;
                    }
                    Err(e) => report.unrepairable.push((row.engine_id, e.to_string())),
                }
            }
        }
        self.log.append(&records)?;
        Ok(())
    }

    /// A registered text or HTML item's text exactly as [`Monitor::prepare`] fingerprinted it, so a
    /// hit's work spans index into it (a file's blank lines, for one, are folded away).
    pub fn work_text(&self, kind: ContentKind, bytes: &[u8]) -> Result<String, MonitorError> {
        let engine_kind =
            if kind == ContentKind::Html { text::ContentKind::Html } else { text::ContentKind::PlainText };
        Ok(text::extract(bytes, engine_kind, &self.config.extract)?.text)
    }

    /// Fingerprints an item without changing anything: what registration does before it commits, so
    /// that an item the engine refuses is refused before any record is written.
    pub fn prepare(&self, kind: ContentKind, bytes: &[u8]) -> Result<Prepared, MonitorError> {
        match kind {
            ContentKind::Text | ContentKind::Html => {
                let engine_kind =
                    if kind == ContentKind::Html { text::ContentKind::Html } else { text::ContentKind::PlainText };
                let extracted = text::extract(bytes, engine_kind, &self.config.extract)?;
                if text::tokens::tokenize(&extracted.text).is_empty() {
                    return Err(text::TextError::NoText.into());
                }
                Ok(Prepared::Text(extracted.text))
            }
            ContentKind::Image => {
                let config = &self.config.image;
                let decoded = image::decode_luma(bytes, &config.limits, config.decode_min_side)?;
                Ok(Prepared::Image(Box::new(image::fingerprint_original(&decoded, config)?)))
            }
        }
    }

    fn insert(&mut self, id: EngineId, prepared: &Prepared) -> Result<(), MonitorError> {
        match prepared {
            Prepared::Text(body) => {
                self.text.add(id.text(), body)?;
            }
            Prepared::Image(fingerprint) => {
                let image_id = id.image().ok_or(MonitorError::IdRange(id.get()))?;
                self.images.register(image_id, fingerprint);
            }
        }
        Ok(())
    }

    fn delete(&mut self, id: EngineId, kind: ContentKind) {
        match kind {
            ContentKind::Image => {
                if let Some(image_id) = id.image() {
                    self.images.remove(image_id);
                }
            }
            _ => {
                self.text.remove(id.text());
            }
        }
    }

    fn record(&mut self, op: Op, kind: ContentKind, engine_id: EngineId, sha256: Sha256Hex) -> LogRecord {
        let seq = self.next_seq;
        self.next_seq += 1;
        LogRecord { seq, op, kind, engine_id, sha256 }
    }

    /// Adds committed items to the indexes and appends them to the log with one fsync. Call it after
    /// the SQLite commit that gave them their engine ids.
    pub fn add(&mut self, items: &[(EngineId, ContentKind, Sha256Hex, Prepared)]) -> Result<(), MonitorError> {
        let mut records = Vec::with_capacity(items.len());
        for (id, kind, sha256, prepared) in items {
            self.insert(*id, prepared)?;
            records.push(self.record(Op::Add, *kind, *id, sha256.clone()));
        }
        self.log.append(&records)?;
        Ok(())
    }

    /// Removes items from the indexes and logs it (the caller deletes their rows in the store).
    pub fn remove(&mut self, items: &[(EngineId, ContentKind)]) -> Result<(), MonitorError> {
        let mut records = Vec::with_capacity(items.len());
        for (id, kind) in items {
            self.delete(*id, *kind);
            records.push(self.record(Op::Remove, *kind, *id, Sha256Hex::of(b"")));
        }
        self.log.append(&records)?;
        Ok(())
    }

    /// Writes both snapshots and empties the log when the log has grown past
    /// [`MonitorConfig::checkpoint_records`], unless a bulk import deferred them
    /// ([`Self::defer_checkpoints`]). Returns whether it did.
    pub fn maybe_checkpoint(&mut self) -> Result<bool, MonitorError> {
        if self.deferred || self.log.len() < self.config.checkpoint_records {
            return Ok(false);
        }
        self.checkpoint()?;
        Ok(true)
    }

    /// For a bulk import: [`Self::maybe_checkpoint`] writes no snapshots until the next
    /// [`Self::checkpoint`], which the importer calls once at its end. A snapshot rewrites (and
    /// fsyncs) the whole index, so one every 20,000 records made an import of n works write
    /// O(n²/20,000) bytes of snapshots (six of them for 100k works). Nothing is less durable meanwhile: the log holds every
    /// record, fsynced per batch; a crash mid-import costs only a longer replay (about 0.1 ms per text
    /// item) at the next open, which then writes the snapshots. A server never calls this, so its log
    /// stays within [`MonitorConfig::checkpoint_records`].
    pub fn defer_checkpoints(&mut self) {
        self.deferred = true;
    }

    /// Writes both snapshots (each covering everything logged so far) and then empties the log. Ends
    /// a deferral ([`Self::defer_checkpoints`]). It waits for the image snapshot's check first: a
    /// matcher read from a damaged snapshot is never written. When the check failed, only the text
    /// snapshot is written and the log is kept (it still holds every image record since the image
    /// snapshot it covers) until [`Self::repair_damaged_images`] has run.
    pub fn checkpoint(&mut self) -> Result<(), MonitorError> {
        self.deferred = false;
        let covers = self.next_seq - 1;
        self.text.compact();
        log::write_snapshot(&self.dir.join("text.snap"), covers, &self.text.to_bytes())?;
        if let ImageSnapshotState::Damaged(reason) = self.image_check.wait() {
            tracing::warn!(%reason, "image snapshot damaged: not rewritten until the matcher is repaired");
            return Ok(());
        }
        self.images.optimize();
        let images = &self.images;
        log::write_snapshot_with(&self.dir.join("image.snap"), covers, |out| images.write_to(out))?;
        self.log = LogWriter::create(&self.dir.join("log"))?;
        Ok(())
    }

    /// Where the check of the image snapshot loaded at open stands (never waits).
    pub fn image_snapshot_state(&self) -> ImageSnapshotState {
        self.image_check.get()
    }

    /// Waits for the image snapshot's check; when it failed, replaces the matcher with one rebuilt
    /// from the store and the content store (every image re-fingerprinted, as when `index/` is
    /// deleted) and writes new snapshots. Returns what the rebuild did, or `None` when the snapshot
    /// was sound. The server's scheduler calls it once the check has failed; the command line right
    /// after opening.
    pub fn repair_damaged_images(
        &mut self,
        store: &SqliteStore,
        content: &ContentStore,
    ) -> Result<Option<OpenReport>, MonitorError> {
        let ImageSnapshotState::Damaged(reason) = self.image_check.wait() else { return Ok(None) };
        tracing::error!(%reason, "image snapshot damaged: rebuilding the image matcher from the store");
        self.images = ImageMatcher::new(self.config.image.clone());
        self.image_check = SnapshotCheckOutcome::settled(ImageSnapshotState::Verified);
        let mut report = OpenReport::default();
        self.reconcile(store, content, &mut report)?;
        self.checkpoint()?;
        report.registered = self.len();
        Ok(Some(report))
    }

    /// Items registered: (text, image).
    pub fn len(&self) -> (usize, usize) {
        (self.text.len(), self.images.len())
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.images.is_empty()
    }

    /// Every engine id the indexes hold, for checks against the store.
    pub fn engine_ids(&self) -> Vec<EngineId> {
        let mut ids: Vec<_> = self
            .text
            .ids()
            .filter_map(EngineId::from_text)
            .chain(self.images.ids().filter_map(EngineId::from_image))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Registered works whose text the given (already extracted) text copies, best first.
    pub fn find_text(&self, store: &SqliteStore, text: &str, scope: &Scope) -> Result<Vec<MonitorHit>, MonitorError> {
        let hits = self.text_hits(text, matches!(scope, Scope::Owner(_)));
        self.resolve_hits(store, hits, scope)
    }

    /// Registered images the given image bytes copy, best first. Undecodable bytes give an error.
    pub fn find_image(
        &self,
        store: &SqliteStore,
        bytes: &[u8],
        scope: &Scope,
    ) -> Result<Vec<MonitorHit>, MonitorError> {
        let hits = self.image_hits(bytes)?;
        self.resolve(store, hits.into_iter(), scope)
    }

    /// A page's visible text and title. The charset comes from the HTTP header when the caller has one
    /// (`http_content_type`), else from the page's BOM, its meta tag, or a sniff, so GBK pages read right.
    pub fn extract_page(&self, bytes: &[u8], http_content_type: Option<&str>) -> Result<text::Extracted, MonitorError> {
        let charset = http_content_type.and_then(charset_param);
        Ok(text::extract_with_charset(bytes, text::ContentKind::Html, charset.as_deref(), &self.config.extract)?)
    }

    /// The engine's hits for a text, best first, with their evidence; no store is needed, so pages can
    /// be matched on many threads. `widen` looks further down the ranking (for owner-filtered callers,
    /// so others' works cannot crowd an owner's own out).
    pub fn text_hits(&self, text: &str, widen: bool) -> Vec<EngineHit> {
        engine_hits(self.text.find(text, &self.match_config(widen)))
    }

    /// [`Monitor::text_hits`] (not widened) and the page's fingerprint for the page index, from one
    /// tokenization of the text.
    pub fn text_hits_and_fingerprint(
        &self,
        text: &str,
        page: seal_engine::text::fingerprint::FingerprintConfig,
    ) -> (Vec<EngineHit>, seal_engine::text::PageFingerprint) {
        let (hits, fingerprint) = self.text.find_and_fingerprint(text, &self.match_config(false), page);
        (engine_hits(hits), fingerprint)
    }

    fn match_config(&self, widen: bool) -> seal_engine::text::MatchConfig {
        let mut config = self.config.text_match.clone();
        if widen {
            config.max_hits = config.max_hits.saturating_mul(8);
        }
        config
    }

    /// The engine's hits for image bytes, best first. Undecodable bytes give an error.
    pub fn image_hits(&self, bytes: &[u8]) -> Result<Vec<EngineHit>, MonitorError> {
        let config = &self.config.image;
        let decoded = image::decode_luma(bytes, &config.limits, config.decode_min_side)?;
        let query = image::fingerprint_query(&decoded, config);
        Ok(self
            .images
            .query(&query)
            .into_iter()
            .filter_map(|h| {
                let region = h.region.map(|r| [r.x0, r.y0, r.x1, r.y1]);
                EngineId::from_image(h.work).map(|id| EngineHit {
                    engine_id: id,
                    kind: HitKind::Image,
                    copy: h.signal.kind(),
                    score: h.confidence.clamp(0.0, 1.0),
                    page_coverage: 0.0,
                    evidence:
                        serde_json::json!({ "signal": h.signal.kind(), "distance": h.distance, "region": region })
                            .to_string(),
                })
            })
            .collect())
    }

    /// Matches query bytes of any kind: images against images, HTML and text against texts.
    pub fn match_bytes(
        &self,
        store: &SqliteStore,
        bytes: &[u8],
        hint: KindHint,
        scope: &Scope,
    ) -> Result<Vec<MonitorHit>, MonitorError> {
        let hits = self.engine_match(bytes, hint, matches!(scope, Scope::Owner(_)))?;
        self.resolve_hits(store, hits, scope)
    }

    /// The engine half of [`Monitor::match_bytes`]: no store, so callers may run it on every core
    /// (`seal match` does) and name the hits with [`Monitor::resolve_hits`] afterwards. `widen` asks for
    /// more text hits, for a scope that will filter them.
    pub fn engine_match(&self, bytes: &[u8], hint: KindHint, widen: bool) -> Result<Vec<EngineHit>, MonitorError> {
        let kind = match hint {
            KindHint::Auto if image::Format::sniff(bytes).is_some() => KindHint::Image,
            KindHint::Auto if looks_like_html(bytes) => KindHint::Html,
            KindHint::Auto => KindHint::Text,
            other => other,
        };
        let engine_kind = match kind {
            KindHint::Image => return self.image_hits(bytes),
            KindHint::Html => text::ContentKind::Html,
            _ => text::ContentKind::PlainText,
        };
        let page = text::extract(bytes, engine_kind, &self.config.extract)?;
        Ok(self.text_hits(&page.text, widen))
    }

    /// Names engine hits with their works (dropping ids the store no longer has and works outside
    /// `scope`); text hits are cut to the configured most.
    pub fn resolve_hits(
        &self,
        store: &SqliteStore,
        hits: Vec<EngineHit>,
        scope: &Scope,
    ) -> Result<Vec<MonitorHit>, MonitorError> {
        let text = hits.first().is_some_and(|h| h.kind == HitKind::Text);
        let mut out = self.resolve(store, hits.into_iter(), scope)?;
        if text {
            out.truncate(self.config.text_match.max_hits);
        }
        Ok(out)
    }

    fn resolve(
        &self,
        store: &SqliteStore,
        found: impl Iterator<Item = EngineHit>,
        scope: &Scope,
    ) -> Result<Vec<MonitorHit>, MonitorError> {
        let mut out = Vec::new();
        for EngineHit { engine_id, kind, copy, score, .. } in found {
            // An id the store no longer has (removed since) names nothing.
            let Some((row, title)) = store.content_by_engine_id(engine_id)? else { continue };
            if let Scope::Owner(owner) = scope {
                if row.owner != *owner {
                    continue;
                }
            }
            out.push(MonitorHit {
                work: row.work,
                owner: row.owner,
                title,
                file: row.file,
                kind,
                copy,
                score,
                engine_id,
            });
        }
        Ok(out)
    }
}

/// The `charset` parameter of a `Content-Type` header value, if any.
pub fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("charset").then(|| v.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// Whether bytes look like an HTML page rather than plain text (a markup tag near the start). Shared by
/// matching (`KindHint::Auto`) and by registration of pasted content, so both read the same bytes the
/// same way.
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    ["<!doctype html", "<html", "<head", "<body", "<p>", "<div"].iter().any(|tag| lower.contains(tag))
}

/// The engine's text hits as the monitor reports them: engine id, copy kind, scores, and the matched
/// spans as evidence.
fn engine_hits(hits: Vec<seal_engine::text::Hit>) -> Vec<EngineHit> {
    hits.into_iter()
        .filter_map(|h| {
            let spans: Vec<[u32; 4]> =
                h.spans.iter().map(|s| [s.page.start, s.page.end, s.work.start, s.work.end]).collect();
            EngineId::from_text(h.work).map(|id| EngineHit {
                engine_id: id,
                kind: HitKind::Text,
                copy: h.kind.as_str(),
                score: h.work_coverage,
                page_coverage: h.page_coverage,
                evidence: serde_json::json!({ "spans": spans, "matched_words": h.matched_words }).to_string(),
            })
        })
        .collect()
}
