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
    fn new(luma: &Luma) -> Self {
        let (w, h) = (luma.width, luma.height);
        let mut sums = vec![0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0f64;
            for x in 0..w {
                row += f64::from(luma.pixels[y * w + x]);
                sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + row;
            }
        }
        Self { width: w, height: h, sums }
    }

    /// The table at a fractional point, interpolated bilinearly (exact for the pixel-box image along
    /// each axis separately, which is all a box average needs at this resolution).
    fn at(&self, x: f32, y: f32) -> f64 {
        let x = f64::from(x).clamp(0.0, self.width as f64);
        let y = f64::from(y).clamp(0.0, self.height as f64);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.width), (y0 + 1).min(self.height));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let s = |xx: usize, yy: usize| self.sums[yy * (self.width + 1) + xx];
        let top = s(x0, y0) * (1.0 - fx) + s(x1, y0) * fx;
        let bottom = s(x0, y1) * (1.0 - fx) + s(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn mean(&self, x0: f32, y0: f32, x1: f32, y1: f32) -> f32 {
        let area = f64::from((x1 - x0) * (y1 - y0)).max(1e-9);
        ((self.at(x1, y1) - self.at(x0, y1) - self.at(x1, y0) + self.at(x0, y0)) / area) as f32
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
        Self { integral: Integral::new(luma), min_contrast: config.min_window_contrast }
    }

    /// The hash of a window, or `None` when the window is too flat to carry one.
    pub fn hash(&self, window: &Window) -> Option<RegionHash> {
        let cell = window.side / 32.0;
        let mut samples = [0f32; 1024];
        for i in 0..32 {
            let y0 = window.y + cell * i as f32;
            for j in 0..32 {
                let x0 = window.x + cell * j as f32;
                samples[i * 32 + j] = self.integral.mean(x0, y0, x0 + cell, y0 + cell);
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
        Some(RegionHash(bits))
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

const R_CHUNKS: usize = 4;

/// A multi-index hash over 64-bit region hashes: four 16-bit chunks, probed within `radius / 4` bits
/// each (the same pigeonhole argument as the PDQ index).
#[derive(Debug, Clone, Default)]
pub struct RegionIndex {
    hashes: Vec<RegionHash>,
    entries: Vec<RegionEntry>,
    alive: Vec<bool>,
    live: usize,
    /// `R_CHUNKS * 65536` buckets of slots.
    buckets: Vec<Vec<u32>>,
}

impl RegionIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self { buckets: vec![Vec::new(); R_CHUNKS << 16], ..Self::default() }
    }

    /// Live windows.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Heap bytes held (approximate: vector capacities), for the memory report.
    pub fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * 8
            + self.entries.capacity() * std::mem::size_of::<RegionEntry>()
            + self.alive.capacity()
            + self.buckets.iter().map(|b| b.capacity() * 4 + 24).sum::<usize>()
    }

    /// Adds one window.
    pub fn add(&mut self, hash: RegionHash, entry: RegionEntry) {
        if self.buckets.is_empty() {
            self.buckets = vec![Vec::new(); R_CHUNKS << 16];
        }
        let slot = self.hashes.len() as u32;
        for c in 0..R_CHUNKS {
            let key = ((hash.0 >> (16 * c)) & 0xFFFF) as usize;
            self.buckets[(c << 16) | key].push(slot);
        }
        self.hashes.push(hash);
        self.entries.push(entry);
        self.alive.push(true);
        self.live += 1;
    }

    /// Calls `visit` with every live window, in the order they were added.
    pub fn for_each_live(&self, mut visit: impl FnMut(RegionHash, &RegionEntry)) {
        for (slot, entry) in self.entries.iter().enumerate() {
            if self.alive[slot] {
                visit(self.hashes[slot], entry);
            }
        }
    }

    /// Removes every window of `work` (a linear pass; removal is rare).
    pub fn remove_work(&mut self, work: u32) -> usize {
        let mut removed = 0;
        for (slot, entry) in self.entries.iter().enumerate() {
            if entry.work == work && self.alive[slot] {
                self.alive[slot] = false;
                removed += 1;
            }
        }
        self.live -= removed;
        removed
    }

    /// Every live window within `radius` of `query`, with its distance (`radius` up to 15).
    pub fn query(&self, query: RegionHash, radius: u32, mut visit: impl FnMut(&RegionEntry, u32)) {
        if self.buckets.is_empty() {
            return;
        }
        let chunk_radius = (radius / R_CHUNKS as u32).min(3);
        let keys: [u16; R_CHUNKS] = std::array::from_fn(|c| (query.0 >> (16 * c)) as u16);
        for c in 0..R_CHUNKS {
            let mut probe = |value: u16| {
                for &slot in &self.buckets[(c << 16) | value as usize] {
                    let slot = slot as usize;
                    if !self.alive[slot] {
                        continue;
                    }
                    let hash = self.hashes[slot];
                    let d = hash.distance(query);
                    if d > radius {
                        continue;
                    }
                    // Report once, from the first chunk within the chunk radius.
                    let first = (0..c).all(|e| ((hash.0 >> (16 * e)) as u16 ^ keys[e]).count_ones() > chunk_radius);
                    if first {
                        visit(&self.entries[slot], d);
                    }
                }
            };
            let q = keys[c];
            probe(q);
            for b1 in 0..16 {
                if chunk_radius >= 1 {
                    probe(q ^ (1 << b1));
                }
                for b2 in b1 + 1..16 {
                    if chunk_radius >= 2 {
                        probe(q ^ (1 << b1) ^ (1 << b2));
                    }
                    for b3 in b2 + 1..16 {
                        if chunk_radius >= 3 {
                            probe(q ^ (1 << b1) ^ (1 << b2) ^ (1 << b3));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ladder_covers_sizes_and_edges() {
        let windows = registration_windows(400, 300, &RegionConfig::default());
        assert!(windows.iter().any(|w| (w.side - 150.0).abs() < 1.0 && w.x == 0.0));
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
        index.query(b, 14, |e, d| found.push((e.work, d)));
        assert_eq!(found, vec![(7, a.distance(b))]);
        assert_eq!(index.remove_work(7), 1);
        let mut after = 0;
        index.query(b, 14, |_, _| after += 1);
        assert_eq!(after, 0);
    }

    #[test]
    fn flat_windows_are_skipped() {
        let flat = Luma { width: 100, height: 100, pixels: vec![90.0; 10_000] };
        let hasher = WindowHasher::new(&flat, &RegionConfig::default());
        assert_eq!(hasher.hash(&Window { x: 0.0, y: 0.0, side: 100.0 }), None);
    }
}
