//! PDQ, Meta's 256-bit perceptual hash, written from its published description (hashing.pdf in
//! ThreatExchange), so that our hashes interoperate with ThreatExchange and Hasher-Matcher-Actioner.
//!
//! The steps: BT.601 luminance; two passes of a separable box ("Jarosz") filter whose window is
//! `ceil(side / 128)`; decimation to 64x64 by sampling at cell centres; a quality score from the summed
//! gradients of that 64x64; a 2-D DCT keeping the 16x16 lowest frequencies *excluding* the DC row and
//! column; and one bit per coefficient, set where it exceeds the median of the 256.
//!
//! Because flips and quarter turns of the image only permute and negate DCT coefficients, the hashes of
//! all eight dihedral variants come from one 16x16 DCT (see [`Dct16::dihedral`]), which is how queries
//! match flipped and rotated copies at almost no cost.

use super::decode::Luma;
use std::fmt;
use std::sync::OnceLock;

/// A 256-bit PDQ hash. Bit `k` is the coefficient at row `k / 16`, column `k % 16` of the 16x16 DCT;
/// it lives in word `k / 64`, bit `k % 64`.
/// Plain bytes (`Pod`), so that a snapshot's hash columns are read in place.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct PdqHash(pub [u64; 4]);

impl PdqHash {
    /// Hamming distance: the number of differing bits (0..=256).
    #[inline]
    pub fn distance(&self, other: &PdqHash) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// Bit `k` (0..256) of the hash.
    #[inline]
    pub fn bit(&self, k: usize) -> bool {
        (self.0[k / 64] >> (k % 64)) & 1 == 1
    }

    /// The 16 bits of chunk `c` (0..16): bits `16c .. 16c + 16`.
    #[inline]
    pub fn chunk16(&self, c: usize) -> u16 {
        (self.0[c / 4] >> ((c % 4) * 16)) as u16
    }

    /// The `width` bits (1..=32) starting at bit `start`, bit `start` lowest: `start + width` must be at
    /// most 256. A range may straddle two words.
    #[inline]
    pub fn bits(&self, start: usize, width: u32) -> u32 {
        debug_assert!((1..=32).contains(&width) && start + width as usize <= 256);
        let (word, shift) = (start / 64, start % 64);
        let mut value = self.0[word] >> shift;
        if shift + width as usize > 64 {
            // Only reached with shift > 0 (width <= 32), so the left shift is below 64.
            value |= self.0[word + 1] << (64 - shift);
        }
        (value & ((1u64 << width) - 1)) as u32
    }

    /// The reference's text form: 64 hex digits, the 256-bit number with bit `k` worth `2^k`, written
    /// most significant digit first (what ThreatExchange and HMA exchange).
    pub fn to_hex(&self) -> String {
        format!("{:016x}{:016x}{:016x}{:016x}", self.0[3], self.0[2], self.0[1], self.0[0])
    }

    /// Parses [`PdqHash::to_hex`]'s form; `None` unless exactly 64 hex digits.
    pub fn from_hex(text: &str) -> Option<PdqHash> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut words = [0u64; 4];
        for (i, word) in words.iter_mut().enumerate() {
            let start = (3 - i) * 16;
            *word = u64::from_str_radix(&text[start..start + 16], 16).ok()?;
        }
        Some(PdqHash(words))
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

/// The eight symmetries of a rectangle. A query is hashed under each so that a flipped or quarter-turned
/// copy meets the registered original's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dihedral {
    /// Unchanged.
    Identity,
    /// Mirrored left to right.
    MirrorHorizontal,
    /// Mirrored top to bottom.
    MirrorVertical,
    /// Turned half way.
    Rotate180,
    /// Mirrored across the main diagonal.
    Transpose,
    /// Turned a quarter clockwise.
    Rotate90,
    /// Turned a quarter counter-clockwise.
    Rotate270,
    /// Mirrored across the anti-diagonal.
    AntiTranspose,
}

impl Dihedral {
    /// All eight, identity first.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Identity,
        Dihedral::MirrorHorizontal,
        Dihedral::MirrorVertical,
        Dihedral::Rotate180,
        Dihedral::Transpose,
        Dihedral::Rotate90,
        Dihedral::Rotate270,
        Dihedral::AntiTranspose,
    ];

    /// (transpose first?, negate odd horizontal frequencies?, negate odd vertical frequencies?)
    fn recipe(self) -> (bool, bool, bool) {
        match self {
            Dihedral::Identity => (false, false, false),
            Dihedral::MirrorHorizontal => (false, true, false),
            Dihedral::MirrorVertical => (false, false, true),
            Dihedral::Rotate180 => (false, true, true),
            Dihedral::Transpose => (true, false, false),
            Dihedral::Rotate90 => (true, true, false),
            Dihedral::Rotate270 => (true, false, true),
            Dihedral::AntiTranspose => (true, true, true),
        }
    }
}

/// The 16x16 low-frequency DCT of an image's 64x64 PDQ downsample, and the PDQ quality score.
#[derive(Debug, Clone, PartialEq)]
pub struct Dct16 {
    /// Row-major coefficients; row = vertical frequency 1..=16, column = horizontal frequency 1..=16.
    pub coefficients: [f32; 256],
    /// PDQ quality, 0..=100: how much gradient the image has. Below 50 the hash is unreliable.
    pub quality: u8,
}

impl Dct16 {
    /// The hash: one bit per coefficient, set where it exceeds the median.
    pub fn hash(&self) -> PdqHash {
        hash_from_coefficients(&self.coefficients)
    }

    /// The hash the image would have after `transform`. Mirroring an axis negates the coefficients of
    /// odd frequency along it (the DCT basis is symmetric about the centre for even frequencies, and
    /// antisymmetric for odd ones; our frequencies are offset by one, hence "odd" means column index
    /// even); transposing swaps rows and columns.
    pub fn dihedral(&self, transform: Dihedral) -> PdqHash {
        let (transpose, negate_h, negate_v) = transform.recipe();
        let mut out = [0f32; 256];
        for i in 0..16 {
            for j in 0..16 {
                let mut v = if transpose { self.coefficients[j * 16 + i] } else { self.coefficients[i * 16 + j] };
                // Frequency u = index + 1, so odd frequencies sit at even indices.
                if negate_h && j % 2 == 0 {
                    v = -v;
                }
                if negate_v && i % 2 == 0 {
                    v = -v;
                }
                out[i * 16 + j] = v;
            }
        }
        hash_from_coefficients(&out)
    }
}

fn hash_from_coefficients(coefficients: &[f32; 256]) -> PdqHash {
    let mut sorted = *coefficients;
    // The reference's Torben median returns the lower median (the 128th smallest value).
    let (_, median, _) = sorted.select_nth_unstable_by(127, |a, b| a.total_cmp(b));
    let median = *median;
    let mut words = [0u64; 4];
    for (k, &v) in coefficients.iter().enumerate() {
        if v > median {
            words[k / 64] |= 1 << (k % 64);
        }
    }
    PdqHash(words)
}

/// The PDQ hash and quality of a luminance plane.
pub fn pdq(luma: &Luma) -> (PdqHash, u8) {
    let dct = dct16(luma);
    (dct.hash(), dct.quality)
}

/// Filters, decimates to 64x64, scores quality and takes the 16x16 DCT.
pub fn dct16(luma: &Luma) -> Dct16 {
    dct16_from_grid(&downsample64(luma))
}

/// The Jarosz window for one axis: `ceil(side / 128)`, i.e. half the cell width of the 64x64 grid, so
/// that two passes of the box approximate a tent filter over each cell.
fn window(side: usize) -> usize {
    side.div_ceil(128).max(1)
}

/// Two passes of the separable box filter, then sampling at the centres of a 64x64 grid. Both passes
/// along an axis are one linear filter, and filters along different axes commute, so they are applied
/// axis by axis and only where the grid samples them: each row is reduced to its 64 samples (both
/// passes along x at once), then each of the 64 columns of that to its 64 samples. The same values as
/// filtering the whole plane twice and sampling it (to float rounding; a test compares them), without
/// the two full-size float planes that cost a 0.3 MP photo more than the arithmetic did.
pub fn downsample64(luma: &Luma) -> [f32; 4096] {
    let (w, h) = (luma.width, luma.height);
    let along_x = TwoPassTaps::new(w);
    let along_y = TwoPassTaps::new(h);
    // h x 64: every row at the sampled columns.
    let mut c = vec![0f32; h * 64];
    for (row, out) in luma.pixels.chunks_exact(w).zip(c.chunks_exact_mut(64)) {
        for (j, slot) in out.iter_mut().enumerate() {
            let (start, weights) = along_x.at(j);
            *slot = row[start..start + weights.len()].iter().zip(weights).map(|(&v, &k)| v * k).sum();
        }
    }
    let mut out = [0f32; 4096];
    for i in 0..64 {
        let (start, weights) = along_y.at(i);
        let target = &mut out[i * 64..(i + 1) * 64];
        for (y, &k) in (start..).zip(weights) {
            for (o, &v) in target.iter_mut().zip(&c[y * 64..(y + 1) * 64]) {
                *o += v * k;
            }
        }
    }
    out
}

/// Both box passes along one axis of `len` samples, evaluated at the 64 grid centres: for each centre,
/// the first input it reads and the weight of each input from there (the second pass's mean of the
/// first pass's means, windows clipped at the ends as [`box_rows`] clips them).
struct TwoPassTaps {
    starts: [usize; 64],
    /// 64 runs of `stride` weights, zero-padded past each run's `lens` entries.
    weights: Vec<f32>,
    lens: [usize; 64],
    stride: usize,
}

impl TwoPassTaps {
    fn new(len: usize) -> Self {
        let (behind, ahead) = reach(window(len));
        let stride = 2 * (behind + ahead) + 1;
        let mut starts = [0usize; 64];
        let mut lens = [0usize; 64];
        let mut weights = vec![0f32; 64 * stride];
        let mut acc = vec![0f64; stride];
        for j in 0..64 {
            let centre = ((((j as f64 + 0.5) * len as f64) / 64.0) as usize).min(len - 1);
            let (lo, hi) = (centre.saturating_sub(behind), (centre + ahead).min(len - 1));
            let start = lo.saturating_sub(behind);
            let end = (hi + ahead).min(len - 1);
            let run = &mut weights[j * stride..j * stride + (end - start + 1)];
            let outer = 1.0 / (hi - lo + 1) as f64;
            let acc = &mut acc[..run.len()];
            acc.fill(0.0);
            for p in lo..=hi {
                let (plo, phi) = (p.saturating_sub(behind), (p + ahead).min(len - 1));
                let inner = outer / (phi - plo + 1) as f64;
                for a in &mut acc[plo - start..=phi - start] {
                    *a += inner;
                }
            }
            for (r, a) in run.iter_mut().zip(acc.iter()) {
                *r = *a as f32;
            }
            (starts[j], lens[j]) = (start, end - start + 1);
        }
        Self { starts, weights, lens, stride }
    }

    fn at(&self, j: usize) -> (usize, &[f32]) {
        (self.starts[j], &self.weights[j * self.stride..j * self.stride + self.lens[j]])
    }
}

/// The full PDQ pre-filter (both passes over every pixel), for callers that resample the blurred plane
/// themselves (the matcher samples it along turned grids to undo small rotations).
pub fn blur(luma: &Luma) -> Luma {
    blur_with(luma, &mut Vec::new(), Vec::new())
}

/// [`blur`] into `pixels`, with `rows` as scratch: both are overwritten, so a caller that blurs one
/// plane after another can hand the same two back each time instead of allocating zeroed ones.
pub fn blur_with(luma: &Luma, rows: &mut Vec<f32>, mut pixels: Vec<f32>) -> Luma {
    let (w, h) = (luma.width, luma.height);
    // Each pass is rows, then columns, between the two buffers in turn: no copy of the plane and no
    // scratch plane per pass (a query's plane is often the whole image). Every value is written
    // before it is read, so what the buffers held does not matter.
    rows.resize(w * h, 0.0);
    pixels.resize(w * h, 0.0);
    box_rows(&luma.pixels, rows, w, h, window(w));
    box_cols(rows, &mut pixels, w, h, window(h));
    box_rows(&pixels, rows, w, h, window(w));
    box_cols(rows, &mut pixels, w, h, window(h));
    Luma { width: w, height: h, pixels }
}

/// PDQ's DCT and quality from an already filtered and decimated 64x64 grid.
pub fn dct16_from_grid(grid: &[f32; 4096]) -> Dct16 {
    Dct16 { coefficients: dct64_to_16(grid), quality: quality(grid) }
}

/// PDQ's hash alone from an already filtered and decimated 64x64 grid (no quality score: the matcher
/// hashes dozens of turned grids per query and judges quality once, on the image as it came).
pub fn hash_from_grid(grid: &[f32; 4096]) -> PdqHash {
    hash_from_coefficients(&dct64_to_16(grid))
}

/// Where a box of `full` taps reaches around output `o`: `o - behind ..= o + ahead`, clipped to the
/// vector. For odd windows it is centred; even windows reach one further ahead. At the ends the window
/// shrinks and the mean is over what remains.
fn reach(full: usize) -> (usize, usize) {
    let half = (full + 2) / 2;
    (full - half, half - 1)
}

/// Windows up to this many taps are summed tap by tap over whole rows (vectorized); wider ones (only
/// images wider than 2,048 px) with a running sum.
const DIRECT_TAPS: usize = 16;

fn box_rows(src: &[f32], dst: &mut [f32], w: usize, h: usize, full: usize) {
    let (behind, ahead) = reach(full);
    // Outputs `interior` have the whole window inside the row. Summing it tap by tap over the whole
    // interior at once has no dependency from one output to the next, so it vectorizes; the running
    // sum below is a chain of dependent adds and took 14% of a fixture query's time.
    let interior = behind..w.saturating_sub(ahead).max(behind);
    let direct = full <= DIRECT_TAPS && !interior.is_empty();
    let inverse = 1.0 / full as f32;
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        let out = &mut dst[y * w..(y + 1) * w];
        if direct {
            let (start, end) = (interior.start, interior.end);
            let inner = &mut out[start..end];
            inner.copy_from_slice(&row[start - behind..end - behind]);
            for tap in 1..full {
                for (o, &v) in inner.iter_mut().zip(&row[start - behind + tap..end - behind + tap]) {
                    *o += v;
                }
            }
            for o in inner.iter_mut() {
                *o *= inverse;
            }
            for o in (0..start).chain(end..w) {
                let (lo, hi) = (o.saturating_sub(behind), (o + ahead).min(w - 1));
                out[o] = row[lo..=hi].iter().sum::<f32>() / (hi - lo + 1) as f32;
            }
            continue;
        }
        let mut sum = 0f32;
        let mut count = 0f32;
        // Prime the window with the taps ahead of output 0.
        for &v in row.iter().take(ahead.min(w)) {
            sum += v;
            count += 1.0;
        }
        for (o, slot) in out.iter_mut().enumerate() {
            if o + ahead < w {
                sum += row[o + ahead];
                count += 1.0;
            }
            if o > behind {
                sum -= row[o - behind - 1];
                count -= 1.0;
            }
            *slot = sum / count;
        }
    }
}

fn box_cols(src: &[f32], dst: &mut [f32], w: usize, h: usize, full: usize) {
    let (behind, ahead) = reach(full);
    // Column sums advance a whole row at a time, which keeps memory access sequential.
    let mut sums = vec![0f32; w];
    let mut count = 0f32;
    for y in 0..ahead.min(h) {
        for (s, &v) in sums.iter_mut().zip(&src[y * w..(y + 1) * w]) {
            *s += v;
        }
        count += 1.0;
    }
    for o in 0..h {
        if o + ahead < h {
            let row = &src[(o + ahead) * w..(o + ahead + 1) * w];
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += v;
            }
            count += 1.0;
        }
        if o > behind {
            let row = &src[(o - behind - 1) * w..(o - behind) * w];
            for (s, &v) in sums.iter_mut().zip(row) {
                *s -= v;
            }
            count -= 1.0;
        }
        for (d, &s) in dst[o * w..(o + 1) * w].iter_mut().zip(&sums) {
            *d = s / count;
        }
    }
}

/// PDQ's quality: the sum of absolute neighbour differences of the 64x64 (scaled to percent of full
/// range and truncated, as the reference does), divided by 90 and capped at 100.
fn quality(small: &[f32; 4096]) -> u8 {
    let mut sum: i64 = 0;
    for i in 0..63 {
        for j in 0..64 {
            let d = ((small[i * 64 + j] - small[(i + 1) * 64 + j]) * 100.0 / 255.0) as i64;
            sum += d.abs();
        }
    }
    for i in 0..64 {
        for j in 0..63 {
            let d = ((small[i * 64 + j] - small[i * 64 + j + 1]) * 100.0 / 255.0) as i64;
            sum += d.abs();
        }
    }
    (sum / 90).min(100) as u8
}

/// `D[u][x] = sqrt(2/64) * cos(pi * (u+1) * (2x+1) / 128)`: DCT-II rows for frequencies 1..=16.
fn dct_matrix() -> &'static [f32; 16 * 64] {
    static MATRIX: OnceLock<[f32; 16 * 64]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let mut m = [0f32; 16 * 64];
        let scale = (2.0f64 / 64.0).sqrt();
        for u in 0..16 {
            for x in 0..64 {
                let angle = std::f64::consts::PI / 128.0 * (u as f64 + 1.0) * (2.0 * x as f64 + 1.0);
                m[u * 64 + x] = (scale * angle.cos()) as f32;
            }
        }
        m
    })
}

/// `C = D A D^T` restricted to the 16x16 block.
fn dct64_to_16(a: &[f32; 4096]) -> [f32; 256] {
    let d = dct_matrix();
    // B = D A: 16 x 64.
    let mut b = [0f32; 16 * 64];
    for u in 0..16 {
        let drow = &d[u * 64..(u + 1) * 64];
        let brow = &mut b[u * 64..(u + 1) * 64];
        for (k, &dk) in drow.iter().enumerate() {
            let arow = &a[k * 64..(k + 1) * 64];
            for (bj, &ak) in brow.iter_mut().zip(arow) {
                *bj += dk * ak;
            }
        }
    }
    // C = B D^T: 16 x 16.
    let mut c = [0f32; 256];
    for u in 0..16 {
        let brow = &b[u * 64..(u + 1) * 64];
        for v in 0..16 {
            let drow = &d[v * 64..(v + 1) * 64];
            c[u * 16 + v] = brow.iter().zip(drow).map(|(x, y)| x * y).sum();
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic(w: usize, h: usize) -> Luma {
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
                let v = 128.0 + 60.0 * (7.0 * fx + 3.0 * fy * fy).sin() + 50.0 * (11.0 * fy * fx).cos() + 20.0 * fx;
                pixels.push(v.clamp(0.0, 255.0));
            }
        }
        Luma { width: w, height: h, pixels }
    }

    fn transform(l: &Luma, t: Dihedral) -> Luma {
        let (w, h) = (l.width, l.height);
        let (tw, th) = match t.recipe().0 {
            true => (h, w),
            false => (w, h),
        };
        let mut pixels = vec![0f32; w * h];
        for y in 0..th {
            for x in 0..tw {
                // Source coordinates for each target pixel.
                let (sx, sy) = match t {
                    Dihedral::Identity => (x, y),
                    Dihedral::MirrorHorizontal => (w - 1 - x, y),
                    Dihedral::MirrorVertical => (x, h - 1 - y),
                    Dihedral::Rotate180 => (w - 1 - x, h - 1 - y),
                    Dihedral::Transpose => (y, x),
                    Dihedral::Rotate90 => (y, h - 1 - x),
                    Dihedral::Rotate270 => (w - 1 - y, x),
                    Dihedral::AntiTranspose => (w - 1 - y, h - 1 - x),
                };
                pixels[y * tw + x] = l.at(sx, sy);
            }
        }
        Luma { width: tw, height: th, pixels }
    }

    #[test]
    fn bit_ranges_match_single_bits() {
        let h = PdqHash([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0xdead_beef_cafe_f00d, 0x1357_9bdf_2468_ace0]);
        for start in 0..256 {
            for width in 1..=32u32 {
                if start + width as usize > 256 {
                    continue;
                }
                let expected = (0..width).fold(0u32, |acc, i| acc | (u32::from(h.bit(start + i as usize)) << i));
                assert_eq!(h.bits(start, width), expected, "start {start} width {width}");
            }
        }
        assert_eq!(h.bits(16, 16), u32::from(h.chunk16(1)));
    }

    #[test]
    fn hex_round_trips_and_distance_counts_bits() {
        let h = PdqHash([1, 0, 0, 1 << 63]);
        assert_eq!(h.to_hex(), format!("8{}{}{}1", "0".repeat(15), "0".repeat(32), "0".repeat(15)));
        assert_eq!(PdqHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(h.distance(&PdqHash::default()), 2);
        assert_eq!(PdqHash::from_hex("xyz"), None);
    }

    #[test]
    fn hash_has_half_its_bits_set_and_quality_in_range() {
        let (hash, quality) = pdq(&synthetic(300, 200));
        let ones: u32 = hash.0.iter().map(|w| w.count_ones()).sum();
        assert_eq!(ones, 128);
        assert!(quality <= 100);
    }

    #[test]
    fn sampled_filter_gives_what_filtering_the_whole_plane_gives() {
        // One to 21 taps a window (the running sum past 2,048 px), planes narrower than the grid.
        for (w, h) in [(300, 200), (129, 257), (700, 90), (40, 30), (2600, 20), (5, 3), (1, 1)] {
            let image = synthetic(w, h);
            let twice = blur(&image).pixels;
            let centre = |i: usize, n: usize| ((((i as f64 + 0.5) * n as f64) / 64.0) as usize).min(n - 1);
            let sampled = downsample64(&image);
            for i in 0..64 {
                for j in 0..64 {
                    let whole = twice[centre(i, h) * w + centre(j, w)];
                    let got = sampled[i * 64 + j];
                    // The whole-plane filter's column pass keeps running f32 sums, which drift by a
                    // few thousandths of a grey level over a plane; a wrong tap would be off by whole levels.
                    assert!((got - whole).abs() < 1e-2, "{w}x{h} at ({i}, {j}): {got} vs {whole}");
                }
            }
        }
    }

    #[test]
    fn flat_image_has_zero_quality() {
        let flat = Luma { width: 100, height: 100, pixels: vec![77.0; 10_000] };
        assert_eq!(dct16(&flat).quality, 0);
    }

    #[test]
    fn dihedral_hashes_match_hashes_of_transformed_pixels() {
        // At 64x64 the filter window is one pixel and the sampling grid is symmetric, so the derived
        // hashes must equal the hashes of the transformed pixels up to float rounding.
        let image = synthetic(64, 64);
        let dct = dct16(&image);
        for t in Dihedral::ALL {
            let direct = pdq(&transform(&image, t)).0;
            let derived = dct.dihedral(t);
            assert!(direct.distance(&derived) <= 2, "{t:?}: {}", direct.distance(&derived));
        }
    }

    #[test]
    fn box_filter_matches_a_direct_window_mean() {
        // Both paths: taps summed over the interior (up to DIRECT_TAPS) and the running sum (wider),
        // rows wider than the window and narrower, and more than one row.
        for (w, h) in [(23, 1), (40, 3), (12, 2)] {
            let src: Vec<f32> = (0..w * h).map(|v| ((v * 37) % 11) as f32).collect();
            for full in (1..6).chain([15, 16, 17, 30]) {
                let mut dst = vec![0f32; w * h];
                box_rows(&src, &mut dst, w, h, full);
                let (behind, ahead) = reach(full);
                for (k, got) in dst.iter().enumerate() {
                    let (y, o) = (k / w, k % w);
                    let row = &src[y * w..(y + 1) * w];
                    let (lo, hi) = (o.saturating_sub(behind), (o + ahead).min(w - 1));
                    let mean = row[lo..=hi].iter().sum::<f32>() / (hi - lo + 1) as f32;
                    assert!((got - mean).abs() < 1e-4, "w {w} full {full} y {y} o {o}: {got} vs {mean}");
                }
            }
        }
    }
}
