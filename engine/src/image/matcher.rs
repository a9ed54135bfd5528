//! Fingerprints for originals and queries, and the matcher that registers the one and answers the other.
//!
//! A query is tried, cheapest first, as: the whole image and its seven flips and quarter turns (PDQ,
//! one DCT); its centred rectangle against the originals' centred rectangles turned by a few degrees
//! (for slightly rotated copies, and for copies whose border a caption or logo covers); and its windows
//! against the originals' registered windows (the region signal, for crops and for copies with a
//! caption or logo over part of the frame). Each work is reported once, by its best signal.
//!
//! Turns are registered, not searched: an original registers PDQ of its centred rectangle turned by
//! each configured angle (15 hashes, 480 bytes), so that a query hashes its own centred rectangle
//! once, unturned. Searching turns on the query side instead cost 28 to 56 turned PDQs per query,
//! 60% of a query's time, and most crawled images match nothing. Only a query whose corners look
//! filled (a copy turned and expanded to hold the whole picture) hashes a few more rectangles: the
//! frames its original may have had.

use super::config::{ImageConfig, RegionConfig};
use super::decode::{Decoded, Luma};
use super::error::ImageError;
use super::index::{HammingIndex, IndexHit};
use super::pdq::{blur_with, dct16, hash_from_grid, Dihedral, PdqHash};
use super::region::{
    query_windows, registration_windows, QueryWindow, RegionEntry, RegionHash, RegionIndex, Window, WindowHasher,
};
use crate::column::Column;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Deref;

/// The caller's identifier of a registered work.
pub type WorkId = u32;

/// What an original contributes to the index.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginalFingerprint {
    /// Width of the decoded plane the fingerprint was taken from (proportions matter, not pixels).
    pub width: u32,
    /// Height of that plane.
    pub height: u32,
    /// Whole-image PDQ hash.
    pub pdq: PdqHash,
    /// PDQ of the centred [`CORE_FRACTION`] of each side: clear of any band, badge or frame over
    /// the outer 15% (captions, logos, borders), which PDQ of the whole frame only partly survives.
    pub core: PdqHash,
    /// PDQ of the centred rectangle that survives every configured turn (see `inscribed_fraction`),
    /// taken on the original turned by each angle (degrees; 0 first): what a copy turned by that angle
    /// shows, unturned, in its own centred rectangle.
    pub turned: Vec<(f32, PdqHash)>,
    /// Its PDQ quality.
    pub quality: u8,
    /// Region hashes with their windows, in fractions of the shorter side.
    pub regions: Vec<(RegionHash, Window)>,
    /// A small grey thumbnail (shorter side [`THUMB_SIDE`]) that region hits are verified against.
    pub thumbnail: Thumbnail,
}

/// Shorter side of an original's verification thumbnail, in pixels.
pub const THUMB_SIDE: usize = 32;
/// Shorter side of a query's verification grid, in cells.
const GRID_SIDE: usize = 24;

/// A small 8-bit grey image. The matcher keeps its originals' pixels as a [`Column`], read in place
/// from a loaded snapshot; verification reads them through a borrowed view ([`Thumbnail::view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail<P = Vec<u8>> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major grey values.
    pub pixels: P,
}

impl<P: Deref<Target = [u8]>> Thumbnail<P> {
    /// The same image over borrowed pixels (a viewed column resolves its bytes once, not per sample).
    pub(super) fn view(&self) -> Thumbnail<&[u8]> {
        Thumbnail { width: self.width, height: self.height, pixels: &self.pixels }
    }
}

impl Thumbnail<&[u8]> {
    /// Bilinear sample at (x, y) in thumbnail pixels (pixel centres at +0.5); `None` outside.
    fn sample(&self, x: f32, y: f32) -> Option<f32> {
        let (x, y) = (x - 0.5, y - 0.5);
        if x < -0.5 || y < -0.5 || x > self.width as f32 - 0.5 || y > self.height as f32 - 0.5 {
            return None;
        }
        let x = x.clamp(0.0, self.width as f32 - 1.0);
        let y = y.clamp(0.0, self.height as f32 - 1.0);
        // Clamped above, so non-negative: truncation is the floor.
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let p = |xx: usize, yy: usize| f32::from(self.pixels[yy * self.width + xx]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        Some(top * (1.0 - fy) + bottom * fy)
    }
}

/// Area-averages a plane to the given size: each output cell is the mean of the source pixels its
/// box touches (`floor` to `ceil` of its edges, at least one). Rows of a band are summed into column
/// totals first (whole rows at a time, which vectorizes), then each cell sums its columns.
fn area_resample(luma: &Luma, width: usize, height: usize) -> Vec<f32> {
    let (sx, sy) = (luma.width as f32 / width as f32, luma.height as f32 / height as f32);
    let span = |k: usize, scale: f32, limit: usize| {
        let lo = (k as f32 * scale) as usize;
        let hi = (((k + 1) as f32 * scale).ceil() as usize).min(limit);
        (lo, hi.max(lo + 1).min(limit))
    };
    let columns: Vec<(usize, usize)> = (0..width).map(|j| span(j, sx, luma.width)).collect();
    let mut totals = vec![0f32; luma.width];
    let mut out = Vec::with_capacity(width * height);
    for i in 0..height {
        let (y0, y1) = span(i, sy, luma.height);
        totals.fill(0.0);
        for y in y0..y1 {
            let row = &luma.pixels[y * luma.width..(y + 1) * luma.width];
            for (t, &v) in totals.iter_mut().zip(row) {
                *t += v;
            }
        }
        let rows = y1.saturating_sub(y0) as f32;
        for &(x0, x1) in &columns {
            let n = rows * x1.saturating_sub(x0) as f32;
            let sum: f32 = totals.get(x0..x1).map_or(0.0, |t| t.iter().sum());
            out.push(sum / n.max(1.0));
        }
    }
    out
}

/// Dimensions with shorter side `short` and the plane's proportions.
fn scaled_dims(luma: &Luma, short: usize) -> (usize, usize) {
    let s = luma.width.min(luma.height).max(1) as f32;
    (
        ((luma.width as f32 * short as f32 / s).round() as usize).max(1),
        ((luma.height as f32 * short as f32 / s).round() as usize).max(1),
    )
}

/// What a query is matched with.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryFingerprint {
    /// Width of the decoded plane.
    pub width: u32,
    /// Height of the decoded plane.
    pub height: u32,
    /// PDQ quality of the whole image; whole-image signals are skipped below the configured minimum.
    pub quality: u8,
    /// PDQ of the eight dihedral variants, identity first (only identity when dihedral is off).
    pub dihedral: Vec<(Dihedral, PdqHash)>,
    /// PDQ of the query's centred [`CORE_FRACTION`], matched against the originals' cores (`None`
    /// when the image is too flat to hash).
    pub core: Option<PdqHash>,
    /// PDQ of the query's centred rectangle (the fraction a turn keeps, see `inscribed_fraction`),
    /// matched against the originals' [`OriginalFingerprint::turned`] hashes: first in the query's own
    /// frame, then, when its corners look filled, in each frame an expanded turned copy may come from.
    pub centred: Vec<PdqHash>,
    /// Hashes of the query's windows, in its own pixels.
    pub windows: Vec<QueryWindow>,
    /// The query area-averaged to a grid (shorter side 24 cells), for verifying region hits.
    pub grid: Thumbnail,
}

/// Which signal matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// The whole image, as is (or with its border partly covered: its centre matched unturned).
    Whole,
    /// The whole image after a flip or quarter turn.
    Flipped(Dihedral),
    /// The image turned by this many degrees (its centred rectangle matched the original's turned one).
    Rotated(f32),
    /// Windows of the query matched windows of the original (a crop, or a partly covered copy).
    Region,
}

impl Signal {
    /// A short label: "whole", "flipped", "rotated" or "region".
    pub fn kind(&self) -> &'static str {
        match self {
            Signal::Whole => "whole",
            Signal::Flipped(_) => "flipped",
            Signal::Rotated(_) => "rotated",
            Signal::Region => "region",
        }
    }
}

/// A rectangle in fractions (0..1) of the original's width and height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x0: f32,
    /// Top.
    pub y0: f32,
    /// Right.
    pub x1: f32,
    /// Bottom.
    pub y1: f32,
}

/// One registered work that a query copies.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageHit {
    /// The work.
    pub work: WorkId,
    /// Hamming distance of the best matching hash (of 256 for PDQ signals, of 64 for regions).
    pub distance: u32,
    /// Which signal matched.
    pub signal: Signal,
    /// Where in the original the query's content lies, when the region signal found it.
    pub region: Option<Rect>,
    /// 0..1; higher is surer. PDQ signals: `1 - distance / 128` (unrelated images sit near 128).
    /// Regions: `1 - distance / 32`, scaled by how many windows agree (three or more count fully).
    pub confidence: f32,
}

/// Reduces a decoded plane by an integer factor so that its short side is near `target`: PDQ and the
/// windows need no more, and the rotation and window passes cost in proportion to pixels.
fn working_plane(luma: &Luma, target: usize) -> Cow<'_, Luma> {
    let short = luma.width.min(luma.height);
    match (short / target.max(1)).max(1) {
        1 => Cow::Borrowed(luma),
        factor => Cow::Owned(luma.box_downscale(factor)),
    }
}

/// The centred fraction of each side that the core hashes cover: clear of the outer 15%, where
/// captions (8-14% of the height), corner logos and borders go.
pub const CORE_FRACTION: f32 = 0.7;

/// Most works whose region placement is verified per query (the best supported first). A query
/// copies one work, or a handful of near-identical ones; more candidates than this are look-alikes
/// of one scene, and verification is the costliest step of a query.
const MAX_VERIFIED: usize = 16;
/// Verification ranks its placements on every `COARSE_CELL_STRIDE`-th cell of the query grid and
/// scores the best `FINE_PLACEMENTS` on all of them (see `verify`).
const COARSE_CELL_STRIDE: usize = 2;
const FINE_PLACEMENTS: usize = 5;

/// How many bits worse the unturned centred match may be than the best turned one and still say the
/// copy was not turned: the turned hashes of one original differ by 14 bits or more per degree.
const UNTURNED_SLACK: u32 = 4;

/// Planes a thread's fingerprints reuse: the blur's two and the window table. Each fingerprint of a
/// fixture query allocated and zeroed about 2 MB of them, and zeroing (in page faults or memset) took
/// about a tenth of its time. Taken out for the fingerprint and put back after, so nothing is
/// borrowed while it runs.
#[derive(Default)]
struct Spare {
    rows: Vec<f32>,
    blurred: Vec<f32>,
    table: Vec<f64>,
}

thread_local! {
    static SPARE: RefCell<Spare> = RefCell::default();
}

/// Largest plane (pixels) whose buffers a thread keeps: a photo's working plane has 25,600 to about
/// 300,000 pixels, and keeping the buffers of an odd giant (a long strip narrower than `plane_side`
/// is not reduced) would hold 16 bytes a pixel for the thread's life.
const SPARE_PIXELS: usize = 1 << 20;

impl Spare {
    fn take() -> Self {
        SPARE.with_borrow_mut(std::mem::take)
    }

    /// The PDQ pre-filter of `plane`, in the spare planes.
    fn blur(&mut self, plane: &Luma) -> Luma {
        blur_with(plane, &mut self.rows, std::mem::take(&mut self.blurred))
    }

    /// A window hasher of `plane` whose table is the spare one; hand it back with [`Spare::keep`].
    fn hasher(&mut self, plane: &Luma, config: &RegionConfig) -> WindowHasher {
        WindowHasher::with_table(plane, config, std::mem::take(&mut self.table))
    }

    fn keep(&mut self, hasher: WindowHasher) {
        self.table = hasher.into_table();
    }

    /// Back to the thread, with the blurred plane [`Spare::blur`] gave out.
    fn put_back(mut self, blurred: Luma) {
        self.blurred = blurred.pixels;
        for plane in [&mut self.rows, &mut self.blurred] {
            if plane.capacity() > SPARE_PIXELS {
                *plane = Vec::new();
            }
        }
        if self.table.capacity() > SPARE_PIXELS {
            self.table = Vec::new();
        }
        SPARE.with_borrow_mut(|spare| *spare = self);
    }
}

/// Fingerprints an original for registration. Fails with `LowQuality` when PDQ says the image is too
/// flat to hash reliably (the region windows are then equally unreliable).
pub fn fingerprint_original(decoded: &Decoded, config: &ImageConfig) -> Result<OriginalFingerprint, ImageError> {
    let luma = &decoded.luma;
    let plane = working_plane(luma, config.plane_side as usize);
    // The blurred plane is taken the way a query's centred rectangle is (64x64 bilinear grid), so
    // that the two hashes differ only by what the copy changed. A copy turned by `t` shows at its grid
    // point `g` the original at `g` turned by `-t` (about the centre).
    let dct = dct16(luma);
    if dct.quality < config.min_quality {
        return Err(ImageError::LowQuality { quality: dct.quality, min_quality: config.min_quality });
    }
    let mut spare = Spare::take();
    let blurred = spare.blur(&plane);
    let (w, h) = (blurred.width as f32, blurred.height as f32);
    let f = inscribed_fraction(w, h, max_rotation(config));
    let core = hash_from_grid(&turned_grid(&blurred, 0.0, w * CORE_FRACTION, h * CORE_FRACTION));
    let turned =
        registered_turns(config).map(|t| (t, hash_from_grid(&turned_grid(&blurred, -t, w * f, h * f)))).collect();
    let mut regions = Vec::new();
    if config.region.enabled {
        let short = plane.width.min(plane.height) as f32;
        let hasher = spare.hasher(&plane, &config.region);
        for window in registration_windows(plane.width, plane.height, &config.region) {
            if let Some(hash) = hasher.hash(&window) {
                regions.push((hash, Window { x: window.x / short, y: window.y / short, side: window.side / short }));
            }
        }
        spare.keep(hasher);
    }
    spare.put_back(blurred);
    let (tw, th) = scaled_dims(luma, THUMB_SIDE);
    let pixels = area_resample(luma, tw, th).iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect();
    Ok(OriginalFingerprint {
        width: luma.width as u32,
        height: luma.height as u32,
        pdq: dct.hash(),
        core,
        turned,
        quality: dct.quality,
        regions,
        thumbnail: Thumbnail { width: tw, height: th, pixels },
    })
}

/// Fingerprints a query: dihedral PDQ, turned-back PDQ and window hashes.
pub fn fingerprint_query(decoded: &Decoded, config: &ImageConfig) -> QueryFingerprint {
    let luma = &decoded.luma;
    let plane = working_plane(luma, config.plane_side as usize);
    let mut spare = Spare::take();
    let (dct, blurred) = (dct16(luma), spare.blur(&plane));
    let mut dihedral = Vec::new();
    let mut centred = Vec::new();
    let mut core = None;
    if dct.quality >= config.min_quality {
        if config.dihedral {
            dihedral.extend(Dihedral::ALL.iter().map(|&t| (t, dct.dihedral(t))));
        } else {
            dihedral.push((Dihedral::Identity, dct.hash()));
        }
        let (w, h) = (blurred.width as f32, blurred.height as f32);
        core = Some(hash_from_grid(&turned_grid(&blurred, 0.0, w * CORE_FRACTION, h * CORE_FRACTION)));
        let max_degrees = max_rotation(config);
        let mut frames = vec![(w, h)];
        if max_degrees > 0.0 && corners_filled(luma) {
            let mut magnitudes: Vec<f32> = config.rotation_degrees.iter().map(|d| d.abs()).collect();
            magnitudes.sort_by(f32::total_cmp);
            magnitudes.dedup();
            frames.extend(magnitudes.into_iter().filter_map(|t| expanded_source(w, h, t)));
        }
        for (frame_w, frame_h) in frames {
            let f = inscribed_fraction(frame_w, frame_h, max_degrees);
            centred.push(hash_from_grid(&turned_grid(&blurred, 0.0, frame_w * f, frame_h * f)));
        }
    }
    let mut windows = Vec::new();
    if config.region.enabled {
        let hasher = spare.hasher(&plane, &config.region);
        for window in query_windows(plane.width, plane.height) {
            if let Some((hash, unsure)) = hasher.hash_ranked(&window) {
                windows.push(QueryWindow { hash, window, unsure });
            }
        }
        spare.keep(hasher);
    }
    spare.put_back(blurred);
    let (gw, gh) = scaled_dims(&plane, GRID_SIDE);
    let pixels = area_resample(&plane, gw, gh).iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect();
    QueryFingerprint {
        width: plane.width as u32,
        height: plane.height as u32,
        quality: dct.quality,
        dihedral,
        core,
        centred,
        windows,
        grid: Thumbnail { width: gw, height: gh, pixels },
    }
}

/// The frame an original must have had for a copy turned by `degrees` and expanded to hold the whole
/// turned picture (corners filled) to measure `w x h`: solving `W' = W cos + H sin`,
/// `H' = W sin + H cos`. `None` when the turn is too small to tell the frames apart or the solution
/// degenerates.
fn expanded_source(w: f32, h: f32, degrees: f32) -> Option<(f32, f32)> {
    let (s, c) = (degrees.to_radians().sin().abs(), degrees.to_radians().cos());
    let det = c * c - s * s;
    if det <= 0.5 {
        return None;
    }
    let ow = (w * c - h * s) / det;
    let oh = (h * c - w * s) / det;
    (ow >= 16.0 && oh >= 16.0 && (ow - w).abs() > 2.0).then_some((ow, oh))
}

/// Whether the four corners of `luma` look like the fill of a turned and expanded copy: each a flat
/// 3x3 patch (one pixel in from the edge, clear of JPEG ringing at the border), all four of one
/// grey. A photo whose corners happen to be flat and alike (a night sky) only costs the few extra
/// rectangles; nothing is matched on this guess alone.
fn corners_filled(luma: &Luma) -> bool {
    if luma.width < 16 || luma.height < 16 {
        return false;
    }
    let (w, h) = (luma.width, luma.height);
    let mut means = [0f32; 4];
    for (k, (x0, y0)) in [(1, 1), (w - 4, 1), (1, h - 4), (w - 4, h - 4)].into_iter().enumerate() {
        let (mut lo, mut hi, mut sum) = (f32::MAX, f32::MIN, 0f32);
        for y in y0..y0 + 3 {
            for x in x0..x0 + 3 {
                let v = luma.at(x, y);
                lo = lo.min(v);
                hi = hi.max(v);
                sum += v;
            }
        }
        if hi - lo > FILL_FLATNESS {
            return false;
        }
        means[k] = sum / 9.0;
    }
    let (lo, hi) = means.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &m| (lo.min(m), hi.max(m)));
    hi - lo <= FILL_FLATNESS
}

/// Largest grey spread (of 255) within and across the corner patches of a filled copy: JPEG noise in
/// a flat fill stays within a few levels.
const FILL_FLATNESS: f32 = 8.0;

/// The turns an original registers: none, then each configured angle (degrees).
fn registered_turns(config: &ImageConfig) -> impl Iterator<Item = f32> + '_ {
    std::iter::once(0.0).chain(config.rotation_degrees.iter().copied().filter(|&d| d != 0.0 && d.abs() <= 45.0))
}

/// The largest configured turn, in degrees (0 when rotations are off).
pub(super) fn max_rotation(config: &ImageConfig) -> f32 {
    config.rotation_degrees.iter().fold(0f32, |m, d| m.max(d.abs())).min(45.0)
}

/// The fraction `f` of a `w x h` frame whose centred `f w x f h` rectangle stays inside the picture
/// under any turn up to `max_degrees`, so that PDQ of that rectangle needs no pixel a turned copy
/// cut back to its frame has lost, nor the black or edge-clamped corners around it.
///
/// A copy turned by `t` and cut to the old frame keeps the frame turned by `t`; the rectangle's corner
/// `(f w / 2, f h / 2)` turned by `t` must stay inside it: `f (w cos t + h sin t) <= w` and
/// `f (w sin t + h cos t) <= h`. At 8 degrees that is 0.89 of each side for a square, 0.83 for 3:2.
///
/// Measured on the fixtures' 52 turned copies: the whole frame turned back left 4 beyond PDQ's 31
/// bits, two cut back after 7-8 degrees (44 and 52 bits: the lost corners, filled by edge clamping)
/// and both copies of a sunset strip at 4-5 degrees (32 and 46 bits: its low frequencies are mostly
/// sky, so the border, black corners or clamped sky, outweighs the picture). The inscribed rectangle
/// puts all 52 within 28 bits and those four within 24. The nearest wrong work over all 368 queries
/// stays at 90 bits (88 for the whole-frame hashes), so the radius keeps its margin.
fn inscribed_fraction(w: f32, h: f32, max_degrees: f32) -> f32 {
    let (s, c) = (max_degrees.to_radians().sin().abs(), max_degrees.to_radians().cos());
    let (w, h) = (w.max(1.0), h.max(1.0));
    (1.0 / (c + h / w * s)).min(1.0 / (c + w / h * s)).clamp(0.1, 1.0)
}

/// Samples `luma` bilinearly at the 64x64 grid centres of a `frame_w x frame_h` frame that shares its
/// centre and is turned by `degrees`; points outside take the nearest edge pixel.
fn turned_grid(luma: &Luma, degrees: f32, frame_w: f32, frame_h: f32) -> [f32; 4096] {
    if degrees == 0.0 {
        upright_grid(luma, frame_w, frame_h)
    } else {
        rotated_grid(luma, degrees, frame_w, frame_h)
    }
}

/// [`turned_grid`] unturned, to the same bits: a point's source column then depends on its column
/// alone and its source row on its row, so each is found once instead of per point, and rows are
/// read as slices. Every grid a query hashes (its core and its frames) is upright.
fn upright_grid(luma: &Luma, frame_w: f32, frame_h: f32) -> [f32; 4096] {
    let (w, h) = (luma.width, luma.height);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (max_x, max_y) = (w as f32 - 1.0, h as f32 - 1.0);
    // The arithmetic of `rotated_grid` at sin 0 and cos 1 (products that are exact, or a zero
    // added), so that the values are the same.
    let columns: [(usize, usize, f32); 64] = std::array::from_fn(|j| {
        let dx = (j as f32 + 0.5) * frame_w / 64.0 - frame_w / 2.0;
        let sx = (dx + cx - 0.5).clamp(0.0, max_x);
        let x0 = sx as usize;
        (x0, (x0 + 1).min(w - 1), sx - x0 as f32)
    });
    let mut out = [0f32; 4096];
    for (i, row) in out.chunks_exact_mut(64).enumerate() {
        let dy = (i as f32 + 0.5) * frame_h / 64.0 - frame_h / 2.0;
        let sy = (dy + cy - 0.5).clamp(0.0, max_y);
        let y0 = sy as usize;
        let (y1, fy) = ((y0 + 1).min(h - 1), sy - y0 as f32);
        let (upper, lower) = (&luma.pixels[y0 * w..(y0 + 1) * w], &luma.pixels[y1 * w..(y1 + 1) * w]);
        for (slot, &(x0, x1, fx)) in row.iter_mut().zip(&columns) {
            let top = upper[x0] * (1.0 - fx) + upper[x1] * fx;
            let bottom = lower[x0] * (1.0 - fx) + lower[x1] * fx;
            *slot = top * (1.0 - fy) + bottom * fy;
        }
    }
    out
}

/// [`turned_grid`] at any angle: each point rotated about the centre.
fn rotated_grid(luma: &Luma, degrees: f32, frame_w: f32, frame_h: f32) -> [f32; 4096] {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (luma.width as f32 / 2.0, luma.height as f32 / 2.0);
    let max_x = luma.width as f32 - 1.0;
    let max_y = luma.height as f32 - 1.0;
    let mut out = [0f32; 4096];
    for i in 0..64 {
        let dy = (i as f32 + 0.5) * frame_h / 64.0 - frame_h / 2.0;
        for j in 0..64 {
            let dx = (j as f32 + 0.5) * frame_w / 64.0 - frame_w / 2.0;
            let sx = (cos * dx - sin * dy + cx - 0.5).clamp(0.0, max_x);
            let sy = (sin * dx + cos * dy + cy - 0.5).clamp(0.0, max_y);
            out[i * 64 + j] = bilinear(luma, sx, sy);
        }
    }
    out
}

/// Bilinear sample at (sx, sy), both already clamped to the plane (so never negative).
fn bilinear(luma: &Luma, sx: f32, sy: f32) -> f32 {
    // Truncation is the floor for non-negative values, and unlike `floor` it needs no libm call
    // (the turned grids sample 4,096 points each, dozens of grids per query).
    let (x0, y0) = (sx as usize, sy as usize);
    let (x1, y1) = ((x0 + 1).min(luma.width - 1), (y0 + 1).min(luma.height - 1));
    let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
    let top = luma.at(x0, y0) * (1.0 - fx) + luma.at(x1, y0) * fx;
    let bottom = luma.at(x0, y1) * (1.0 - fx) + luma.at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// What the matcher keeps per work: the whole-image hash (to remove it) and the frame proportions
/// (to express regions in fractions of width and height). Its turned hashes live in the matcher's
/// `turned` index only.
#[derive(Debug, Clone)]
pub(super) struct WorkInfo {
    pub(super) pdq: PdqHash,
    pub(super) core: PdqHash,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) thumbnail: Thumbnail<Column<u8>>,
}

/// Registered works and their indexes.
#[derive(Debug, Clone)]
pub struct ImageMatcher {
    pub(super) config: ImageConfig,
    pub(super) whole: HammingIndex,
    /// The originals' core hashes, met only by queries' cores.
    pub(super) core: HammingIndex,
    /// The originals' turned centred-rectangle hashes, met only by queries' centred hashes. Payloads
    /// are slots of `turns`.
    pub(super) turned: HammingIndex,
    /// Which work and angle each `turned` entry stands for; freed slots are reused.
    pub(super) turns: Vec<(WorkId, f32)>,
    pub(super) free_turns: Vec<u32>,
    pub(super) regions: RegionIndex,
    pub(super) works: HashMap<WorkId, WorkInfo>,
}

impl ImageMatcher {
    /// An empty matcher with these settings.
    pub fn new(config: ImageConfig) -> Self {
        Self {
            config,
            whole: HammingIndex::new(),
            core: HammingIndex::new(),
            turned: HammingIndex::new(),
            turns: Vec::new(),
            free_turns: Vec::new(),
            regions: RegionIndex::new(),
            works: HashMap::new(),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &ImageConfig {
        &self.config
    }

    /// Registered works.
    pub fn len(&self) -> usize {
        self.works.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.works.is_empty()
    }

    /// The registered ids, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = WorkId> + '_ {
        self.works.keys().copied()
    }

    /// Whether `work` is registered.
    pub fn contains(&self, work: WorkId) -> bool {
        self.works.contains_key(&work)
    }

    /// Heap bytes of everything but the region index (the PDQ indexes, the works and their
    /// verification thumbnails), and of the region index, reported apart. Approximate: vector
    /// capacities, and the works map at its entries' size plus a control byte each.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let turns = (self.turns.capacity() * 8) + self.free_turns.capacity() * 4;
        let works = self.works.capacity() * (std::mem::size_of::<(WorkId, WorkInfo)>() + 1)
            + self.works.values().map(|info| info.thumbnail.pixels.heap_bytes()).sum::<usize>();
        let indexes = self.whole.heap_bytes() + self.core.heap_bytes() + self.turned.heap_bytes();
        (indexes + turns + works, self.regions.heap_bytes())
    }

    /// Bytes read in place from the snapshot [`ImageMatcher::from_shared`] loaded (windows, PDQ
    /// entries and tables until their index is rebuilt, thumbnails for as long as the work stays;
    /// none when loaded otherwise): memory the caller's mapping holds, beside
    /// [`ImageMatcher::heap_bytes`].
    pub fn mapped_bytes(&self) -> usize {
        let thumbnails = self.works.values().map(|info| info.thumbnail.pixels.shared_bytes()).sum::<usize>();
        let indexes = self.whole.mapped_bytes() + self.core.mapped_bytes() + self.turned.mapped_bytes();
        self.regions.mapped_bytes() + indexes + thumbnails
    }

    /// Region windows registered.
    pub fn region_count(&self) -> usize {
        self.regions.len()
    }

    /// Registers (or re-registers) a work.
    pub fn register(&mut self, work: WorkId, fingerprint: &OriginalFingerprint) {
        self.register_with(work, fingerprint, false);
    }

    /// Registers a work as part of a bulk load: its windows wait in the region index's scanned tail
    /// until [`ImageMatcher::optimize`], which the caller must call after the last one.
    pub fn register_bulk(&mut self, work: WorkId, fingerprint: &OriginalFingerprint) {
        self.register_with(work, fingerprint, true);
    }

    fn register_with(&mut self, work: WorkId, fingerprint: &OriginalFingerprint, bulk: bool) {
        self.remove(work);
        let add = if bulk { RegionIndex::add_deferred } else { RegionIndex::add };
        for (hash, w) in &fingerprint.regions {
            add(&mut self.regions, *hash, RegionEntry { work, x: w.x, y: w.y, side: w.side });
        }
        self.insert_work(
            work,
            WorkInfo {
                pdq: fingerprint.pdq,
                core: fingerprint.core,
                width: fingerprint.width.max(1),
                height: fingerprint.height.max(1),
                thumbnail: Thumbnail {
                    width: fingerprint.thumbnail.width,
                    height: fingerprint.thumbnail.height,
                    pixels: fingerprint.thumbnail.pixels.clone().into(),
                },
            },
            &fingerprint.turned,
            bulk,
        );
    }

    /// Records a work and indexes its whole-image and turned hashes (its windows are the caller's
    /// business). `bulk` leaves every index's new entries in its scanned tail until [`ImageMatcher::optimize`].
    pub(super) fn insert_work(&mut self, work: WorkId, info: WorkInfo, turned: &[(f32, PdqHash)], bulk: bool) {
        let add = if bulk { HammingIndex::add_deferred } else { HammingIndex::add };
        add(&mut self.whole, info.pdq, work);
        add(&mut self.core, info.core, work);
        for &(degrees, hash) in turned {
            let slot = match self.free_turns.pop() {
                Some(slot) => {
                    self.turns[slot as usize] = (work, degrees);
                    slot
                }
                None => {
                    self.turns.push((work, degrees));
                    (self.turns.len() - 1) as u32
                }
            };
            add(&mut self.turned, hash, slot);
        }
        self.works.insert(work, info);
    }

    /// Calls `visit` with each registered work's turned hashes (angle, hash), in no particular order.
    #[cfg(test)]
    pub(super) fn for_each_turned(&self, mut visit: impl FnMut(WorkId, f32, &PdqHash)) {
        self.turned.for_each_live(|hash, slot| {
            if let Some(&(work, degrees)) = self.turns.get(slot as usize) {
                visit(work, degrees, hash);
            }
        });
    }

    /// Rebuilds the index tables, the region windows included (call after bulk registration).
    pub fn optimize(&mut self) {
        if self.regions.is_stale() {
            self.regions.rebuild();
        }
        // A fresh index is left alone: at a million works rebuilding the three took 4 s.
        for index in [&mut self.whole, &mut self.core, &mut self.turned] {
            if index.is_stale() {
                index.rebuild();
            }
        }
    }

    /// Forgets a work. Returns whether it was registered.
    pub fn remove(&mut self, work: WorkId) -> bool {
        let Some(info) = self.works.remove(&work) else { return false };
        self.whole.remove(&info.pdq, work);
        self.core.remove(&info.core, work);
        let turns = &self.turns;
        let mut freed = Vec::new();
        self.turned.remove_where(|slot| {
            let doomed = turns.get(slot as usize).is_some_and(|&(w, _)| w == work);
            if doomed {
                freed.push(slot);
            }
            doomed
        });
        self.free_turns.extend(freed);
        self.regions.remove_work(work);
        true
    }

    /// The works a query copies, best first, one hit per work.
    pub fn query(&self, query: &QueryFingerprint) -> Vec<ImageHit> {
        let mut best: HashMap<WorkId, ImageHit> = HashMap::new();
        fn offer(best: &mut HashMap<WorkId, ImageHit>, hit: ImageHit) {
            let slot = best.entry(hit.work).or_insert_with(|| hit.clone());
            if hit.confidence > slot.confidence {
                *slot = hit;
            }
        }
        let radius = self.config.pdq_max_distance;
        let mut found: Vec<IndexHit> = Vec::new();
        for &(transform, hash) in &query.dihedral {
            found.clear();
            self.whole.query_into(&hash, radius, &mut found);
            for h in &found {
                let signal = if transform == Dihedral::Identity { Signal::Whole } else { Signal::Flipped(transform) };
                offer(&mut best, pdq_hit(h, signal));
            }
        }
        if let Some(core) = &query.core {
            found.clear();
            self.core.query_into(core, radius, &mut found);
            for h in &found {
                offer(&mut best, pdq_hit(h, Signal::Whole));
            }
        }
        // Per work: the nearest turned hash (distance, angle) and the unturned one's distance.
        let mut turned: HashMap<WorkId, ((u32, f32), u32)> = HashMap::new();
        for hash in &query.centred {
            found.clear();
            self.turned.query_into(hash, radius, &mut found);
            for h in &found {
                let Some(&(work, degrees)) = self.turns.get(h.payload as usize) else { continue };
                let slot = turned.entry(work).or_insert(((u32::MAX, 0.0), u32::MAX));
                // Ties go to the smaller turn, so that the answer does not depend on index order.
                let (d, t) = slot.0;
                if h.distance < d || (h.distance == d && (degrees.abs(), degrees) < (t.abs(), t)) {
                    slot.0 = (h.distance, degrees);
                }
                if degrees == 0.0 {
                    slot.1 = slot.1.min(h.distance);
                }
            }
        }
        for (work, ((distance, degrees), unturned)) in turned {
            // A turn of 2 degrees moves the centred hash by 30 bits or more, so a centre that matches
            // unturned about as well as turned is a copy whose border changed (a caption, a logo, heavy
            // JPEG), not a rotation.
            let (distance, signal) = if unturned <= distance + UNTURNED_SLACK {
                (unturned, Signal::Whole)
            } else {
                (distance, Signal::Rotated(degrees))
            };
            offer(&mut best, pdq_hit(&IndexHit { distance, payload: work }, signal));
        }
        // Whole-image hits are conclusive; the region vote runs for works they did not find (its
        // verification is the costliest step of a query).
        for hit in self.region_hits(query, |work| !best.is_empty() && best.contains_key(&work)) {
            offer(&mut best, hit);
        }
        let mut hits: Vec<ImageHit> = best.into_values().collect();
        hits.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.work.cmp(&b.work)));
        hits
    }

    /// The region vote: each window hit implies where the query sits in the original (a scale and an
    /// offset); a work is reported when two query windows agree on that placement, or one is very close.
    fn region_hits(&self, query: &QueryFingerprint, found: impl Fn(WorkId) -> bool) -> Vec<ImageHit> {
        let config = &self.config.region;
        if !config.enabled || query.windows.is_empty() {
            return Vec::new();
        }
        #[derive(Clone, Copy)]
        struct Vote {
            window: usize,
            distance: u32,
            scale: f32,
            ln_scale: f32,
            tx: f32,
            ty: f32,
        }
        /// A window the index found: its work, the query window, the distance and its slot.
        struct Found {
            work: WorkId,
            window: usize,
            distance: u32,
            slot: usize,
        }
        // One flat list sorted by work, not a map of lists: in a large index most hits are lone
        // windows of unrelated works, and a list each cost an allocation per hit. Their places (a
        // random load each, 6% of the bench's samples at the 1M proxy) are read only for works with
        // a chance of a vote.
        let mut all: Vec<Found> = Vec::new();
        for (i, QueryWindow { hash, unsure, .. }) in query.windows.iter().enumerate() {
            self.regions.query_ranked(
                *hash,
                unsure,
                config.flips_per_chunk,
                config.max_distance,
                |work, slot, distance| {
                    if !found(work) {
                        all.push(Found { work, window: i, distance, slot });
                    }
                },
            );
        }
        all.sort_unstable_by_key(|f| f.work);
        let ln_tolerance = config.vote_scale_ratio.max(1.0).ln();
        let mut candidates = Vec::new();
        let mut run = Vec::new();
        for hits in all.chunk_by(|a, b| a.work == b.work) {
            let work = hits[0].work;
            // A lone window that is not very close is never enough (see below): skip it early.
            if hits.len() == 1 && hits[0].distance > config.single_window_distance {
                continue;
            }
            run.clear();
            run.extend(hits.iter().filter_map(|f| {
                let w = &query.windows.get(f.window)?.window;
                let entry = self.regions.entry(f.slot);
                // Only a snapshot whose checks have not run yet can hold a window of no size (see
                // `RegionIndex::from_columns_unchecked`): it implies no placement.
                if entry.side <= 0.0 {
                    return None;
                }
                // Original short-side units per query pixel, and where the query's origin lands.
                let scale = entry.side / w.side;
                Some(Vote {
                    window: f.window,
                    distance: f.distance,
                    scale,
                    ln_scale: scale.ln(),
                    tx: entry.x - scale * w.x,
                    ty: entry.y - scale * w.y,
                })
            }));
            // For each vote, the distinct query windows that agree with it (a query has a handful, so
            // a bit each; past 63 they share the last, which can only lower a support); keep the
            // best-supported one.
            let mut best: Option<(usize, u32, &Vote)> = None;
            for v in &run {
                let windows = run
                    .iter()
                    .filter(|o| {
                        (o.ln_scale - v.ln_scale).abs() <= ln_tolerance
                            && (o.tx - v.tx).abs() <= config.vote_offset
                            && (o.ty - v.ty).abs() <= config.vote_offset
                    })
                    .fold(0u64, |seen, o| seen | 1 << o.window.min(63));
                let support = windows.count_ones() as usize;
                // A total order, so that the placement chosen does not depend on the order in which
                // the index visits windows (it differs between a live and a reloaded matcher).
                let better = match best {
                    None => true,
                    Some((s, d, b)) => (support, std::cmp::Reverse(v.distance), std::cmp::Reverse(v.window))
                        .cmp(&(s, std::cmp::Reverse(d), std::cmp::Reverse(b.window)))
                        .then(b.tx.total_cmp(&v.tx))
                        .then(b.ty.total_cmp(&v.ty))
                        .then(b.scale.total_cmp(&v.scale))
                        .is_gt(),
                };
                if better {
                    best = Some((support, v.distance, v));
                }
            }
            let Some((support, distance, v)) = best else { continue };
            if support < 2 && distance > config.single_window_distance {
                continue;
            }
            candidates.push((support, distance, work, *v));
        }
        // Verification is the costliest step; only the best-supported placements get it, so that a
        // query meeting a crowd of near-duplicates (bursts, series, re-crops) stays cheap.
        candidates.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        candidates.truncate(MAX_VERIFIED);
        let mut hits = Vec::new();
        for (support, distance, work, v) in candidates {
            let Some(info) = self.works.get(&work) else { continue };
            // Window hashes are short and windows of one query overlap, so agreeing votes are not
            // independent evidence. The placement they imply is checked against the original itself:
            // the query's grid must correlate with the original's thumbnail sampled at that placement.
            let Some(QueryWindow { window: within, .. }) = query.windows.get(v.window) else { continue };
            let (grid, thumbnail) = (query.grid.view(), info.thumbnail.view());
            let (correlation, edges) = verify(&grid, query.width, within, &thumbnail, v.scale, v.tx, v.ty);
            let verified = (correlation >= config.min_correlation && edges >= config.min_edge_correlation)
                || (support >= config.strong_support
                    && correlation >= config.strong_min_correlation
                    && edges >= config.strong_min_edge_correlation);
            if !verified {
                continue;
            }
            let short = info.width.min(info.height) as f32;
            let (fw, fh) = (info.width as f32 / short, info.height as f32 / short);
            let region = Rect {
                x0: (v.tx / fw).clamp(0.0, 1.0),
                y0: (v.ty / fh).clamp(0.0, 1.0),
                x1: ((v.tx + v.scale * query.width as f32) / fw).clamp(0.0, 1.0),
                y1: ((v.ty + v.scale * query.height as f32) / fh).clamp(0.0, 1.0),
            };
            // Kept below whole-image PDQ hits (0.76 and up), which are the stronger evidence.
            let confidence = 0.75 * edges.clamp(0.0, 1.0) * (1.0 - distance as f32 / 64.0);
            hits.push(ImageHit { work, distance, signal: Signal::Region, region: Some(region), confidence });
        }
        hits
    }
}

/// How well the query matches the original near a placement (`scale` original short sides per query
/// pixel, origin at `tx, ty` short sides). The placement a window vote implies is only good to a few
/// percent, so a small neighbourhood of offsets and scales is searched, and the best score kept.
fn verify(
    grid: &Thumbnail<&[u8]>,
    query_width: u32,
    within: &Window,
    thumbnail: &Thumbnail<&[u8]>,
    scale: f32,
    tx: f32,
    ty: f32,
) -> (f32, f32) {
    // 1.5% of the query's width, in short sides.
    let step = 0.015 * scale * query_width as f32;
    // The cells inside `within` and their grey levels, once for the 75 placements tried; the buffers
    // are reused across placements.
    let cell = query_width as f32 / grid.width.max(1) as f32;
    let mut cells = Vec::with_capacity(grid.pixels.len());
    for i in 0..grid.height {
        for j in 0..grid.width {
            let (qx, qy) = ((j as f32 + 0.5) * cell, (i as f32 + 0.5) * cell);
            if inside(within, qx, qy) {
                cells.push((qx, qy, f32::from(grid.pixels[i * grid.width + j])));
            }
        }
    }
    // Coarse to fine: the 75 placements are ranked on half of the cells with the plain correlation,
    // and only the best five get the full trimmed score. Measured on the fixtures against scoring all
    // 75 fully: the same hits, 6 of 368 queries with a confidence moved (by 0.03 at most), and
    // fixture queries 1.8x faster; a third of the cells and the best three moved one confidence by
    // 0.24.
    let coarse: Vec<(f32, f32, f32)> = cells.iter().copied().step_by(COARSE_CELL_STRIDE).collect();
    let mut scratch = Scratch::default();
    let mut ranked = Vec::with_capacity(75);
    for ds in [0.97f32, 1.0, 1.03] {
        for dy in -2..=2 {
            for dx in -2..=2 {
                let (s, x, y) = (scale * ds, tx + dx as f32 * step, ty + dy as f32 * step);
                ranked.push((score_at(&coarse, thumbnail, (s, x, y), false, &mut scratch), s, x, y));
            }
        }
    }
    let keep = FINE_PLACEMENTS.min(ranked.len());
    if keep < ranked.len() {
        ranked.select_nth_unstable_by(keep - 1, |a, b| b.0.total_cmp(&a.0));
    }
    let mut best = (f32::MIN, scale, tx, ty);
    for &(_, s, x, y) in &ranked[..keep] {
        let score = score_at(&cells, thumbnail, (s, x, y), true, &mut scratch);
        if score > best.0 || (score == best.0 && (s, x, y) < (best.1, best.2, best.3)) {
            best = (score, s, x, y);
        }
    }
    // Grey levels alone are fooled by smooth look-alikes (skies, walls): the edges must line up too.
    let edges = gradient_score(grid, query_width, within, thumbnail, best.1, best.2, best.3);
    (best.0, edges)
}

/// The original's thumbnail sampled under the centre of each cell of the query grid, with the query
/// placed at `scale`, `tx`, `ty` in the original: `None` for a cell outside `within` or outside the
/// original. Also returns how many cells lie inside `within`.
fn sample_under(
    grid: &Thumbnail<&[u8]>,
    query_width: u32,
    within: &Window,
    thumbnail: &Thumbnail<&[u8]>,
    scale: f32,
    tx: f32,
    ty: f32,
) -> (Vec<Option<f32>>, usize) {
    let cell = query_width as f32 / grid.width.max(1) as f32; // query pixels per grid cell
    let thumb_per_short = thumbnail.width.min(thumbnail.height) as f32;
    let mut sampled = Vec::with_capacity(grid.width * grid.height);
    let mut inside_cells = 0;
    for i in 0..grid.height {
        for j in 0..grid.width {
            let (qx, qy) = ((j as f32 + 0.5) * cell, (i as f32 + 0.5) * cell);
            sampled.push(if inside(within, qx, qy) {
                inside_cells += 1;
                thumbnail.sample((tx + scale * qx) * thumb_per_short, (ty + scale * qy) * thumb_per_short)
            } else {
                None
            });
        }
    }
    (sampled, inside_cells)
}

/// Cosine similarity of the neighbour differences of the query grid and of the original sampled under
/// it: high only when edges line up.
fn gradient_score(
    grid: &Thumbnail<&[u8]>,
    query_width: u32,
    within: &Window,
    thumbnail: &Thumbnail<&[u8]>,
    scale: f32,
    tx: f32,
    ty: f32,
) -> f32 {
    let (sampled, _) = sample_under(grid, query_width, within, thumbnail, scale, tx, ty);
    let (gw, gh) = (grid.width, grid.height);
    let q = |i: usize, j: usize| f32::from(grid.pixels[i * gw + j]);
    let mut pairs = Vec::new();
    for i in 0..gh {
        for j in 0..gw {
            let Some(here) = sampled[i * gw + j] else { continue };
            if j + 1 < gw {
                if let Some(right) = sampled[i * gw + j + 1] {
                    pairs.push((q(i, j + 1) - q(i, j), right - here));
                }
            }
            if i + 1 < gh {
                if let Some(below) = sampled[(i + 1) * gw + j] {
                    pairs.push((q(i + 1, j) - q(i, j), below - here));
                }
            }
        }
    }
    trimmed_pearson(&pairs)
}

/// Buffers reused across the placements one verification tries.
#[derive(Default)]
struct Scratch {
    pairs: Vec<(f32, f32)>,
    residuals: Vec<(f32, usize)>,
    trimmed: Vec<(f32, f32)>,
}

/// The correlation of the query grid with the original's thumbnail sampled under each cell. `trimmed`:
/// Pearson correlation, then again without the 15% of cells that fit worst, so that a caption band or
/// a logo (which covers a minority of cells) does not sink a true copy; untrimmed, the plain
/// correlation, for ranking placements on a subset of the cells. `cells` are the query cells inside
/// the voting window (centre in query pixels, grey level). Fewer than half of them inside the
/// original counts as no match.
fn score_at(
    cells: &[(f32, f32, f32)],
    thumbnail: &Thumbnail<&[u8]>,
    (scale, tx, ty): (f32, f32, f32),
    trimmed: bool,
    scratch: &mut Scratch,
) -> f32 {
    let thumb_per_short = thumbnail.width.min(thumbnail.height) as f32;
    scratch.pairs.clear();
    for &(qx, qy, q) in cells {
        if let Some(o) = thumbnail.sample((tx + scale * qx) * thumb_per_short, (ty + scale * qy) * thumb_per_short) {
            scratch.pairs.push((q, o));
        }
    }
    if scratch.pairs.len() * 2 < cells.len() {
        return 0.0;
    }
    if trimmed {
        trimmed_pearson_with(&scratch.pairs, &mut scratch.residuals, &mut scratch.trimmed)
    } else {
        pearson(&scratch.pairs).map_or(0.0, |(r, _)| r)
    }
}

/// Pearson correlation, recomputed without the 15% of pairs that fit the least-squares line worst.
fn trimmed_pearson(pairs: &[(f32, f32)]) -> f32 {
    trimmed_pearson_with(pairs, &mut Vec::new(), &mut Vec::new())
}

/// [`trimmed_pearson`] with caller-owned buffers.
fn trimmed_pearson_with(pairs: &[(f32, f32)], residuals: &mut Vec<(f32, usize)>, trimmed: &mut Vec<(f32, f32)>) -> f32 {
    let Some((r, fit)) = pearson(pairs) else { return 0.0 };
    residuals.clear();
    residuals.extend(pairs.iter().enumerate().map(|(k, &(a, b))| ((b - (fit.0 * a + fit.1)).abs(), k)));
    let keep = pairs.len() * 85 / 100;
    if keep == 0 {
        return r;
    }
    // Only which pairs are kept matters, not their order: a selection, not a sort.
    residuals.select_nth_unstable_by(keep - 1, |x, y| x.0.total_cmp(&y.0));
    trimmed.clear();
    trimmed.extend(residuals[..keep].iter().map(|&(_, k)| pairs[k]));
    pearson(trimmed).map_or(r, |(t, _)| t)
}

fn inside(window: &Window, x: f32, y: f32) -> bool {
    x >= window.x && y >= window.y && x < window.x + window.side && y < window.y + window.side
}

/// Pearson correlation and the least-squares line `b = slope * a + intercept`.
fn pearson(pairs: &[(f32, f32)]) -> Option<(f32, (f32, f32))> {
    let n = pairs.len() as f32;
    if n < 2.0 {
        return None;
    }
    let (ma, mb) = (pairs.iter().map(|p| p.0).sum::<f32>() / n, pairs.iter().map(|p| p.1).sum::<f32>() / n);
    let (mut sab, mut saa, mut sbb) = (0f32, 0f32, 0f32);
    for (a, b) in pairs {
        sab += (a - ma) * (b - mb);
        saa += (a - ma) * (a - ma);
        sbb += (b - mb) * (b - mb);
    }
    if saa <= f32::EPSILON || sbb <= f32::EPSILON {
        return None;
    }
    let slope = sab / saa;
    Some((sab / (saa.sqrt() * sbb.sqrt()), (slope, mb - slope * ma)))
}

fn pdq_hit(hit: &IndexHit, signal: Signal) -> ImageHit {
    ImageHit {
        work: hit.payload,
        distance: hit.distance,
        signal,
        region: None,
        confidence: (1.0 - hit.distance as f32 / 128.0).max(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::super::pdq::blur;
    use super::*;

    proptest::proptest! {
        /// The banded resampler averages exactly the boxes a cell-by-cell loop does.
        #[test]
        fn area_resample_averages_each_cells_box(
            w in 1usize..90, h in 1usize..90, ow in 1usize..40, oh in 1usize..40, seed in 0u32..1000,
        ) {
            let pixels = (0..w * h).map(|k| (((k as u32).wrapping_mul(2_654_435_761) ^ seed) % 256) as f32).collect();
            let luma = Luma { width: w, height: h, pixels };
            let (sx, sy) = (w as f32 / ow as f32, h as f32 / oh as f32);
            let mut expected = Vec::new();
            for i in 0..oh {
                let (y0, y1) = ((i as f32 * sy) as usize, (((i + 1) as f32 * sy).ceil() as usize).min(h));
                for j in 0..ow {
                    let (x0, x1) = ((j as f32 * sx) as usize, (((j + 1) as f32 * sx).ceil() as usize).min(w));
                    let (mut sum, mut n) = (0f32, 0f32);
                    for y in y0..y1.max(y0 + 1).min(h) {
                        for x in x0..x1.max(x0 + 1).min(w) {
                            sum += luma.at(x, y);
                            n += 1.0;
                        }
                    }
                    expected.push(sum / n.max(1.0));
                }
            }
            let got = area_resample(&luma, ow, oh);
            proptest::prop_assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                proptest::prop_assert!((g - e).abs() < 1e-3, "{} vs {}", g, e);
            }
        }
    }

    proptest::proptest! {
        /// The upright shortcut gives the rotating sampler's bits at no turn: frames inside the
        /// plane, past its edges (clamped) and smaller than a pixel.
        #[test]
        fn upright_grids_are_rotated_grids_at_no_turn(
            w in 1usize..200, h in 1usize..200, fw in 0.5f32..400.0, fh in 0.5f32..400.0, seed in 0u32..1000,
        ) {
            let pixels = (0..w * h).map(|k| (((k as u32).wrapping_mul(2_654_435_761) ^ seed) % 256) as f32).collect();
            let luma = Luma { width: w, height: h, pixels };
            for zero in [0.0f32, -0.0] {
                let (fast, general) = (turned_grid(&luma, zero, fw, fh), rotated_grid(&luma, zero, fw, fh));
                proptest::prop_assert!(fast.iter().zip(&general).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }

    /// Full-plane bilinear rotation (the test's reference for what `turned_grid` shortcuts).
    fn rotate(luma: &Luma, degrees: f32, out_w: usize, out_h: usize) -> Luma {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (luma.width as f32 / 2.0, luma.height as f32 / 2.0);
        let (ox, oy) = (out_w as f32 / 2.0, out_h as f32 / 2.0);
        let mut pixels = Vec::with_capacity(out_w * out_h);
        for y in 0..out_h {
            let dy = y as f32 + 0.5 - oy;
            for x in 0..out_w {
                let dx = x as f32 + 0.5 - ox;
                let sx = (cos * dx - sin * dy + cx - 0.5).clamp(0.0, luma.width as f32 - 1.0);
                let sy = (sin * dx + cos * dy + cy - 0.5).clamp(0.0, luma.height as f32 - 1.0);
                pixels.push(bilinear(luma, sx, sy));
            }
        }
        Luma { width: out_w, height: out_h, pixels }
    }

    #[test]
    fn tiny_and_extreme_planes_fingerprint_without_panicking() {
        let config = ImageConfig { min_quality: 0, ..ImageConfig::default() };
        for (w, h) in [(8usize, 8usize), (8, 600), (900, 8), (17, 33)] {
            let pixels = (0..w * h).map(|i| ((i * 7919) % 251) as f32).collect();
            let decoded = Decoded {
                format: super::super::decode::Format::Png,
                source_width: w as u32,
                source_height: h as u32,
                luma: Luma { width: w, height: h, pixels },
            };
            let original = fingerprint_original(&decoded, &config).expect("quality check is off");
            let query = fingerprint_query(&decoded, &config);
            let mut matcher = ImageMatcher::new(config.clone());
            matcher.register(1, &original);
            assert_eq!(matcher.query(&query).first().map(|h| h.work), Some(1), "{w}x{h}");
        }
    }

    #[test]
    fn reused_planes_leave_no_trace() {
        // Planes of other sizes (wider, narrower, taller) fingerprinted first on this thread leave
        // their values in the reused buffers; every fingerprint must be what a fresh thread computes.
        let config = ImageConfig { min_quality: 0, ..ImageConfig::default() };
        let plane = |w: usize, h: usize, seed: usize| Decoded {
            format: super::super::decode::Format::Png,
            source_width: w as u32,
            source_height: h as u32,
            luma: Luma { width: w, height: h, pixels: (0..w * h).map(|i| ((i * 7919 + seed) % 251) as f32).collect() },
        };
        let planes = [plane(400, 300, 1), plane(170, 230, 2), plane(330, 180, 3), plane(170, 230, 4)];
        let fresh: Vec<_> = planes
            .iter()
            .map(|p| {
                std::thread::scope(|scope| {
                    scope.spawn(|| (fingerprint_original(p, &config).ok(), fingerprint_query(p, &config))).join()
                })
                .expect("fingerprints")
            })
            .collect();
        for (p, expected) in planes.iter().zip(&fresh) {
            assert_eq!(&(fingerprint_original(p, &config).ok(), fingerprint_query(p, &config)), expected);
        }
    }

    #[test]
    fn a_giant_planes_buffers_are_not_kept() {
        let config = ImageConfig { min_quality: 0, ..ImageConfig::default() };
        let (w, h) = (100usize, 12_000usize);
        let decoded = Decoded {
            format: super::super::decode::Format::Png,
            source_width: w as u32,
            source_height: h as u32,
            luma: Luma { width: w, height: h, pixels: (0..w * h).map(|i| ((i * 7919) % 251) as f32).collect() },
        };
        let kept = || SPARE.with_borrow(|s| [s.rows.capacity(), s.blurred.capacity(), s.table.capacity()]);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                fingerprint_query(&decoded, &config);
                assert_eq!(kept(), [0, 0, 0]);
                let small =
                    Decoded { luma: Luma { width: 100, height: 120, pixels: vec![7.0; 12_000] }, ..decoded.clone() };
                fingerprint_query(&small, &config);
                assert!(kept().iter().all(|&c| (12_000..=SPARE_PIXELS).contains(&c)), "{:?}", kept());
            });
        });
    }

    #[test]
    fn turning_back_undoes_a_turn() {
        // A photo-like plane: blobs of many sizes, so that all 256 PDQ coefficients carry signal.
        let mut pixels = Vec::new();
        for y in 0..120 {
            for x in 0..160 {
                let mut v = 60.0;
                for k in 0..40u32 {
                    let (bx, by) = ((k * 53 % 160) as f32, (k * 31 % 120) as f32);
                    let r = 6.0 + (k % 7) as f32 * 5.0;
                    let d2 = (x as f32 - bx).powi(2) + (y as f32 - by).powi(2);
                    v += if k % 2 == 0 { 60.0 } else { -40.0 } * (-d2 / (r * r)).exp();
                }
                pixels.push(v);
            }
        }
        let luma = Luma { width: 160, height: 120, pixels };
        // `rotate` by 5 samples the source 5 degrees round, so the copy is the original turned by -5.
        let turned = rotate(&luma, 5.0, 160, 120);
        let config = ImageConfig::default();
        let f = inscribed_fraction(160.0, 120.0, max_rotation(&config));
        let registered = |t: f32| hash_from_grid(&turned_grid(&blur(&luma), -t, 160.0 * f, 120.0 * f));
        let centred = hash_from_grid(&turned_grid(&blur(&turned), 0.0, 160.0 * f, 120.0 * f));
        let at_turn = registered(-5.0).distance(&centred);
        assert!(at_turn <= 31, "{at_turn}");
        assert!(registered(0.0).distance(&centred) > at_turn + UNTURNED_SLACK);
        assert!(registered(5.0).distance(&centred) > at_turn + UNTURNED_SLACK);
    }

    #[test]
    fn filled_corners_are_told_from_a_photo() {
        let photo =
            Luma { width: 64, height: 48, pixels: (0..64 * 48).map(|i| (i % 64 * 3 + i / 64) as f32).collect() };
        assert!(!corners_filled(&photo));
        let mut filled = photo.clone();
        for (x, y) in [(0, 0), (60, 0), (0, 44), (60, 44)] {
            for dy in 0..4 {
                for dx in 0..4 {
                    filled.pixels[(y + dy) * 64 + x + dx] = 2.0;
                }
            }
        }
        assert!(corners_filled(&filled));
        assert_eq!(expanded_source(100.0, 100.0, 0.5), None);
        let (w, h) = expanded_source(120.0, 100.0, 8.0).expect("a real turn");
        let (s, c) = (8f32.to_radians().sin(), 8f32.to_radians().cos());
        assert!((w * c + h * s - 120.0).abs() < 0.01 && (w * s + h * c - 100.0).abs() < 0.01);
    }
}
