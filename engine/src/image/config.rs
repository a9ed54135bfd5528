//! Every threshold of the image engine in one place, with its default and the reason for it.

use super::decode::DecodeLimits;

/// Settings of fingerprinting and matching. `Default` gives the documented values.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig {
    /// Hard decoding limits (pixel count, side, allocation).
    pub limits: DecodeLimits,
    /// Shorter side, in pixels, that decoding aims for (JPEGs are DCT-scaled down to it, never below).
    /// Default 512: PDQ then stays within 2 bits of the full-size reference on all our fixtures; at 256
    /// 99% stay within 4 bits but a few reach 14, and at 160 only 80% stay within 4 (PDQ's 64x64
    /// sampling starts to alias). A 2 MP JPEG decodes at 1/2 scale, a 12 MP one at 1/4.
    pub decode_min_side: u32,
    /// Shorter side of the plane that rotations and region windows work on (an integer box reduction of
    /// the decoded plane, so at least this). Default 160: windows of half the side still get 80 px.
    pub plane_side: u32,
    /// Largest PDQ distance that counts as a match. Default 31, ThreatExchange's and HMA's threshold.
    pub pdq_max_distance: u32,
    /// PDQ hashes with a quality below this are dropped, as HMA does. Default 50, the level below
    /// which PDQ's authors call the hash unreliable (flat or blurred images).
    pub min_quality: u8,
    /// Also try the seven flips and quarter turns of each query. Default true.
    pub dihedral: bool,
    /// Angles (degrees) by which a query is turned back to catch slightly rotated copies. PDQ is
    /// rotation-sensitive (measured with the reference on our originals: 0.5 degree costs a median 14 bits,
    /// 1 degree 26), so whole degrees 2..=8 either way leave at most half a degree. The largest angle
    /// also sets the inscribed rectangle that originals register and turned-back queries hash (see
    /// `matcher::inscribed_fraction`), so it is part of the registered state. Half-degree steps were
    /// measured and bring nothing the inscribed rectangle does not: on the fixtures' 52 turned copies
    /// the worst inscribed distance stays at 28 bits, at twice the cost.
    pub rotation_degrees: Vec<f32>,
    /// The crop-robust region signal (see [`RegionConfig`]).
    pub region: RegionConfig,
}

impl Default for ImageConfig {
    fn default() -> Self {
        Self {
            limits: DecodeLimits::default(),
            decode_min_side: 512,
            plane_side: 160,
            pdq_max_distance: 31,
            min_quality: 50,
            dihedral: true,
            rotation_degrees: (2..=8).flat_map(|d| [-(d as f32), d as f32]).collect(),
            region: RegionConfig::default(),
        }
    }
}

/// Thresholds of the region signal: 64-bit low-frequency hashes of square windows, registered on a
/// dense ladder of sizes and positions, queried with a few windows, and confirmed by geometric voting.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionConfig {
    /// Turn the region signal on. Default true.
    pub enabled: bool,
    /// Smallest registered window, as a fraction of the original's shorter side. Default 0.55: a copy
    /// keeping 55% of each side has its largest squares at 0.55 of the original's short side.
    ///
    /// The ladder (`min_window`, `window_ratio`, `window_step`) sets what the region signal costs per
    /// work, about 30 bytes a window in the index. Measured on the fixtures (52 crops keeping 55-90%
    /// per side; the captions and logos are found by the core hash whatever the ladder):
    ///
    /// | ladder | windows/work | crops found |
    /// | --- | --- | --- |
    /// | 0.5, 1.08, 0.10 (before) | 1,031 | 52 |
    /// | 0.5, 1.12, 0.12 | 581 | 52 |
    /// | 0.5, 1.10, 0.15 | 489 | 51 |
    /// | **0.55, 1.12, 0.12** | **396** | **52** |
    /// | 0.55, 1.10, 0.14 | 369 | 51 |
    /// | 0.55, 1.15, 0.12 | 348 | 52 |
    /// | 0.5, 1.15, 0.15 | 339 | 50 |
    /// | 0.6, 1.12, 0.12 | 294 | 51 |
    /// | 0.55, 1.12, 0.15 | 276 | 50 |
    /// | 0.55, 1.15, 0.15 | 250 | 50 |
    /// | 0.55, 1.20, 0.15 | 215 | 46 |
    /// | 0.6, 1.15, 0.15 | 174 | 50 |
    ///
    /// The default is the smallest ladder that keeps every crop with a size step (12%) that is not at
    /// the edge of what the hash tolerates; 348 windows also kept all 52 but with 15% steps, where
    /// other sparse ladders start to lose crops. Traced with `engine/examples/image_tune.rs`.
    pub min_window: f32,
    /// Ratio between successive registered window sizes. Default 1.12 (size error at most 6%).
    pub window_ratio: f32,
    /// Registered window step, as a fraction of the window side. Default 0.12 (offset error at most 6%).
    pub window_step: f32,
    /// Largest distance (of 64 bits) for a window hit. Default 14: measured shift or scale errors of
    /// 4-5% move the hash by a median 7-10 bits; windows of unrelated photos sit at 22 and beyond.
    pub max_distance: u32,
    /// Bits of each index chunk a query window's probes may flip: its least sure ones, whose
    /// frequencies lie closest to the median that thresholds them (see `RegionIndex::query_ranked`).
    /// A copy's shift, rescale or re-encoding flips mostly those, so probing flips of every bit
    /// (21 of a chunk in a large index) mostly reads buckets no copy lands in. Default 12.
    ///
    /// Measured (mean query time over the bench's 368 fixture queries; crops found of 52 in the
    /// fixtures, of 192 in the held-out corpus `benches/peers/image_heldout.py` writes (16 photos and
    /// strips the fixtures never register, 12 crops each); every other transform was found at every
    /// setting):
    ///
    /// | flips | fixtures, 26 works | held-out, 16 works | 10k works | 100k works |
    /// | --- | --- | --- | --- | --- |
    /// | 21 (all) | 52 | 190 | 51, 6.5 ms | 51, 19.0 ms |
    /// | **12** | **52** | **190** | **51, 3.1 ms** | **51, 8.7 ms** |
    /// | 11 | 51 | | | |
    /// | 10 | 50 | 190 | 51, 2.2 ms | 51, 7.6 ms |
    /// | 8 | | 190 | 50, 1.9 ms | 50, 6.4 ms |
    /// | 6 | | 190 | 49, 1.5 ms | 49, 3.8 ms |
    /// | 4 | | 188 | | |
    ///
    /// 12 is the fewest flips that lost no crop anywhere; 10 already lost two in the fixtures.
    pub flips_per_chunk: u32,
    /// A single window, without a second one agreeing on the geometry, must be this close. Default 6.
    pub single_window_distance: u32,
    /// Windows whose 32x32 samples have a standard deviation below this (flat sky, walls) are skipped:
    /// their hashes are noise and would match any other flat window. Default 10 (of 255).
    pub min_window_contrast: f32,
    /// Two window hits agree when their implied scales differ by less than this ratio. Default 1.1.
    pub vote_scale_ratio: f32,
    /// ... and their implied offsets by less than this fraction of the original's short side. Default 0.08.
    pub vote_offset: f32,
    /// The placement a vote implies is verified inside the voting query window: the query's grid
    /// (24 cells on the short side) must correlate with the original's 32 px thumbnail sampled there,
    /// after dropping the 15% worst-fitting cells, at least this much (Pearson). Default 0.85.
    pub min_correlation: f32,
    /// ... and so must their neighbour differences (edges), which smooth look-alikes (sky, sea, walls)
    /// do not share. Default 0.8; on our fixtures look-alike strips of one photo reach 0.75 at most
    /// outside the one sunset whose strips are the same horizon.
    pub min_edge_correlation: f32,
    /// When at least this many query windows agree on the placement, the check is relaxed to the
    /// two `strong_*` thresholds below: an overlay (caption band, logo, watermark text) adds edges the
    /// original lacks, and many agreeing windows are evidence of their own. Default 4.
    pub strong_support: usize,
    /// Grey-level correlation required with strong support. Default 0.9.
    pub strong_min_correlation: f32,
    /// Edge correlation required with strong support. Default 0.5.
    pub strong_min_edge_correlation: f32,
}

impl Default for RegionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_window: 0.55,
            window_ratio: 1.12,
            window_step: 0.12,
            max_distance: 14,
            flips_per_chunk: 12,
            single_window_distance: 6,
            min_window_contrast: 10.0,
            vote_scale_ratio: 1.1,
            vote_offset: 0.08,
            min_correlation: 0.85,
            min_edge_correlation: 0.8,
            strong_support: 4,
            strong_min_correlation: 0.9,
            strong_min_edge_correlation: 0.5,
        }
    }
}
