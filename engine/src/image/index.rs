//! An in-memory Hamming index over 256-bit hashes: multi-index hashing (Norouzi, Punjani and Fleet,
//! "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012), with chunk widths and per-chunk
//! search radii chosen for the number of entries.
//!
//! Layout. The hash is cut into `m` disjoint chunks of contiguous bits, chunk `i` `w_i` bits wide
//! (`m <= 16`, `w_i <= 26`, `sum w_i <= 256`; bits past the last chunk are not indexed). Each chunk has
//! a table: `2^w_i + 1` `u32` offsets into a posting array of entry slots sorted by that chunk's value.
//! Table 0 needs no postings: the entries themselves are kept sorted by chunk 0. Postings are
//! bit-packed at `ceil(log2(entries))` bits (20 at 1M entries, 24 at 10M).
//!
//! Pigeonhole. The chunks are disjoint, so the distance of two hashes is at least the sum of their
//! chunk distances. If a query gives chunk `i` a radius `r_i` (`-1`: not probed) with
//! `sum (r_i + 1) >= r + 1`, then any hash within `r` of the query is within `r_i` of it on some chunk:
//! otherwise its distance would be at least `sum (r_i + 1) > r`. A query therefore probes, in each
//! table, every value within `r_i` bits of the query's chunk, and checks the full distance of what the
//! buckets hold. The radii are chosen per query, greedily (one unit at a time to the chunk where it
//! adds the least expected cost; the costs are convex in `r_i`, so greedy is optimal under the model),
//! which also covers radius 0 (one chunk, exact lookup) and radii beyond the design one. When the plan
//! would cost more than a scan, the query scans.
//!
//! The widths are chosen at each rebuild from the entry count: among layouts of `k` chunks of one width
//! and `m - k` of another that fit the memory budget, the one whose radius-31 plan costs least, counting
//! a candidate (a random hash load) as 1 and a probe (a random offsets load, then a random postings
//! load) as 1.2, as measured. At 1M entries: 4 chunks of 19 bits at radius 2 and 10 of 18 at radius
//! 1, about 950 probes and 2,200 candidates per query. At 10M: 4 of 23 bits and 7 of 22, ten at
//! radius 2 and one at 1, about 2,650 probes and 5,000 candidates. (16 chunks of 16 bits at radius 1
//! need 272 probes but 4,150 and 41,000 candidates.) The layout is a function of the entry count,
//! so it needs no storing: a deserialized index rebuilds the same one.
//!
//! A query reads, table by table, the offsets of every probe first (addresses known from the query
//! alone, so the loads overlap), then each bucket's postings and their hashes. Hits are deduplicated
//! by slot (a hash close on two chunks is found twice). Gathering all candidates first and checking
//! their hashes in a separate pass, hoping for more overlapping loads, measured no faster.
//!
//! Memory per entry: the hash (32 bytes) and payload (4) once, `ceil(log2(entries)) / 8` bytes of
//! postings per table after the first, and the offsets, `4 * 2^w_i` bytes per table shared by all
//! entries. The layout search keeps postings and offsets within 56 bytes per entry, so the index
//! stays under 96 bytes per entry: 87.5 at 1M entries, 91.3 at 10M.
//!
//! Adds go to an unindexed tail that queries scan linearly; once the tail outgrows an eighth of the
//! indexed part the tables are rebuilt (a counting sort per chunk, linear time). Removals set a tombstone
//! bit and are compacted away at the next rebuild.

use super::error::ImageError;
use super::pdq::PdqHash;
use crate::column::{at_slot, Column};
use std::borrow::Cow;
use xxhash_rust::xxh3::xxh3_64;

/// The tail is rebuilt into the tables when it exceeds max(MIN_TAIL, indexed / 8); smaller indexes
/// are only scanned.
const MIN_TAIL: usize = 4096;
/// The radius layouts are chosen for (PDQ's customary match threshold).
const DESIGN_RADIUS: u32 = 31;
const MAX_CHUNKS: usize = 16;
const MIN_WIDTH: u32 = 8;
const MAX_WIDTH: u32 = 26;
/// Offsets and postings may take this much per entry (the hash and payload take 36 more).
const TABLE_BYTES_PER_ENTRY: usize = 56;
/// Highest radius probed in one chunk (`C(22, 4)` = 7315 probes); beyond it the query scans.
const MAX_CHUNK_RADIUS: i32 = 4;
/// The cost model, in units of one candidate check (a random 32-byte hash load: 40 to 55 ns measured
/// at 1M and 10M entries). A probe loads its offsets and then its postings, two random loads that
/// measured 25 to 30 ns each.
const PROBE_COST: f64 = 1.2;
/// A probe of table 0 loads only its offsets: its bucket is a run of the entries themselves.
const PROBE_COST_0: f64 = 0.6;
/// A scan streams the hashes at about 3 ns per entry.
const SCAN_COST_PER_ENTRY: f64 = 0.07;
const MAGIC: &[u8; 8] = b"SEALMIH2";

/// Live entries in rebuild order ([`HammingIndex::sorted`]), before their tables are built.
struct Sorted {
    layout: Layout,
    hashes: Vec<PdqHash>,
    payloads: Vec<u32>,
    /// Chunk 0's offsets (empty without tables).
    first: Vec<u32>,
}

impl Sorted {
    /// Every chunk's offsets and the postings of chunks 1.. (none without tables).
    fn tables(&self) -> (Vec<u32>, Vec<u64>) {
        if self.layout.chunks.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let live = self.hashes.len();
        let (offsets_len, words) = self.layout.table_lengths();
        let mut offsets = Vec::with_capacity(offsets_len);
        offsets.extend_from_slice(&self.first);
        let bits = slot_bits(live);
        let mut postings = vec![0u64; words];
        for (c, chunk) in self.layout.chunks.iter().enumerate().skip(1) {
            let mut counts = vec![0u32; (1 << chunk.width) + 1];
            for h in &self.hashes {
                counts[h.bits(chunk.start, chunk.width) as usize + 1] += 1;
            }
            for b in 1..counts.len() {
                counts[b] += counts[b - 1];
            }
            offsets.extend_from_slice(&counts);
            let table = (c - 1) * live;
            let mut cursor = counts;
            for (slot, h) in self.hashes.iter().enumerate() {
                let b = h.bits(chunk.start, chunk.width) as usize;
                write_packed(&mut postings, bits, table + cursor[b] as usize, slot as u32);
                cursor[b] += 1;
            }
        }
        (offsets, postings)
    }
}

/// A hit of a radius query: the payload stored with the hash, and its distance to the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexHit {
    /// Distance in bits.
    pub distance: u32,
    /// What the caller stored with the hash (a work id, or a region slot).
    pub payload: u32,
}

/// One chunk of the layout: bits `start .. start + width`, its offsets at `offsets[base ..]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    start: usize,
    width: u32,
    base: usize,
}

/// A multi-index hash table over [`PdqHash`]es, each stored with a `u32` payload.
///
/// The entries the last rebuild left (sorted by chunk 0 when the tables exist) and the tables are
/// [`Column`]s: owned, or read in place from a snapshot ([`HammingIndex::from_columns`]), so that a
/// matcher of a million works (17M entries) loads without rebuilding its tables. Entries added since
/// sit in an owned tail, removals in a bitset; only a rebuild replaces the columns.
#[derive(Debug, Clone, Default)]
pub struct HammingIndex {
    /// Slots `0..hashes.len()`.
    hashes: Column<PdqHash>,
    payloads: Column<u32>,
    /// Slots after them: added since the last rebuild, scanned by queries.
    tail: Tail,
    /// One bit per slot: set when the entry has been removed.
    dead: Vec<u64>,
    dead_count: usize,
    /// The layout of the tables over the indexed slots (empty: no tables, queries scan).
    chunks: Vec<Chunk>,
    /// For each chunk, `2^width + 1` offsets, back to back.
    offsets: Column<u32>,
    /// Postings of chunks 1.., one per indexed slot each, back to back, packed at `slot_bits` bits
    /// each (plus one word of padding, so that a read may always take two words).
    postings: Column<u64>,
    /// Bits per posting: enough for any indexed slot.
    slot_bits: u32,
}

/// Entries added since the last rebuild.
#[derive(Debug, Clone, Default)]
struct Tail {
    hashes: Vec<PdqHash>,
    payloads: Vec<u32>,
}

/// The entries and tables of an index as a snapshot keeps them: [`HammingIndex::parts`] gives them,
/// [`HammingIndex::from_columns`] takes them back.
pub(super) struct HammingParts<'a> {
    /// Live entries, sorted by chunk 0 (stable) when there are tables.
    pub hashes: Cow<'a, [PdqHash]>,
    pub payloads: Cow<'a, [u32]>,
    /// Every chunk's offsets (none below [`MIN_TAIL`] entries).
    pub offsets: Cow<'a, [u32]>,
    /// The packed postings of chunks 1.. (none below [`MIN_TAIL`] entries).
    pub postings: Cow<'a, [u64]>,
}

/// The columns [`HammingIndex::from_columns`] takes (owned or viewed).
pub(super) struct HammingColumns {
    pub hashes: Column<PdqHash>,
    pub payloads: Column<u32>,
    pub offsets: Column<u32>,
    pub postings: Column<u64>,
}

/// The tables' layout for an entry count, as [`HammingIndex::rebuild`] lays them out: what a snapshot
/// reader needs to find the next column and then hands to [`HammingIndex::from_columns`] (the layout
/// search takes tens of milliseconds at a million works, so it runs once per index).
pub(super) struct Layout {
    entries: usize,
    chunks: Vec<Chunk>,
}

impl Layout {
    pub(super) fn of(entries: usize) -> Self {
        Self { entries, chunks: layout(entries) }
    }

    /// How many offsets and posting words the tables take (none below [`MIN_TAIL`] entries).
    pub(super) fn table_lengths(&self) -> (usize, usize) {
        match self.chunks.last() {
            None => (0, 0),
            Some(last) => (last.base + (1 << last.width) + 1, posting_words(self.chunks.len() - 1, self.entries)),
        }
    }
}

/// The chunks of the tables over `entries` entries: none below [`MIN_TAIL`] (such an index is
/// scanned), else [`choose_layout`]'s widths, each chunk's offsets after the previous one's.
fn layout(entries: usize) -> Vec<Chunk> {
    if entries < MIN_TAIL {
        return Vec::new();
    }
    let (mut start, mut base) = (0, 0);
    choose_layout(entries)
        .into_iter()
        .map(|width| {
            let chunk = Chunk { start, width, base };
            start += width as usize;
            base += (1usize << width) + 1;
            chunk
        })
        .collect()
}

/// Bits needed to store any slot below `entries`.
fn slot_bits(entries: usize) -> u32 {
    (usize::BITS - entries.saturating_sub(1).leading_zeros()).max(1)
}

/// Posting `at` of a packed array of `bits`-bit values.
#[inline]
fn read_packed(words: &[u64], bits: u32, at: usize) -> u32 {
    let bit = at * bits as usize;
    let (word, shift) = (bit / 64, (bit % 64) as u32);
    // The second word's contribution is shifted in two steps so that shift 0 needs no branch.
    let value = (words[word] >> shift) | ((words[word + 1] << 1) << (63 - shift));
    (value & ((1u64 << bits) - 1)) as u32
}

/// Stores `value` (below `2^bits`) at posting `at` of a zeroed packed array.
#[inline]
fn write_packed(words: &mut [u64], bits: u32, at: usize, value: u32) {
    let bit = at * bits as usize;
    let (word, shift) = (bit / 64, (bit % 64) as u32);
    words[word] |= u64::from(value) << shift;
    words[word + 1] |= (u64::from(value) >> 1) >> (63 - shift);
}

/// `C(n, k)` as a float (the cost model's probe counts).
fn binomial(n: u32, k: i32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i as u32) / f64::from(i as u32 + 1))
}

/// Per-chunk radii (`-1`: not probed) for a query at `radius` over `entries` indexed entries whose
/// chunks have `widths`, and the expected random accesses; `None` when no plan exists within
/// [`MAX_CHUNK_RADIUS`]. Adds one unit of `sum (r_i + 1)` at a time where it costs least.
fn plan(widths: &[u32], entries: usize, radius: u32) -> Option<([i32; MAX_CHUNKS], f64)> {
    let mut radii = [-1i32; MAX_CHUNKS];
    let mut cost = 0.0;
    for _ in 0..=radius {
        let mut best: Option<(usize, f64)> = None;
        for (c, &width) in widths.iter().enumerate() {
            let next = radii[c] + 1;
            if next > MAX_CHUNK_RADIUS || next as u32 > width {
                continue;
            }
            let probe = if c == 0 { PROBE_COST_0 } else { PROBE_COST };
            let marginal = binomial(width, next) * (probe + entries as f64 / (1u64 << width) as f64);
            if best.is_none_or(|(_, b)| marginal < b) {
                best = Some((c, marginal));
            }
        }
        let (c, marginal) = best?;
        radii[c] += 1;
        cost += marginal;
    }
    Some((radii, cost))
}

/// Words of packed postings for `tables` tables over `entries` entries (with the padding word).
fn posting_words(tables: usize, entries: usize) -> usize {
    (tables * entries * slot_bits(entries) as usize).div_ceil(64) + 1
}

/// Bytes of offsets and postings for `widths` over `entries` entries.
fn table_bytes(widths: &[u32], entries: usize) -> usize {
    8 * posting_words(widths.len().saturating_sub(1), entries)
        + widths.iter().map(|&w| 4 * ((1usize << w) + 1)).sum::<usize>()
}

/// The chunk widths for `entries` entries: `k` chunks of one width then `m - k` of a narrower (or equal)
/// one, within [`TABLE_BYTES_PER_ENTRY`], with the cheapest plan at [`DESIGN_RADIUS`] (ties: fewer
/// bytes). Deterministic, so a rebuilt or deserialized index gets the same layout.
fn choose_layout(entries: usize) -> Vec<u32> {
    let budget = TABLE_BYTES_PER_ENTRY * entries;
    let mut best: Option<(f64, usize, Vec<u32>)> = None;
    for m in 1..=MAX_CHUNKS {
        for k in 1..=m {
            for wide in MIN_WIDTH..=MAX_WIDTH {
                let narrowest = if k == m { wide } else { MIN_WIDTH };
                for narrow in narrowest..=wide {
                    if k as u32 * wide + (m - k) as u32 * narrow > 256 {
                        continue;
                    }
                    let widths: Vec<u32> = (0..m).map(|i| if i < k { wide } else { narrow }).collect();
                    let bytes = table_bytes(&widths, entries);
                    if bytes > budget {
                        continue;
                    }
                    let Some((_, cost)) = plan(&widths, entries, DESIGN_RADIUS) else { continue };
                    if best.as_ref().is_none_or(|(c, b, _)| cost < *c || (cost == *c && bytes < *b)) {
                        best = Some((cost, bytes, widths));
                    }
                }
            }
        }
    }
    best.map_or_else(|| vec![MIN_WIDTH], |(_, _, widths)| widths)
}

/// Calls `visit` with every `width`-bit mask of at most `radius` set bits (Gosper's hack per count).
#[inline]
fn for_each_mask(width: u32, radius: i32, mut visit: impl FnMut(u32)) {
    let limit = 1u64 << width;
    for ones in 0..=radius.min(width as i32) {
        let mut x: u64 = (1u64 << ones) - 1;
        while x < limit {
            visit(x as u32);
            if x == 0 {
                break;
            }
            let low = x & x.wrapping_neg();
            let ripple = x + low;
            x = (((ripple ^ x) >> 2) / low) | ripple;
        }
    }
}

impl HammingIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.slots() - self.dead_count
    }

    /// Slots in use, removed ones included.
    fn slots(&self) -> usize {
        self.hashes.len() + self.tail.hashes.len()
    }

    /// True when no live entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held, for the memory report (columns read in place count in
    /// [`HammingIndex::mapped_bytes`] instead).
    pub fn heap_bytes(&self) -> usize {
        self.hashes.heap_bytes()
            + self.payloads.heap_bytes()
            + self.tail.hashes.capacity() * 32
            + self.tail.payloads.capacity() * 4
            + self.dead.capacity() * 8
            + self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.offsets.heap_bytes()
            + self.postings.heap_bytes()
    }

    /// Bytes read in place from a loaded snapshot.
    pub fn mapped_bytes(&self) -> usize {
        self.hashes.shared_bytes()
            + self.payloads.shared_bytes()
            + self.offsets.shared_bytes()
            + self.postings.shared_bytes()
    }

    /// Adds `hash` with `payload`. Duplicates are allowed (and both returned by queries).
    pub fn add(&mut self, hash: PdqHash, payload: u32) {
        self.add_deferred(hash, payload);
        if self.tail.hashes.len() > MIN_TAIL.max(self.hashes.len() / 8) {
            self.rebuild();
        }
    }

    /// Adds to the scanned tail without ever rebuilding: for bulk loads, which call
    /// [`HammingIndex::rebuild`] once at the end (rebuilding as the tail grows was 37% of loading a
    /// 100k-work image matcher).
    pub fn add_deferred(&mut self, hash: PdqHash, payload: u32) {
        let slot = self.slots();
        self.tail.hashes.push(hash);
        self.tail.payloads.push(payload);
        if slot / 64 >= self.dead.len() {
            self.dead.push(0);
        }
    }

    #[inline]
    fn payload_at(&self, slot: usize) -> u32 {
        at_slot(&self.payloads, &self.tail.payloads, slot)
    }

    /// Removes one entry equal to (`hash`, `payload`). Returns whether one was found.
    pub fn remove(&mut self, hash: &PdqHash, payload: u32) -> bool {
        let mut found = None;
        self.for_each_within(hash, 0, |slot, _| {
            if found.is_none() && self.payload_at(slot) == payload {
                found = Some(slot);
            }
        });
        match found {
            Some(slot) => {
                self.kill(slot);
                true
            }
            None => false,
        }
    }

    /// Removes every entry whose payload satisfies `doomed` (a linear pass). Returns how many.
    pub fn remove_where(&mut self, mut doomed: impl FnMut(u32) -> bool) -> usize {
        let mut removed = 0;
        for slot in 0..self.slots() {
            if !self.is_dead(slot) && doomed(self.payload_at(slot)) {
                self.kill(slot);
                removed += 1;
            }
        }
        removed
    }

    /// Calls `visit` with every live entry's hash and payload, in slot order.
    pub fn for_each_live(&self, mut visit: impl FnMut(&PdqHash, u32)) {
        let hashes = self.hashes.iter().chain(&self.tail.hashes);
        let payloads = self.payloads.iter().chain(&self.tail.payloads);
        for (slot, (hash, &payload)) in hashes.zip(payloads).enumerate() {
            if !self.is_dead(slot) {
                visit(hash, payload);
            }
        }
    }

    fn kill(&mut self, slot: usize) {
        self.dead[slot / 64] |= 1 << (slot % 64);
        self.dead_count += 1;
    }

    #[inline]
    fn is_dead(&self, slot: usize) -> bool {
        self.dead_count > 0 && (self.dead[slot / 64] >> (slot % 64)) & 1 == 1
    }

    /// Whether entries were added or removed since the last rebuild.
    pub fn is_stale(&self) -> bool {
        !self.tail.hashes.is_empty() || self.dead_count > 0
    }

    /// Rebuilds the tables over all live entries (also compacts removed ones away), with the layout
    /// for their count. Called by `add` as needed; call it after a bulk load to make the first queries
    /// fast.
    pub fn rebuild(&mut self) {
        let sorted = self.sorted();
        // Free the old entries and tables before the postings are allocated: the peak stays near one
        // index.
        *self = Self::default();
        let (offsets, postings) = sorted.tables();
        let live = sorted.hashes.len();
        *self = Self {
            hashes: sorted.hashes.into(),
            payloads: sorted.payloads.into(),
            tail: Tail::default(),
            dead: vec![0; live.div_ceil(64)],
            dead_count: 0,
            chunks: sorted.layout.chunks,
            offsets: offsets.into(),
            postings: postings.into(),
            slot_bits: slot_bits(live),
        };
    }

    /// The live entries in the order a rebuild leaves them, with chunk 0's offsets: sorted by chunk 0
    /// (a stable counting sort, linear), or in slot order below [`MIN_TAIL`] entries, where there are
    /// no tables. `self` is not changed.
    fn sorted(&self) -> Sorted {
        let live = self.len();
        let layout = Layout::of(live);
        let mut hashes = Vec::with_capacity(live);
        let mut payloads = Vec::with_capacity(live);
        let Some(&first) = layout.chunks.first() else {
            self.for_each_live(|hash, payload| {
                hashes.push(*hash);
                payloads.push(payload);
            });
            return Sorted { layout, hashes, payloads, first: Vec::new() };
        };
        let mut counts = vec![0u32; (1 << first.width) + 1];
        self.for_each_live(|hash, _| counts[hash.bits(first.start, first.width) as usize + 1] += 1);
        for b in 1..counts.len() {
            counts[b] += counts[b - 1];
        }
        hashes.resize(live, PdqHash::default());
        payloads.resize(live, 0);
        let mut cursor = counts.clone();
        self.for_each_live(|hash, payload| {
            let b = hash.bits(first.start, first.width) as usize;
            let at = cursor[b] as usize;
            cursor[b] += 1;
            hashes[at] = *hash;
            payloads[at] = payload;
        });
        Sorted { layout, hashes, payloads, first: counts }
    }

    /// The live entries and tables as a snapshot stores them: borrowed when nothing changed since
    /// the last rebuild, else built apart ([`HammingIndex::sorted`]; snapshots are written after
    /// `optimize`, so that is the exception).
    pub(super) fn parts(&self) -> HammingParts<'_> {
        if self.is_stale() {
            let sorted = self.sorted();
            let (offsets, postings) = sorted.tables();
            return HammingParts {
                hashes: Cow::Owned(sorted.hashes),
                payloads: Cow::Owned(sorted.payloads),
                offsets: Cow::Owned(offsets),
                postings: Cow::Owned(postings),
            };
        }
        HammingParts {
            hashes: Cow::Borrowed(&self.hashes),
            payloads: Cow::Borrowed(&self.payloads),
            offsets: Cow::Borrowed(&self.offsets),
            postings: Cow::Borrowed(&self.postings),
        }
    }

    /// An index over columns a snapshot stored ([`HammingIndex::parts`]' form), read in place or
    /// owned, checked: columns of one length, and tables of the size the entry count gives whose
    /// offsets partition the entries. Nothing is sorted or rebuilt. What no check here catches (an
    /// entry filed under the wrong bucket, a posting naming the wrong slot) can only hide an entry
    /// from a query or report one twice, never read outside a column: postings past the entries are
    /// skipped, and every offset is at most the entry count.
    pub(super) fn from_columns(columns: HammingColumns, layout: Layout) -> Result<Self, &'static str> {
        let HammingColumns { hashes, payloads, offsets, postings } = columns;
        let n = hashes.len();
        if payloads.len() != n || layout.entries != n {
            return Err("index columns of different lengths");
        }
        if n > u32::MAX as usize {
            return Err("too many index entries");
        }
        if (offsets.len(), postings.len()) != layout.table_lengths() {
            return Err("index tables of the wrong size");
        }
        for chunk in &layout.chunks {
            let table = &offsets[chunk.base..chunk.base + (1 << chunk.width) + 1];
            if table[0] != 0 || table[table.len() - 1] as usize != n || table.windows(2).any(|w| w[0] > w[1]) {
                return Err("index offsets out of order");
            }
        }
        Ok(Self {
            hashes,
            payloads,
            tail: Tail::default(),
            dead: vec![0; n.div_ceil(64)],
            dead_count: 0,
            chunks: layout.chunks,
            offsets,
            postings,
            slot_bits: slot_bits(n),
        })
    }

    /// Refuses an index whose payloads (of entries read from a snapshot) `valid` does not accept.
    pub(super) fn check_payloads(&self, valid: impl Fn(u32) -> bool) -> Result<(), &'static str> {
        let payloads = self.payloads.iter().chain(&self.tail.payloads);
        if payloads.copied().all(valid) {
            Ok(())
        } else {
            Err("index entry of an unknown work")
        }
    }

    /// The per-chunk radii for a query at `radius`, or `None` when scanning is cheaper.
    fn query_plan(&self, radius: u32) -> Option<[i32; MAX_CHUNKS]> {
        if self.chunks.is_empty() {
            return None;
        }
        let widths: Vec<u32> = self.chunks.iter().map(|c| c.width).collect();
        let (radii, cost) = plan(&widths, self.hashes.len(), radius)?;
        (cost <= SCAN_COST_PER_ENTRY * self.hashes.len() as f64).then_some(radii)
    }

    /// Calls `visit` with every live slot within `radius` of `query` and its distance, each once.
    fn for_each_within(&self, query: &PdqHash, radius: u32, mut visit: impl FnMut(usize, u32)) {
        // Columns may be views into shared bytes: resolved once, not per candidate.
        let (hashes, all_offsets, postings) = (&*self.hashes, &*self.offsets, &*self.postings);
        let Some(radii) = self.query_plan(radius) else {
            self.scan(0, hashes, query, radius, &mut visit);
            self.scan(hashes.len(), &self.tail.hashes, query, radius, &mut visit);
            return;
        };
        // Table by table: the bucket bounds of every probe first (their loads depend on the query
        // alone, so they overlap), then each bucket's slots and their full distance.
        let mut bounds: Vec<(u32, u32)> = Vec::new();
        let mut hits: Vec<(u32, u32)> = Vec::new();
        for (c, chunk) in self.chunks.iter().enumerate() {
            if radii[c] < 0 {
                continue;
            }
            let offsets = &all_offsets[chunk.base..chunk.base + (1 << chunk.width) + 1];
            let value = query.bits(chunk.start, chunk.width);
            bounds.clear();
            for_each_mask(chunk.width, radii[c], |mask| {
                let v = (value ^ mask) as usize;
                bounds.push((offsets[v], offsets[v + 1]));
            });
            let table = c.saturating_sub(1) * hashes.len();
            for &(lo, hi) in &bounds {
                for at in lo as usize..hi as usize {
                    // Table 0 is the entry array itself, sorted by chunk 0.
                    let slot = if c == 0 { at } else { read_packed(postings, self.slot_bits, table + at) as usize };
                    // A posting past the entries can only come from damaged bytes: skipped.
                    let Some(hash) = hashes.get(slot) else { continue };
                    let distance = hash.distance(query);
                    if distance <= radius {
                        hits.push((slot as u32, distance));
                    }
                }
            }
        }
        // A hash close to the query on two chunks is found twice.
        hits.sort_unstable();
        hits.dedup();
        for (slot, distance) in hits {
            if !self.is_dead(slot as usize) {
                visit(slot as usize, distance);
            }
        }
        self.scan(hashes.len(), &self.tail.hashes, query, radius, &mut visit);
    }

    /// Calls `visit` with every live slot of `part` (slots from `from`) within `radius` of `query`.
    fn scan(&self, from: usize, part: &[PdqHash], query: &PdqHash, radius: u32, visit: &mut impl FnMut(usize, u32)) {
        for (i, hash) in part.iter().enumerate() {
            let distance = hash.distance(query);
            if distance <= radius && !self.is_dead(from + i) {
                visit(from + i, distance);
            }
        }
    }

    /// Every live entry within `radius` bits of `query`, appended to `out` (unsorted).
    pub fn query_into(&self, query: &PdqHash, radius: u32, out: &mut Vec<IndexHit>) {
        self.for_each_within(query, radius, |slot, distance| {
            out.push(IndexHit { distance, payload: self.payload_at(slot) });
        });
    }

    /// Every live entry within `radius` bits of `query`, nearest first.
    pub fn query(&self, query: &PdqHash, radius: u32) -> Vec<IndexHit> {
        let mut out = Vec::new();
        self.query_into(query, radius, &mut out);
        out.sort_unstable();
        out
    }

    /// The same answer as [`HammingIndex::query`] by scanning every entry: the baseline for benches
    /// and the oracle for tests.
    pub fn brute_force(&self, query: &PdqHash, radius: u32) -> Vec<IndexHit> {
        let mut out = Vec::new();
        self.for_each_live(|hash, payload| {
            let distance = hash.distance(query);
            if distance <= radius {
                out.push(IndexHit { distance, payload });
            }
        });
        out.sort_unstable();
        out
    }

    /// Serializes the live entries: magic `SEALMIH2`, count (u64), then per entry 32 hash bytes and a
    /// 4-byte payload, then an xxh3-64 checksum of everything before it; little-endian throughout.
    /// Tables are not stored: [`HammingIndex::from_bytes`] rebuilds them, and the layout is a function
    /// of the entry count, so the loaded index has the saved one's layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.len() * 36);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        self.for_each_live(|hash, payload| {
            for word in hash.0 {
                out.extend_from_slice(&word.to_le_bytes());
            }
            out.extend_from_slice(&payload.to_le_bytes());
        });
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads [`HammingIndex::to_bytes`]'s form and builds the tables. Wrong magic, a bad checksum or a
    /// count that does not match the length give [`ImageError::BadIndex`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ImageError> {
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or(ImageError::BadIndex("missing magic"))?;
        let (body, checksum) = bytes.split_last_chunk::<8>().ok_or(ImageError::BadIndex("missing checksum"))?;
        if rest.len() < 16 {
            return Err(ImageError::BadIndex("truncated"));
        }
        if xxh3_64(body) != u64::from_le_bytes(*checksum) {
            return Err(ImageError::BadIndex("checksum mismatch"));
        }
        let rest = &rest[..rest.len() - 8];
        let (count, rest) = rest.split_first_chunk::<8>().ok_or(ImageError::BadIndex("missing count"))?;
        let count = usize::try_from(u64::from_le_bytes(*count)).map_err(|_| ImageError::BadIndex("count too large"))?;
        if count.checked_mul(36) != Some(rest.len()) {
            return Err(ImageError::BadIndex("length does not match the entry count"));
        }
        let mut index = HammingIndex::new();
        index.tail.hashes.reserve_exact(count);
        index.tail.payloads.reserve_exact(count);
        for entry in rest.chunks_exact(36) {
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&entry[i * 8..i * 8 + 8]);
                u64::from_le_bytes(b)
            };
            index.tail.hashes.push(PdqHash([word(0), word(1), word(2), word(3)]));
            index.tail.payloads.push(u32::from_le_bytes([entry[32], entry[33], entry[34], entry[35]]));
        }
        index.dead = vec![0; count.div_ceil(64)];
        index.rebuild();
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (SplitMix64), so tests need no dependency.
    fn rng(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn flip_bits(h: PdqHash, n: usize, seed: &mut u64) -> PdqHash {
        let mut out = h;
        let mut flipped = 0;
        while flipped < n {
            let k = (rng(seed) % 256) as usize;
            if out.bit(k) == h.bit(k) {
                out.0[k / 64] ^= 1 << (k % 64);
                flipped += 1;
            }
        }
        out
    }

    #[test]
    fn radius_queries_agree_with_brute_force() {
        let mut seed = 7;
        let mut index = HammingIndex::new();
        let mut bases = Vec::new();
        for i in 0..20_000u32 {
            let h = PdqHash(std::array::from_fn(|_| rng(&mut seed)));
            index.add(h, i);
            if i % 1000 == 0 {
                bases.push(h);
            }
        }
        for (i, base) in bases.iter().enumerate() {
            index.add(flip_bits(*base, 20 + i, &mut seed), 1_000_000 + i as u32);
        }
        for radius in [0, 10, 31, 40, 60] {
            for base in &bases {
                let q = flip_bits(*base, 5, &mut seed);
                assert_eq!(index.query(&q, radius), index.brute_force(&q, radius), "radius {radius}");
            }
        }
    }

    #[test]
    fn remove_and_serialization_round_trip() {
        let mut seed = 11;
        let mut index = HammingIndex::new();
        let hashes: Vec<PdqHash> = (0..10_000).map(|_| PdqHash(std::array::from_fn(|_| rng(&mut seed)))).collect();
        for (i, h) in hashes.iter().enumerate() {
            index.add(*h, i as u32);
        }
        assert!(index.remove(&hashes[5], 5));
        assert!(!index.remove(&hashes[5], 5));
        assert_eq!(index.remove_where(|p| p == 9), 1);
        assert!(index.query(&hashes[5], 31).is_empty());
        assert_eq!(index.query(&hashes[6], 31), vec![IndexHit { distance: 0, payload: 6 }]);
        let copy = HammingIndex::from_bytes(&index.to_bytes()).expect("round trip");
        assert_eq!(copy.len(), 9_998);
        for i in [0usize, 6, 9_999] {
            assert_eq!(copy.query(&hashes[i], 31), index.query(&hashes[i], 31));
        }
        assert!(HammingIndex::from_bytes(b"SEALMIH1\x01\0\0\0\0\0\0\0").is_err());
        assert!(HammingIndex::from_bytes(b"junk").is_err());
    }

    #[test]
    fn hostile_bytes_are_refused() {
        let mut index = HammingIndex::new();
        index.add(PdqHash([1, 2, 3, 4]), 9);
        let bytes = index.to_bytes();
        assert_eq!(HammingIndex::from_bytes(&bytes).expect("valid").query(&PdqHash([1, 2, 3, 4]), 0).len(), 1);
        for cut in 0..bytes.len() {
            assert!(HammingIndex::from_bytes(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert!(HammingIndex::from_bytes(&flipped).is_err(), "flipped byte {at}");
        }
        // A huge count with a valid checksum is refused without allocating.
        let mut forged = MAGIC.to_vec();
        forged.extend_from_slice(&u64::MAX.to_le_bytes());
        let sum = xxh3_64(&forged);
        forged.extend_from_slice(&sum.to_le_bytes());
        assert!(HammingIndex::from_bytes(&forged).is_err());
        let empty = HammingIndex::from_bytes(&HammingIndex::new().to_bytes()).expect("empty");
        assert!(empty.is_empty());
    }

    #[test]
    fn packed_postings_round_trip() {
        for bits in [1u32, 7, 12, 20, 24, 31, 32] {
            let count = 1000;
            let mut words = vec![0u64; (count * bits as usize).div_ceil(64) + 1];
            let value = |i: usize| ((i as u64 * 0x9E37_79B9) & ((1u64 << bits) - 1)) as u32;
            for i in 0..count {
                write_packed(&mut words, bits, i, value(i));
            }
            for i in 0..count {
                assert_eq!(read_packed(&words, bits, i), value(i), "bits {bits} at {i}");
            }
        }
        assert_eq!((slot_bits(1), slot_bits(2), slot_bits(4096), slot_bits(4097)), (1, 1, 12, 13));
    }

    #[test]
    fn layouts_fit_the_memory_budget_and_plan_radius_31() {
        for entries in [MIN_TAIL, 20_000, 1_000_000, 10_000_000, 100_000_000] {
            let widths = choose_layout(entries);
            assert!(widths.len() <= MAX_CHUNKS && widths.iter().sum::<u32>() <= 256, "{widths:?}");
            assert!(table_bytes(&widths, entries) <= TABLE_BYTES_PER_ENTRY * entries, "{entries}: {widths:?}");
            let (radii, _) = plan(&widths, entries, DESIGN_RADIUS).expect("a radius-31 plan");
            let units: i32 = radii.iter().take(widths.len()).map(|r| r + 1).sum();
            assert_eq!(units, DESIGN_RADIUS as i32 + 1);
        }
        let mut masks = Vec::new();
        for_each_mask(5, 2, |m| masks.push(m));
        masks.sort_unstable();
        let expected: Vec<u32> = (0..32u32).filter(|m| m.count_ones() <= 2).collect();
        assert_eq!(masks, expected);
    }

    /// `h` with exactly `n` bits flipped inside bits `start .. start + width`.
    fn flip_in(h: PdqHash, start: usize, width: usize, n: usize, seed: &mut u64) -> PdqHash {
        let mut out = h;
        let mut flipped = 0;
        while flipped < n.min(width) {
            let k = start + (rng(seed) % width as u64) as usize;
            if out.bit(k) == h.bit(k) {
                out.0[k / 64] ^= 1 << (k % 64);
                flipped += 1;
            }
        }
        out
    }

    fn random_index(seed: &mut u64, n: usize) -> (HammingIndex, Vec<PdqHash>) {
        let mut index = HammingIndex::new();
        let hashes: Vec<PdqHash> = (0..n).map(|_| PdqHash(std::array::from_fn(|_| rng(seed)))).collect();
        for (i, h) in hashes.iter().enumerate() {
            index.add(*h, i as u32);
        }
        (index, hashes)
    }

    /// What a snapshot stores (`parts`) read back (`from_columns`) over tables, not a scan: the same
    /// answers; offsets out of order or tables of the wrong size refused; postings naming slots past
    /// the entries (damaged bytes with a fresh checksum) skipped, never a panic.
    #[test]
    fn stored_tables_answer_as_the_index_did_and_damaged_ones_are_refused_or_harmless() {
        let mut seed = 21;
        let (mut index, hashes) = random_index(&mut seed, 3 * MIN_TAIL);
        assert!(index.remove(&hashes[7], 7));
        index.add(flip_bits(hashes[9], 3, &mut seed), 99_999);
        assert!(index.is_stale(), "parts() builds the tables apart");
        let parts = index.parts();
        let n = parts.hashes.len();
        let columns = || HammingColumns {
            hashes: parts.hashes.to_vec().into(),
            payloads: parts.payloads.to_vec().into(),
            offsets: parts.offsets.to_vec().into(),
            postings: parts.postings.to_vec().into(),
        };
        let loaded = HammingIndex::from_columns(columns(), Layout::of(n)).expect("its own tables");
        assert!(!loaded.chunks.is_empty() && loaded.query_plan(31).is_some(), "queried through tables");
        for (i, base) in hashes.iter().enumerate().step_by(500) {
            let q = flip_bits(*base, 4 + i % 20, &mut seed);
            assert_eq!(loaded.query(&q, 31), index.query(&q, 31));
            assert_eq!(loaded.query(&q, 31), loaded.brute_force(&q, 31));
        }
        assert_eq!(loaded.query(&hashes[7], 0), vec![]);
        let mut disordered = columns();
        disordered.offsets = {
            let mut o = parts.offsets.to_vec();
            o[5] = n as u32;
            o.into()
        };
        assert_eq!(HammingIndex::from_columns(disordered, Layout::of(n)).err(), Some("index offsets out of order"));
        let mut short = columns();
        short.postings = parts.postings[1..].to_vec().into();
        assert_eq!(HammingIndex::from_columns(short, Layout::of(n)).err(), Some("index tables of the wrong size"));
        assert!(HammingIndex::from_columns(columns(), Layout::of(n + 1)).is_err());
        let mut wild = columns();
        wild.postings = vec![u64::MAX; parts.postings.len()].into();
        let wild = HammingIndex::from_columns(wild, Layout::of(n)).expect("postings are not checked one by one");
        for base in hashes.iter().step_by(1000) {
            let found = wild.query(base, 31);
            assert!(found.iter().all(|hit| hit.distance <= 31));
        }
    }

    /// Queries at distance exactly `r` from a registered hash, with each chunk one bit beyond its
    /// planned radius except one chunk exactly at it: only that chunk's table can find the hash, so a
    /// pigeonhole split that is one bit short anywhere fails here.
    #[test]
    fn hashes_found_by_exactly_one_chunk_are_found() {
        let mut seed = 3;
        let (mut index, hashes) = random_index(&mut seed, 30_000);
        index.rebuild();
        assert!(index.query_plan(DESIGN_RADIUS).is_some(), "radius 31 uses the tables");
        for radius in 0..=40u32 {
            let Some(radii) = index.query_plan(radius) else { continue };
            for (j, chunk) in index.chunks.iter().enumerate() {
                if radii[j] < 0 {
                    continue;
                }
                for trial in 0..3 {
                    let slot = (rng(&mut seed) % hashes.len() as u64) as usize;
                    let mut q = hashes[slot];
                    for (i, other) in index.chunks.iter().enumerate() {
                        let flips = (radii[i] + i32::from(i != j)) as usize;
                        q = flip_in(q, other.start, other.width as usize, flips, &mut seed);
                    }
                    // The entry sits exactly at `radius`, and just out of reach of every other chunk.
                    assert_eq!(q.distance(&hashes[slot]), radius, "radius {radius} chunk {j}");
                    let got = index.query(&q, radius);
                    assert!(got.contains(&IndexHit { distance: radius, payload: slot as u32 }), "r {radius} c {j}");
                    if trial == 0 {
                        assert_eq!(got, index.brute_force(&q, radius), "radius {radius} chunk {j}");
                    }
                    // One more bit in that chunk leaves no chunk within its radius.
                    let far = flip_in(q, chunk.start, chunk.width as usize, 1, &mut seed);
                    assert_eq!(index.query(&far, radius), index.brute_force(&far, radius), "r {radius} c {j}");
                }
            }
        }
    }

    /// Many equal and nearly equal hashes: crowded buckets, every entry of them a hit.
    #[test]
    fn crowded_buckets_agree_with_brute_force() {
        let mut seed = 13;
        let (mut index, _) = random_index(&mut seed, 20_000);
        let crowd = PdqHash(std::array::from_fn(|_| rng(&mut seed)));
        for i in 0..12_000u32 {
            let h = if i % 2 == 0 { crowd } else { flip_bits(crowd, (i % 9) as usize, &mut seed) };
            index.add(h, 100_000 + i);
        }
        index.rebuild();
        for radius in [0, 4, 31] {
            let q = flip_bits(crowd, 3, &mut seed);
            let got = index.query(&q, radius);
            assert_eq!(got, index.brute_force(&q, radius), "radius {radius}");
            assert!(radius < 31 || got.len() >= 12_000);
        }
        let before = index.brute_force(&crowd, 0).len();
        assert!(index.remove(&crowd, 100_000));
        assert_eq!(index.query(&crowd, 0).len(), before - 1);
        assert_eq!(index.query(&crowd, 0), index.brute_force(&crowd, 0));
    }

    /// Queries whose `r` flipped bits are spread evenly over the chunks (and the unindexed bits).
    #[test]
    fn evenly_spread_flips_agree_with_brute_force() {
        let mut seed = 5;
        let (index, hashes) = random_index(&mut seed, 30_000);
        let chunks = index.chunks.clone();
        let covered: usize = chunks.iter().map(|c| c.width as usize).sum();
        for radius in 0..=40usize {
            for _ in 0..4 {
                let slot = (rng(&mut seed) % hashes.len() as u64) as usize;
                let mut q = hashes[slot];
                let parts = chunks.len() + usize::from(covered < 256);
                for p in 0..parts {
                    let n = radius / parts + usize::from(p < radius % parts);
                    q = match chunks.get(p) {
                        Some(c) => flip_in(q, c.start, c.width as usize, n, &mut seed),
                        None => flip_in(q, covered, 256 - covered, n, &mut seed),
                    };
                }
                for r in [radius.saturating_sub(1), radius, radius + 1] {
                    assert_eq!(index.query(&q, r as u32), index.brute_force(&q, r as u32), "radius {r}");
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

        /// Random sets with removes, duplicates and a tail, before and after a rebuild, at radii 0..=40.
        #[test]
        fn random_sets_agree_with_brute_force(
            seed0 in proptest::prelude::any::<u64>(),
            n in 16_000usize..40_000,
            removes in 0usize..600,
            tail in 0usize..600,
        ) {
            let mut seed = seed0;
            let (mut index, mut hashes) = random_index(&mut seed, n);
            index.rebuild();
            proptest::prop_assert!(index.query_plan(31).is_some(), "radius 31 uses the tables");
            for i in 0..tail {
                let h = if i % 7 == 0 { hashes[i] } else { PdqHash(std::array::from_fn(|_| rng(&mut seed))) };
                index.add(h, (n + i) as u32);
                hashes.push(h);
            }
            for _ in 0..removes {
                let slot = (rng(&mut seed) % hashes.len() as u64) as usize;
                index.remove(&hashes[slot], slot as u32);
            }
            for round in 0..2 {
                for radius in 0..=40u32 {
                    let slot = (rng(&mut seed) % hashes.len() as u64) as usize;
                    let q = flip_bits(hashes[slot], (rng(&mut seed) % 44) as usize, &mut seed);
                    proptest::prop_assert_eq!(index.query(&q, radius), index.brute_force(&q, radius), "round {}", round);
                }
                index.rebuild();
            }
        }
    }
}
