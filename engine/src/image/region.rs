//! The crop-robust region signal.
//!
//! PDQ looks at the whole frame, so a 15% crop moves it about 100 bits (measured on our fixtures: every
//! crop lands at 92 bits or more). And PDQ on sub-windows does not rescue it, because its 16x16
//! frequencies make it shift-sensitive: moving a window by 2% of its side already costs ~60 bits.
//! So regions get a coarser hash that tolerates misalignment: the 8x8 lowest DCT frequencies of the
//! window sampled at 32x32, DC dropped, thresholded at their median (63 bits). Measured on our
//! originals, a 4% shift moves it a median 10 bits and a 4% size change 7, while windows of unrelated
//! photos sit at 22 bits and more.
//!
//! Geometry: an original registers square windows on a ladder of sizes (from half its shorter side
//! to all of it, 8% apart) and positions (10% of the side apart), so any square inside it is within
//! about 4-5% of a registered one. A query hashes its own largest squares (three positions along its long
//! side) and squares of 0.9 of that side (corners and centre). A copy keeping at least 55% of each side
//! is then met by a registered window near one of those squares. Each window hit implies a scale and
//! offset of the query inside the original; hits are accepted when two windows agree on them (or one
//! is very close), which keeps look-alikes out and says where in the original the copy comes from.

use super::config::RegionConfig;
use super::decode::Luma;
use crate::column::{at_slot, Column};
use std::borrow::Cow;
use std::sync::OnceLock;

/// A 64-bit region hash (bit 63 is always zero; 63 frequencies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RegionHash(pub u64);

impl RegionHash {
    /// Hamming distance.
    #[inline]
    pub fn distance(self, other: RegionHash) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

/// A square window, in pixels of the image it was cut from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Side.
    pub side: f32,
}

/// A summed-area table for O(1) box sums at fractional coordinates.
struct Integral {
    width: usize,
    height: usize,
    /// (width + 1) x (height + 1); entry (x, y) sums pixels left of x and above y.
    sums: Vec<f64>,
}

impl Integral {
    /// The table of `luma`, in `sums` (whatever it held is overwritten).
    fn new(luma: &Luma, mut sums: Vec<f64>) -> Self {
        let (w, h) = (luma.width, luma.height);
        // The loop below writes every entry but the top row and the left column, which are zero.
        sums.resize((w + 1) * (h + 1), 0.0);
        sums[..=w].fill(0.0);
        for row in sums.chunks_exact_mut(w + 1) {
            row[0] = 0.0;
        }
        for y in 0..h {
            let mut row = 0f64;
            for x in 0..w {
                row += f64::from(luma.pixels[y * w + x]);
                sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + row;
            }
        }
        Self { width: w, height: h, sums }
    }

    /// Where each of `xs` (fractional points) falls between table columns: left column, right column,
    /// weight of the right one. Computed once per window and reused on every row.
    fn columns_at(&self, xs: &[f32; 33]) -> [(usize, usize, f64); 33] {
        xs.map(|x| {
            let x = f64::from(x).clamp(0.0, self.width as f64);
            let x0 = x.floor() as usize;
            (x0, (x0 + 1).min(self.width), x - x0 as f64)
        })
    }

    /// The table along row `y` at `columns` (from [`Integral::columns_at`]), into `out`, interpolated
    /// bilinearly: exact for the pixel-box image along each axis separately, which is all a box average
    /// needs at this resolution.
    fn row_at(&self, y: f32, columns: &[(usize, usize, f64); 33], out: &mut [f64]) {
        let y = f64::from(y).clamp(0.0, self.height as f64);
        let y0 = y.floor() as usize;
        let y1 = (y0 + 1).min(self.height);
        let fy = y - y0 as f64;
        let stride = self.width + 1;
        let (upper, lower) = (&self.sums[y0 * stride..(y0 + 1) * stride], &self.sums[y1 * stride..(y1 + 1) * stride]);
        for (slot, &(x0, x1, fx)) in out.iter_mut().zip(columns) {
            let top = upper[x0] * (1.0 - fx) + upper[x1] * fx;
            let bottom = lower[x0] * (1.0 - fx) + lower[x1] * fx;
            *slot = top * (1.0 - fy) + bottom * fy;
        }
    }
}

/// `D[u][x] = cos(pi * u * (2x + 1) / 64)` for u in 0..8, x in 0..32 (scale is irrelevant to signs).
fn dct8_matrix() -> &'static [f32; 8 * 32] {
    static MATRIX: OnceLock<[f32; 8 * 32]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let mut m = [0f32; 8 * 32];
        for u in 0..8 {
            for x in 0..32 {
                m[u * 32 + x] = (std::f64::consts::PI * u as f64 * (2.0 * x as f64 + 1.0) / 64.0).cos() as f32;
            }
        }
        m
    })
}

/// Hashes windows of one image.
pub struct WindowHasher {
    integral: Integral,
    min_contrast: f32,
}

impl WindowHasher {
    /// Prepares `luma` for window hashing.
    pub fn new(luma: &Luma, config: &RegionConfig) -> Self {
        Self::with_table(luma, config, Vec::new())
    }

    /// [`WindowHasher::new`] building its table in `table` (a buffer from [`WindowHasher::into_table`],
    /// whatever it holds), so that a caller hashing one plane after another reuses one allocation.
    pub fn with_table(luma: &Luma, config: &RegionConfig, table: Vec<f64>) -> Self {
        Self { integral: Integral::new(luma, table), min_contrast: config.min_window_contrast }
    }

    /// The table's buffer, for the next [`WindowHasher::with_table`].
    pub fn into_table(self) -> Vec<f64> {
        self.integral.sums
    }

    /// The hash of a window, or `None` when the window is too flat to carry one.
    pub fn hash(&self, window: &Window) -> Option<RegionHash> {
        self.frequencies(window).map(|(hash, _, _)| hash)
    }

    /// The hash of a window with its bits ranked least sure first (see [`QueryWindow::unsure`]).
    pub fn hash_ranked(&self, window: &Window) -> Option<(RegionHash, [u8; 63])> {
        let (hash, c, median) = self.frequencies(window)?;
        let mut unsure: [u8; 63] = std::array::from_fn(|k| k as u8);
        unsure.sort_by(|&a, &b| {
            (c[a as usize] - median).abs().total_cmp(&(c[b as usize] - median).abs()).then(a.cmp(&b))
        });
        Some((hash, unsure))
    }

    /// The hash, the 63 frequencies it thresholds and their median.
    fn frequencies(&self, window: &Window) -> Option<(RegionHash, [f32; 63], f32)> {
        // The 32x32 cell means are differences of the table at the 33x33 cell corners: each corner is
        // interpolated once, not four times.
        let cell = window.side / 32.0;
        let xs: [f32; 33] = std::array::from_fn(|j| window.x + cell * j as f32);
        let ys: [f32; 33] = std::array::from_fn(|i| window.y + cell * i as f32);
        let columns = self.integral.columns_at(&xs);
        let mut corners = [0f64; 33 * 33];
        for (i, &y) in ys.iter().enumerate() {
            self.integral.row_at(y, &columns, &mut corners[i * 33..(i + 1) * 33]);
        }
        let area = f64::from(cell * cell).max(1e-9);
        let mut samples = [0f32; 1024];
        for i in 0..32 {
            let (top, bottom) = (&corners[i * 33..(i + 1) * 33], &corners[(i + 1) * 33..(i + 2) * 33]);
            for j in 0..32 {
                samples[i * 32 + j] = ((bottom[j + 1] - bottom[j] - top[j + 1] + top[j]) / area) as f32;
            }
        }
        let mean = samples.iter().sum::<f32>() / 1024.0;
        let var = samples.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 1024.0;
        if var.sqrt() < self.min_contrast {
            return None;
        }
        let d = dct8_matrix();
        // B = D S (8 x 32), C = B D^T (8 x 8).
        let mut b = [0f32; 8 * 32];
        for u in 0..8 {
            for k in 0..32 {
                let duk = d[u * 32 + k];
                for j in 0..32 {
                    b[u * 32 + j] += duk * samples[k * 32 + j];
                }
            }
        }
        let mut c = [0f32; 63];
        for u in 0..8 {
            for v in 0..8 {
                if u == 0 && v == 0 {
                    continue;
                }
                let value: f32 = (0..32).map(|j| b[u * 32 + j] * d[v * 32 + j]).sum();
                c[u * 8 + v - 1] = value;
            }
        }
        let mut sorted = c;
        let (_, median, _) = sorted.select_nth_unstable_by(31, |a, b| a.total_cmp(b));
        let median = *median;
        let mut bits = 0u64;
        for (k, &v) in c.iter().enumerate() {
            if v > median {
                bits |= 1 << k;
            }
        }
        Some((RegionHash(bits), c, median))
    }
}

/// Most window positions per axis and size (a 4:3 photo needs at most 18 at the default step).
const MAX_POSITIONS: f32 = 24.0;

/// The registered ladder: square windows from `min_window` of the short side up to the short side,
/// `window_ratio` apart in size and `window_step` of the side apart in position, edges included.
pub fn registration_windows(width: usize, height: usize, config: &RegionConfig) -> Vec<Window> {
    let short = width.min(height) as f32;
    let mut out = Vec::new();
    let ratio = config.window_ratio.max(1.01);
    let mut fraction = config.min_window.clamp(0.1, 1.0);
    while fraction <= 1.0 + 1e-3 {
        let side = (short * fraction).min(short);
        let step = (side * config.window_step).max(1.0);
        // A panorama or a sliver would otherwise get thousands of positions: cap them per axis.
        let step_x = step.max((width as f32 - side) / MAX_POSITIONS);
        let step_y = step.max((height as f32 - side) / MAX_POSITIONS);
        for y in positions(height as f32, side, step_y) {
            for x in positions(width as f32, side, step_x) {
                out.push(Window { x, y, side });
            }
        }
        fraction *= ratio;
    }
    out
}

/// Offsets 0, step, 2 step, ... and the far edge, for a window of `side` in `length`.
fn positions(length: f32, side: f32, step: f32) -> Vec<f32> {
    let slack = (length - side).max(0.0);
    let n = (slack / step).floor() as usize;
    let mut out: Vec<f32> = (0..=n).map(|i| i as f32 * step).collect();
    if slack - n as f32 * step > step * 0.3 {
        out.push(slack);
    }
    out
}

/// The query's windows: its largest squares at the start, middle and end of its long side, and
/// squares of 0.9 of its short side at the four corners and the centre.
pub fn query_windows(width: usize, height: usize) -> Vec<Window> {
    let (w, h) = (width as f32, height as f32);
    let short = w.min(h);
    let mut out = Vec::new();
    let mut push = |x: f32, y: f32, side: f32| {
        if !out.iter().any(|o: &Window| (o.x - x).abs() < 1.0 && (o.y - y).abs() < 1.0 && (o.side - side).abs() < 1.0) {
            out.push(Window { x, y, side });
        }
    };
    for t in [0.0, 0.5, 1.0] {
        push((w - short) * t, (h - short) * t, short);
    }
    let side = short * 0.9;
    for (tx, ty) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 0.5)] {
        push((w - side) * tx, (h - side) * ty, side);
    }
    out
}

/// A query's window: its hash, where it lies, and which of its bits a copy is likely to flip.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryWindow {
    /// The window's hash.
    pub hash: RegionHash,
    /// The window, in the query's pixels.
    pub window: Window,
    /// The 63 bit positions, least sure first: ranked by how close each frequency is to the median
    /// that thresholds it. A copy's shift, rescale or re-encoding flips mostly these (see
    /// [`RegionIndex::query_ranked`]).
    pub unsure: [u8; 63],
}

/// A registered window: whose it is and where, in fractions of the original's shorter side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionEntry {
    /// The work it belongs to.
    pub work: u32,
    /// Left edge / short side.
    pub x: f32,
    /// Top edge / short side.
    pub y: f32,
    /// Side / short side.
    pub side: f32,
}

/// Chunks of the hash the tables index: three disjoint runs of `width` bits (63 bits carry the hash).
pub(super) const R_CHUNKS: usize = 3;
/// Chunk widths: 21 bits (three chunks cover the 63 hash bits) from about 2M windows (5,000 works)
/// up; narrower below, one bit per doubling, so that small indexes keep small tables (16 bits: 786 KB
/// of offsets in all).
const MIN_WIDTH: u32 = 16;
const MAX_WIDTH: u32 = 21;
/// Largest per-chunk probe radius: `C(21, <=3)` = 1,562 probes a chunk.
const MAX_CHUNK_RADIUS: u32 = 3;

/// The chunk width for `windows` indexed windows: buckets of about 1 to 2 windows at 21 bits and
/// below, until the widest; past it (1M works: ~140 a bucket) a query's cost grows with the index.
fn chunk_width(windows: usize) -> u32 {
    (usize::BITS - windows.leading_zeros()).clamp(MIN_WIDTH, MAX_WIDTH)
}

/// Widest key of chunk 0's table: 2^26 + 1 offsets, 268 MB, which at a million works (290M windows)
/// is 268 bytes a work for buckets of about 4 windows.
const MAX_FINE_WIDTH: u32 = 26;

/// The width of chunk 0's table key for `windows` indexed windows: the chunk's `width` bits and, once
/// buckets at that width hold more than about 4 windows, up to 5 more bits (the next chunk's lowest),
/// so that the key's buckets stay at about 2 to 4 windows. See [`RegionIndex`] for why.
fn fine_width(windows: usize) -> u32 {
    let width = chunk_width(windows);
    (usize::BITS - windows.leading_zeros()).saturating_sub(2).clamp(width, MAX_FINE_WIDTH.max(width))
}

/// The key of chunk 0's table: chunk 0's `width` bits above the `fine - width` bits that follow them
/// in the hash, so that the keys of one chunk-0 value are one run of the table.
#[inline]
fn fine_key(hash: u64, width: u32, fine: u32) -> usize {
    let extra = fine - width;
    (chunk_of(hash, 0, width) << extra) | ((hash >> width) as usize & ((1 << extra) - 1))
}

/// Window places are stored in 1/`PLACE_UNIT` of the original's short side, in 16 bits: 0.001 of the
/// side is far below the hash's own tolerance (4-5%), and 64 short sides is wider than any frame we
/// register windows across (panoramas cap their positions).
pub(super) const PLACE_UNIT: f32 = 1024.0;
/// The unindexed tail is folded into the tables when it exceeds max(MIN_TAIL, indexed / TAIL_SHARE):
/// queries scan the tail, so it stays a small share, and a rebuild (linear) is paid once per that
/// many added windows.
const MIN_TAIL: usize = 4096;
const TAIL_SHARE: usize = 64;

/// A multi-index hash over 64-bit region hashes: three chunks of up to 21 bits, the first two probed
/// within 3 bits and the last within 2 (the pigeonhole argument of the PDQ index: a window within 10
/// bits of the query is that close to it on some chunk; windows at 11 to 14 are found when one chunk
/// happens to be close enough, which for a true copy's several overlapping windows is the rule).
/// Probing the last chunk at 3 too (guarantee 11) cost 56% more query time at 100k works (37.8 ms
/// against 24.3) and found no more fixture copies at 10k or 100k; probing all three at 2 (guarantee 8)
/// lost 2 of the 52 fixture crops.
///
/// Why three wide chunks and not four of 16 bits: a query's cost is its probes times the windows per
/// bucket. At 10,000 works (2.9M windows) four 16-bit chunks at radius 3 meant 2,788 probes into
/// buckets of 44 windows per query window (24 ms a query, measured); three chunks of 21 bits mean 3,356
/// probes into buckets of 1.4.
///
/// Past 2M windows the width stays at 21 bits and buckets fill up (about 140 windows each at a million
/// works), so a query reads millions of candidates. They must be read in order, not at random: every
/// chunk's buckets are runs of its own array. Chunk 0's are the windows themselves: the hash (8
/// bytes), work (4) and place (three `u16`, 6) in arrays sorted by chunk 0. Chunks 1 and 2 keep, sorted
/// by their chunk (and by value within a bucket), each window's hash without that chunk's bits: at most
/// 48 bits, in 6 bytes (12 for both). A bucket's own bits are implied by the bucket, so a candidate's
/// distance is the distance of those 6 bytes plus the probe's. Only a hit (a few per query window)
/// goes back to chunk 0's bucket for the windows carrying that hash, to learn their works and places.
/// About 30 bytes a window, plus `2^width + 1` `u32` offsets per chunk, shared (24 MB in all at 21
/// bits, 0.8 MB at 16).
///
/// That look-up is why chunk 0's table has a finer key than the other two ([`fine_width`]): its
/// 21 bits and up to 5 more, so that the windows of one chunk-0 value are 32 consecutive buckets of
/// about 4, not one bucket of 140 to 270. A probe of chunk 0 reads the whole run, as before; a hit
/// reads one small bucket. At the 1M proxy, scanning those large buckets for hits' windows was 17% of
/// all the bench's samples (perf), the largest single cost of a query. The finer table costs
/// `4 * 2^fine` bytes (268 MB, 268 bytes a work at a million works; nothing below 2^23 windows).
///
/// Queries from the matcher flip only each chunk's least sure bits ([`RegionIndex::query_ranked`],
/// `RegionConfig::flips_per_chunk`): 12 of 21 bits probe 299 + 299 + 79 = 677 buckets a query
/// window instead of 3,356, which halved query time at 10,000 and 100,000 works with no copy lost.
///
/// The layout before kept a `u32` posting (a slot) per window in chunks 1 and 2 (26 bytes a window):
/// each candidate was a random load of its hash, and at 100,000 works a query took 26 ms against
/// 6.6 at 10,000. Windows added since the last rebuild sit in an unindexed tail that queries scan.
#[derive(Debug, Clone, Default)]
pub struct RegionIndex {
    /// Slots `0..indexed`: sorted by chunk 0 and covered by the tables; owned, or read in place
    /// from a snapshot.
    hashes: Column<u64>,
    works: Column<u32>,
    places: Column<[u16; 3]>,
    /// Slots `indexed..`: windows added since the last rebuild, scanned by queries. Kept apart so
    /// that adding a window to a matcher read in place does not copy its windows.
    tail: Tail,
    /// One bit per slot: set when removed (compacted away at the next rebuild).
    dead: Vec<u64>,
    dead_count: usize,
    /// Windows covered by the tables: `hashes.len()`.
    indexed: usize,
    /// Bits per chunk of the tables (set at each rebuild from the window count).
    width: u32,
    /// Bits of chunk 0's table key, at least `width` ([`fine_width`]; `width` in snapshots before
    /// version 8).
    fine: u32,
    /// Chunk 0's table of `2^fine + 1` offsets, then chunk 1's and 2's of `2^width + 1` (empty until
    /// the first rebuild).
    offsets: Column<u32>,
    /// For chunks 1.., `indexed` entries of [`REST_BYTES`] each (the hash without the chunk's bits,
    /// little-endian), back to back, then [`REST_PAD`] zero bytes so that any entry reads as a `u64`.
    rests: Column<u8>,
}

/// Windows added since the last rebuild.
#[derive(Debug, Clone, Default)]
struct Tail {
    hashes: Vec<u64>,
    works: Vec<u32>,
    places: Vec<[u16; 3]>,
}

/// Bytes of a chunk table entry: the 64 - width bits outside the chunk, width >= 16.
const REST_BYTES: usize = 6;
const REST_MASK: u64 = (1 << (8 * REST_BYTES)) - 1;
pub(super) const REST_PAD: usize = 8 - REST_BYTES;

impl RegionIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Live windows.
    pub fn len(&self) -> usize {
        self.slots() - self.dead_count
    }

    /// Slots in use, removed ones included.
    fn slots(&self) -> usize {
        self.indexed + self.tail.hashes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held (vector capacities), for the memory report.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.heap_bytes()
            + self.works.heap_bytes()
            + self.places.heap_bytes()
            + self.dead.capacity() * 8
            + self.offsets.heap_bytes()
            + self.rests.heap_bytes()
            + self.tail.hashes.capacity() * 8
            + self.tail.works.capacity() * 4
            + self.tail.places.capacity() * 6
    }

    /// Bytes read in place from a loaded snapshot (see [`ImageMatcher::from_shared`](super::ImageMatcher::from_shared)).
    pub fn mapped_bytes(&self) -> usize {
        self.hashes.shared_bytes()
            + self.works.shared_bytes()
            + self.places.shared_bytes()
            + self.offsets.shared_bytes()
            + self.rests.shared_bytes()
    }

    /// Adds one window (folding the tail into the tables when it has grown past its share).
    pub fn add(&mut self, hash: RegionHash, entry: RegionEntry) {
        self.add_deferred(hash, entry);
        if self.tail.hashes.len() > MIN_TAIL.max(self.indexed / TAIL_SHARE) {
            self.rebuild();
        }
    }

    /// Adds one window to the tail without ever rebuilding: for bulk loads, which call
    /// [`RegionIndex::rebuild`] once at the end (a rebuild per `1/TAIL_SHARE` growth would cost
    /// `TAIL_SHARE` passes over the whole index).
    pub fn add_deferred(&mut self, hash: RegionHash, entry: RegionEntry) {
        let slot = self.slots();
        self.tail.hashes.push(hash.0);
        self.tail.works.push(entry.work);
        let quantize = |v: f32| (v * PLACE_UNIT).round().clamp(0.0, f32::from(u16::MAX)) as u16;
        self.tail.places.push([quantize(entry.x), quantize(entry.y), quantize(entry.side).max(1)]);
        if slot / 64 >= self.dead.len() {
            self.dead.push(0);
        }
    }

    /// Whether windows were added or removed since the last rebuild.
    pub fn is_stale(&self) -> bool {
        !self.tail.hashes.is_empty() || self.dead_count > 0
    }

    /// The window in `slot`, as a query reported it (valid until the index changes). Queries report
    /// only the work and the slot: most windows they find are lone look-alikes of works no other window
    /// votes for, and their places (a second random load each) are never needed.
    pub fn entry(&self, slot: usize) -> RegionEntry {
        let work = at_slot(&self.works, &self.tail.works, slot);
        let [x, y, side] = at_slot(&self.places, &self.tail.places, slot);
        RegionEntry {
            work,
            x: f32::from(x) / PLACE_UNIT,
            y: f32::from(y) / PLACE_UNIT,
            side: f32::from(side) / PLACE_UNIT,
        }
    }

    #[inline]
    fn is_dead(&self, slot: usize) -> bool {
        self.dead_count > 0 && (self.dead[slot / 64] >> (slot % 64)) & 1 == 1
    }

    /// Calls `visit` with every live window, in slot order (deterministic for a given history).
    pub fn for_each_live(&self, mut visit: impl FnMut(RegionHash, &RegionEntry)) {
        for (slot, &hash) in self.hashes.iter().chain(&self.tail.hashes).enumerate() {
            if !self.is_dead(slot) {
                visit(RegionHash(hash), &self.entry(slot));
            }
        }
    }

    /// Removes every window of `work` (a linear pass; removal is rare).
    pub fn remove_work(&mut self, work: u32) -> usize {
        let mut removed = 0;
        for (slot, &owner) in self.works.iter().chain(&self.tail.works).enumerate() {
            if owner == work && !self.is_dead(slot) {
                self.dead[slot / 64] |= 1 << (slot % 64);
                removed += 1;
            }
        }
        self.dead_count += removed;
        removed
    }

    /// Sorts the live windows by chunk 0 (a stable counting sort) and rebuilds the tables, compacting
    /// removed windows away. Called by `add` as the tail grows; call it after a bulk load.
    pub fn rebuild(&mut self) {
        let n = self.len();
        self.rebuild_at(fine_width(n) - chunk_width(n));
    }

    /// [`RegionIndex::rebuild`] with chunk 0's key `extra` bits wider than the chunk (tests try keys
    /// wider than the rule gives an index small enough for them).
    fn rebuild_at(&mut self, extra: u32) {
        let n = self.len();
        let width = chunk_width(n);
        let fine = width + extra;
        let (order, first) = self.chunk0_order(width, fine);
        let tail = &self.tail;
        let hashes = gather(&order, &self.hashes, &tail.hashes);
        let works = gather(&order, &self.works, &tail.works);
        let places = gather(&order, &self.places, &tail.places);
        drop(order);
        (self.hashes, self.works, self.places) = (hashes.into(), works.into(), places.into());
        self.tail = Tail::default();
        // No windows, no tables: what a snapshot stores and `from_columns` expects for none.
        let (offsets, rests) = if n == 0 { (Vec::new(), Vec::new()) } else { later_tables(&self.hashes, width, first) };
        self.dead = vec![0; n.div_ceil(64)];
        self.dead_count = 0;
        self.offsets = offsets.into();
        self.rests = rests.into();
        self.indexed = n;
        self.width = if n == 0 { 0 } else { width };
        self.fine = if n == 0 { 0 } else { fine };
    }

    /// The live windows as a snapshot stores them: in canonical order (by chunk 0, stable), with
    /// every chunk's table (offsets, and the entries of chunks 1.. with their padding). Borrowed when
    /// the index is fresh; when windows were added or removed since the last rebuild, taken from a
    /// rebuilt copy (snapshots are written after `optimize`, so that copy is the exception).
    pub(super) fn parts(&self) -> RegionParts<'_> {
        // A table read from a version-7 snapshot has a chunk-0 key of the chunk's width.
        if self.is_stale() || self.fine != fine_width(self.indexed) && self.indexed > 0 {
            let mut fresh = self.clone();
            fresh.rebuild();
            return RegionParts {
                hashes: Cow::Owned(fresh.hashes.into_vec()),
                works: Cow::Owned(fresh.works.into_vec()),
                places: Cow::Owned(fresh.places.into_vec()),
                offsets: Cow::Owned(fresh.offsets.into_vec()),
                rests: Cow::Owned(fresh.rests.into_vec()),
            };
        }
        RegionParts {
            hashes: Cow::Borrowed(&self.hashes),
            works: Cow::Borrowed(&self.works),
            places: Cow::Borrowed(&self.places),
            offsets: Cow::Borrowed(&self.offsets),
            rests: Cow::Borrowed(&self.rests),
        }
    }

    /// An index over columns a snapshot stored ([`RegionIndex::parts`]' form), read in place or
    /// owned, checked in full: [`RegionIndex::from_columns_unchecked`], then
    /// [`RegionIndex::check_contents`].
    pub(super) fn from_columns(columns: RegionColumns) -> Result<Self, &'static str> {
        let index = Self::from_columns_unchecked(columns)?;
        index.check_contents()?;
        Ok(index)
    }

    /// An index over columns a snapshot stored, checked only in what their lengths say: columns of
    /// one length, tables of the size the window count gives. No value is read, so that a mapped
    /// snapshot of gigabytes is usable before its pages were read from disk; the values are checked
    /// by [`RegionIndex::check_contents`], which a load runs later (see
    /// [`ImageMatcher::from_shared_deferred`](super::ImageMatcher::from_shared_deferred)). Until then
    /// queries stay safe whatever the values: offsets are clamped to the windows, a window of an
    /// unknown work finds no work to report, and a window of no size casts no vote.
    pub(super) fn from_columns_unchecked(columns: RegionColumns) -> Result<Self, &'static str> {
        let RegionColumns { hashes, works, places, offsets, rests } = columns;
        let n = hashes.len();
        if works.len() != n || places.len() != n {
            return Err("window columns of different lengths");
        }
        if n > u32::MAX as usize {
            return Err("too many windows");
        }
        let width = chunk_width(n);
        // Offsets of the chunk width for chunk 0 too: a snapshot before version 8.
        let coarse = offsets.len() == region_offsets_len(n, false);
        let fine = if coarse { width } else { fine_width(n) };
        if n == 0 {
            if !offsets.is_empty() || !rests.is_empty() {
                return Err("tables without windows");
            }
        } else if offsets.len() != region_offsets_len(n, !coarse) || rests.len() != region_rest_len(n) + REST_PAD {
            return Err("region tables of the wrong size");
        }
        Ok(Self {
            hashes,
            works,
            places,
            tail: Tail::default(),
            dead: vec![0; n.div_ceil(64)],
            dead_count: 0,
            indexed: n,
            width: if n == 0 { 0 } else { width },
            fine: if n == 0 { 0 } else { fine },
            offsets,
            rests,
        })
    }

    /// The checks of stored values [`RegionIndex::from_columns_unchecked`] leaves out: places with a
    /// positive side, and offsets that partition the windows. What no check here catches (a window
    /// or table entry filed under the wrong bucket or out of order) can only hide a window from a
    /// query or report one twice, never report one that is not there or read outside a column: a
    /// hit is looked up among the windows themselves, and every offset is at most the window count.
    pub(super) fn check_contents(&self) -> Result<(), &'static str> {
        check_stored(&self.places, &self.offsets, self.width, self.fine)
    }

    /// What [`RegionIndex::check_contents`] reads, taken out (views are shared, not copied) so that a
    /// load can run the checks later, on another thread, with the index already in use.
    pub(super) fn contents(&self) -> RegionContents {
        RegionContents {
            works: self.works.clone(),
            places: self.places.clone(),
            offsets: self.offsets.clone(),
            width: self.width,
            fine: self.fine,
        }
    }

    /// The live slots in the order a rebuild leaves them (a stable counting sort by chunk 0's key,
    /// [`fine_key`]), and chunk 0's `2^fine + 1` bucket offsets in that order. Slots are `u32`: at a
    /// million works the order takes 1.2 GB where `usize` took 2.3.
    fn chunk0_order(&self, width: u32, fine: u32) -> (Vec<u32>, Vec<u32>) {
        let (hashes, tail) = (&*self.hashes, &self.tail.hashes);
        let live = || (0..self.slots()).filter(|&slot| !self.is_dead(slot));
        let chunk = |slot: usize| fine_key(at_slot(hashes, tail, slot), width, fine);
        let mut offsets = vec![0u32; (1 << fine) + 1];
        for slot in live() {
            offsets[chunk(slot) + 1] += 1;
        }
        for b in 1..offsets.len() {
            offsets[b] += offsets[b - 1];
        }
        let mut next = offsets.clone();
        let mut order = vec![0u32; self.len()];
        for slot in live() {
            let at = &mut next[chunk(slot)];
            order[*at as usize] = slot as u32;
            *at += 1;
        }
        (order, offsets)
    }

    /// Every live window within `radius` of `query`: its work, slot ([`RegionIndex::entry`]) and
    /// distance (`radius` up to 15).
    pub fn query(&self, query: RegionHash, radius: u32, visit: impl FnMut(u32, usize, u32)) {
        let all = (1usize << self.width) - 1;
        self.query_flipping(query, radius, [all; R_CHUNKS], visit);
    }

    /// Live windows within `radius` of `query`, probing each chunk only with flips of its
    /// `flips_per_chunk` least sure bits (`unsure`, least sure first, as [`QueryWindow::unsure`]
    /// ranks them). Each window reported is within `radius`; a window is sure to be reported when, on
    /// some chunk, every bit it differs in is one of those and there are at most that chunk's radius of
    /// them. With every bit flippable this is [`RegionIndex::query`].
    pub fn query_ranked(
        &self,
        query: RegionHash,
        unsure: &[u8],
        flips_per_chunk: u32,
        radius: u32,
        visit: impl FnMut(u32, usize, u32),
    ) {
        let width = self.width as usize;
        let mut masks = [0usize; R_CHUNKS];
        let mut taken = [0u32; R_CHUNKS];
        // Width 0: no tables yet, only the scanned tail.
        for &bit in unsure.iter().filter(|_| width > 0) {
            let (c, within) = (usize::from(bit) / width, usize::from(bit) % width);
            if c < R_CHUNKS && taken[c] < flips_per_chunk {
                masks[c] |= 1 << within;
                taken[c] += 1;
            }
        }
        self.query_flipping(query, radius, masks, visit);
    }

    /// The probe loop: chunk `c` is probed at the values `key ^ f` for every `f` made of at most its
    /// radius of the bits of `masks[c]`.
    fn query_flipping(
        &self,
        query: RegionHash,
        radius: u32,
        masks: [usize; R_CHUNKS],
        mut visit: impl FnMut(u32, usize, u32),
    ) {
        let (width, fine) = (self.width, self.fine);
        let radii = chunk_radii(radius);
        let keys: [usize; R_CHUNKS] = std::array::from_fn(|c| chunk_of(query.0, c, width));
        // Was a hash probed at on chunk `e` (and so reported there, when within the radius)?
        let probed = |hash: u64, e: usize| {
            let flips = chunk_of(hash, e, width) ^ keys[e];
            flips & !masks[e] == 0 && flips.count_ones() <= radii[e]
        };
        // Columns may be views into shared bytes: resolve them once, not per candidate.
        let (hashes, all_offsets, rests) = (&*self.hashes, &*self.offsets, &*self.rests);
        // At a million works nearly every load below misses the cache (the tables are gigabytes), and
        // a miss that depends on the one before cannot overlap it. So each step gathers its addresses
        // first and loads them in a loop of independent loads: the probes' offsets, then their
        // buckets; the hits' hashes for their windows; the windows' works. Measured at the 1M proxy
        // against loading each as found: region and vote samples 18.6-22.6k against 33-41k (perf, two
        // runs each), the PDQ and verification samples alike.
        let mut hits: Vec<(usize, u32)> = Vec::new();
        let mut check = |slot: usize, hash: u64| {
            let d = (hash ^ query.0).count_ones();
            if d <= radius && !self.is_dead(slot) {
                hits.push((slot, d));
            }
        };
        if self.indexed > 0 {
            let n = self.indexed;
            let span = (1 << width) + 1;
            let first = (1 << fine) + 1;
            // A chunk-0 value's windows: the run of its 2^(fine - width) keys.
            let extra = fine - width;
            let mut values = Vec::new();
            for_each_flip(keys[0], masks[0], radii[0], |value| values.push(value));
            let runs = |values: &[usize], offsets: &[u32], extra: usize| -> Vec<(usize, usize)> {
                values.iter().map(|&v| run(offsets, v << extra, (v + 1) << extra, n)).collect()
            };
            for (start, end) in runs(&values, all_offsets, extra as usize) {
                for (i, &hash) in hashes[start..end].iter().enumerate() {
                    check(start + i, hash);
                }
            }
            let mut found = Vec::new();
            for (c, &key) in keys.iter().enumerate().skip(1) {
                let table = &rests[(c - 1) * n * REST_BYTES..c * n * REST_BYTES + REST_PAD];
                let query_rest = rest_of(query.0, c, width);
                let offsets = &all_offsets[first + (c - 1) * span..first + c * span];
                values.clear();
                for_each_flip(key, masks[c], radii[c], |value| values.push(value));
                for (&value, (start, end)) in values.iter().zip(runs(&values, offsets, 0)) {
                    let probe = (value ^ key).count_ones();
                    let budget = radius - probe;
                    let mut previous = None;
                    for i in start..end {
                        let rest = read_rest(table, i);
                        // Equal hashes sit side by side (buckets are sorted) and are all reported by
                        // the first.
                        if (rest ^ query_rest).count_ones() > budget || previous == Some(rest) {
                            continue;
                        }
                        previous = Some(rest);
                        let hash = with_chunk(rest, value, c, width);
                        // Reported by an earlier chunk already when close enough there.
                        if (0..c).any(|e| probed(hash, e)) {
                            continue;
                        }
                        found.push(hash);
                    }
                }
            }
            let lookups: Vec<(usize, usize)> = found
                .iter()
                .map(|&hash| fine_key(hash, width, fine))
                .map(|key| run(all_offsets, key, key + 1, n))
                .collect();
            for (&hash, (start, end)) in found.iter().zip(lookups) {
                for (i, &window) in hashes[start..end].iter().enumerate() {
                    if window == hash {
                        check(start + i, hash);
                    }
                }
            }
        }
        // The tail is scanned.
        for (t, &hash) in self.tail.hashes.iter().enumerate() {
            check(self.indexed + t, hash);
        }
        let (works, tail_works) = (&*self.works, &self.tail.works);
        let owners: Vec<u32> = hits.iter().map(|&(slot, _)| at_slot(works, tail_works, slot)).collect();
        for ((slot, d), work) in hits.into_iter().zip(owners) {
            visit(work, slot, d);
        }
    }
}

/// The columns and tables of a region index as its snapshot keeps them (see [`RegionIndex::parts`]).
pub(super) struct RegionParts<'a> {
    /// Window hashes, sorted by chunk 0.
    pub hashes: Cow<'a, [u64]>,
    /// The work of each window.
    pub works: Cow<'a, [u32]>,
    /// Each window's x, y and side in 1/[`PLACE_UNIT`] of its original's short side.
    pub places: Cow<'a, [[u16; 3]]>,
    /// [`region_offsets_len`] offsets: chunk 0's table, then chunk 1's and 2's (none when there are no windows).
    pub offsets: Cow<'a, [u32]>,
    /// `hashes.len()` entries of [`REST_BYTES`] for each chunk after the first, then [`REST_PAD`]
    /// bytes (none when there are no windows).
    pub rests: Cow<'a, [u8]>,
}

/// [`RegionParts`] as a load hands them to [`RegionIndex::from_columns`]: owned, or read in place.
pub(super) struct RegionColumns {
    pub hashes: Column<u64>,
    pub works: Column<u32>,
    pub places: Column<[u16; 3]>,
    pub offsets: Column<u32>,
    pub rests: Column<u8>,
}

/// Offsets in one chunk's table for `windows` windows (`2^width + 1`; none without windows).
pub(super) fn region_table_span(windows: usize) -> usize {
    if windows == 0 {
        0
    } else {
        (1 << chunk_width(windows)) + 1
    }
}

/// Offsets in all three chunks' tables for `windows` windows: chunk 0's of its finer key
/// ([`fine_width`]) when `fine`, else of the chunk width (snapshots before version 8).
pub(super) fn region_offsets_len(windows: usize, fine: bool) -> usize {
    if windows == 0 || !fine {
        R_CHUNKS * region_table_span(windows)
    } else {
        (1 << fine_width(windows)) + 1 + (R_CHUNKS - 1) * region_table_span(windows)
    }
}

/// Bytes of table entries a snapshot stores for `windows` windows, padding excluded (see
/// [`RegionParts::rests`]).
pub(super) fn region_rest_len(windows: usize) -> usize {
    (R_CHUNKS - 1) * windows * REST_BYTES
}

/// Chunk 0's offsets for `hashes`, which must be sorted by chunk 0: what a version-5 snapshot left
/// out of its tables.
pub(super) fn chunk0_offsets(hashes: &[u64]) -> Result<Vec<u32>, &'static str> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let width = chunk_width(hashes.len());
    let mut offsets = vec![0u32; (1 << width) + 1];
    let mut previous = 0;
    for &hash in hashes {
        let bucket = chunk_of(hash, 0, width);
        if bucket < previous {
            return Err("windows out of order");
        }
        previous = bucket;
        offsets[bucket + 1] += 1;
    }
    for b in 1..offsets.len() {
        offsets[b] += offsets[b - 1];
    }
    Ok(offsets)
}

/// All chunks' offsets (chunk 0's are `first`, computed by the caller's sort) and the entries of
/// chunks 1.. with their padding, for `hashes` sorted by chunk 0: a counting sort per chunk, then a
/// sort within each bucket, so that equal hashes sit side by side.
fn later_tables(hashes: &[u64], width: u32, first: Vec<u32>) -> (Vec<u32>, Vec<u8>) {
    let n = hashes.len();
    let buckets = 1usize << width;
    let chunk0 = first.len();
    let mut offsets = first;
    offsets.resize(chunk0 + (R_CHUNKS - 1) * (buckets + 1), 0);
    let mut rests = Vec::with_capacity((R_CHUNKS - 1) * n * REST_BYTES + REST_PAD);
    let mut sorted = vec![0u64; n];
    for c in 1..R_CHUNKS {
        let base = chunk0 + (c - 1) * (buckets + 1);
        for &hash in hashes {
            offsets[base + chunk_of(hash, c, width) + 1] += 1;
        }
        for b in 1..=buckets {
            offsets[base + b] += offsets[base + b - 1];
        }
        let mut next: Vec<u32> = offsets[base..base + buckets].to_vec();
        for &hash in hashes {
            let bucket = chunk_of(hash, c, width);
            sorted[next[bucket] as usize] = rest_of(hash, c, width);
            next[bucket] += 1;
        }
        drop(next);
        for b in 0..buckets {
            let (start, end) = (offsets[base + b] as usize, offsets[base + b + 1] as usize);
            if end - start > 1 {
                sorted[start..end].sort_unstable();
            }
        }
        for rest in &sorted {
            rests.extend_from_slice(&rest.to_le_bytes()[..REST_BYTES]);
        }
    }
    rests.extend_from_slice(&[0; REST_PAD]);
    (offsets, rests)
}

/// A region index's stored values, for checks a load runs after the index is in use (see
/// [`RegionIndex::contents`]).
pub(super) struct RegionContents {
    /// Each window's work, for the caller to check against the registered works.
    pub works: Column<u32>,
    places: Column<[u16; 3]>,
    offsets: Column<u32>,
    width: u32,
    fine: u32,
}

impl RegionContents {
    /// [`RegionIndex::check_contents`] on the values taken.
    pub(super) fn check(&self) -> Result<(), &'static str> {
        check_stored(&self.places, &self.offsets, self.width, self.fine)
    }
}

/// Places with a positive side, and each table's offsets a partition of the windows (see
/// [`RegionIndex::check_contents`]); the table sizes were checked when the index was made.
fn check_stored(places: &[[u16; 3]], offsets: &[u32], width: u32, fine: u32) -> Result<(), &'static str> {
    if places.iter().any(|p| p[2] == 0) {
        return Err("window geometry out of range");
    }
    let n = places.len();
    if n == 0 {
        return Ok(());
    }
    let span = (1usize << width) + 1;
    let (chunk0, later) = offsets.split_at(((1usize << fine) + 1).min(offsets.len()));
    for table in std::iter::once(chunk0).chain(later.chunks_exact(span)) {
        if table.first() != Some(&0)
            || table.last().map(|&o| o as usize) != Some(n)
            || table.windows(2).any(|w| w[0] > w[1])
        {
            return Err("region offsets out of order");
        }
    }
    Ok(())
}

/// The windows (table entries) of keys `from..to` of a table: between their offsets, clamped so that
/// offsets a load has not checked yet ([`RegionIndex::check_contents`]) can only give a wrong run,
/// never one outside the `n` windows.
#[inline]
fn run(offsets: &[u32], from: usize, to: usize, n: usize) -> (usize, usize) {
    let end = (offsets[to] as usize).min(n);
    ((offsets[from] as usize).min(end), end)
}

/// Each chunk's probe radius for a query at `radius`: raised one chunk at a time, round robin, until a
/// window within `radius` must be that close on some chunk (pigeonhole: the radii plus one each sum
/// past `radius`), at most 3, 3 and 2. The last chunk stops at 2: 232 probes instead of 1,562 at 21
/// bits, so the guarantee is 10 bits, not 11, and past it (the matcher asks for 14) windows are found
/// when a chunk happens to be close enough. Before, the radii were `radius / 3` (the last one less),
/// which at radius 5 or 8 guaranteed only 4 or 7: a proptest found the window it missed.
fn chunk_radii(radius: u32) -> [u32; R_CHUNKS] {
    let caps = [MAX_CHUNK_RADIUS, MAX_CHUNK_RADIUS, MAX_CHUNK_RADIUS - 1];
    let mut radii = [0u32; R_CHUNKS];
    let mut c = 0;
    while radii.iter().map(|r| r + 1).sum::<u32>() <= radius && radii != caps {
        radii[c] = (radii[c] + 1).min(caps[c]);
        c = (c + 1) % R_CHUNKS;
    }
    radii
}

/// The values of `slots` (numbered as [`at_slot`] numbers them), in that order.
fn gather<T: Copy>(slots: &[u32], base: &[T], tail: &[T]) -> Vec<T> {
    slots.iter().map(|&slot| at_slot(base, tail, slot as usize)).collect()
}

/// Bits `width * c ..` of `hash`: chunk `c` of the tables.
#[inline]
fn chunk_of(hash: u64, c: usize, width: u32) -> usize {
    ((hash >> (width as usize * c)) & ((1 << width) - 1)) as usize
}

/// `hash` without chunk `c`'s bits (the bits above it moved down): 64 - width bits, at most 48.
#[inline]
fn rest_of(hash: u64, c: usize, width: u32) -> u64 {
    let low = width as usize * c;
    let below = hash & ((1u64 << low) - 1);
    let above = hash.checked_shr((low + width as usize) as u32).unwrap_or(0);
    (below | (above << low)) & REST_MASK
}

/// The hash whose chunk `c` is `value` and whose other bits are `rest` (inverse of [`rest_of`]).
#[inline]
fn with_chunk(rest: u64, value: usize, c: usize, width: u32) -> u64 {
    let low = width as usize * c;
    let below = rest & ((1u64 << low) - 1);
    let above = rest >> low;
    below | ((value as u64) << low) | above.checked_shl(low as u32 + width).unwrap_or(0)
}

/// Entry `i` of a chunk table (see [`RegionIndex::rests`]).
#[inline]
fn read_rest(table: &[u8], i: usize) -> u64 {
    let at = i * REST_BYTES;
    let bytes: [u8; 8] = table[at..at + 8].try_into().unwrap_or([0; 8]);
    u64::from_le_bytes(bytes) & REST_MASK
}

/// Calls `visit` with `key` and every value `key ^ f`, where `f` is made of 1 to `radius` (up to 3)
/// of the bits set in `mask`.
fn for_each_flip(key: usize, mask: usize, radius: u32, mut visit: impl FnMut(usize)) {
    visit(key);
    let mut bits = [0usize; usize::BITS as usize];
    let mut n = 0;
    for b in 0..usize::BITS as usize {
        if mask >> b & 1 == 1 {
            bits[n] = 1 << b;
            n += 1;
        }
    }
    let bits = &bits[..n];
    if radius == 0 {
        return;
    }
    for (i1, &b1) in bits.iter().enumerate() {
        let k1 = key ^ b1;
        visit(k1);
        if radius < 2 {
            continue;
        }
        for (i2, &b2) in bits.iter().enumerate().skip(i1 + 1) {
            let k2 = k1 ^ b2;
            visit(k2);
            if radius < 3 {
                continue;
            }
            for &b3 in &bits[i2 + 1..] {
                visit(k2 ^ b3);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    fn texture(w: usize, h: usize) -> Luma {
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 / 37.0, y as f32 / 23.0);
                pixels.push(128.0 + 60.0 * fx.sin() * fy.cos() + 40.0 * ((fx + fy) * 0.7).sin());
            }
        }
        Luma { width: w, height: h, pixels }
    }

    #[test]
    fn chunk_radii_guarantee_the_radius_up_to_ten() {
        for radius in 0..=16 {
            let radii = chunk_radii(radius);
            let guaranteed: u32 = radii.iter().map(|r| r + 1).sum::<u32>() - 1;
            assert!(guaranteed >= radius.min(10), "radius {radius}: {radii:?}");
            assert!(radii[0] <= MAX_CHUNK_RADIUS && radii[2] < MAX_CHUNK_RADIUS, "{radii:?}");
        }
        assert_eq!(chunk_radii(14), [3, 3, 2], "the matcher's radius probes as before");
        assert_eq!(chunk_radii(8), [2, 2, 2]);
    }

    #[test]
    fn ladder_covers_sizes_and_edges() {
        let windows = registration_windows(400, 300, &RegionConfig::default());
        assert!(windows.iter().any(|w| (w.side - 165.0).abs() < 1.0 && w.x == 0.0));
        assert!(windows.iter().any(|w| (w.x + w.side - 400.0).abs() < 1.0));
        assert!(windows.iter().all(|w| w.x + w.side <= 400.5 && w.y + w.side <= 300.5));
    }

    #[test]
    fn shifted_window_hash_stays_close_and_index_finds_it() {
        let luma = texture(300, 200);
        let hasher = WindowHasher::new(&luma, &RegionConfig::default());
        let a = hasher.hash(&Window { x: 50.0, y: 20.0, side: 150.0 }).expect("textured");
        let b = hasher.hash(&Window { x: 53.0, y: 22.0, side: 150.0 }).expect("textured");
        assert!(a.distance(b) <= 10, "{}", a.distance(b));
        let mut index = RegionIndex::new();
        index.add(a, RegionEntry { work: 7, x: 0.25, y: 0.1, side: 0.75 });
        let mut found = Vec::new();
        index.query(b, 14, |work, _, d| found.push((work, d)));
        assert_eq!(found, vec![(7, a.distance(b))]);
        assert_eq!(index.remove_work(7), 1);
        let mut after = 0;
        index.query(b, 14, |_, _, _| after += 1);
        assert_eq!(after, 0);
    }

    proptest::proptest! {
        /// The tables find exactly what a scan finds, before and after rebuilds and removals, up to the
        /// radius the chunk radii (3, 3, 2) guarantee (10).
        #[test]
        fn index_finds_what_a_scan_finds(
            seeds in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..300),
            flips in proptest::collection::vec(0u32..64, 0..14),
            radius in 0u32..11,
            removed in 0u32..8,
            extra in 0u32..6,
        ) {
            let mut index = RegionIndex::new();
            for (k, &seed) in seeds.iter().enumerate() {
                index.add(RegionHash(seed), RegionEntry { work: k as u32 % 8, x: 0.5, y: 0.25, side: 0.75 });
            }
            index.rebuild_at(extra);
            index.remove_work(removed);
            // More after the rebuild: these stay in the scanned tail.
            for (k, &seed) in seeds.iter().enumerate().take(20) {
                index.add(RegionHash(seed.rotate_left(7)), RegionEntry { work: 100 + k as u32, x: 0.0, y: 0.0, side: 1.0 });
            }
            let query = flips.iter().fold(seeds[0], |h, &b| h ^ (1 << b));
            let mut found = Vec::new();
            index.query(RegionHash(query), radius, |work, _, d| found.push((work, d)));
            let mut expected = Vec::new();
            index.for_each_live(|h, e| {
                if h.distance(RegionHash(query)) <= radius {
                    expected.push((e.work, h.distance(RegionHash(query))));
                }
            });
            found.sort_unstable();
            expected.sort_unstable();
            proptest::prop_assert_eq!(found, expected);
        }
    }

    /// A rebuilt index of crowded buckets: each pick is three chunk values (of six, at width 16, the
    /// width of small indexes) and two high bits, so all windows fall in few buckets and many share a
    /// hash; works repeat every 50 windows. With the first pick's hash.
    fn crowded(picks: &[(usize, usize, usize, u64)], extra: u32) -> (RegionIndex, u64) {
        let value = |k: usize| [0u64, 0xffff, 0x0f0f, 0x1234, 0x8001, 0x7ffe][k];
        let hash =
            |&(a, b, c, tail): &(usize, usize, usize, u64)| value(a) | value(b) << 16 | value(c) << 32 | (tail << 48);
        let mut index = RegionIndex::new();
        for (k, pick) in picks.iter().enumerate() {
            index.add_deferred(RegionHash(hash(pick)), RegionEntry { work: k as u32 % 50, x: 0.0, y: 0.0, side: 1.0 });
        }
        index.rebuild_at(extra);
        (index, hash(&picks[0]))
    }

    proptest::proptest! {
        /// Crowded buckets and equal hashes (a few chunk values, a few distinct hashes shared by many
        /// windows): each live window within the radius is reported exactly once, as a scan finds it.
        #[test]
        fn crowded_tables_report_each_window_once(
            picks in proptest::collection::vec((0usize..6, 0usize..6, 0usize..6, 0u64..4), 1..400),
            flips in proptest::collection::vec(0u32..63, 0..12),
            radius in 0u32..15,
            removed in proptest::option::of(0u32..50),
            extra in 0u32..6,
        ) {
            let (mut index, base) = crowded(&picks, extra);
            if let Some(work) = removed {
                index.remove_work(work);
            }
            let query = flips.iter().fold(base, |h, &bit| h ^ (1 << bit));
            let mut found = Vec::new();
            index.query(RegionHash(query), radius, |work, _, d| found.push((work, d)));
            // What the chunk radii (r, r, r - 1) guarantee by pigeonhole; beyond it, what a close
            // chunk happens to find.
            let r = (radius / 3).min(3);
            let guarantee = radius.min(2 * (r + 1) + r.saturating_sub(1));
            let mut expected = Vec::new();
            index.for_each_live(|h, e| {
                let d = h.distance(RegionHash(query));
                if d <= guarantee {
                    expected.push((e.work, d));
                }
            });
            found.sort_unstable();
            expected.sort_unstable();
            // Works repeat (k % 50), so these are multisets of (work, distance): a window reported
            // twice would show as an extra pair.
            let within: Vec<_> = found.iter().copied().filter(|&(_, d)| d <= guarantee).collect();
            proptest::prop_assert_eq!(within, expected);
            proptest::prop_assert!(found.iter().all(|&(_, d)| d <= radius));
        }

        /// A ranked query reports exactly the live windows within the radius that differ from it, on
        /// some chunk, only in flippable bits (the chunk's first `flips` in `unsure`) and in at most
        /// that chunk's radius of them: each once, in crowded buckets too.
        #[test]
        fn ranked_queries_report_what_their_flips_reach_once(
            picks in proptest::collection::vec((0usize..6, 0usize..6, 0usize..6, 0u64..4), 1..400),
            flipped in proptest::collection::vec(0u32..63, 0..12),
            unsure in proptest::strategy::Just((0u8..63).collect::<Vec<u8>>()).prop_shuffle(),
            flips in 0u32..17,
            radius in 0u32..15,
            extra in 0u32..6,
        ) {
            let (index, base) = crowded(&picks, extra);
            let query = flipped.iter().fold(base, |h, &bit| h ^ (1 << bit));
            let mut found = Vec::new();
            index.query_ranked(RegionHash(query), &unsure, flips, radius, |work, _, d| found.push((work, d)));
            let width = index.width as usize;
            // Chunk c's flippable bits: its first `flips` bits in the ranking, as hash bit masks.
            let flippable: Vec<u64> = (0..R_CHUNKS)
                .map(|c| {
                    unsure
                        .iter()
                        .filter(|&&b| usize::from(b) / width == c)
                        .take(flips as usize)
                        .fold(0u64, |m, &b| m | 1 << b)
                })
                .collect();
            let chunk = |c: usize| ((1u64 << width) - 1) << (width * c);
            let radii = chunk_radii(radius);
            let mut expected = Vec::new();
            index.for_each_live(|h, e| {
                let diff = h.0 ^ query;
                let reached = (0..R_CHUNKS)
                    .any(|c| diff & chunk(c) & !flippable[c] == 0 && (diff & chunk(c)).count_ones() <= radii[c]);
                if reached && diff.count_ones() <= radius {
                    expected.push((e.work, diff.count_ones()));
                }
            });
            found.sort_unstable();
            expected.sort_unstable();
            proptest::prop_assert_eq!(found, expected);
        }

        #[test]
        fn rest_and_chunk_put_a_hash_back_together(hash in 0u64..(1 << 63), width in 16u32..22, c in 1usize..3) {
            let rest = rest_of(hash, c, width);
            proptest::prop_assert!(rest <= REST_MASK);
            proptest::prop_assert_eq!(with_chunk(rest, chunk_of(hash, c, width), c, width), hash);
        }
    }

    #[test]
    fn places_keep_their_precision() {
        let mut index = RegionIndex::new();
        index.add(RegionHash(5), RegionEntry { work: 3, x: 1.2345, y: 0.5, side: 0.6789 });
        index.rebuild();
        index.for_each_live(|_, e| {
            assert_eq!(e.work, 3);
            assert!((e.x - 1.2345).abs() < 1e-3 && (e.side - 0.6789).abs() < 1e-3, "{e:?}");
        });
    }

    #[test]
    fn flat_windows_are_skipped() {
        let flat = Luma { width: 100, height: 100, pixels: vec![90.0; 10_000] };
        let hasher = WindowHasher::new(&flat, &RegionConfig::default());
        assert_eq!(hasher.hash(&Window { x: 0.0, y: 0.0, side: 100.0 }), None);
    }
}
