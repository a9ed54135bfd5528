//! The byte form of an [`ImageMatcher`]'s registered state, so that a matcher can be saved and loaded
//! without decoding the originals again.
//!
//! Layout (little-endian throughout), then an xxh3-64 checksum of everything before it:
//!
//! ```text
//! magic "SEALIMG\0" | version u32
//! fingerprint parameters: decode_min_side u32, plane_side u32, largest turn f32 (degrees),
//!                         region enabled u8, min_window f32, window_ratio f32, window_step f32,
//!                         min_window_contrast f32
//! works u64, each: id u32, pdq 32 B, core pdq 32 B, turns u8, each turn: degrees f32, pdq 32 B,
//!                  width u32, height u32, thumbnail width u32, height u32, width x height grey bytes
//! region windows u64, each: hash u64, work u32, x u16, y u16, side u16 (in 1/1024 of the short side)
//! checksum u64
//! ```
//!
//! Works are written in id order and windows in the order the region index keeps them after a rebuild
//! (stable by their lowest 16 bits), so equal states give equal bytes. Region votes break ties by a
//! total order, so the answers do not depend on that order either. Window places are stored as the
//! index keeps them (`u16`, 1/1024 of the short side). The indexes are not stored: a load appends
//! everything and rebuilds each index once.
//!
//! The fingerprint parameters are stored and compared, never adopted: hashes taken with another plane
//! size, window ladder or largest turn would silently stop matching, so such bytes are refused. The
//! thresholds of matching (distances, votes, correlations) come from the caller's config as usual.

use super::config::ImageConfig;
use super::error::ImageError;
use super::matcher::{max_rotation, ImageMatcher, Thumbnail, WorkInfo};
use super::pdq::PdqHash;
use super::region::{RegionEntry, RegionHash, PLACE_UNIT};
use crate::bytes::{ByteReader, Malformed};
use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"SEALIMG\0";
const FORMAT_VERSION: u32 = 3;
/// Smallest work record: id, hash, turn count, frame, thumbnail size (turns and pixels come on top).
const WORK_RECORD_BYTES: usize = 4 + 32 + 32 + 1 + 8 + 8;
/// Most turns a work may register (the configured angles and none).
const MAX_TURNS: usize = 64;
/// A window record: hash, work, x, y, side.
const WINDOW_RECORD_BYTES: usize = 8 + 4 + 6;

impl ImageMatcher {
    /// Serializes every registered work (whole-image and inscribed hashes, frame, verification
    /// thumbnail) and every region window, with the fingerprint parameters they were taken with.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.works.len() * 1200 + self.regions.len() * WINDOW_RECORD_BYTES);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        write_parameters(&mut out, &self.config);
        let mut turned: HashMap<u32, Vec<(f32, PdqHash)>> = HashMap::new();
        self.for_each_turned(|work, degrees, hash| turned.entry(work).or_default().push((degrees, *hash)));
        let mut ids: Vec<u32> = self.works.keys().copied().collect();
        ids.sort_unstable();
        out.extend_from_slice(&(ids.len() as u64).to_le_bytes());
        for id in ids {
            let Some(info) = self.works.get(&id) else { continue };
            out.extend_from_slice(&id.to_le_bytes());
            write_pdq(&mut out, &info.pdq);
            write_pdq(&mut out, &info.core);
            let mut turns = turned.remove(&id).unwrap_or_default();
            turns.sort_by(|a, b| a.0.total_cmp(&b.0));
            turns.truncate(MAX_TURNS);
            out.push(turns.len() as u8);
            for (degrees, hash) in &turns {
                out.extend_from_slice(&degrees.to_le_bytes());
                write_pdq(&mut out, hash);
            }
            for value in [info.width, info.height, info.thumbnail.width as u32, info.thumbnail.height as u32] {
                out.extend_from_slice(&value.to_le_bytes());
            }
            out.extend_from_slice(&info.thumbnail.pixels);
        }
        out.extend_from_slice(&(self.regions.len() as u64).to_le_bytes());
        self.regions.for_each_live_canonical(|hash, entry| {
            out.extend_from_slice(&hash.0.to_le_bytes());
            out.extend_from_slice(&entry.work.to_le_bytes());
            // Places are multiples of 1/PLACE_UNIT below 64 (the index stores them so): exact in u16.
            for value in [entry.x, entry.y, entry.side] {
                out.extend_from_slice(&((value * PLACE_UNIT).round() as u16).to_le_bytes());
            }
        });
        let checksum = xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads [`ImageMatcher::to_bytes`]'s form into a matcher with `config`, whose fingerprint
    /// parameters must be the ones the bytes were written with. Truncated, corrupt, inconsistent or
    /// mismatched bytes give [`ImageError::BadIndex`]; nothing panics and no count in the bytes can
    /// make it allocate more than the bytes themselves could hold.
    pub fn from_bytes(bytes: &[u8], config: ImageConfig) -> Result<Self, ImageError> {
        let bad = ImageError::BadIndex;
        if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not an image matcher"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if xxh3_64(body) != u64::from_le_bytes(sum.try_into().map_err(|_| bad("checksum"))?) {
            return Err(bad("checksum mismatch"));
        }
        let mut reader = ByteReader::new(body, MAGIC.len());
        if reader.u32()? != FORMAT_VERSION {
            return Err(bad("unsupported format version"));
        }
        let mut expected = Vec::new();
        write_parameters(&mut expected, &config);
        if reader.slice(expected.len())? != expected.as_slice() {
            return Err(bad("written with other fingerprint parameters"));
        }
        let mut matcher = ImageMatcher::new(config);
        let work_count = reader.count(WORK_RECORD_BYTES)?;
        let mut previous: Option<u32> = None;
        for _ in 0..work_count {
            let id = reader.u32()?;
            if previous.is_some_and(|p| p >= id) {
                return Err(bad("work ids out of order or repeated"));
            }
            previous = Some(id);
            let pdq = read_pdq(&mut reader)?;
            let core = read_pdq(&mut reader)?;
            let turn_count = usize::from(reader.u8()?);
            if turn_count > MAX_TURNS {
                return Err(bad("too many turns"));
            }
            let mut turns = Vec::with_capacity(turn_count);
            for _ in 0..turn_count {
                let degrees = reader.f32()?;
                if !(degrees.is_finite() && degrees.abs() <= 45.0) {
                    return Err(bad("turn out of range"));
                }
                turns.push((degrees, read_pdq(&mut reader)?));
            }
            let (width, height) = (reader.u32()?, reader.u32()?);
            let (thumb_w, thumb_h) = (reader.u32()? as usize, reader.u32()? as usize);
            if width == 0 || height == 0 || thumb_w == 0 || thumb_h == 0 {
                return Err(bad("empty frame or thumbnail"));
            }
            let area = thumb_w.checked_mul(thumb_h).ok_or(bad("thumbnail too large"))?;
            let pixels = reader.slice(area)?.to_vec();
            let thumbnail = Thumbnail { width: thumb_w, height: thumb_h, pixels };
            matcher.insert_work(id, WorkInfo { pdq, core, width, height, thumbnail }, &turns, true);
        }
        let window_count = reader.count(WINDOW_RECORD_BYTES)?;
        for _ in 0..window_count {
            let hash = RegionHash(reader.u64()?);
            let work = reader.u32()?;
            let mut place = || reader.u16().map(|v| f32::from(v) / PLACE_UNIT);
            let entry = RegionEntry { work, x: place()?, y: place()?, side: place()? };
            if !matcher.works.contains_key(&entry.work) {
                return Err(bad("window of an unknown work"));
            }
            if entry.side <= 0.0 {
                return Err(bad("window geometry out of range"));
            }
            matcher.regions.add_deferred(hash, entry);
        }
        if !reader.is_done() {
            return Err(bad("trailing bytes"));
        }
        matcher.optimize();
        Ok(matcher)
    }
}

/// The parameters that decide what an original's fingerprint is (decoding size, plane, largest turn,
/// window ladder and contrast floor), in their stored form.
fn write_parameters(out: &mut Vec<u8>, config: &ImageConfig) {
    out.extend_from_slice(&config.decode_min_side.to_le_bytes());
    out.extend_from_slice(&config.plane_side.to_le_bytes());
    out.extend_from_slice(&max_rotation(config).to_le_bytes());
    let region = &config.region;
    out.push(u8::from(region.enabled));
    for value in [region.min_window, region.window_ratio, region.window_step, region.min_window_contrast] {
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn write_pdq(out: &mut Vec<u8>, hash: &PdqHash) {
    for word in &hash.0 {
        out.extend_from_slice(&word.to_le_bytes());
    }
}

fn read_pdq(reader: &mut ByteReader<'_>) -> Result<PdqHash, Malformed> {
    Ok(PdqHash([reader.u64()?, reader.u64()?, reader.u64()?, reader.u64()?]))
}

impl From<Malformed> for ImageError {
    fn from(malformed: Malformed) -> Self {
        ImageError::BadIndex(malformed.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::decode::{Decoded, Format, Luma};
    use crate::image::matcher::{fingerprint_original, fingerprint_query};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// A photo-like plane: blobs of many sizes placed by `seed`, so that PDQ and the windows carry signal.
    fn plane(seed: u32, width: usize, height: usize) -> Luma {
        let mut pixels = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let mut v = 90.0;
                for k in 0..40u32 {
                    let (bx, by) =
                        (((k * 53 + seed * 17) % width as u32) as f32, ((k * 31 + seed * 29) % height as u32) as f32);
                    let r = 6.0 + ((k + seed) % 7) as f32 * 5.0;
                    let d2 = (x as f32 - bx).powi(2) + (y as f32 - by).powi(2);
                    v += if (k + seed).is_multiple_of(2) { 60.0 } else { -40.0 } * (-d2 / (r * r)).exp();
                }
                pixels.push(v);
            }
        }
        Luma { width, height, pixels }
    }

    fn decoded(luma: Luma) -> Decoded {
        Decoded { format: Format::Png, source_width: luma.width as u32, source_height: luma.height as u32, luma }
    }

    fn crop(luma: &Luma, x0: usize, y0: usize, width: usize, height: usize) -> Luma {
        let pixels = (y0..y0 + height).flat_map(|y| (x0..x0 + width).map(move |x| (x, y))).map(|(x, y)| luma.at(x, y));
        Luma { width, height, pixels: pixels.collect() }
    }

    /// Four registered works (one removed again), and queries: each original, and a crop of one.
    fn sample() -> &'static (ImageMatcher, Vec<Luma>) {
        static SAMPLE: OnceLock<(ImageMatcher, Vec<Luma>)> = OnceLock::new();
        SAMPLE.get_or_init(|| {
            let config = ImageConfig { min_quality: 0, ..ImageConfig::default() };
            let mut matcher = ImageMatcher::new(config.clone());
            let planes: Vec<Luma> = (0..4).map(|seed| plane(seed, 200, 150)).collect();
            for (work, luma) in planes.iter().enumerate() {
                let fingerprint = fingerprint_original(&decoded(luma.clone()), &config).expect("quality check is off");
                matcher.register(work as u32 * 10 + 3, &fingerprint);
            }
            assert!(matcher.remove(13));
            let mut queries = planes.clone();
            queries.push(crop(&planes[2], 30, 20, 150, 120));
            (matcher, queries)
        })
    }

    #[test]
    fn a_round_trip_answers_every_query_the_same() {
        let (matcher, queries) = sample();
        let bytes = matcher.to_bytes();
        let copy = ImageMatcher::from_bytes(&bytes, matcher.config().clone()).expect("round trip");
        assert_eq!((copy.len(), copy.region_count()), (matcher.len(), matcher.region_count()));
        assert_eq!(copy.to_bytes(), bytes, "equal states give equal bytes");
        for luma in queries {
            let query = fingerprint_query(&decoded(luma.clone()), matcher.config());
            let hits = matcher.query(&query);
            assert_eq!(copy.query(&query), hits);
        }
        let found = matcher.query(&fingerprint_query(&decoded(queries[0].clone()), matcher.config()));
        assert_eq!(found.first().map(|h| h.work), Some(3));
        let cropped = matcher.query(&fingerprint_query(&decoded(queries[4].clone()), matcher.config()));
        assert_eq!(cropped.first().map(|h| (h.work, h.signal.kind())), Some((23, "region")), "{cropped:?}");
    }

    #[test]
    fn bytes_from_other_parameters_or_damaged_are_refused() {
        let (matcher, _) = sample();
        let bytes = matcher.to_bytes();
        let other = ImageConfig { plane_side: 200, ..matcher.config().clone() };
        assert_eq!(
            ImageMatcher::from_bytes(&bytes, other).err(),
            Some(ImageError::BadIndex("written with other fingerprint parameters"))
        );
        let mut flipped = bytes.clone();
        flipped[100] ^= 1;
        assert_eq!(
            ImageMatcher::from_bytes(&flipped, matcher.config().clone()).err(),
            Some(ImageError::BadIndex("checksum mismatch"))
        );
        assert!(ImageMatcher::from_bytes(b"SEALIMG\0", ImageConfig::default()).is_err());
        let empty = ImageMatcher::new(ImageConfig::default());
        assert!(ImageMatcher::from_bytes(&empty.to_bytes(), ImageConfig::default()).is_ok_and(|m| m.is_empty()));
    }

    /// Replaces the trailing checksum so that damage reaches the parser instead of the checksum test.
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        if bytes.len() >= 8 {
            let body = bytes.len() - 8;
            let sum = xxh3_64(&bytes[..body]);
            bytes[body..].copy_from_slice(&sum.to_le_bytes());
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = ImageMatcher::from_bytes(&bytes, ImageConfig::default());
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&bytes);
            let _ = ImageMatcher::from_bytes(&reseal(framed), ImageConfig::default());
        }

        #[test]
        fn truncated_bytes_are_refused(cut in any::<prop::sample::Index>(), reseal_it in any::<bool>()) {
            let (matcher, _) = sample();
            let bytes = matcher.to_bytes();
            let short = bytes[..cut.index(bytes.len())].to_vec();
            let short = if reseal_it { reseal(short) } else { short };
            prop_assert!(ImageMatcher::from_bytes(&short, matcher.config().clone()).is_err());
        }

        #[test]
        fn damaged_and_resealed_bytes_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            in_header in any::<bool>(),
        ) {
            let (matcher, _) = sample();
            let mut bytes = matcher.to_bytes();
            // The header and the first work record hold every count and size; aim there half the time.
            let span = if in_header { bytes.len().min(120) } else { bytes.len() };
            for (at, value) in edits {
                bytes[at.index(span)] = value;
            }
            if let Ok(loaded) = ImageMatcher::from_bytes(&reseal(bytes), matcher.config().clone()) {
                // Whatever was accepted is a working matcher.
                let query = fingerprint_query(&decoded(plane(0, 64, 48)), matcher.config());
                let _ = loaded.query(&query);
            }
        }
    }
}
