//! Fingerprints for originals and queries, and the matcher that registers the one and answers the other.
//!
//! A query is tried, cheapest first, as: the whole image and its seven flips and quarter turns (PDQ,
//! one DCT); the image turned back by a few degrees (PDQ of the whole frame, and of the centred
//! rectangle that a copy turned and cut back to its frame still holds in full, for slightly rotated
//! copies); and its windows against the originals' registered windows (the region signal, for crops
//! and for copies with a caption or logo over part of the frame). Each work is reported once, by its best signal.

use super::config::ImageConfig;
use super::decode::{Decoded, Luma};
use super::error::ImageError;
use super::index::{HammingIndex, IndexHit};
use super::pdq::{blur, dct16, hash_from_grid, Dihedral, PdqHash};
use super::region::{query_windows, registration_windows, RegionEntry, RegionHash, RegionIndex, Window, WindowHasher};
use std::collections::HashMap;

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
    /// PDQ of the centred rectangle that survives every configured turn (see `inscribed_fraction`):
    /// what a turned copy cut back to its frame still shows in full.
    pub inscribed: PdqHash,
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

/// A small 8-bit grey image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major grey values.
    pub pixels: Vec<u8>,
}

impl Thumbnail {
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

/// Area-averages a plane to the given size.
fn area_resample(luma: &Luma, width: usize, height: usize) -> Vec<f32> {
    let (sx, sy) = (luma.width as f32 / width as f32, luma.height as f32 / height as f32);
    let mut out = Vec::with_capacity(width * height);
    for i in 0..height {
        let (y0, y1) = ((i as f32 * sy) as usize, (((i + 1) as f32 * sy).ceil() as usize).min(luma.height));
        for j in 0..width {
            let (x0, x1) = ((j as f32 * sx) as usize, (((j + 1) as f32 * sx).ceil() as usize).min(luma.width));
            let mut sum = 0f32;
            let mut n = 0f32;
            for y in y0..y1.max(y0 + 1).min(luma.height) {
                for x in x0..x1.max(x0 + 1).min(luma.width) {
                    sum += luma.at(x, y);
                    n += 1.0;
                }
            }
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
    /// PDQ of the image turned back by each configured angle (degrees).
    pub rotated: Vec<(f32, PdqHash)>,
    /// PDQ of the inscribed rectangle of the image turned back by each configured angle, matched
    /// against the originals' [`OriginalFingerprint::inscribed`] hashes.
    pub rotated_inscribed: Vec<(f32, PdqHash)>,
    /// Hashes of the query's windows, in its own pixels.
    pub windows: Vec<(RegionHash, Window)>,
    /// The query area-averaged to a grid (shorter side 24 cells), for verifying region hits.
    pub grid: Thumbnail,
}

/// Which signal matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// The whole image, as is.
    Whole,
    /// The whole image after a flip or quarter turn.
    Flipped(Dihedral),
    /// The image turned back by this many degrees (its whole frame, or its inscribed rectangle).
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
fn working_plane(luma: &Luma, target: usize) -> Luma {
    let short = luma.width.min(luma.height);
    luma.box_downscale((short / target.max(1)).max(1))
}

/// Fingerprints an original for registration. Fails with `LowQuality` when PDQ says the image is too
/// flat to hash reliably (the region windows are then equally unreliable).
pub fn fingerprint_original(decoded: &Decoded, config: &ImageConfig) -> Result<OriginalFingerprint, ImageError> {
    let luma = &decoded.luma;
    let dct = dct16(luma);
    if dct.quality < config.min_quality {
        return Err(ImageError::LowQuality { quality: dct.quality, min_quality: config.min_quality });
    }
    let plane = working_plane(luma, config.plane_side as usize);
    // Taken the way a query's turned-back grids are (blurred working plane, 64x64 bilinear grid), so
    // that the two hashes differ only by what the copy changed.
    let blurred = blur(&plane);
    let (w, h) = (blurred.width as f32, blurred.height as f32);
    let f = inscribed_fraction(w, h, max_rotation(config));
    let inscribed = hash_from_grid(&turned_grid(&blurred, 0.0, w * f, h * f));
    let mut regions = Vec::new();
    if config.region.enabled {
        let short = plane.width.min(plane.height) as f32;
        let hasher = WindowHasher::new(&plane, &config.region);
        for window in registration_windows(plane.width, plane.height, &config.region) {
            if let Some(hash) = hasher.hash(&window) {
                regions.push((hash, Window { x: window.x / short, y: window.y / short, side: window.side / short }));
            }
        }
    }
    let (tw, th) = scaled_dims(luma, THUMB_SIDE);
    let pixels = area_resample(luma, tw, th).iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect();
    Ok(OriginalFingerprint {
        width: luma.width as u32,
        height: luma.height as u32,
        pdq: dct.hash(),
        inscribed,
        quality: dct.quality,
        regions,
        thumbnail: Thumbnail { width: tw, height: th, pixels },
    })
}

/// Fingerprints a query: dihedral PDQ, turned-back PDQ and window hashes.
pub fn fingerprint_query(decoded: &Decoded, config: &ImageConfig) -> QueryFingerprint {
    let luma = &decoded.luma;
    let dct = dct16(luma);
    let mut dihedral = Vec::new();
    let mut rotated = Vec::new();
    let mut rotated_inscribed = Vec::new();
    let plane = working_plane(luma, config.plane_side as usize);
    if dct.quality >= config.min_quality {
        if config.dihedral {
            dihedral.extend(Dihedral::ALL.iter().map(|&t| (t, dct.dihedral(t))));
        } else {
            dihedral.push((Dihedral::Identity, dct.hash()));
        }
        let blurred = blur(&plane);
        let max_degrees = max_rotation(config);
        for &degrees in &config.rotation_degrees {
            for (frame_w, frame_h) in turned_frames(blurred.width as f32, blurred.height as f32, degrees) {
                let grid = turned_grid(&blurred, degrees, frame_w, frame_h);
                rotated.push((degrees, hash_from_grid(&grid)));
                let f = inscribed_fraction(frame_w, frame_h, max_degrees);
                let grid = turned_grid(&blurred, degrees, frame_w * f, frame_h * f);
                rotated_inscribed.push((degrees, hash_from_grid(&grid)));
            }
        }
    }
    let mut windows = Vec::new();
    if config.region.enabled {
        let hasher = WindowHasher::new(&plane, &config.region);
        for window in query_windows(plane.width, plane.height) {
            if let Some(hash) = hasher.hash(&window) {
                windows.push((hash, window));
            }
        }
    }
    let (gw, gh) = scaled_dims(&plane, GRID_SIDE);
    let pixels = area_resample(&plane, gw, gh).iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect();
    QueryFingerprint {
        width: plane.width as u32,
        height: plane.height as u32,
        quality: dct.quality,
        dihedral,
        rotated,
        rotated_inscribed,
        windows,
        grid: Thumbnail { width: gw, height: gh, pixels },
    }
}

/// PDQ's 64x64 grids of `blurred` turned back by `degrees` on each of [`turned_frames`] (what
/// [`fingerprint_query`] hashes as `rotated`; kept for the test that checks it undoes a turn).
#[cfg(test)]
fn turn_back(blurred: &Luma, degrees: f32) -> Vec<[f32; 4096]> {
    turned_frames(blurred.width as f32, blurred.height as f32, degrees)
        .into_iter()
        .map(|(frame_w, frame_h)| turned_grid(blurred, degrees, frame_w, frame_h))
        .collect()
}

/// The frames a `w x h` copy turned by `degrees` may have come from. A rotated copy is either cut to
/// its old frame (corners lost) or expanded to hold the whole turned picture (corners filled); both
/// are undone: the first on a frame of the same size, the second on the frame the original must have
/// had (solving `W' = W cos + H sin`, `H' = W sin + H cos`). The grids are then sampled on the blurred
/// plane along the turned frame ([`turned_grid`]), rather than rotating every pixel and filtering
/// again: 4,096 samples per frame and angle; blur and rotation nearly commute.
fn turned_frames(w: f32, h: f32, degrees: f32) -> Vec<(f32, f32)> {
    let (s, c) = (degrees.to_radians().sin().abs(), degrees.to_radians().cos());
    let mut out = vec![(w, h)];
    let det = c * c - s * s;
    if det > 0.5 {
        let ow = (w * c - h * s) / det;
        let oh = (h * c - w * s) / det;
        if ow >= 16.0 && oh >= 16.0 && (ow - w).abs() > 2.0 {
            out.push((ow, oh));
        }
    }
    out
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
/// (to express regions in fractions of width and height).
#[derive(Debug, Clone)]
pub(super) struct WorkInfo {
    pub(super) pdq: PdqHash,
    pub(super) inscribed: PdqHash,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) thumbnail: Thumbnail,
}

/// Registered works and their indexes.
#[derive(Debug, Clone)]
pub struct ImageMatcher {
    pub(super) config: ImageConfig,
    whole: HammingIndex,
    /// The originals' inscribed-rectangle hashes, met only by queries' turned-back inscribed hashes.
    inscribed: HammingIndex,
    pub(super) regions: RegionIndex,
    pub(super) works: HashMap<WorkId, WorkInfo>,
}

impl ImageMatcher {
    /// An empty matcher with these settings.
    pub fn new(config: ImageConfig) -> Self {
        Self {
            config,
            whole: HammingIndex::new(),
            inscribed: HammingIndex::new(),
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

    /// Heap bytes of the whole-image index, and of the region index (reported apart).
    pub fn heap_bytes(&self) -> (usize, usize) {
        (self.whole.heap_bytes() + self.inscribed.heap_bytes(), self.regions.heap_bytes())
    }

    /// Region windows registered.
    pub fn region_count(&self) -> usize {
        self.regions.len()
    }

    /// Registers (or re-registers) a work.
    pub fn register(&mut self, work: WorkId, fingerprint: &OriginalFingerprint) {
        self.remove(work);
        for (hash, w) in &fingerprint.regions {
            self.regions.add(*hash, RegionEntry { work, x: w.x, y: w.y, side: w.side });
        }
        self.insert_work(
            work,
            WorkInfo {
                pdq: fingerprint.pdq,
                inscribed: fingerprint.inscribed,
                width: fingerprint.width.max(1),
                height: fingerprint.height.max(1),
                thumbnail: fingerprint.thumbnail.clone(),
            },
        );
    }

    /// Records a work and indexes its whole-image hashes (its windows are the caller's business).
    pub(super) fn insert_work(&mut self, work: WorkId, info: WorkInfo) {
        self.whole.add(info.pdq, work);
        self.inscribed.add(info.inscribed, work);
        self.works.insert(work, info);
    }

    /// Rebuilds the whole-image index tables (call after bulk registration).
    pub fn optimize(&mut self) {
        self.whole.rebuild();
        self.inscribed.rebuild();
    }

    /// Forgets a work. Returns whether it was registered.
    pub fn remove(&mut self, work: WorkId) -> bool {
        let Some(info) = self.works.remove(&work) else { return false };
        self.whole.remove(&info.pdq, work);
        self.inscribed.remove(&info.inscribed, work);
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
        for &(degrees, hash) in &query.rotated {
            found.clear();
            self.whole.query_into(&hash, radius, &mut found);
            for h in &found {
                offer(&mut best, pdq_hit(h, Signal::Rotated(degrees)));
            }
        }
        for &(degrees, hash) in &query.rotated_inscribed {
            found.clear();
            self.inscribed.query_into(&hash, radius, &mut found);
            for h in &found {
                offer(&mut best, pdq_hit(h, Signal::Rotated(degrees)));
            }
        }
        // Whole-image hits are conclusive; the region vote runs for works they did not find.
        for hit in self.region_hits(query) {
            if !best.contains_key(&hit.work) {
                offer(&mut best, hit);
            }
        }
        let mut hits: Vec<ImageHit> = best.into_values().collect();
        hits.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.work.cmp(&b.work)));
        hits
    }

    /// The region vote: each window hit implies where the query sits in the original (a scale and an
    /// offset); a work is reported when two query windows agree on that placement, or one is very close.
    fn region_hits(&self, query: &QueryFingerprint) -> Vec<ImageHit> {
        let config = &self.config.region;
        if !config.enabled || query.windows.is_empty() {
            return Vec::new();
        }
        struct Vote {
            window: usize,
            distance: u32,
            scale: f32,
            ln_scale: f32,
            tx: f32,
            ty: f32,
        }
        let mut votes: HashMap<WorkId, Vec<Vote>> = HashMap::new();
        for (i, (hash, w)) in query.windows.iter().enumerate() {
            self.regions.query(*hash, config.max_distance, |entry, distance| {
                // Original short-side units per query pixel, and where the query's origin lands.
                let scale = entry.side / w.side;
                votes.entry(entry.work).or_default().push(Vote {
                    window: i,
                    distance,
                    scale,
                    ln_scale: scale.ln(),
                    tx: entry.x - scale * w.x,
                    ty: entry.y - scale * w.y,
                });
            });
        }
        let ln_tolerance = config.vote_scale_ratio.max(1.0).ln();
        let mut hits = Vec::new();
        for (work, votes) in votes {
            // For each vote, the distinct query windows that agree with it; keep the best-supported one.
            let mut best: Option<(usize, u32, &Vote)> = None;
            for v in &votes {
                let mut windows: Vec<usize> = votes
                    .iter()
                    .filter(|o| {
                        (o.ln_scale - v.ln_scale).abs() <= ln_tolerance
                            && (o.tx - v.tx).abs() <= config.vote_offset
                            && (o.ty - v.ty).abs() <= config.vote_offset
                    })
                    .map(|o| o.window)
                    .collect();
                windows.sort_unstable();
                windows.dedup();
                let support = windows.len();
                let better = match best {
                    None => true,
                    Some((s, d, _)) => support > s || (support == s && v.distance < d),
                };
                if better {
                    best = Some((support, v.distance, v));
                }
            }
            let Some((support, distance, v)) = best else { continue };
            if support < 2 && distance > config.single_window_distance {
                continue;
            }
            let Some(info) = self.works.get(&work) else { continue };
            // Window hashes are short and windows of one query overlap, so agreeing votes are not
            // independent evidence. The placement they imply is checked against the original itself:
            // the query's grid must correlate with the original's thumbnail sampled at that placement.
            let Some((_, within)) = query.windows.get(v.window) else { continue };
            let (correlation, edges) = verify(&query.grid, query.width, within, &info.thumbnail, v.scale, v.tx, v.ty);
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
    grid: &Thumbnail,
    query_width: u32,
    within: &Window,
    thumbnail: &Thumbnail,
    scale: f32,
    tx: f32,
    ty: f32,
) -> (f32, f32) {
    let step = 0.015 * scale * query_width as f32; // 1.5% of the query's width, in short sides
    let mut best = (f32::MIN, scale, tx, ty);
    for ds in [0.97f32, 1.0, 1.03] {
        for dy in -2..=2 {
            for dx in -2..=2 {
                let (s, x, y) = (scale * ds, tx + dx as f32 * step, ty + dy as f32 * step);
                let score = score_at(grid, query_width, within, thumbnail, s, x, y);
                if score > best.0 {
                    best = (score, s, x, y);
                }
            }
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
    grid: &Thumbnail,
    query_width: u32,
    within: &Window,
    thumbnail: &Thumbnail,
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
    grid: &Thumbnail,
    query_width: u32,
    within: &Window,
    thumbnail: &Thumbnail,
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

/// The trimmed correlation of the query grid with the original's thumbnail sampled under each cell:
/// Pearson correlation, then again without the 15% of cells that fit worst, so that a caption band or
/// a logo (which covers a minority of cells) does not sink a true copy. Fewer than half the cells
/// inside the original counts as no match.
fn score_at(
    grid: &Thumbnail,
    query_width: u32,
    within: &Window,
    thumbnail: &Thumbnail,
    scale: f32,
    tx: f32,
    ty: f32,
) -> f32 {
    let (sampled, inside_cells) = sample_under(grid, query_width, within, thumbnail, scale, tx, ty);
    let pairs: Vec<(f32, f32)> =
        grid.pixels.iter().zip(&sampled).filter_map(|(&q, o)| o.map(|o| (f32::from(q), o))).collect();
    if pairs.len() * 2 < inside_cells {
        return 0.0;
    }
    trimmed_pearson(&pairs)
}

/// Pearson correlation, recomputed without the 15% of pairs that fit the least-squares line worst.
fn trimmed_pearson(pairs: &[(f32, f32)]) -> f32 {
    let Some((r, fit)) = pearson(pairs) else { return 0.0 };
    let mut residuals: Vec<(f32, usize)> =
        pairs.iter().enumerate().map(|(k, &(a, b))| ((b - (fit.0 * a + fit.1)).abs(), k)).collect();
    residuals.sort_by(|x, y| x.0.total_cmp(&y.0));
    let keep = pairs.len() * 85 / 100;
    let trimmed: Vec<(f32, f32)> = residuals[..keep].iter().map(|&(_, k)| pairs[k]).collect();
    pearson(&trimmed).map_or(r, |(t, _)| t)
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
    use super::*;

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
        let turned = rotate(&luma, 5.0, 160, 120);
        let original = dct16(&luma).hash();
        let back = turn_back(&blur(&turned), -5.0);
        let best = back.iter().map(|g| hash_from_grid(g).distance(&original)).min().unwrap_or(256);
        assert!(best <= 31, "{best}");
        assert!(original.distance(&dct16(&turned).hash()) > best);
    }
}
