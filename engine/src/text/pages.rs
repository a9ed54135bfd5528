//! Retroactive matching: compact fingerprints of the pages already crawled, so that a work registered
//! today is found on pages seen last month without fetching them again.
//!
//! The live matcher ([`super::TextIndex::find`]) indexes the works and probes with a page. Here the roles
//! turn: the pages are indexed and a new work probes. The page text is not kept, only what matching needs:
//! per page its key, its token count and its winnowed k-gram fingerprints (same tokenizer and `k` as the
//! works, so hashes agree), cut with [`PageIndexConfig::fingerprint`]'s window (default
//! [`DEFAULT_PAGE_WINDOW`]). The work probes with **every** one of its k-grams, so a verbatim copy yields an
//! anchor at each page fingerprint, and the anchors are chained and judged by the matcher's own code
//! ([`super::matcher`]), with the same [`MatchConfig`] thresholds.
//!
//! # Layout
//!
//! Pages live in **segments** of up to [`PageIndexConfig::segment_pages`] pages (default 65,536). New pages
//! go to the one *open* segment, whose postings are appended to 65,536 small vectors keyed by the top 16
//! bits of the fingerprint (one cache miss per posting), and a full open segment freezes in one pass that
//! sorts each small vector.
//! A *frozen* segment stores each posting in 6 bytes: the low 16 bits of the 32-bit fingerprint key (the
//! top 16 bits are the position in a directory of 65,537 offsets), a 16-bit slot and a 16-bit token
//! position. A page normally has one slot; a page of more than 65,536 tokens takes one slot per 65,536
//! tokens, so positions stay 16-bit without capping page length. A frozen segment's page table holds the
//! page keys sorted (8 bytes: the platform's id, and binary search for re-inserts), token counts (4 bytes),
//! the insertion order (2 bytes, for retention) and a live bit.
//!
//! At the default window of 8, a 600-token page keeps about 131 fingerprints, 790 bytes of postings; the
//! page table, directories and the open segment's slack bring it to about 815 heap bytes per page
//! (`benches/pages.rs`, 1M pages). Inserting costs a few microseconds, except the one insert in 65,536
//! that freezes the open segment: about 0.15 s of CPU at the default size (smaller segments shorten it).
//!
//! # Updates
//!
//! - Inserting a key that is already held **replaces** it: the old page is marked dead and its postings
//!   are skipped at query time; a frozen segment more than half dead is rewritten without them, merged
//!   with its older neighbour when both fit in one segment.
//! - **Retention** keeps the last [`PageIndexConfig::retention`] pages inserted: the oldest live page is
//!   marked dead, and a segment with no live page left is dropped whole.
//!
//! # Where retroactive results can differ from live ones
//!
//! Both sides use the same chaining and thresholds, so a copy the live matcher reports is reported here in
//! the common cases. On `fixtures/text` (600 pages, 150 works) all 450 (work, page) pairs the live matcher
//! reports are reported here and no other; 437 have the same kind. Differences come from what is not kept:
//! - **Anchor density.** Live anchors are the work's fingerprints (window 10) found among the page's probes;
//!   here they are the page's fingerprints (window 8) found among all of the work's k-grams. Near the
//!   [`MatchConfig::min_matched_words`] bound (English excerpts of 42–50 words) about 4.5% of the excerpts live
//!   finds are missed here, and more that live misses are found; from 55 words on, all are found. Denser
//!   anchors also recover more of short reordered paragraphs and of edited text, so coverage runs a few
//!   points higher: 11 reordered fixture copies are `full` here where live says `excerpt` or
//!   `near-duplicate` at 0.74–0.85 coverage.
//! - **Word weights and SimHash.** Without the page's tokens, copied words are weighed on the work's side
//!   of each matched range, and the SimHash of the matched region is taken over the work's k-grams in the
//!   matched ranges. For verbatim copies both equal the live values; for edited copies the page's
//!   replacement words are invisible here, so the SimHash distance is smaller than live and a copy with
//!   0.6–0.85 work coverage is more readily called `near-duplicate`.
//! - **Verbatim share** counts the work's k-grams found against the number of fingerprints the work would
//!   keep at the page window (live: against the work's registered fingerprints).
//! - **Stock phrases.** Live skips a fingerprint shared by more than 200 works; here by more than
//!   [`RetroConfig::max_postings_per_fingerprint`] pages, which must be far higher, because a widely
//!   reprinted work puts the same fingerprint on thousands of pages.
//! - **Spans** are given in the work's characters and in page tokens: the page's characters are gone.

use super::fingerprint::{grams, simhash, winnow, FingerprintConfig};
use super::matcher::{
    chain_and_measure, classify, verbatim_fraction, word_weights, Anchored, CopyKind, Extent, MatchConfig, Weighed,
};
use super::tokens::tokenize;
use crate::bytes::{ByteReader, Malformed};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use xxhash_rust::xxh3::xxh3_64;

/// Default page-side winnowing window. Work-side probes use every k-gram, so anchors on a copy are as dense
/// as the page's fingerprints: about `2 / (window + 1)` of its k-grams, which is also what a page costs.
/// Measured with `k = 6` on excerpts of English fixture works set in other text (evidence bound only, the
/// coverage rule off), against the live matcher, which finds every excerpt from 60 words on:
///
/// | window | fingerprints per token | live finds of 42–50 words missed here | found here from |
/// | ---: | ---: | ---: | ---: |
/// | 6 | 0.28 | 1% | 50 words |
/// | 8 | 0.22 | 4.5% | 55 words |
/// | 10 | 0.18 | 10% | 60 words |
/// | 12 | 0.15 | 21% | 60 words (10 of 535 missed at 55) |
///
/// Window 8 keeps every excerpt of 55 words, loses few of the marginal ones live finds (and finds more that
/// live misses), and costs 23% more than window 10 (live density); Chinese excerpts behave alike.
pub const DEFAULT_PAGE_WINDOW: u32 = 8;

/// Bits of a page's token position stored per posting; longer pages take one slot per 2^16 tokens.
const CHUNK_BITS: u32 = 16;
/// Slots (and therefore pages) per segment: slot numbers are 16-bit.
const MAX_SLOTS: u32 = 1 << 16;
/// Directory buckets per segment: the top 16 bits of the 32-bit fingerprint key.
const BUCKETS: usize = 1 << 16;
/// Postings per segment: directory offsets are 32-bit.
const MAX_SEGMENT_POSTINGS: usize = u32::MAX as usize;
const SEGMENT_MAGIC: &[u8; 8] = b"SEALPGS\0";
const INDEX_MAGIC: &[u8; 8] = b"SEALPIX\0";
const FORMAT_VERSION: u32 = 1;

/// The platform's identifier for a crawled page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageKey(pub u64);

/// How pages are fingerprinted and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageIndexConfig {
    /// `k` must be the works' `k` (default 6) for hashes to agree; `window` is the page-side winnowing
    /// window (default [`DEFAULT_PAGE_WINDOW`]).
    pub fingerprint: FingerprintConfig,
    /// Pages kept: inserting beyond it forgets the oldest. Default 1,000,000.
    pub retention: usize,
    /// Pages per segment, at most 65,536 (the default). Smaller segments freeze and compact sooner but cost
    /// 256 KiB of directory each.
    pub segment_pages: u32,
}

impl Default for PageIndexConfig {
    fn default() -> Self {
        Self {
            fingerprint: FingerprintConfig { k: FingerprintConfig::default().k, window: DEFAULT_PAGE_WINDOW },
            retention: 1_000_000,
            segment_pages: MAX_SLOTS,
        }
    }
}

impl PageIndexConfig {
    /// The configuration with every value brought into range, as the index uses it.
    pub fn normalized(self) -> Self {
        Self {
            fingerprint: normalized_fingerprint(self.fingerprint),
            retention: self.retention,
            segment_pages: self.segment_pages.clamp(1, MAX_SLOTS),
        }
    }
}

pub(crate) fn normalized_fingerprint(config: FingerprintConfig) -> FingerprintConfig {
    // The same bounds as `TextIndex::new`.
    FingerprintConfig { k: config.k.clamp(1, 64), window: config.window.clamp(1, 1024) }
}

/// How a new work is looked for among the stored pages.
#[derive(Debug, Clone, PartialEq)]
pub struct RetroConfig {
    /// The thresholds of live matching, with the same meaning. `query_window`, `max_postings_per_fingerprint`
    /// and `max_hits` are not used: the work probes with every k-gram, and the two fields below apply.
    pub matching: MatchConfig,
    /// Fingerprints found on more stored pages than this are skipped as stock phrases. Default 50,000 (5%
    /// of the default retention): far above the 200 works of live matching, because a widely reprinted
    /// work puts each of its fingerprints on every reprint. It also bounds a query's work.
    pub max_postings_per_fingerprint: usize,
    /// Most pages returned, best first. Default 10,000.
    pub max_pages: usize,
}

impl Default for RetroConfig {
    fn default() -> Self {
        Self { matching: MatchConfig::default(), max_postings_per_fingerprint: 50_000, max_pages: 10_000 }
    }
}

/// Why a page could not be inserted or a snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageIndexError {
    /// The fingerprint was cut with other parameters than the index's, so its hashes cannot be compared.
    #[error(
        "page fingerprint made with k = {got_k}, window = {got_window}; the index uses k = {k}, window = {window}"
    )]
    ConfigMismatch {
        /// The index's `k`.
        k: u32,
        /// The index's window.
        window: u32,
        /// The fingerprint's `k`.
        got_k: u32,
        /// The fingerprint's window.
        got_window: u32,
    },
    /// Snapshot bytes are damaged, of another format or made with other parameters.
    #[error("corrupt page index: {0}")]
    Corrupt(&'static str),
}

impl From<Malformed> for PageIndexError {
    fn from(malformed: Malformed) -> Self {
        PageIndexError::Corrupt(malformed.0)
    }
}

/// What the index keeps of one page: its token count and its winnowed fingerprints. Computed without the
/// index (on a worker thread) and inserted with [`PageIndex::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFingerprint {
    config: FingerprintConfig,
    tokens: u32,
    /// Selected fingerprints in page order: top 32 bits of the k-gram hash and the k-gram's first token.
    grams: Vec<(u32, u32)>,
}

impl PageFingerprint {
    /// Fingerprints a page's extracted text. `config` must be the index's ([`PageIndex::config`]).
    pub fn new(text: &str, config: FingerprintConfig) -> Self {
        let config = normalized_fingerprint(config);
        let tokens = tokenize(text);
        Self::from_grams(tokens.len(), &grams(&tokens, config.k), config)
    }

    /// The same from a page's k-grams already cut (with `config.k`) for matching, so a page is
    /// tokenized once for both ([`super::TextIndex::find_and_fingerprint`]).
    pub(crate) fn from_grams(
        tokens: usize,
        page_grams: &[super::fingerprint::Gram],
        config: FingerprintConfig,
    ) -> Self {
        let config = normalized_fingerprint(config);
        let selected = winnow(page_grams, config.window);
        Self {
            config,
            tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
            grams: selected.iter().map(|g| ((g.hash >> 32) as u32, g.token)).collect(),
        }
    }

    /// The parameters it was cut with.
    pub fn config(&self) -> FingerprintConfig {
        self.config
    }

    /// Tokens in the page's text.
    pub fn tokens(&self) -> u32 {
        self.tokens
    }

    /// Number of fingerprints kept.
    pub fn len(&self) -> usize {
        self.grams.len()
    }

    /// Whether the text had nothing to fingerprint.
    pub fn is_empty(&self) -> bool {
        self.grams.is_empty()
    }
}

/// A stored page on which a new work was found.
#[derive(Debug, Clone, PartialEq)]
pub struct PageHit {
    /// The page.
    pub page: PageKey,
    /// What kind of copy.
    pub kind: CopyKind,
    /// Share of the work's tokens found on the page, 0 to 1.
    pub work_coverage: f32,
    /// Share of the page's tokens explained by the work, 0 to 1.
    pub page_coverage: f32,
    /// Share of the work's fingerprints (at the page window) found verbatim, 0 to 1.
    pub verbatim_fraction: f32,
    /// SimHash distance, in bits, between the work and its matched region (see the module documentation).
    pub simhash_distance: u32,
    /// Copied text in word equivalents.
    pub matched_words: f32,
    /// The matched passages, in page order.
    pub spans: Vec<PageSpan>,
}

/// One matched passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpan {
    /// Character range in the work's text.
    pub work: Range<u32>,
    /// Token range on the page (its characters are not kept).
    pub page_tokens: Range<u32>,
}

/// Compact fingerprints of recently crawled pages, searchable by a new work. See the module documentation.
#[derive(Debug, Clone)]
pub struct PageIndex {
    config: PageIndexConfig,
    /// Frozen segments, oldest first.
    frozen: Vec<Frozen>,
    open: Open,
    /// Live pages in all segments.
    live: usize,
}

impl Default for PageIndex {
    fn default() -> Self {
        Self::new(PageIndexConfig::default())
    }
}

impl PageIndex {
    /// An empty index.
    pub fn new(config: PageIndexConfig) -> Self {
        Self { config: config.normalized(), frozen: Vec::new(), open: Open::new(), live: 0 }
    }

    /// The configuration in use (normalized).
    pub fn config(&self) -> PageIndexConfig {
        self.config
    }

    /// Pages held.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no page is held.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Fingerprints a page's extracted text with the index's parameters. The same as
    /// [`PageFingerprint::new`] with [`PageIndexConfig::fingerprint`], which needs no access to the index.
    pub fn fingerprint(&self, text: &str) -> PageFingerprint {
        PageFingerprint::new(text, self.config.fingerprint)
    }

    /// Whether `key` is held.
    pub fn contains(&self, key: PageKey) -> bool {
        self.open.lookup.contains_key(&key.0) || self.frozen.iter().any(|segment| segment.find(key.0).is_some())
    }

    /// Stores a page's fingerprints under `key`, replacing what was stored under it. A fingerprint with
    /// nothing in it only removes the old one. The oldest pages are forgotten beyond the retention.
    pub fn insert(&mut self, key: PageKey, fingerprint: &PageFingerprint) -> Result<(), PageIndexError> {
        let own = self.config.fingerprint;
        if fingerprint.config != own {
            return Err(PageIndexError::ConfigMismatch {
                k: own.k,
                window: own.window,
                got_k: fingerprint.config.k,
                got_window: fingerprint.config.window,
            });
        }
        self.remove(key);
        if fingerprint.is_empty() || self.config.retention == 0 {
            return Ok(());
        }
        if !self.open.fits(fingerprint, self.config.segment_pages) {
            self.freeze();
        }
        self.open.insert(key.0, fingerprint);
        self.live += 1;
        self.enforce_retention();
        Ok(())
    }

    /// Fingerprints `text` and stores it under `key` (see [`PageIndex::insert`]).
    pub fn insert_text(&mut self, key: PageKey, text: &str) -> Result<(), PageIndexError> {
        let fingerprint = self.fingerprint(text);
        self.insert(key, &fingerprint)
    }

    /// Forgets a page. Returns whether it was held.
    pub fn remove(&mut self, key: PageKey) -> bool {
        if let Some(page) = self.open.lookup.remove(&key.0) {
            self.open.table.kill(page);
            self.live -= 1;
            self.open.compact_if_mostly_dead();
            return true;
        }
        for i in (0..self.frozen.len()).rev() {
            if let Some(page) = self.frozen[i].find(key.0) {
                self.frozen[i].table.kill(page);
                self.live -= 1;
                self.tidy(i);
                return true;
            }
        }
        false
    }

    /// Heap bytes held (postings, directories, page tables, the open segment), for capacity planning.
    pub fn heap_bytes(&self) -> usize {
        self.frozen.iter().map(Frozen::heap_bytes).sum::<usize>() + self.open.heap_bytes()
    }

    /// Segments holding live pages, the open one included: what [`PageIndex::segment_to_bytes`] numbers.
    pub fn segment_count(&self) -> usize {
        self.frozen.len() + usize::from(self.open.table.live > 0)
    }

    /// One segment's live pages, serialized (oldest segment first; the last may be the open one, written in
    /// frozen form). Versioned and checksummed; [`PageIndex::from_segments`] reads a list of them back.
    pub fn segment_to_bytes(&self, segment: usize) -> Option<Vec<u8>> {
        match self.frozen.get(segment) {
            Some(frozen) if frozen.table.live as usize == frozen.table.len() => Some(frozen.to_bytes(self.config)),
            Some(frozen) => Some(Frozen::from_frozen(&[frozen]).to_bytes(self.config)),
            None if segment == self.frozen.len() && self.open.table.live > 0 => {
                Some(self.open.freeze().to_bytes(self.config))
            }
            None => None,
        }
    }

    /// An index from segments written by [`PageIndex::segment_to_bytes`], oldest first. A page found in
    /// several keeps its newest copy; the retention of `config` applies. Segments cut with other
    /// fingerprint parameters than `config`'s are refused.
    pub fn from_segments<'a>(
        config: PageIndexConfig,
        segments: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, PageIndexError> {
        let mut index = Self::new(config);
        for bytes in segments {
            let segment = Frozen::from_bytes(bytes, index.config.fingerprint)?;
            if segment.table.live > 0 {
                index.frozen.push(segment);
            }
        }
        // Newest wins: earlier copies of a page are dead.
        let mut seen = HashSet::new();
        for segment in index.frozen.iter_mut().rev() {
            for page in 0..segment.table.len() as u32 {
                if !seen.insert(segment.table.keys[page as usize]) {
                    segment.table.kill(page);
                }
            }
        }
        drop(seen);
        index.frozen.retain(|segment| segment.table.live > 0);
        for segment in &mut index.frozen {
            if (segment.table.live as usize) < segment.table.len() {
                *segment = Frozen::from_frozen(&[segment]);
            }
        }
        index.live = index.frozen.iter().map(|segment| segment.table.live as usize).sum();
        index.enforce_retention();
        Ok(index)
    }

    /// The whole index: its configuration and every segment. Versioned and checksummed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(INDEX_MAGIC);
        for value in [FORMAT_VERSION, self.config.fingerprint.k, self.config.fingerprint.window] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&(self.config.retention as u64).to_le_bytes());
        out.extend_from_slice(&self.config.segment_pages.to_le_bytes());
        let count = self.segment_count();
        out.extend_from_slice(&(count as u64).to_le_bytes());
        for segment in (0..count).filter_map(|i| self.segment_to_bytes(i)) {
            out.extend_from_slice(&(segment.len() as u64).to_le_bytes());
            out.extend_from_slice(&segment);
        }
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads an index written by [`PageIndex::to_bytes`]. Truncation, corruption, forged counts and
    /// inconsistencies give [`PageIndexError::Corrupt`]; nothing panics and nothing is allocated beyond
    /// what the bytes can hold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PageIndexError> {
        let corrupt = PageIndexError::Corrupt;
        let body = checked_body(bytes, INDEX_MAGIC, "not a page index")?;
        let mut reader = ByteReader::new(body, INDEX_MAGIC.len());
        if reader.u32()? != FORMAT_VERSION {
            return Err(corrupt("unsupported format version"));
        }
        let fingerprint = FingerprintConfig { k: reader.u32()?, window: reader.u32()? };
        let retention = usize::try_from(reader.u64()?).map_err(|_| corrupt("retention"))?;
        let config = PageIndexConfig { fingerprint, retention, segment_pages: reader.u32()? };
        if config.normalized() != config {
            return Err(corrupt("parameters out of range"));
        }
        let count = reader.count(8)?;
        let mut segments = Vec::with_capacity(count);
        for _ in 0..count {
            let len = reader.count(1)?;
            segments.push(reader.slice(len)?);
        }
        if !reader.is_done() {
            return Err(corrupt("trailing bytes"));
        }
        Self::from_segments(config, segments)
    }

    /// Finds the stored pages that copy `work_text` (a new work's extracted text), best first.
    pub fn find_work(&self, work_text: &str, config: &RetroConfig) -> Vec<PageHit> {
        let k = self.config.fingerprint.k;
        let tokens = tokenize(work_text);
        if tokens.is_empty() || self.live == 0 {
            return Vec::new();
        }
        let work_grams = grams(&tokens, k);
        let work = Work {
            k,
            tokens: &tokens,
            grams: &work_grams,
            weights: word_weights(&tokens),
            simhash: simhash(work_grams.iter().map(|g| g.hash)),
            fingerprints: winnow(&work_grams, self.config.fingerprint.window).len() as u32,
        };
        // Every k-gram of the work probes; a repeated k-gram is looked up once for all its positions.
        let mut probes: Vec<(u32, u32)> = work_grams.iter().map(|g| ((g.hash >> 32) as u32, g.token)).collect();
        probes.sort_unstable();
        let keys: Vec<(u32, Range<usize>)> = probes
            .chunk_by(|a, b| a.0 == b.0)
            .scan(0usize, |at, run| {
                let range = *at..*at + run.len();
                *at = range.end;
                Some((run[0].0, range))
            })
            .collect();
        let views: Vec<View<'_>> = self
            .frozen
            .iter()
            .map(View::Frozen)
            .chain((self.open.table.live > 0).then_some(View::Open(&self.open)))
            .collect();
        let runs: Vec<Vec<Run<'_>>> =
            views.iter().map(|view| keys.iter().map(|(key, _)| view.run(*key)).collect()).collect();
        let usable: Vec<bool> = (0..keys.len())
            .map(|i| runs.iter().map(|r| r[i].postings().len()).sum::<usize>() <= config.max_postings_per_fingerprint)
            .collect();
        let mut hits: Vec<(u32, PageHit)> = Vec::new();
        let mut anchors: Vec<PageAnchor> = Vec::new();
        // Segment by segment: a page's anchors all come from its own segment, and memory stays bounded.
        for (view, runs) in views.iter().zip(&runs) {
            let table = view.table();
            anchors.clear();
            for ((run, (_, positions)), _) in runs.iter().zip(&keys).zip(&usable).filter(|(_, usable)| **usable) {
                for &[slot, token] in run.postings() {
                    let (page, base) = table.locate(slot);
                    if !table.is_alive(page) {
                        continue;
                    }
                    let page_token = base + u32::from(token);
                    for &(_, work_token) in &probes[positions.clone()] {
                        anchors.push(PageAnchor { page, page_token, work_token });
                    }
                }
            }
            anchors.sort_unstable_by_key(|a| (a.page, a.page_token, a.work_token));
            hits.extend(
                anchors
                    .chunk_by(|a, b| a.page == b.page)
                    .filter(|group| group.len() >= config.matching.min_anchors as usize)
                    .filter_map(|group| verify(group, table, &work, &config.matching)),
            );
        }
        hits.sort_by(|a, b| {
            b.0.cmp(&a.0).then(b.1.work_coverage.total_cmp(&a.1.work_coverage)).then(a.1.page.cmp(&b.1.page))
        });
        hits.truncate(config.max_pages);
        hits.into_iter().map(|(_, hit)| hit).collect()
    }

    /// Moves the open segment's live pages into a new frozen segment.
    fn freeze(&mut self) {
        if self.open.table.live > 0 {
            self.frozen.push(self.open.freeze());
        }
        self.open = Open::new();
    }

    /// Changes how many pages are kept; a lower retention forgets the oldest pages at once.
    pub fn set_retention(&mut self, retention: usize) {
        self.config.retention = retention;
        self.enforce_retention();
    }

    /// Forgets the oldest pages until the retention holds.
    fn enforce_retention(&mut self) {
        while self.live > self.config.retention && self.evict_oldest() {}
    }

    /// Forgets the oldest live page; returns whether there was one.
    fn evict_oldest(&mut self) -> bool {
        while let Some(oldest) = self.frozen.first_mut() {
            if let Some(page) = oldest.next_by_age() {
                oldest.table.kill(page);
                self.live -= 1;
                if oldest.table.live == 0 {
                    self.frozen.remove(0);
                }
                return true;
            }
            self.frozen.remove(0);
        }
        let Some(page) = self.open.next_by_age() else { return false };
        self.open.lookup.remove(&self.open.table.keys[page as usize]);
        self.open.table.kill(page);
        self.live -= 1;
        self.open.compact_if_mostly_dead();
        true
    }

    /// After a removal from frozen segment `i`: drops it when empty, rewrites it when more than half dead,
    /// merged with its older neighbour when both fit in one segment (so segments never dwindle to many
    /// small ones under re-crawls).
    fn tidy(&mut self, i: usize) {
        let segment = &self.frozen[i];
        if segment.table.live == 0 {
            self.frozen.remove(i);
            return;
        }
        if (segment.table.len() - segment.table.live as usize) * 2 <= segment.table.len() {
            return;
        }
        if i > 0 && fit_together(&self.frozen[i - 1], segment, self.config.segment_pages) {
            let merged = Frozen::from_frozen(&[&self.frozen[i - 1], segment]);
            self.frozen[i - 1] = merged;
            self.frozen.remove(i);
        } else {
            self.frozen[i] = Frozen::from_frozen(&[segment]);
        }
    }
}

/// The new work, prepared once for every candidate page.
struct Work<'a> {
    k: u32,
    tokens: &'a [super::tokens::Token],
    grams: &'a [super::fingerprint::Gram],
    weights: Vec<f32>,
    simhash: u64,
    /// Fingerprints the work would keep at the page window: the denominator of the verbatim share.
    fingerprints: u32,
}

/// A stored page fingerprint equal to one of the work's k-grams.
#[derive(Debug, Clone, Copy)]
struct PageAnchor {
    /// The page in its segment's table.
    page: u32,
    page_token: u32,
    work_token: u32,
}

impl Anchored for PageAnchor {
    fn page_token(&self) -> u32 {
        self.page_token
    }
    fn work_token(&self) -> u32 {
        self.work_token
    }
}

/// Chains one page's anchors with the live matcher's code and decides whether they make a hit; returns it
/// with the number of work tokens covered, which ranks hits.
fn verify(anchors: &[PageAnchor], table: &Table, work: &Work<'_>, config: &MatchConfig) -> Option<(u32, PageHit)> {
    let page = anchors[0].page as usize;
    let k = work.k;
    let page_tokens = table.tokens[page];
    let extent = Extent { k, page_tokens, work_tokens: work.tokens.len() as u32 };
    let chained = chain_and_measure(anchors, extent, Weighed::Work(&work.weights), config)?;
    let verbatim_fraction = verbatim_fraction(anchors, work.fingerprints);
    let region_hash = simhash(
        chained
            .work_ranges
            .iter()
            .flat_map(|r| work.grams.get(r.start as usize..(r.end + 1).saturating_sub(k) as usize))
            .flatten()
            .map(|g| g.hash),
    );
    let simhash_distance = (region_hash ^ work.simhash).count_ones();
    let kind = classify(chained.work_coverage, verbatim_fraction, simhash_distance, config);
    let last_work_token = work.tokens.len() as u32 - 1;
    let spans = chained
        .segments
        .iter()
        .map(|s| {
            let last = (s.last.work_token + k - 1).min(last_work_token);
            PageSpan {
                work: work.tokens[s.first.work_token as usize].start..work.tokens[last as usize].end,
                page_tokens: s.first.page_token..(s.last.page_token + k).min(page_tokens),
            }
        })
        .collect();
    let hit = PageHit {
        page: PageKey(table.keys[page]),
        kind,
        work_coverage: chained.work_coverage.min(1.0),
        page_coverage: chained.page_covered as f32 / page_tokens.max(1) as f32,
        verbatim_fraction,
        simhash_distance,
        matched_words: chained.matched_words,
        spans,
    };
    Some((chained.work_covered, hit))
}

/// Slots a page of `tokens` tokens takes.
fn slots_for(tokens: u32) -> u32 {
    tokens.div_ceil(1 << CHUNK_BITS).max(1)
}

/// A segment's pages: keys, token counts, live bits and where each slot belongs.
#[derive(Debug, Clone, Default)]
struct Table {
    keys: Vec<u64>,
    tokens: Vec<u32>,
    /// One bit per page.
    alive: Vec<u64>,
    live: u32,
    /// The page of each slot; empty while every page has one slot (slot = page), which is the usual case.
    slot_page: Vec<u16>,
    slots: u32,
}

impl Table {
    fn len(&self) -> usize {
        self.keys.len()
    }

    fn is_alive(&self, page: u32) -> bool {
        self.alive.get(page as usize / 64).is_some_and(|word| word >> (page % 64) & 1 == 1)
    }

    /// Marks a page dead; returns whether it was alive.
    fn kill(&mut self, page: u32) -> bool {
        let was = self.is_alive(page);
        if was {
            self.alive[page as usize / 64] &= !(1 << (page % 64));
            self.live -= 1;
        }
        was
    }

    /// Appends a live page; returns its first slot. The caller has checked that the slots fit.
    fn push(&mut self, key: u64, tokens: u32) -> u32 {
        let page = self.keys.len() as u32;
        let first = self.slots;
        let slots = slots_for(tokens);
        if slots > 1 && self.slot_page.is_empty() {
            self.slot_page = (0..self.slots).map(|slot| slot as u16).collect();
        }
        if !self.slot_page.is_empty() {
            self.slot_page.extend(std::iter::repeat_n(page as u16, slots as usize));
        }
        self.slots += slots;
        self.keys.push(key);
        self.tokens.push(tokens);
        if page.is_multiple_of(64) {
            self.alive.push(0);
        }
        self.alive[page as usize / 64] |= 1 << (page % 64);
        self.live += 1;
        first
    }

    /// The page a slot belongs to and the token position its 16-bit positions start from.
    fn locate(&self, slot: u16) -> (u32, u32) {
        if self.slot_page.is_empty() {
            return (u32::from(slot), 0);
        }
        let page = self.slot_page[slot as usize];
        let chunk = self.slot_page[..slot as usize].iter().rev().take_while(|p| **p == page).count() as u32;
        (u32::from(page), chunk << CHUNK_BITS)
    }

    fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
            + self.tokens.capacity() * 4
            + self.alive.capacity() * 8
            + self.slot_page.capacity() * 2
    }
}

/// An immutable segment: pages sorted by key, postings sorted by fingerprint key behind a directory.
#[derive(Debug, Clone)]
struct Frozen {
    table: Table,
    /// Pages in insertion order, oldest first, for retention.
    by_age: Vec<u16>,
    /// How far retention has walked `by_age`.
    evicted: usize,
    /// `directory[b]..directory[b + 1]` are the postings whose key's top 16 bits are `b`.
    directory: Vec<u32>,
    /// Low 16 bits of each posting's key, sorted within each bucket.
    key_lo: Vec<u16>,
    /// Each posting's slot and token position in its slot.
    at: Vec<[u16; 2]>,
}

impl Frozen {
    /// The page held under `key`, if it is alive here.
    fn find(&self, key: u64) -> Option<u32> {
        let page = self.table.keys.binary_search(&key).ok()? as u32;
        self.table.is_alive(page).then_some(page)
    }

    fn run(&self, key: u32) -> &[[u16; 2]] {
        let bucket = (key >> 16) as usize;
        let (from, to) = (self.directory[bucket] as usize, self.directory[bucket + 1] as usize);
        let lo = key as u16;
        let keys = &self.key_lo[from..to];
        let first = keys.partition_point(|&k| k < lo);
        let run = keys[first..].iter().take_while(|&&k| k == lo).count();
        &self.at[from + first..from + first + run]
    }

    fn next_by_age(&mut self) -> Option<u32> {
        while let Some(&page) = self.by_age.get(self.evicted) {
            self.evicted += 1;
            if self.table.is_alive(u32::from(page)) {
                return Some(u32::from(page));
            }
        }
        None
    }

    /// The live pages of `parts` (oldest part first) as one segment.
    fn from_frozen(parts: &[&Frozen]) -> Frozen {
        let mut pages = Vec::new();
        let renumber: Vec<Vec<u32>> = parts
            .iter()
            .map(|part| {
                let mut new = vec![u32::MAX; part.table.len()];
                for &page in &part.by_age {
                    let page = u32::from(page);
                    if part.table.is_alive(page) {
                        new[page as usize] = pages.len() as u32;
                        pages.push((part.table.keys[page as usize], part.table.tokens[page as usize]));
                    }
                }
                new
            })
            .collect();
        let postings = parts.iter().map(|part| part.key_lo.len()).sum();
        build(&pages, postings, |bucket, out| {
            for (part, new) in parts.iter().zip(&renumber) {
                let (from, to) = (part.directory[bucket] as usize, part.directory[bucket + 1] as usize);
                for (lo, [slot, token]) in part.key_lo[from..to].iter().zip(&part.at[from..to]) {
                    let (page, base) = part.table.locate(*slot);
                    if let Some(&page) = new.get(page as usize).filter(|p| **p != u32::MAX) {
                        out.push((*lo, page, base + u32::from(*token)));
                    }
                }
            }
        })
    }

    fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.by_age.capacity() * 2
            + self.directory.capacity() * 4
            + self.key_lo.capacity() * 2
            + self.at.capacity() * 4
    }

    /// Serializes the segment, which must hold live pages only.
    fn to_bytes(&self, config: PageIndexConfig) -> Vec<u8> {
        let pages = self.table.len();
        let mut out = Vec::with_capacity(40 + pages * 14 + BUCKETS * 4 + self.key_lo.len() * 6);
        out.extend_from_slice(SEGMENT_MAGIC);
        for value in [FORMAT_VERSION, config.fingerprint.k, config.fingerprint.window] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&(pages as u64).to_le_bytes());
        for (key, tokens) in self.table.keys.iter().zip(&self.table.tokens) {
            out.extend_from_slice(&key.to_le_bytes());
            out.extend_from_slice(&tokens.to_le_bytes());
        }
        for page in &self.by_age {
            out.extend_from_slice(&page.to_le_bytes());
        }
        for bucket in self.directory.windows(2) {
            out.extend_from_slice(&(bucket[1] - bucket[0]).to_le_bytes());
        }
        out.extend_from_slice(&(self.key_lo.len() as u64).to_le_bytes());
        for (lo, [slot, token]) in self.key_lo.iter().zip(&self.at) {
            for value in [*lo, *slot, *token] {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads a segment written by [`Frozen::to_bytes`], checking every invariant queries rely on.
    fn from_bytes(bytes: &[u8], expected: FingerprintConfig) -> Result<Frozen, PageIndexError> {
        let corrupt = PageIndexError::Corrupt;
        let body = checked_body(bytes, SEGMENT_MAGIC, "not a page index segment")?;
        let mut reader = ByteReader::new(body, SEGMENT_MAGIC.len());
        if reader.u32()? != FORMAT_VERSION {
            return Err(corrupt("unsupported format version"));
        }
        if (FingerprintConfig { k: reader.u32()?, window: reader.u32()? }) != expected {
            return Err(corrupt("segment made with other fingerprint parameters"));
        }
        let pages = reader.count(14)?;
        if pages > MAX_SLOTS as usize {
            return Err(corrupt("too many pages in a segment"));
        }
        let mut table = Table::default();
        for _ in 0..pages {
            let (key, tokens) = (reader.u64()?, reader.u32()?);
            if table.keys.last().is_some_and(|last| *last >= key) {
                return Err(corrupt("page keys out of order"));
            }
            if table.slots + slots_for(tokens) > MAX_SLOTS {
                return Err(corrupt("too many slots in a segment"));
            }
            table.push(key, tokens);
        }
        let mut by_age = Vec::with_capacity(pages);
        let mut seen = vec![false; pages];
        for _ in 0..pages {
            let page = reader.u16()?;
            match seen.get_mut(page as usize) {
                Some(seen) if !*seen => *seen = true,
                _ => return Err(corrupt("insertion order is not a permutation")),
            }
            by_age.push(page);
        }
        let sizes = reader.slice(BUCKETS * 4)?;
        let postings = reader.count(6)?;
        let mut directory = Vec::with_capacity(BUCKETS + 1);
        let mut total = 0u64;
        directory.push(0);
        for size in sizes.chunks_exact(4) {
            let size = size.try_into().map(u32::from_le_bytes).map_err(|_| corrupt("directory"))?;
            total += u64::from(size);
            directory.push(u32::try_from(total).map_err(|_| corrupt("directory overflows"))?);
        }
        if total != postings as u64 {
            return Err(corrupt("directory disagrees with the posting count"));
        }
        let mut key_lo = Vec::with_capacity(postings);
        let mut at = Vec::with_capacity(postings);
        for bucket in directory.windows(2) {
            let mut previous = 0u16;
            for i in bucket[0]..bucket[1] {
                let (lo, slot, token) = (reader.u16()?, reader.u16()?, reader.u16()?);
                if i > bucket[0] && lo < previous {
                    return Err(corrupt("postings out of order"));
                }
                previous = lo;
                if u32::from(slot) >= table.slots {
                    return Err(corrupt("posting for an unknown slot"));
                }
                let (page, base) = table.locate(slot);
                if base + u32::from(token) >= table.tokens[page as usize] {
                    return Err(corrupt("posting beyond its page"));
                }
                key_lo.push(lo);
                at.push([slot, token]);
            }
        }
        if !reader.is_done() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(Frozen { table, by_age, evicted: 0, directory, key_lo, at })
    }
}

/// Whether the live pages of two segments fit in one.
fn fit_together(a: &Frozen, b: &Frozen, segment_pages: u32) -> bool {
    let live_slots = |f: &Frozen| -> u64 {
        (0..f.table.len() as u32)
            .filter(|p| f.table.is_alive(*p))
            .map(|p| u64::from(slots_for(f.table.tokens[p as usize])))
            .sum()
    };
    let pages = a.table.live + b.table.live;
    pages <= segment_pages
        && live_slots(a) + live_slots(b) <= u64::from(MAX_SLOTS)
        && a.key_lo.len() + b.key_lo.len() <= MAX_SEGMENT_POSTINGS
}

/// Builds a frozen segment from live pages (key and token count, oldest first) and their postings, given
/// bucket by bucket by `fill` as (low 16 key bits, index into `pages`, token position); `postings` is how
/// many there will be at most.
fn build(pages: &[(u64, u32)], postings: usize, mut fill: impl FnMut(usize, &mut Vec<(u16, u32, u32)>)) -> Frozen {
    let mut order: Vec<u32> = (0..pages.len() as u32).collect();
    order.sort_unstable_by_key(|&i| pages[i as usize].0);
    // `by_age[age]` is the page's place in key order; pages are stored in key order for binary search.
    let mut by_age = vec![0u16; pages.len()];
    let mut table = Table::default();
    let mut first_slot = Vec::with_capacity(pages.len());
    for (place, &age) in order.iter().enumerate() {
        by_age[age as usize] = place as u16;
        let (key, tokens) = pages[age as usize];
        first_slot.push(table.push(key, tokens));
    }
    let mut directory = Vec::with_capacity(BUCKETS + 1);
    let (mut key_lo, mut at) = (Vec::with_capacity(postings), Vec::with_capacity(postings));
    let mut bucket_postings = Vec::new();
    for bucket in 0..BUCKETS {
        directory.push(key_lo.len() as u32);
        bucket_postings.clear();
        fill(bucket, &mut bucket_postings);
        // Equal keys may come in any order: queries sort anchors themselves.
        bucket_postings.sort_unstable_by_key(|p| p.0);
        for &(lo, age, token) in &bucket_postings {
            let place = by_age[age as usize] as usize;
            key_lo.push(lo);
            at.push([(first_slot[place] + (token >> CHUNK_BITS)) as u16, token as u16]);
        }
    }
    directory.push(key_lo.len() as u32);
    key_lo.shrink_to_fit();
    at.shrink_to_fit();
    Frozen { table, by_age, evicted: 0, directory, key_lo, at }
}

/// The segment taking new pages: pages in insertion order, postings in small sorted per-bucket vectors.
#[derive(Debug, Clone)]
struct Open {
    table: Table,
    /// Live pages by key.
    lookup: HashMap<u64, u32>,
    /// How far retention has walked the pages.
    evicted: usize,
    /// Per top-16-bit bucket: (low 16 key bits, slot, token position in the slot), in insertion order.
    buckets: Vec<Vec<[u16; 3]>>,
    postings: usize,
}

impl Open {
    fn new() -> Self {
        Self {
            table: Table::default(),
            lookup: HashMap::new(),
            evicted: 0,
            buckets: vec![Vec::new(); BUCKETS],
            postings: 0,
        }
    }

    fn fits(&self, fingerprint: &PageFingerprint, segment_pages: u32) -> bool {
        self.table.len() < segment_pages as usize
            && self.table.slots + slots_for(fingerprint.tokens) <= MAX_SLOTS
            && self.postings + fingerprint.grams.len() <= MAX_SEGMENT_POSTINGS
    }

    fn insert(&mut self, key: u64, fingerprint: &PageFingerprint) {
        let page = self.table.len() as u32;
        let first = self.table.push(key, fingerprint.tokens);
        self.lookup.insert(key, page);
        for &(hash, token) in &fingerprint.grams {
            self.buckets[(hash >> 16) as usize].push([
                hash as u16,
                (first + (token >> CHUNK_BITS)) as u16,
                token as u16,
            ]);
        }
        self.postings += fingerprint.grams.len();
    }

    /// The (slot, token) of every posting under `key`. Buckets are in insertion order (appending costs one
    /// cache miss per posting, where keeping them sorted cost five times as much), so this scans one
    /// bucket: about 130 postings in a full segment.
    fn run(&self, key: u32) -> Vec<[u16; 2]> {
        let lo = key as u16;
        self.buckets[(key >> 16) as usize].iter().filter(|p| p[0] == lo).map(|p| [p[1], p[2]]).collect()
    }

    fn next_by_age(&mut self) -> Option<u32> {
        while self.evicted < self.table.len() {
            let page = self.evicted as u32;
            self.evicted += 1;
            if self.table.is_alive(page) {
                return Some(page);
            }
        }
        None
    }

    /// The live pages as a frozen segment.
    fn freeze(&self) -> Frozen {
        let mut pages = Vec::with_capacity(self.table.live as usize);
        let mut renumber = vec![u32::MAX; self.table.len()];
        for page in 0..self.table.len() as u32 {
            if self.table.is_alive(page) {
                renumber[page as usize] = pages.len() as u32;
                pages.push((self.table.keys[page as usize], self.table.tokens[page as usize]));
            }
        }
        build(&pages, self.postings, |bucket, out| {
            for &[lo, slot, token] in &self.buckets[bucket] {
                let (page, base) = self.table.locate(slot);
                if let Some(&page) = renumber.get(page as usize).filter(|p| **p != u32::MAX) {
                    out.push((lo, page, base + u32::from(token)));
                }
            }
        })
    }

    /// Rewrites the open segment without its dead pages once they are most of it, so that a small
    /// retention or many re-crawls do not fill it with postings nobody can find.
    fn compact_if_mostly_dead(&mut self) {
        let dead = self.table.len() - self.table.live as usize;
        if dead < 64 || dead * 2 <= self.table.len() {
            return;
        }
        let mut fresh = Open::new();
        let mut first_slot = vec![u32::MAX; self.table.len()];
        for page in 0..self.table.len() as u32 {
            if self.table.is_alive(page) {
                let key = self.table.keys[page as usize];
                first_slot[page as usize] = fresh.table.push(key, self.table.tokens[page as usize]);
                fresh.lookup.insert(key, fresh.table.len() as u32 - 1);
            }
        }
        for (bucket, postings) in self.buckets.iter().enumerate() {
            for &[lo, slot, token] in postings {
                let (page, base) = self.table.locate(slot);
                let first = first_slot[page as usize];
                if first != u32::MAX {
                    fresh.buckets[bucket].push([lo, (first + (base >> CHUNK_BITS)) as u16, token]);
                    fresh.postings += 1;
                }
            }
        }
        *self = fresh;
    }

    fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.lookup.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.buckets.capacity() * std::mem::size_of::<Vec<[u16; 3]>>()
            + self.buckets.iter().map(|b| b.capacity() * 6).sum::<usize>()
    }
}

/// A segment seen by a query.
enum View<'a> {
    Frozen(&'a Frozen),
    Open(&'a Open),
}

impl<'a> View<'a> {
    fn table(&self) -> &'a Table {
        match self {
            View::Frozen(frozen) => &frozen.table,
            View::Open(open) => &open.table,
        }
    }

    fn run(&self, key: u32) -> Run<'a> {
        match self {
            View::Frozen(frozen) => Run::Frozen(frozen.run(key)),
            View::Open(open) => Run::Open(open.run(key)),
        }
    }
}

/// The postings of one key in one segment, as (slot, token position in the slot).
enum Run<'a> {
    Frozen(&'a [[u16; 2]]),
    Open(Vec<[u16; 2]>),
}

impl Run<'_> {
    fn postings(&self) -> &[[u16; 2]] {
        match self {
            Run::Frozen(run) => run,
            Run::Open(run) => run,
        }
    }
}

/// Checks magic and checksum; returns the bytes before the checksum.
fn checked_body<'a>(bytes: &'a [u8], magic: &[u8; 8], what: &'static str) -> Result<&'a [u8], PageIndexError> {
    let corrupt = PageIndexError::Corrupt;
    if bytes.len() < magic.len() + 8 || &bytes[..magic.len()] != magic {
        return Err(corrupt(what));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if xxh3_64(body) != u64::from_le_bytes(sum.try_into().map_err(|_| corrupt("checksum"))?) {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::fingerprint::mix64;
    use crate::text::{extract, ContentKind, ExtractConfig, TextIndex, WorkId};
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Deterministic pseudo-words: a text made of them shares no stock phrase with another seed's text.
    fn words(seed: u64, n: usize) -> Vec<String> {
        (0..n as u64).map(|i| format!("w{}", mix64(seed * 1_000_003 + i) % 5000)).collect()
    }

    fn paragraphs(words: &[String], per: usize) -> String {
        words.chunks(per).map(|p| p.join(" ")).collect::<Vec<_>>().join("\n")
    }

    fn small(segment_pages: u32, retention: usize) -> PageIndex {
        PageIndex::new(PageIndexConfig { segment_pages, retention, ..PageIndexConfig::default() })
    }

    fn found(index: &PageIndex, work: &str) -> BTreeSet<u64> {
        index.find_work(work, &RetroConfig::default()).iter().map(|h| h.page.0).collect()
    }

    /// A page that copies `work` whole between two runs of other text.
    fn copy_page(work: &str, seed: u64) -> String {
        format!("{}\n{work}\n{}", words(10_000 + seed, 80).join(" "), words(20_000 + seed, 60).join(" "))
    }

    /// Recomputes the trailing checksum after a deliberate edit, so that only the structure is tested.
    fn resum(bytes: &mut [u8]) {
        let at = bytes.len() - 8;
        let sum = xxh3_64(&bytes[..at]);
        bytes[at..].copy_from_slice(&sum.to_le_bytes());
    }

    #[test]
    fn finds_copies_of_a_new_work_with_the_live_kinds_and_work_spans() {
        let text = words(1, 600);
        let work = paragraphs(&text, 50);
        let mut edited = text.clone();
        for i in (3..edited.len()).step_by(10) {
            edited[i] = format!("edit{i}");
        }
        let mut chunks: Vec<&[String]> = text.chunks(50).collect();
        chunks.reverse();
        let other = |seed| words(seed, 200).join(" ");
        // (page key, page text, expected kind; `None`: no hit).
        let cases: Vec<(u64, String, Option<CopyKind>)> = vec![
            (1, format!("Home News Sports\n{work}\nComments (3) Share this"), Some(CopyKind::Full)),
            (2, format!("{}\n{}\n{}", other(50), paragraphs(&text[100..300], 50), other(51)), Some(CopyKind::Excerpt)),
            (3, paragraphs(&edited, 50), Some(CopyKind::NearDuplicate)),
            (4, chunks.iter().map(|c| c.join(" ")).collect::<Vec<_>>().join("\n"), Some(CopyKind::Full)),
            (5, format!("{} {} {}", other(52), text[400..425].join(" "), other(53)), None),
            (6, other(54), None),
        ];
        let mut index = PageIndex::default();
        let mut live = TextIndex::default();
        assert!(live.add(WorkId(9), &work).is_ok());
        for (key, page, _) in &cases {
            assert!(index.insert_text(PageKey(*key), page).is_ok());
        }
        assert_eq!(index.len(), cases.len());
        let hits = index.find_work(&work, &RetroConfig::default());
        let kinds: BTreeMap<u64, CopyKind> = hits.iter().map(|h| (h.page.0, h.kind)).collect();
        let work_chars: Vec<char> = work.chars().collect();
        for (key, page, expected) in &cases {
            assert_eq!(kinds.get(key).copied(), *expected, "page {key}");
            let live_kind = live.find(page, &MatchConfig::default()).first().map(|h| h.kind);
            assert_eq!(live_kind, *expected, "live matcher on page {key}");
        }
        let page_tokens: BTreeMap<u64, usize> = cases.iter().map(|(k, p, _)| (*k, tokenize(p).len())).collect();
        for hit in &hits {
            assert!(hit.work_coverage <= 1.0 && hit.page_coverage <= 1.0 && hit.matched_words >= 40.0, "{hit:?}");
            let page = &cases.iter().find(|c| c.0 == hit.page.0).map(|c| c.1.clone()).unwrap_or_default();
            for span in &hit.spans {
                assert!(span.page_tokens.end as usize <= page_tokens[&hit.page.0]);
                let copied: String = work_chars[span.work.start as usize..span.work.end as usize].iter().collect();
                if hit.page.0 != 3 {
                    assert!(page.contains(&copied), "span {span:?} of page {} is not on it", hit.page.0);
                }
            }
        }
        // Best first: the whole copies rank above the excerpt.
        assert_eq!(hits.last().map(|h| h.page.0), Some(2));
    }

    #[test]
    fn chinese_copies_match_by_characters() {
        let han: String =
            (0..1500u64).map(|i| char::from_u32(0x4E00 + (mix64(i) % 3000) as u32).unwrap_or('中')).collect();
        let excerpt: String = han.chars().skip(600).take(400).collect();
        let mut index = PageIndex::default();
        assert!(index.insert_text(PageKey(5), &format!("首页 新闻 体育\n{excerpt}\n评论 分享")).is_ok());
        let hit = index.find_work(&han, &RetroConfig::default()).into_iter().next();
        assert_eq!(hit.as_ref().map(|h| (h.page, h.kind)), Some((PageKey(5), CopyKind::Excerpt)));
        let hit = hit.unwrap_or_else(|| unreachable!());
        assert!((hit.matched_words - 400.0 * crate::text::matcher::CJK_WORD_EQUIVALENT).abs() < 10.0, "{hit:?}");
        assert_eq!(hit.spans.len(), 1);
        assert!((hit.spans[0].work.start as i64 - 600).abs() <= 8 && (hit.spans[0].work.end as i64 - 1000).abs() <= 8);
    }

    /// Every (work, page) pair the live matcher reports on the fixture corpus is reported retroactively,
    /// and nothing else; kinds agree on the large majority (see the module documentation for why not all).
    #[test]
    fn agrees_with_the_live_matcher_on_the_fixture_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/text");
        let read_dir = |sub: &str| -> Vec<std::path::PathBuf> {
            let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
                .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.sort();
            files
        };
        let text_of = |path: &std::path::Path, kind| {
            let bytes = std::fs::read(path).unwrap_or_default();
            extract(&bytes, kind, &ExtractConfig::default()).map(|e| e.text).unwrap_or_default()
        };
        let kind_of = |path: &std::path::Path| match path.extension().and_then(|e| e.to_str()) {
            Some("txt") => ContentKind::PlainText,
            _ => ContentKind::Html,
        };
        let works: Vec<String> = read_dir("originals")
            .iter()
            .map(|path| {
                let text = text_of(path, kind_of(path));
                match kind_of(path) {
                    ContentKind::PlainText => text.split_once('\n').map_or(text.clone(), |(_, body)| body.to_string()),
                    _ => text,
                }
            })
            .collect();
        let pages: Vec<String> = read_dir("queries").iter().map(|path| text_of(path, kind_of(path))).collect();
        assert_eq!((works.len(), pages.len()), (150, 600), "fixtures/text is missing");

        let mut live = TextIndex::default();
        for (id, work) in works.iter().enumerate() {
            assert!(live.add(WorkId(id as u64), work).is_ok());
        }
        let all_hits = MatchConfig { max_hits: 1000, ..MatchConfig::default() };
        let live_pairs: BTreeMap<(u64, u64), CopyKind> = pages
            .iter()
            .enumerate()
            .flat_map(|(page, text)| {
                live.find(text, &all_hits).into_iter().map(move |h| ((h.work.0, page as u64), h.kind))
            })
            .collect();

        let mut index = PageIndex::default();
        for (page, text) in pages.iter().enumerate() {
            // The monitor cuts the page fingerprint from the tokens it matched with: the same hits and
            // the same fingerprint as cutting it on its own.
            let (hits, fingerprint) = live.find_and_fingerprint(text, &all_hits, index.config().fingerprint);
            assert_eq!(fingerprint, PageFingerprint::new(text, index.config().fingerprint), "page {page}");
            let pairs: Vec<(u64, CopyKind)> = hits.iter().map(|h| (h.work.0, h.kind)).collect();
            let alone: Vec<(u64, CopyKind)> = live.find(text, &all_hits).iter().map(|h| (h.work.0, h.kind)).collect();
            assert_eq!(pairs, alone, "page {page}");
            assert!(index.insert(PageKey(page as u64), &fingerprint).is_ok());
        }
        let retro_pairs: BTreeMap<(u64, u64), CopyKind> = works
            .iter()
            .enumerate()
            .flat_map(|(work, text)| {
                index
                    .find_work(text, &RetroConfig::default())
                    .into_iter()
                    .map(move |h| ((work as u64, h.page.0), h.kind))
            })
            .collect();
        assert_eq!(live_pairs.len(), 450);
        assert_eq!(live_pairs.keys().collect::<Vec<_>>(), retro_pairs.keys().collect::<Vec<_>>());
        let same_kind = live_pairs.iter().filter(|(pair, kind)| retro_pairs.get(pair) == Some(kind)).count();
        assert!(same_kind * 100 >= live_pairs.len() * 95, "{same_kind} of {} kinds agree", live_pairs.len());
    }

    #[test]
    fn excerpts_of_fifty_five_words_are_found_and_quotations_are_not() {
        let text = words(3, 3000);
        let work = paragraphs(&text, 60);
        let mut index = PageIndex::default();
        let mut expected = BTreeSet::new();
        for trial in 0..40u64 {
            let start = (mix64(trial) % 2900) as usize;
            let (len, key) = if trial % 2 == 0 { (55, trial) } else { (25, 1000 + trial) };
            let page = format!(
                "{}\n{}\n{}",
                words(500 + trial, 150).join(" "),
                text[start..start + len].join(" "),
                words(600 + trial, 150).join(" ")
            );
            assert!(index.insert_text(PageKey(key), &page).is_ok());
            if len == 55 {
                expected.insert(key);
            }
        }
        // Excerpts are a small share of a 3,000-word work; only the evidence bound is under test.
        let config = RetroConfig {
            matching: MatchConfig { min_work_coverage: 0.0, ..MatchConfig::default() },
            ..RetroConfig::default()
        };
        let hits: BTreeSet<u64> = index.find_work(&work, &config).iter().map(|h| h.page.0).collect();
        assert_eq!(hits, expected);
    }

    #[test]
    fn reinserting_a_key_replaces_its_fingerprints() {
        let work = paragraphs(&words(1, 300), 30);
        let unrelated = paragraphs(&words(2, 300), 30);
        let mut index = small(2, 100);
        assert!(index.insert_text(PageKey(7), &copy_page(&work, 7)).is_ok());
        for key in [100, 101, 102] {
            assert!(index.insert_text(PageKey(key), &unrelated).is_ok());
        }
        assert_eq!(found(&index, &work), BTreeSet::from([7]));
        // The copy now sits in a frozen segment; a re-crawl that lost it must not keep it findable.
        assert!(index.insert_text(PageKey(7), &unrelated).is_ok());
        assert!(found(&index, &work).is_empty());
        assert_eq!(index.len(), 4);
        assert!(index.contains(PageKey(7)));
        // Re-inserting the copy, twice, reports it once.
        for _ in 0..2 {
            assert!(index.insert_text(PageKey(7), &copy_page(&work, 8)).is_ok());
        }
        assert_eq!(index.find_work(&work, &RetroConfig::default()).len(), 1);
        assert_eq!(index.len(), 4);
        // A page that has lost all its text is forgotten.
        assert!(index.insert_text(PageKey(101), "").is_ok());
        assert!(!index.contains(PageKey(101)));
        assert_eq!(index.len(), 3);
        assert!(index.remove(PageKey(7)));
        assert!(!index.remove(PageKey(7)));
        assert!(found(&index, &work).is_empty());
        let mismatched = PageFingerprint::new(&work, FingerprintConfig { k: 6, window: 10 });
        assert!(matches!(index.insert(PageKey(1), &mismatched), Err(PageIndexError::ConfigMismatch { .. })));
    }

    #[test]
    fn retention_keeps_the_last_pages_inserted() {
        let work = paragraphs(&words(1, 300), 30);
        // Small segments: whole segments are dropped as they empty.
        let mut index = small(4, 10);
        for key in 0..40 {
            assert!(index.insert_text(PageKey(key), &copy_page(&work, key)).is_ok());
        }
        assert_eq!(index.len(), 10);
        assert_eq!(found(&index, &work), (30..40).collect());
        assert!(index.segment_count() <= 4);
        // A re-crawl makes a page new again.
        assert!(index.insert_text(PageKey(30), &copy_page(&work, 99)).is_ok());
        assert!(index.insert_text(PageKey(40), &copy_page(&work, 40)).is_ok());
        assert_eq!(found(&index, &work), [30, 32, 33, 34, 35, 36, 37, 38, 39, 40].into());
        // One large open segment: evicted pages are dropped from it once they are most of it.
        let mut index = small(MAX_SLOTS, 5);
        for key in 0..300 {
            assert!(index.insert_text(PageKey(key), &copy_page(&work, key)).is_ok());
        }
        assert_eq!(found(&index, &work), (295..300).collect());
        assert!(index.open.table.len() < 200, "{} pages kept in the open segment", index.open.table.len());
    }

    #[test]
    fn long_pages_take_several_slots() {
        let work = paragraphs(&words(1, 300), 30);
        let long = format!("{}\n{work}\n{}", words(77, 70_000).join(" "), words(78, 50).join(" "));
        let mut index = small(3, 100);
        for (key, page) in [(1, copy_page(&work, 1)), (2, long), (3, copy_page(&work, 3))] {
            assert!(index.insert_text(PageKey(key), &page).is_ok());
        }
        let check = |index: &PageIndex| {
            let hits = index.find_work(&work, &RetroConfig::default());
            let by_key: BTreeMap<u64, &PageHit> = hits.iter().map(|h| (h.page.0, h)).collect();
            assert_eq!(by_key.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
            assert!(by_key.values().all(|h| h.kind == CopyKind::Full));
            assert!(by_key[&2].spans.iter().all(|s| s.page_tokens.start >= 70_000 && s.page_tokens.end <= 70_350));
            assert!(by_key[&3].spans.iter().all(|s| s.page_tokens.start >= 80 && s.page_tokens.end <= 380));
        };
        check(&index);
        // Frozen, and read back.
        assert!(index.insert_text(PageKey(4), &words(5, 100).join(" ")).is_ok());
        assert_eq!(index.frozen.len(), 1);
        check(&index);
        check(&PageIndex::from_bytes(&index.to_bytes()).unwrap_or_default());
    }

    #[test]
    fn stock_phrase_limit_and_result_cap() {
        let work = paragraphs(&words(1, 300), 30);
        let mut index = PageIndex::default();
        for key in 0..5 {
            assert!(index.insert_text(PageKey(key), &copy_page(&work, key)).is_ok());
        }
        let with = |max_postings_per_fingerprint, max_pages| RetroConfig {
            max_postings_per_fingerprint,
            max_pages,
            ..RetroConfig::default()
        };
        assert_eq!(index.find_work(&work, &with(5, 100)).len(), 5);
        assert!(index.find_work(&work, &with(4, 100)).is_empty());
        assert_eq!(index.find_work(&work, &with(5, 2)).len(), 2);
        assert!(index.find_work("", &RetroConfig::default()).is_empty());
    }

    /// An index with several frozen segments, dead pages and an open segment.
    fn populated() -> (PageIndex, String) {
        let text = words(1, 600);
        let work = paragraphs(&text, 40);
        let mut index = small(3, 1000);
        for key in 0..14u64 {
            let page = match key % 3 {
                0 => copy_page(&work, key),
                1 => format!(
                    "{}\n{}",
                    words(300 + key, 100).join(" "),
                    paragraphs(&text[key as usize * 20..key as usize * 20 + 200], 40)
                ),
                _ => words(400 + key, 300).join(" "),
            };
            assert!(index.insert_text(PageKey(key * 11), &page).is_ok());
        }
        assert!(index.remove(PageKey(33)));
        assert!(index.insert_text(PageKey(0), &words(9, 200).join(" ")).is_ok());
        (index, work)
    }

    #[test]
    fn snapshots_round_trip_whole_and_by_segment() {
        let (index, work) = populated();
        let config = RetroConfig::default();
        let hits = index.find_work(&work, &config);
        assert!(hits.len() >= 6, "{hits:?}");
        let restored = PageIndex::from_bytes(&index.to_bytes());
        assert!(restored.is_ok());
        let restored = restored.unwrap_or_default();
        assert_eq!((restored.len(), restored.config()), (index.len(), index.config()));
        assert_eq!(restored.find_work(&work, &config), hits);
        let segments: Vec<Vec<u8>> = (0..index.segment_count()).filter_map(|i| index.segment_to_bytes(i)).collect();
        assert_eq!(segments.len(), index.segment_count());
        let from_segments = PageIndex::from_segments(index.config(), segments.iter().map(Vec::as_slice));
        assert_eq!(from_segments.map(|i| i.find_work(&work, &config)), Ok(hits.clone()));
        // A page in two snapshots keeps its newest copy.
        let mut old = PageIndex::default();
        let mut new = PageIndex::default();
        assert!(old.insert_text(PageKey(1), &copy_page(&work, 1)).is_ok());
        assert!(new.insert_text(PageKey(1), &words(2, 300).join(" ")).is_ok());
        let (old, new) = (old.segment_to_bytes(0).unwrap_or_default(), new.segment_to_bytes(0).unwrap_or_default());
        let merged = PageIndex::from_segments(PageIndexConfig::default(), [old.as_slice(), new.as_slice()]);
        assert_eq!(merged.as_ref().map(|i| (i.len(), found(i, &work).len())), Ok((1, 0)));
        let merged = PageIndex::from_segments(PageIndexConfig::default(), [new.as_slice(), old.as_slice()]);
        assert_eq!(merged.as_ref().map(|i| (i.len(), found(i, &work).len())), Ok((1, 1)));
        // Retention applies on load.
        let config = PageIndexConfig { retention: 3, ..index.config() };
        let loaded = PageIndex::from_segments(config, segments.iter().map(Vec::as_slice));
        assert_eq!(loaded.map(|i| i.len()), Ok(3));
    }

    #[test]
    fn damaged_or_forged_snapshots_are_refused() {
        let (index, _) = populated();
        let bytes = index.to_bytes();
        for at in (0..bytes.len()).step_by(97) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            assert!(matches!(PageIndex::from_bytes(&damaged), Err(PageIndexError::Corrupt(_))), "byte {at}");
        }
        for len in [0, 7, 40, bytes.len() / 2, bytes.len() - 1] {
            assert!(PageIndex::from_bytes(&bytes[..len]).is_err());
        }
        let corrupt = |bytes: &[u8]| match PageIndex::from_bytes(bytes) {
            Err(PageIndexError::Corrupt(why)) => why,
            other => panic!("accepted: {other:?}"),
        };
        // Forged counts with a valid checksum are refused before anything is allocated.
        let mut forged = bytes.clone();
        forged[32..40].copy_from_slice(&(u64::MAX / 4).to_le_bytes());
        resum(&mut forged);
        assert_eq!(corrupt(&forged), "count larger than the data");
        let segment = index.segment_to_bytes(0).unwrap_or_default();
        let config = index.config();
        let mut forged = segment.clone();
        forged[20..28].copy_from_slice(&(1u64 << 40).to_le_bytes());
        resum(&mut forged);
        assert!(matches!(PageIndex::from_segments(config, [forged.as_slice()]), Err(PageIndexError::Corrupt(_))));
        // A posting pointing past its page, with a valid checksum.
        let mut forged = segment.clone();
        let last_posting = forged.len() - 8 - 6;
        forged[last_posting + 2..last_posting + 4].copy_from_slice(&u16::MAX.to_le_bytes());
        resum(&mut forged);
        assert_eq!(
            PageIndex::from_segments(config, [forged.as_slice()]).err(),
            Some(PageIndexError::Corrupt("posting for an unknown slot"))
        );
        // Another format, other parameters, other versions.
        assert_eq!(corrupt(&TextIndex::default().to_bytes()), "not a page index");
        let other = PageIndexConfig { fingerprint: FingerprintConfig { k: 6, window: 10 }, ..config };
        assert!(PageIndex::from_segments(other, [segment.as_slice()]).is_err());
        let mut version = bytes.clone();
        version[8] = 9;
        resum(&mut version);
        assert_eq!(corrupt(&version), "unsupported format version");
        let mut trailing = bytes[..bytes.len() - 8].to_vec();
        trailing.extend_from_slice(&[0; 9]);
        resum(&mut trailing);
        assert!(PageIndex::from_bytes(&trailing).is_err());
    }

    /// What the index should hold: keys oldest first, with whether the page copies the work.
    #[derive(Debug, Clone, Copy)]
    enum Op {
        Copy(u64),
        Other(u64),
        Empty(u64),
        Remove(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        (0u8..4, 0u64..12).prop_map(|(kind, key)| match kind {
            0 => Op::Copy(key),
            1 => Op::Other(key),
            2 => Op::Empty(key),
            _ => Op::Remove(key),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Inserts, re-inserts, removals, freezing, compaction, merging and retention, against a model.
        #[test]
        fn behaves_like_a_list_of_the_last_pages(
            ops in proptest::collection::vec(op(), 1..60),
            segment_pages in 1u32..5,
            retention in 1usize..15,
        ) {
            let work = paragraphs(&words(1, 200), 40);
            let mut index = small(segment_pages, retention);
            let mut model: Vec<(u64, bool)> = Vec::new();
            for (n, op) in ops.iter().enumerate() {
                let (key, page) = match *op {
                    Op::Copy(key) => (key, Some(copy_page(&work, n as u64))),
                    Op::Other(key) => (key, Some(words(5000 + n as u64, 250).join(" "))),
                    Op::Empty(key) => (key, Some(String::new())),
                    Op::Remove(key) => (key, None),
                };
                let held = model.iter().position(|(k, _)| *k == key);
                match page {
                    Some(page) => {
                        prop_assert!(index.insert_text(PageKey(key), &page).is_ok());
                        model.retain(|(k, _)| *k != key);
                        if !page.is_empty() {
                            model.push((key, matches!(op, Op::Copy(_))));
                        }
                        while model.len() > retention {
                            model.remove(0);
                        }
                    }
                    None => {
                        prop_assert_eq!(index.remove(PageKey(key)), held.is_some());
                        model.retain(|(k, _)| *k != key);
                    }
                }
                prop_assert_eq!(index.len(), model.len());
            }
            let expected: BTreeSet<u64> = model.iter().filter(|(_, copy)| *copy).map(|(k, _)| *k).collect();
            prop_assert_eq!(found(&index, &work), expected.clone());
            for key in 0..12 {
                prop_assert_eq!(index.contains(PageKey(key)), model.iter().any(|(k, _)| *k == key));
            }
            let restored = PageIndex::from_bytes(&index.to_bytes());
            prop_assert_eq!(restored.map(|r| (r.len(), found(&r, &work))), Ok((model.len(), expected)));
        }

        /// Arbitrary bytes are refused, never a panic; arbitrary text never panics as page or work.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,300}") {
            prop_assert!(PageIndex::from_bytes(&bytes).is_err());
            prop_assert!(PageIndex::from_segments(PageIndexConfig::default(), [bytes.as_slice()]).is_err());
            let mut index = PageIndex::default();
            prop_assert!(index.insert_text(PageKey(1), &text).is_ok());
            let _ = index.find_work(&text, &RetroConfig::default());
        }
    }
}
