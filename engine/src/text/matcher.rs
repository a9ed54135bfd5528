//! Matching a page against the index: candidates from shared fingerprints, then verification.
//!
//! 1. **Anchors.** The page's k-grams, winnowed with a window smaller than the works' (see
//!    [`MatchConfig::query_window`] for why that loses nothing on verbatim copies), are looked up; each
//!    posting found is an anchor (page token, work token).
//! 2. **Candidates.** Works with fewer than [`MatchConfig::min_anchors`] anchors are dropped unseen.
//! 3. **Chains.** A candidate's anchors, in page order, are chained into segments: runs whose page and
//!    work positions advance together, allowing small drift for inserted or deleted words. Reordered
//!    paragraphs simply make several segments; a stray anchor from a stock phrase makes a segment of one,
//!    which does not count.
//! 4. **Scores.** Work coverage is the share of the work's tokens covered by segments ("how much of the
//!    work appears in the page"), page coverage the share of the page's tokens ("how much of the page the
//!    work explains"). Evidence is measured in word equivalents, where one CJK character counts
//!    [`CJK_WORD_EQUIVALENT`] of a word (Chinese words average about 1.6 characters).
//!
//! Steps 3 and 4 see anchors only as (page token, work token) pairs (`Anchored`), so retroactive
//! matching ([`super::pages`]), which finds its anchors from the other side, chains and judges them with
//! the same code and thresholds.

use super::fingerprint::simhash;
use super::fingerprint::{grams, Gram};
use super::index::{Posting, TextIndex, WorkId};
use super::tokens::{tokenize, Token};
use std::ops::Range;

/// How much of a word one CJK character is worth as evidence.
pub const CJK_WORD_EQUIVALENT: f32 = 0.6;

/// Every threshold of text matching, in one place. Defaults were set on `fixtures/text` with
/// `seal eval text`; the reasons are given per field.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchConfig {
    /// Anchors a work needs before it is verified at all. Default 3: one or two shared k-grams happen
    /// between unrelated texts on the same topic.
    pub min_anchors: u32,
    /// Winnowing window for the page's probes (1 looks up every k-gram). Default 4: 40% of the lookups.
    /// A k-gram that is the minimum of a window of [`super::FingerprintConfig::window`] k-grams in the work is
    /// also the minimum of every smaller window inside it, so wherever the page copies the work verbatim
    /// for a whole work window, winnowing the page with a window no larger finds every fingerprint all
    /// probes would. Only around edits are anchors lost: on `fixtures/text`, window 4 left every score as
    /// with all probes, while window 10 cut the lowest `edited10` coverage from 0.83 to 0.76.
    pub query_window: u32,
    /// Fingerprints shared by more works than this are skipped as stock phrases. Default 200.
    pub max_postings_per_fingerprint: usize,
    /// Largest gap, in tokens, between consecutive anchors of one segment. Default 40: on `edited10`
    /// pages a changed word every ten tokens removes anchors, and gaps of 30 tokens occur.
    pub max_gap_tokens: u32,
    /// Largest difference between the page gap and the work gap of consecutive anchors, beyond a growth of
    /// one token in eight. Default 6: absorbs deleted or inserted words without joining unrelated runs.
    pub max_drift_tokens: u32,
    /// A segment counts as evidence only with at least this many anchors. Default 3: with 2, chains of
    /// stock phrases gathered up to 43 words of evidence for a wrong work on the fixtures; with 3, 32.
    pub min_segment_anchors: u32,
    /// A hit needs at least this much copied text, in word equivalents. Default 40: a fair quotation of
    /// a sentence or two (under 25 words) is not reported.
    pub min_matched_words: f32,
    /// A hit needs this share of the work on the page, unless it copies at least
    /// [`MatchConfig::substantial_words`]. Default 0.1.
    pub min_work_coverage: f32,
    /// Copied text, in word equivalents, that is a hit whatever share of the work it is. Default 150.
    pub substantial_words: f32,
    /// Work coverage from which a copy is `full` (or `near-duplicate` when edited). Default 0.85.
    pub full_coverage: f32,
    /// Share of the work's fingerprints found verbatim from which a full-coverage copy is `full` rather
    /// than `near-duplicate`. Default 0.75: a verbatim reprint keeps over 90%, a copy with one word in ten
    /// changed about 60%.
    pub verbatim_fingerprints: f32,
    /// Work coverage from which a copy below [`MatchConfig::full_coverage`] may still be a
    /// `near-duplicate` (when its SimHash is close). Default 0.6: half-article excerpts stay `excerpt`.
    pub near_duplicate_coverage: f32,
    /// Largest SimHash distance, between the work and the matched region of the page, at which a copy
    /// is a `near-duplicate`. Default 12 bits of 64 (unrelated texts differ in about 32).
    pub near_duplicate_bits: u32,
    /// Most hits returned per page, best first. Default 16.
    pub max_hits: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            min_anchors: 3,
            query_window: 4,
            max_postings_per_fingerprint: 200,
            max_gap_tokens: 40,
            max_drift_tokens: 6,
            min_segment_anchors: 3,
            min_matched_words: 40.0,
            min_work_coverage: 0.1,
            substantial_words: 150.0,
            full_coverage: 0.85,
            verbatim_fingerprints: 0.75,
            near_duplicate_coverage: 0.6,
            near_duplicate_bits: 12,
            max_hits: 16,
        }
    }
}

/// What kind of copy a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyKind {
    /// Essentially the whole work, verbatim (paragraph order may differ).
    Full,
    /// Part of the work.
    Excerpt,
    /// Most of the work, with edits.
    NearDuplicate,
}

impl CopyKind {
    /// The stable label used in reports and APIs: `full`, `excerpt` or `near-duplicate`.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyKind::Full => "full",
            CopyKind::Excerpt => "excerpt",
            CopyKind::NearDuplicate => "near-duplicate",
        }
    }
}

/// One matched passage: where it is on the page and where it comes from in the work, in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedSpan {
    /// Character range in the page's extracted text.
    pub page: Range<u32>,
    /// Character range in the work's registered text.
    pub work: Range<u32>,
}

/// A registered work found on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The work.
    pub work: WorkId,
    /// What kind of copy.
    pub kind: CopyKind,
    /// Share of the work's tokens found on the page, 0 to 1.
    pub work_coverage: f32,
    /// Share of the page's tokens explained by the work, 0 to 1.
    pub page_coverage: f32,
    /// Share of the work's fingerprints found verbatim, 0 to 1.
    pub verbatim_fraction: f32,
    /// SimHash distance, in bits, between the work and the matched region of the page.
    pub simhash_distance: u32,
    /// Copied text in word equivalents.
    pub matched_words: f32,
    /// The matched passages, in page order.
    pub spans: Vec<MatchedSpan>,
}

/// A page anchor: a page k-gram that equals a fingerprint of a work.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    slot: u32,
    page_token: u32,
    posting: Posting,
}

impl Anchored for Anchor {
    fn page_token(&self) -> u32 {
        self.page_token
    }
    fn work_token(&self) -> u32 {
        self.posting.token
    }
}

impl TextIndex {
    /// Finds the registered works copied in `text` (a page's extracted text), best first.
    pub fn find(&self, text: &str, config: &MatchConfig) -> Vec<Hit> {
        let tokens = tokenize(text);
        let page_grams = grams(&tokens, self.config().k);
        self.find_in(&tokens, &page_grams, config)
    }

    /// [`TextIndex::find`], and the page's fingerprint for a [`super::PageIndex`] cut from the same
    /// tokens (a monitored page is both matched and kept for retroactive matching). `page` is the page
    /// index's fingerprint configuration; with another `k` than this index's the page is cut anew.
    pub fn find_and_fingerprint(
        &self,
        text: &str,
        config: &MatchConfig,
        page: super::fingerprint::FingerprintConfig,
    ) -> (Vec<Hit>, super::PageFingerprint) {
        let tokens = tokenize(text);
        let page_grams = grams(&tokens, self.config().k);
        let fingerprint = if super::pages::normalized_fingerprint(page).k == self.config().k {
            super::PageFingerprint::from_grams(tokens.len(), &page_grams, page)
        } else {
            super::PageFingerprint::new(text, page)
        };
        (self.find_in(&tokens, &page_grams, config), fingerprint)
    }

    fn find_in(&self, tokens: &[Token], page_grams: &[Gram], config: &MatchConfig) -> Vec<Hit> {
        let mut anchors = Vec::new();
        let probes = match config.query_window {
            0 | 1 => page_grams.to_vec(),
            window => super::fingerprint::winnow(page_grams, window),
        };
        for gram in &probes {
            self.postings((gram.hash >> 32) as u32, config.max_postings_per_fingerprint, |posting| {
                anchors.push(Anchor { slot: posting.slot, page_token: gram.token, posting: *posting });
            });
        }
        anchors.sort_unstable_by_key(|a| (a.slot, a.page_token, a.posting.token));
        let weights = word_weights(tokens);
        let mut hits: Vec<(u32, Hit)> = anchors
            .chunk_by(|a, b| a.slot == b.slot)
            .filter(|group| group.len() >= config.min_anchors as usize)
            .filter_map(|group| self.verify(group, tokens, page_grams, &weights, config))
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.work_coverage.total_cmp(&a.1.work_coverage)));
        hits.truncate(config.max_hits);
        hits.into_iter().map(|(_, hit)| hit).collect()
    }

    /// Chains one candidate's anchors and decides whether they make a hit; returns it with the number of
    /// work tokens covered, which ranks hits.
    fn verify(
        &self,
        anchors: &[Anchor],
        tokens: &[Token],
        page_grams: &[Gram],
        weights: &[f32],
        config: &MatchConfig,
    ) -> Option<(u32, Hit)> {
        let meta = self.works[anchors[0].slot as usize];
        let k = self.config().k;
        let extent = Extent { k, page_tokens: tokens.len() as u32, work_tokens: meta.tokens };
        let chained = chain_and_measure(anchors, extent, Weighed::Page(weights), config)?;
        let verbatim_fraction = verbatim_fraction(anchors, meta.fingerprints);
        let region_hash = simhash(
            chained
                .page_ranges
                .iter()
                .flat_map(|r| page_grams.get(r.start as usize..(r.end + 1).saturating_sub(k) as usize))
                .flatten()
                .map(|g| g.hash),
        );
        let simhash_distance = (region_hash ^ meta.simhash).count_ones();
        let kind = classify(chained.work_coverage, verbatim_fraction, simhash_distance, config);
        let spans = chained
            .segments
            .iter()
            .map(|s| {
                let last_token = (s.last.page_token + k - 1).min(tokens.len() as u32 - 1);
                MatchedSpan {
                    page: tokens[s.first.page_token as usize].start..tokens[last_token as usize].end,
                    work: s.first.posting.char_start()..s.last.posting.char_end(),
                }
            })
            .collect();
        let hit = Hit {
            work: meta.id,
            kind,
            work_coverage: chained.work_coverage.min(1.0),
            page_coverage: chained.page_covered as f32 / tokens.len().max(1) as f32,
            verbatim_fraction,
            simhash_distance,
            matched_words: chained.matched_words,
            spans,
        };
        Some((chained.work_covered, hit))
    }
}

/// One k-gram shared by a page and a work, seen only through its two token positions. The live matcher
/// ([`TextIndex::find`]) and the retroactive one ([`super::pages::PageIndex::find_work`]) find anchors
/// from opposite sides but chain and judge them with the same code, below.
pub(crate) trait Anchored: Copy {
    /// Index of the k-gram's first token on the page.
    fn page_token(&self) -> u32;
    /// Index of the k-gram's first token in the work.
    fn work_token(&self) -> u32;
}

/// A run of anchors that advance together on the page and in the work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment<A> {
    pub first: A,
    pub last: A,
    pub anchors: u32,
}

/// The sizes that turn anchor positions into ranges and shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extent {
    /// Tokens per k-gram.
    pub k: u32,
    /// Tokens on the page.
    pub page_tokens: u32,
    /// Tokens in the work.
    pub work_tokens: u32,
}

/// Which text's tokens weigh the copied words, as prefix sums from [`word_weights`]: the page's when its
/// tokens are at hand (live), the work's when only the page's fingerprints were kept (retroactive).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Weighed<'a> {
    Page(&'a [f32]),
    Work(&'a [f32]),
}

/// A candidate's anchors chained and measured, having passed the evidence thresholds.
#[derive(Debug, Clone)]
pub(crate) struct Chained<A> {
    /// Segments with enough anchors to count, in page order.
    pub segments: Vec<Segment<A>>,
    /// Page tokens covered by the segments, merged.
    pub page_ranges: Vec<Range<u32>>,
    /// Work tokens covered by the segments, merged.
    pub work_ranges: Vec<Range<u32>>,
    /// Number of work tokens covered, which ranks hits.
    pub work_covered: u32,
    /// Number of page tokens covered.
    pub page_covered: u32,
    /// `work_covered` over the work's tokens (not clamped: the ranges may run one k-gram past a short work).
    pub work_coverage: f32,
    /// Copied text in word equivalents.
    pub matched_words: f32,
}

/// Chains one candidate's anchors (sorted by page position) into segments and applies the evidence
/// thresholds ([`MatchConfig::min_segment_anchors`], [`MatchConfig::min_matched_words`],
/// [`MatchConfig::min_work_coverage`] unless [`MatchConfig::substantial_words`]); `None` when they fail.
pub(crate) fn chain_and_measure<A: Anchored>(
    anchors: &[A],
    extent: Extent,
    weights: Weighed<'_>,
    config: &MatchConfig,
) -> Option<Chained<A>> {
    let k = extent.k;
    let segments: Vec<Segment<A>> =
        chain(anchors, config).into_iter().filter(|s| s.anchors >= config.min_segment_anchors).collect();
    if segments.is_empty() {
        return None;
    }
    let page_ranges =
        union(segments.iter().map(|s| s.first.page_token()..s.last.page_token() + k).collect(), extent.page_tokens);
    let work_ranges =
        union(segments.iter().map(|s| s.first.work_token()..s.last.work_token() + k).collect(), extent.work_tokens);
    let (weighed_ranges, weights) = match weights {
        Weighed::Page(weights) => (&page_ranges, weights),
        Weighed::Work(weights) => (&work_ranges, weights),
    };
    let matched_words: f32 = weighed_ranges.iter().map(|r| weights[r.end as usize] - weights[r.start as usize]).sum();
    let work_covered: u32 = work_ranges.iter().map(|r| r.end - r.start).sum();
    let work_coverage = work_covered as f32 / extent.work_tokens.max(1) as f32;
    if matched_words < config.min_matched_words
        || (work_coverage < config.min_work_coverage && matched_words < config.substantial_words)
    {
        return None;
    }
    let page_covered: u32 = page_ranges.iter().map(|r| r.end - r.start).sum();
    Some(Chained { segments, page_ranges, work_ranges, work_covered, page_covered, work_coverage, matched_words })
}

/// Share of the work's `fingerprints` that anchors found verbatim (distinct work positions), at most 1.
pub(crate) fn verbatim_fraction<A: Anchored>(anchors: &[A], fingerprints: u32) -> f32 {
    let mut verbatim: Vec<u32> = anchors.iter().map(Anchored::work_token).collect();
    verbatim.sort_unstable();
    verbatim.dedup();
    (verbatim.len() as f32 / fingerprints.max(1) as f32).min(1.0)
}

/// The kind of a copy that passed the evidence thresholds.
pub(crate) fn classify(
    work_coverage: f32,
    verbatim_fraction: f32,
    simhash_distance: u32,
    config: &MatchConfig,
) -> CopyKind {
    if work_coverage >= config.full_coverage {
        if verbatim_fraction >= config.verbatim_fingerprints {
            CopyKind::Full
        } else {
            CopyKind::NearDuplicate
        }
    } else if work_coverage >= config.near_duplicate_coverage && simhash_distance <= config.near_duplicate_bits {
        CopyKind::NearDuplicate
    } else {
        CopyKind::Excerpt
    }
}

/// Prefix sums of evidence weight per token: `weights[i]` is the weight of tokens `0..i`.
pub(crate) fn word_weights(tokens: &[Token]) -> Vec<f32> {
    let mut sums = Vec::with_capacity(tokens.len() + 1);
    let mut total = 0.0f32;
    sums.push(total);
    for token in tokens {
        total += if token.cjk { CJK_WORD_EQUIVALENT } else { 1.0 };
        sums.push(total);
    }
    sums
}

/// Greedy chaining with a few open segments at once, so that interleaved stray anchors and reordered
/// paragraphs do not break a run in two. Anchors arrive sorted by page position.
fn chain<A: Anchored>(anchors: &[A], config: &MatchConfig) -> Vec<Segment<A>> {
    const OPEN: usize = 8;
    let mut open: Vec<Segment<A>> = Vec::with_capacity(OPEN);
    let mut closed = Vec::new();
    for &anchor in anchors {
        let (page, work) = (anchor.page_token(), anchor.work_token());
        // Segments that can no longer be extended are closed.
        open.retain(|s| {
            let alive = page <= s.last.page_token() + config.max_gap_tokens;
            if !alive {
                closed.push(*s);
            }
            alive
        });
        let best = open
            .iter_mut()
            .filter_map(|s| {
                let (last_page, last_work) = (s.last.page_token(), s.last.work_token());
                if page <= last_page || work <= last_work {
                    return None;
                }
                let (page_gap, work_gap) = (page - last_page, work - last_work);
                let drift = page_gap.abs_diff(work_gap);
                let allowed = config.max_drift_tokens + page_gap.max(work_gap) / 8;
                (work_gap <= config.max_gap_tokens && drift <= allowed).then_some((drift, s))
            })
            .min_by_key(|(drift, _)| *drift);
        match best {
            Some((_, segment)) => {
                segment.last = anchor;
                segment.anchors += 1;
            }
            None => {
                if open.len() == OPEN {
                    // The segment with the fewest anchors is the least likely to matter.
                    if let Some(weakest) = (0..open.len()).min_by_key(|&i| open[i].anchors) {
                        closed.push(open.swap_remove(weakest));
                    }
                }
                open.push(Segment { first: anchor, last: anchor, anchors: 1 });
            }
        }
    }
    closed.extend(open);
    closed.sort_by_key(|s| s.first.page_token());
    closed
}

/// Sorts and merges half-open ranges, clamped to `0..limit`.
fn union(mut ranges: Vec<Range<u32>>, limit: u32) -> Vec<Range<u32>> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u32>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        let range = range.start.min(limit)..range.end.min(limit);
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deterministic pseudo-words: a text made of them shares no stock phrase with another seed's text.
    fn words(seed: u64, n: usize) -> Vec<String> {
        (0..n as u64).map(|i| format!("w{}", crate::text::fingerprint::mix64(seed * 1_000_003 + i) % 5000)).collect()
    }

    fn paragraphs(words: &[String], per: usize) -> String {
        words.chunks(per).map(|p| p.join(" ")).collect::<Vec<_>>().join("\n")
    }

    fn index_of(works: &[(u64, String)]) -> TextIndex {
        let mut index = TextIndex::default();
        for (id, text) in works {
            assert!(index.add(WorkId(*id), text).is_ok());
        }
        index
    }

    #[test]
    fn finds_full_copies_inside_boilerplate_with_spans() {
        let work = paragraphs(&words(1, 600), 60);
        let index = index_of(&[(1, work.clone()), (2, paragraphs(&words(2, 600), 60))]);
        let page = format!("Home News Sports\n{}\nComments (3) Share this", work);
        let hits = index.find(&page, &MatchConfig::default());
        assert_eq!(hits.len(), 1);
        let hit = &hits[0];
        assert_eq!((hit.work, hit.kind), (WorkId(1), CopyKind::Full));
        assert!(hit.work_coverage > 0.97 && hit.page_coverage > 0.95, "{hit:?}");
        let page_chars: Vec<char> = page.chars().collect();
        let work_chars: Vec<char> = work.chars().collect();
        for span in &hit.spans {
            let on_page: String = page_chars[span.page.start as usize..span.page.end as usize].iter().collect();
            let in_work: String = work_chars[span.work.start as usize..span.work.end as usize].iter().collect();
            assert_eq!(on_page, in_work);
        }
    }

    #[test]
    fn classifies_excerpts_edits_and_reorders() {
        let text = words(7, 1000);
        let index = index_of(&[(7, paragraphs(&text, 50))]);
        let config = MatchConfig::default();
        let excerpt = paragraphs(&text[300..500], 50);
        let hit = index.find(&excerpt, &config).into_iter().next();
        assert_eq!(hit.as_ref().map(|h| h.kind), Some(CopyKind::Excerpt));
        assert!(hit.is_some_and(|h| (h.work_coverage - 0.2).abs() < 0.03));

        let mut edited = text.clone();
        for i in (3..edited.len()).step_by(10) {
            edited[i] = format!("edit{i}");
        }
        let hit = index.find(&paragraphs(&edited, 50), &config).into_iter().next();
        assert_eq!(hit.as_ref().map(|h| h.kind), Some(CopyKind::NearDuplicate), "{hit:?}");

        let mut chunks: Vec<&[String]> = text.chunks(50).collect();
        chunks.reverse();
        let reordered: Vec<String> = chunks.iter().map(|c| c.join(" ")).collect();
        let hit = index.find(&reordered.join("\n"), &config).into_iter().next();
        assert_eq!(hit.as_ref().map(|h| h.kind), Some(CopyKind::Full), "{hit:?}");
    }

    #[test]
    fn a_short_quotation_is_not_a_hit() {
        let text = words(3, 800);
        let index = index_of(&[(3, paragraphs(&text, 40))]);
        let page = format!("{} {} {}", words(9, 300).join(" "), text[100..125].join(" "), words(10, 300).join(" "));
        assert!(index.find(&page, &MatchConfig::default()).is_empty());
    }

    #[test]
    fn chinese_copies_match_by_characters() {
        let han: String = (0..1500u64)
            .map(|i| char::from_u32(0x4E00 + (crate::text::fingerprint::mix64(i) % 3000) as u32).unwrap_or('中'))
            .collect();
        let index = index_of(&[(5, han.clone())]);
        let excerpt: String = han.chars().skip(600).take(400).collect();
        let page = format!("首页 新闻 体育\n{excerpt}\n评论 分享");
        let hit = index.find(&page, &MatchConfig::default()).into_iter().next();
        assert_eq!(hit.as_ref().map(|h| (h.work, h.kind)), Some((WorkId(5), CopyKind::Excerpt)));
        assert!(hit.is_some_and(|h| (h.matched_words - 400.0 * CJK_WORD_EQUIVALENT).abs() < 10.0));
    }

    #[test]
    fn removal_and_round_trip_keep_results() {
        let works: Vec<(u64, String)> = (0..50).map(|i| (i, paragraphs(&words(100 + i, 300), 30))).collect();
        let mut index = index_of(&works);
        let config = MatchConfig::default();
        let restored = TextIndex::from_bytes(&index.to_bytes());
        assert!(restored.is_ok());
        let restored = restored.unwrap_or_default();
        for (id, text) in &works {
            let best = |ix: &TextIndex| ix.find(text, &config).first().map(|h| h.work);
            assert_eq!(best(&index), Some(WorkId(*id)));
            assert_eq!(best(&restored), Some(WorkId(*id)));
        }
        for id in 0..40 {
            assert!(index.remove(WorkId(id)));
        }
        assert!(!index.remove(WorkId(0)));
        assert_eq!(index.len(), 10);
        assert!(index.find(&works[5].1, &config).is_empty());
        assert_eq!(index.find(&works[45].1, &config).first().map(|h| h.work), Some(WorkId(45)));
        let mut bytes = index.to_bytes();
        let last = bytes.len() - 20;
        bytes[last] ^= 1;
        assert!(matches!(TextIndex::from_bytes(&bytes), Err(crate::text::TextError::CorruptIndex(_))));
        assert!(TextIndex::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any text, found in itself, is either too short to count or a full hit whose spans stay in bounds.
        #[test]
        fn any_text_matches_itself_within_bounds(text in "\\PC{0,400}", seed in 0u64..1000) {
            let mut index = TextIndex::default();
            let body = format!("{} {}", paragraphs(&words(seed, 120), 40), text);
            prop_assert!(index.add(WorkId(1), &body).is_ok());
            let hits = index.find(&body, &MatchConfig::default());
            prop_assert_eq!(hits.first().map(|h| h.work), Some(WorkId(1)));
            let chars = body.chars().count() as u32;
            for span in &hits[0].spans {
                prop_assert!(span.page.start <= span.page.end && span.page.end <= chars);
                prop_assert!(span.work.start <= span.work.end && span.work.end <= chars);
            }
        }

        /// Matching arbitrary text against arbitrary works never panics.
        #[test]
        fn matching_garbage_never_panics(works in proptest::collection::vec("\\PC{0,200}", 0..6), page in "\\PC{0,600}") {
            let mut index = TextIndex::default();
            for (i, work) in works.iter().enumerate() {
                let _ = index.add(WorkId(i as u64), work);
            }
            let _ = index.find(&page, &MatchConfig::default());
            let _ = TextIndex::from_bytes(page.as_bytes());
        }
    }
}
