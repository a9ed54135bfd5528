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
//! region windows u64 (n), then columns in the region index's order (sorted by chunk 0, stable),
//!                  each after zero bytes up to a multiple of 8 from the first byte:
//!                  n hashes u64 | n works u32 | n places (x u16, y u16, side u16, in 1/1024 of the short
//!                  side) | offsets of chunks 0, 1 and 2 (3 x (2^width + 1) u32, width set by n) |
//!                  for chunks 1 and 2, each window's hash without the chunk's bits (2 x n x 6 bytes,
//!                  sorted by chunk, then value), then 2 bytes so that the last entry reads as a u64
//! checksum u64
//! ```
//!
//! The alignment is what lets [`ImageMatcher::from_shared`] read the columns in place from a mapping
//! (whose start is page-aligned); [`ImageMatcher::read_from`] streams them into owned memory. Version
//! 5 (no alignment, chunk 0's offsets left out and recomputed) is still read, by copying.
//!
//! Works are written in id order and windows in the order the region index keeps them after a rebuild,
//! so equal states give equal bytes. Region votes break ties by a total order, so the answers do not
//! depend on that order either. Window places are stored as the index keeps them (`u16`, 1/1024 of the
//! short side).
//!
//! Why the region tables are stored and the PDQ indexes are not: at a million works the windows are
//! about 290 million, and rebuilding their tables (two counting sorts with random writes) took most
//! of a load; stored, they are read in place (or as fast as a stream gives them). The PDQ indexes
//! hold 17 entries a work and are rebuilt on a second thread while the windows are checked.
//! Version 3 (the tables rebuilt on load, windows as interleaved records) took 4.3 s at 100,000 works.
//!
//! The fingerprint parameters are stored and compared, never adopted: hashes taken with another plane
//! size, window ladder or largest turn would silently stop matching, so such bytes are refused. The
//! thresholds of matching (distances, votes, correlations) come from the caller's config as usual.

use super::config::ImageConfig;
use super::error::ImageError;
use super::matcher::{max_rotation, ImageMatcher, Thumbnail, WorkInfo};
use super::pdq::PdqHash;
use super::region::{
    chunk0_offsets, region_rest_len, region_table_span, RegionColumns, RegionIndex, REST_PAD, R_CHUNKS,
};
use crate::bytes::{ByteReader, HashedReader, HashedWriter, Malformed, Records, StreamError};
use crate::column::{Column, SharedBytes};
use std::collections::HashMap;
use std::io::{Read, Write};
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"SEALIMG\0";
const FORMAT_VERSION: u32 = 6;
/// The version before, read by streaming only: columns unaligned, chunk 0's offsets left out.
const UNALIGNED_VERSION: u32 = 5;
/// Every column starts at a multiple of this many bytes from the snapshot's first byte, so that a
/// mapping of the snapshot can be read in place ([`ImageMatcher::from_shared`]).
const COLUMN_ALIGN: u64 = 8;
/// Smallest work record: id, hash, turn count, frame, thumbnail size (turns and pixels come on top).
const WORK_RECORD_BYTES: usize = 4 + 32 + 32 + 1 + 8 + 8;
/// Most turns a work may register (the configured angles and none).
const MAX_TURNS: usize = 64;
/// A window's share of the columns: hash, work, x, y, side, and its entries in the later chunks'
/// tables (6 bytes each).
const WINDOW_RECORD_BYTES: usize = 8 + 4 + 6 + 12;

impl ImageMatcher {
    /// Serializes every registered work (whole-image and inscribed hashes, frame, verification
    /// thumbnail) and every region window with the region tables, with the fingerprint parameters
    /// they were taken with. See [`ImageMatcher::write_to`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.works.len() * 1200 + self.regions.len() * WINDOW_RECORD_BYTES);
        match self.write_to(&mut out) {
            Ok(()) => out,
            Err(e) => unreachable!("writing to a Vec cannot fail: {e}"),
        }
    }

    /// Streams [`ImageMatcher::to_bytes`]'s form into `out` without building it in memory first (a
    /// million-image matcher's snapshot is gigabytes). `out` is not flushed.
    pub fn write_to(&self, out: impl Write) -> std::io::Result<()> {
        let mut out = HashedWriter::new(out);
        out.put(MAGIC)?;
        out.put(&FORMAT_VERSION.to_le_bytes())?;
        let mut parameters = Vec::new();
        write_parameters(&mut parameters, &self.config);
        out.put(&parameters)?;
        let mut turned: HashMap<u32, Vec<(f32, PdqHash)>> = HashMap::new();
        self.for_each_turned(|work, degrees, hash| turned.entry(work).or_default().push((degrees, *hash)));
        let mut ids: Vec<u32> = self.works.keys().copied().collect();
        ids.sort_unstable();
        out.put(&(ids.len() as u64).to_le_bytes())?;
        let mut record = Vec::new();
        for id in ids {
            let Some(info) = self.works.get(&id) else { continue };
            record.clear();
            record.extend_from_slice(&id.to_le_bytes());
            write_pdq(&mut record, &info.pdq);
            write_pdq(&mut record, &info.core);
            let mut turns = turned.remove(&id).unwrap_or_default();
            turns.sort_by(|a, b| a.0.total_cmp(&b.0));
            turns.truncate(MAX_TURNS);
            record.push(turns.len() as u8);
            for (degrees, hash) in &turns {
                record.extend_from_slice(&degrees.to_le_bytes());
                write_pdq(&mut record, hash);
            }
            for value in [info.width, info.height, info.thumbnail.width as u32, info.thumbnail.height as u32] {
                record.extend_from_slice(&value.to_le_bytes());
            }
            record.extend_from_slice(&info.thumbnail.pixels);
            out.put(&record)?;
        }
        let parts = self.regions.parts();
        out.put(&(parts.hashes.len() as u64).to_le_bytes())?;
        out.align(COLUMN_ALIGN)?;
        out.column(&parts.hashes, |h| h.to_le_bytes())?;
        out.align(COLUMN_ALIGN)?;
        out.column(&parts.works, |w| w.to_le_bytes())?;
        out.align(COLUMN_ALIGN)?;
        out.column(&parts.places, |&[x, y, side]| {
            let ([x0, x1], [y0, y1], [s0, s1]) = (x.to_le_bytes(), y.to_le_bytes(), side.to_le_bytes());
            [x0, x1, y0, y1, s0, s1]
        })?;
        out.align(COLUMN_ALIGN)?;
        out.column(&parts.offsets, |o| o.to_le_bytes())?;
        out.align(COLUMN_ALIGN)?;
        out.put(&parts.rests)?;
        out.finish().map(drop)
    }

    /// Reads [`ImageMatcher::to_bytes`]'s form into a matcher with `config`, whose fingerprint
    /// parameters must be the ones the bytes were written with. Truncated, corrupt, inconsistent or
    /// mismatched bytes give [`ImageError::BadIndex`]; nothing panics and no count in the bytes can
    /// make it allocate more than the bytes themselves could hold.
    pub fn from_bytes(bytes: &[u8], config: ImageConfig) -> Result<Self, ImageError> {
        Self::read_from(bytes, bytes.len() as u64, config)
    }

    /// [`ImageMatcher::from_bytes`] over a stream of `len` bytes (a file: its length from its metadata),
    /// never holding the bytes and the matcher at once. The checksum is checked at the end, after the
    /// columns went straight into the matcher's arrays; the PDQ indexes are rebuilt on a second thread
    /// while the region windows stream in. A failing stream gives [`ImageError::SnapshotRead`].
    pub fn read_from(input: impl Read, len: u64, config: ImageConfig) -> Result<Self, ImageError> {
        let mut reader = HashedReader::new(input, len)?;
        let version = read_head(&mut reader, &config)?;
        let mut matcher = ImageMatcher::new(config);
        read_works(&mut reader, &mut matcher)?;
        matcher.with_indexes_rebuilt(|regions, known| {
            *regions = read_windows(&mut reader, known, version)?;
            Ok(())
        })?;
        reader.finish()?;
        Ok(matcher)
    }

    /// A matcher over `bytes` in [`ImageMatcher::to_bytes`]'s form, reading the region windows in
    /// place: nothing of theirs is copied (the bulk of a large matcher: 8.6 of its 12 GB at a million
    /// works), so the load costs a pass over the bytes rather than making their memory exist again.
    /// The caller maps the snapshot file and must not change it while the matcher lives (see
    /// [`SharedBytes`]). The checksum is checked on a second thread while the works are parsed and
    /// the PDQ indexes rebuilt on a third. Works registered later go to an owned tail and removals
    /// to a bitset; only a rebuild (`optimize`, or a tail grown past its share) moves the windows
    /// into owned memory.
    ///
    /// Bytes of an older version, bytes that do not start on an 8-byte boundary in memory (the
    /// columns would be misaligned), and big-endian hosts are read as [`ImageMatcher::from_bytes`]
    /// reads them (copied), with the same errors.
    pub fn from_shared(bytes: SharedBytes, config: ImageConfig) -> Result<Self, ImageError> {
        let data: &[u8] = (*bytes).as_ref();
        let copy = || Self::from_bytes(data, config.clone());
        let Some(body) = data.len().checked_sub(8) else { return copy() };
        let (body, sum) = data.split_at(body);
        let mut reader = ByteReader::new(body, 0);
        // Columns start at multiples of 8 from the first byte: aligned when it is.
        let aligned = data.as_ptr().align_offset(COLUMN_ALIGN as usize) == 0;
        if cfg!(target_endian = "big") || !aligned || read_head(&mut reader, &config)? != FORMAT_VERSION {
            return copy();
        }
        std::thread::scope(|scope| {
            let checked = scope.spawn(|| sum == xxh3_64(body).to_le_bytes());
            let parsed = (|| {
                let mut matcher = ImageMatcher::new(config.clone());
                read_works(&mut reader, &mut matcher)?;
                matcher.with_indexes_rebuilt(|regions, known| {
                    *regions = view_windows(&mut reader, &bytes, known)?;
                    Ok(())
                })?;
                if !reader.is_done() {
                    return Err(ImageError::BadIndex("trailing bytes"));
                }
                Ok(matcher)
            })();
            match checked.join() {
                Ok(true) => parsed,
                Ok(false) => Err(ImageError::BadIndex("checksum mismatch")),
                Err(_) => Err(ImageError::BadIndex("checksum failed")),
            }
        })
    }

    /// Rebuilds the PDQ indexes on a second thread while `load` fills the region index (whose
    /// windows it checks against the registered works).
    fn with_indexes_rebuilt(
        &mut self,
        load: impl FnOnce(&mut RegionIndex, &KnownWorks) -> Result<(), ImageError>,
    ) -> Result<(), ImageError> {
        let ImageMatcher { whole, core, turned, regions, works, .. } = self;
        let known = KnownWorks::new(works);
        std::thread::scope(|scope| {
            let rebuilt = scope.spawn(|| {
                whole.rebuild();
                core.rebuild();
                turned.rebuild();
            });
            let loaded = load(regions, &known);
            if rebuilt.join().is_err() {
                return Err(ImageError::BadIndex("index rebuild failed"));
            }
            loaded
        })
    }
}

/// Magic, version and fingerprint parameters; the version, one this module reads.
fn read_head(reader: &mut impl Records, config: &ImageConfig) -> Result<u32, ImageError> {
    if reader.record(MAGIC.len())? != MAGIC {
        return Err(ImageError::BadIndex("not an image matcher"));
    }
    let version = reader.le_u32()?;
    if version != FORMAT_VERSION && version != UNALIGNED_VERSION {
        return Err(ImageError::BadIndex("unsupported format version"));
    }
    let mut expected = Vec::new();
    write_parameters(&mut expected, config);
    if reader.record(expected.len())? != expected.as_slice() {
        return Err(ImageError::BadIndex("written with other fingerprint parameters"));
    }
    Ok(version)
}

fn read_works(reader: &mut impl Records, matcher: &mut ImageMatcher) -> Result<(), ImageError> {
    let bad = ImageError::BadIndex;
    let work_count = reader.records(WORK_RECORD_BYTES)?;
    let mut previous: Option<u32> = None;
    for _ in 0..work_count {
        let id = reader.le_u32()?;
        if previous.is_some_and(|p| p >= id) {
            return Err(bad("work ids out of order or repeated"));
        }
        previous = Some(id);
        let pdq = read_pdq(reader)?;
        let core = read_pdq(reader)?;
        let turn_count = usize::from(reader.le_u8()?);
        if turn_count > MAX_TURNS {
            return Err(bad("too many turns"));
        }
        let mut turns = Vec::with_capacity(turn_count);
        for _ in 0..turn_count {
            let degrees = reader.le_f32()?;
            if !(degrees.is_finite() && degrees.abs() <= 45.0) {
                return Err(bad("turn out of range"));
            }
            turns.push((degrees, read_pdq(reader)?));
        }
        let (width, height) = (reader.le_u32()?, reader.le_u32()?);
        let (thumb_w, thumb_h) = (reader.le_u32()? as usize, reader.le_u32()? as usize);
        if width == 0 || height == 0 || thumb_w == 0 || thumb_h == 0 {
            return Err(bad("empty frame or thumbnail"));
        }
        let area = thumb_w.checked_mul(thumb_h).ok_or(bad("thumbnail too large"))?;
        let pixels = reader.record(area)?.to_vec();
        let thumbnail = Thumbnail { width: thumb_w, height: thumb_h, pixels };
        matcher.insert_work(id, WorkInfo { pdq, core, width, height, thumbnail }, &turns, true);
    }
    Ok(())
}

/// The region columns and tables from a stream, each window's work checked against the registered
/// ones. Version 5 left chunk 0's offsets out (they are recomputed) and did not align its columns.
fn read_windows<R: Read>(
    reader: &mut HashedReader<R>,
    known: &KnownWorks,
    version: u32,
) -> Result<RegionIndex, ImageError> {
    let aligned = version != UNALIGNED_VERSION;
    let align = |reader: &mut HashedReader<R>| if aligned { reader.align(COLUMN_ALIGN) } else { Ok(()) };
    let n = reader.count(WINDOW_RECORD_BYTES)?;
    let le_u32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    align(reader)?;
    let hashes = reader.column(n, 8, |b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))?;
    align(reader)?;
    let works = reader.column(n, 4, le_u32)?;
    known.check(&works)?;
    align(reader)?;
    let places = reader.column(n, 6, |b| {
        [u16::from_le_bytes([b[0], b[1]]), u16::from_le_bytes([b[2], b[3]]), u16::from_le_bytes([b[4], b[5]])]
    })?;
    align(reader)?;
    let span = region_table_span(n);
    let offsets = if aligned {
        reader.column(R_CHUNKS * span, 4, le_u32)?
    } else {
        let later = reader.column((R_CHUNKS - 1) * span, 4, le_u32)?;
        let mut offsets = chunk0_offsets(&hashes).map_err(ImageError::BadIndex)?;
        offsets.extend_from_slice(&later);
        offsets
    };
    align(reader)?;
    let rests = if n == 0 {
        Vec::new()
    } else if aligned {
        reader.bytes(region_rest_len(n) + REST_PAD, 0)?
    } else {
        let mut rests = reader.bytes(region_rest_len(n), REST_PAD)?;
        rests.extend_from_slice(&[0; REST_PAD]);
        rests
    };
    let columns = RegionColumns {
        hashes: hashes.into(),
        works: works.into(),
        places: places.into(),
        offsets: offsets.into(),
        rests: rests.into(),
    };
    RegionIndex::from_columns(columns).map_err(ImageError::BadIndex)
}

/// The region columns and tables read in place from `bytes`, whose start the caller checked is
/// aligned (see [`ImageMatcher::from_shared`]).
fn view_windows(
    reader: &mut ByteReader<'_>,
    bytes: &SharedBytes,
    known: &KnownWorks,
) -> Result<RegionIndex, ImageError> {
    let n = reader.count(WINDOW_RECORD_BYTES)?;
    let mut next = |len: usize| -> Result<std::ops::Range<usize>, ImageError> {
        reader.align(COLUMN_ALIGN as usize)?;
        let start = reader.position();
        reader.slice(len)?;
        Ok(start..start + len)
    };
    let (hashes, works, places) = (next(8 * n)?, next(4 * n)?, next(6 * n)?);
    let offsets = next(4 * R_CHUNKS * region_table_span(n))?;
    let rests = next(if n == 0 { 0 } else { region_rest_len(n) + REST_PAD })?;
    let misaligned = || ImageError::BadIndex("misaligned column");
    let columns = RegionColumns {
        hashes: Column::view(bytes, hashes).ok_or_else(misaligned)?,
        works: Column::view(bytes, works).ok_or_else(misaligned)?,
        places: Column::view(bytes, places).ok_or_else(misaligned)?,
        offsets: Column::view(bytes, offsets).ok_or_else(misaligned)?,
        rests: Column::view(bytes, rests).ok_or_else(misaligned)?,
    };
    known.check(&columns.works)?;
    RegionIndex::from_columns(columns).map_err(ImageError::BadIndex)
}

/// The registered work ids, for checking each window's owner: a bit per id when the ids are dense
/// (as a store's sequences are), else the matcher's map. Millions of windows make a hash lookup
/// each the largest cost of loading (measured: 17% of `from_bytes` at 100k works).
enum KnownWorks<'a> {
    Bits(Vec<u64>),
    Map(&'a HashMap<u32, WorkInfo>),
}

impl<'a> KnownWorks<'a> {
    fn new(works: &'a HashMap<u32, WorkInfo>) -> Self {
        let top = works.keys().max().map_or(0, |&id| id as usize + 1);
        if top > 64 * (works.len() + 1024) {
            return KnownWorks::Map(works);
        }
        let mut bits = vec![0u64; top.div_ceil(64)];
        for &id in works.keys() {
            bits[id as usize / 64] |= 1 << (id % 64);
        }
        KnownWorks::Bits(bits)
    }

    /// Refuses windows of unknown works.
    fn check(&self, works: &[u32]) -> Result<(), ImageError> {
        if works.iter().all(|&w| self.contains(w)) {
            Ok(())
        } else {
            Err(ImageError::BadIndex("window of an unknown work"))
        }
    }

    #[inline]
    fn contains(&self, id: u32) -> bool {
        match self {
            KnownWorks::Bits(bits) => bits.get(id as usize / 64).is_some_and(|w| (w >> (id % 64)) & 1 == 1),
            KnownWorks::Map(map) => map.contains_key(&id),
        }
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

fn read_pdq(reader: &mut impl Records) -> Result<PdqHash, StreamError> {
    Ok(PdqHash([reader.le_u64()?, reader.le_u64()?, reader.le_u64()?, reader.le_u64()?]))
}

impl From<Malformed> for ImageError {
    fn from(malformed: Malformed) -> Self {
        ImageError::BadIndex(malformed.0)
    }
}

impl From<StreamError> for ImageError {
    fn from(error: StreamError) -> Self {
        match error {
            StreamError::Malformed(malformed) => malformed.into(),
            StreamError::Io(e) => ImageError::SnapshotRead(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::decode::{Decoded, Format, Luma};
    use crate::image::matcher::{fingerprint_original, fingerprint_query};
    use proptest::prelude::*;
    use std::sync::OnceLock;
    use xxhash_rust::xxh3::xxh3_64;

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

    /// A reader whose disk fails after `ok` bytes.
    struct FailingDisk<'a> {
        bytes: &'a [u8],
        ok: usize,
    }

    impl std::io::Read for FailingDisk<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.ok == 0 {
                return Err(std::io::Error::other("disk gone"));
            }
            let n = buf.len().min(self.ok).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            self.ok -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_stream_loads_as_bytes_do_and_its_failures_are_typed() {
        let (matcher, queries) = sample();
        let bytes = matcher.to_bytes();
        let mut streamed = Vec::new();
        matcher.write_to(&mut streamed).expect("a Vec takes it");
        assert_eq!(streamed, bytes);
        let config = matcher.config().clone();
        let len = bytes.len() as u64;
        let copy = ImageMatcher::read_from(std::io::Cursor::new(&bytes), len, config.clone()).expect("loads");
        assert_eq!(copy.to_bytes(), bytes);
        let query = fingerprint_query(&decoded(queries[4].clone()), &config);
        assert_eq!(copy.query(&query), matcher.query(&query));
        let failing = FailingDisk { bytes: &bytes, ok: bytes.len() / 2 };
        assert_eq!(
            ImageMatcher::read_from(failing, len, config.clone()).err(),
            Some(ImageError::SnapshotRead("disk gone".into()))
        );
        // The stream says less or more than the length it was announced with.
        let short = &bytes[..bytes.len() - 1];
        assert_eq!(ImageMatcher::read_from(short, len, config.clone()).err(), Some(ImageError::BadIndex("truncated")));
        assert!(ImageMatcher::read_from(&bytes[..], len - 1, config.clone()).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            ImageMatcher::read_from(&longer[..], len, config).err(),
            Some(ImageError::BadIndex("trailing bytes"))
        );
    }

    /// Bytes at `offset` from an 8-aligned start, as a mapping of a snapshot behind a header would be.
    struct Placed {
        words: Vec<u64>,
        offset: usize,
        len: usize,
    }

    impl AsRef<[u8]> for Placed {
        fn as_ref(&self) -> &[u8] {
            &bytemuck::cast_slice::<u64, u8>(&self.words)[self.offset..self.offset + self.len]
        }
    }

    fn placed(bytes: &[u8], offset: usize) -> SharedBytes {
        let mut words = vec![0u64; (offset + bytes.len()).div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[offset..offset + bytes.len()].copy_from_slice(bytes);
        std::sync::Arc::new(Placed { words, offset, len: bytes.len() })
    }

    #[test]
    fn a_shared_load_reads_the_windows_in_place_and_answers_as_a_copy_does() {
        let (matcher, queries) = sample();
        let bytes = matcher.to_bytes();
        let config = matcher.config().clone();
        let mut shared = ImageMatcher::from_shared(placed(&bytes, 0), config.clone()).expect("loads");
        assert!(shared.mapped_bytes() >= matcher.region_count() * 18, "windows read in place");
        assert_eq!(shared.heap_bytes().1, matcher.region_count().div_ceil(64) * 8, "only the removal bits owned");
        assert_eq!(shared.to_bytes(), bytes);
        // Misaligned in memory (a header of 4 bytes before it): copied, the same matcher.
        let copied = ImageMatcher::from_shared(placed(&bytes, 4), config.clone()).expect("loads");
        assert_eq!((copied.mapped_bytes(), copied.to_bytes()), (0, bytes.clone()));
        for luma in queries {
            let query = fingerprint_query(&decoded(luma.clone()), &config);
            assert_eq!(shared.query(&query), matcher.query(&query));
            assert_eq!(copied.query(&query), matcher.query(&query));
        }
        // A work added goes to the tail: nothing viewed is copied, and both are searched.
        let mapped = shared.mapped_bytes();
        let fingerprint = fingerprint_original(&decoded(plane(9, 180, 160)), &config).expect("quality check is off");
        shared.register(99, &fingerprint);
        assert_eq!(shared.mapped_bytes(), mapped, "adding a work copies nothing");
        let own = fingerprint_query(&decoded(plane(9, 180, 160)), &config);
        assert_eq!(shared.query(&own).first().map(|h| h.work), Some(99));
        // A rebuild (what `optimize` does before a snapshot) moves everything into owned memory.
        shared.optimize();
        assert_eq!(shared.mapped_bytes(), 0);
        let crop = fingerprint_query(&decoded(queries[4].clone()), &config);
        assert_eq!(shared.query(&crop).first().map(|h| h.work), Some(23));
        // Damage is refused as the copying loader refuses it.
        let mut flipped = bytes.clone();
        let at = flipped.len() - 100;
        flipped[at] ^= 1;
        assert_eq!(
            ImageMatcher::from_shared(placed(&flipped, 0), config.clone()).err(),
            Some(ImageError::BadIndex("checksum mismatch"))
        );
        assert!(ImageMatcher::from_shared(placed(&bytes[..bytes.len() - 8], 0), config).is_err());
    }

    /// `matcher`'s bytes as version 5 wrote them (the release before): the same works, then the
    /// columns unaligned and chunk 0's offsets left out.
    fn version5(matcher: &ImageMatcher) -> Vec<u8> {
        let v6 = matcher.to_bytes();
        let body = &v6[..v6.len() - 8];
        let mut reader = ByteReader::new(body, 0);
        read_head(&mut reader, matcher.config()).expect("current bytes");
        read_works(&mut reader, &mut ImageMatcher::new(matcher.config().clone())).expect("current bytes");
        let mut v5 = body[..reader.position()].to_vec();
        v5[8..12].copy_from_slice(&UNALIGNED_VERSION.to_le_bytes());
        let n = reader.count(WINDOW_RECORD_BYTES).expect("current bytes");
        v5.extend_from_slice(&(n as u64).to_le_bytes());
        let span = region_table_span(n);
        let lengths =
            [8 * n, 4 * n, 6 * n, 4 * R_CHUNKS * span, if n == 0 { 0 } else { region_rest_len(n) + REST_PAD }];
        for (column, len) in lengths.into_iter().enumerate() {
            reader.align(COLUMN_ALIGN as usize).expect("current bytes");
            let bytes = reader.slice(len).expect("current bytes");
            v5.extend_from_slice(match column {
                3 => &bytes[4 * span..],
                4 => &bytes[..len.saturating_sub(REST_PAD)],
                _ => bytes,
            });
        }
        assert!(reader.is_done());
        let sum = xxh3_64(&v5);
        v5.extend_from_slice(&sum.to_le_bytes());
        v5
    }

    #[test]
    fn version_5_snapshots_still_load() {
        let (matcher, queries) = sample();
        let v5 = version5(matcher);
        assert!(v5.len() < matcher.to_bytes().len());
        let config = matcher.config().clone();
        let streamed = ImageMatcher::from_bytes(&v5, config.clone()).expect("version 5 loads");
        // Mapped, it is copied (its columns are not aligned), with the same result.
        let mapped = ImageMatcher::from_shared(placed(&v5, 0), config.clone()).expect("version 5 loads");
        assert_eq!(mapped.mapped_bytes(), 0);
        for copy in [streamed, mapped] {
            assert_eq!(copy.to_bytes(), matcher.to_bytes(), "the same state, written in the current version");
            for luma in queries {
                let query = fingerprint_query(&decoded(luma.clone()), &config);
                assert_eq!(copy.query(&query), matcher.query(&query));
            }
        }
    }

    #[test]
    fn a_matcher_whose_windows_were_all_removed_round_trips() {
        let (matcher, _) = sample();
        let mut emptied = matcher.clone();
        for work in [3, 23, 33] {
            assert!(emptied.remove(work));
        }
        emptied.optimize();
        assert_eq!(emptied.region_count(), 0);
        let bytes = emptied.to_bytes();
        let config = matcher.config().clone();
        let copied = ImageMatcher::from_bytes(&bytes, config.clone()).expect("loads");
        let shared = ImageMatcher::from_shared(placed(&bytes, 0), config).expect("loads");
        assert_eq!((copied.to_bytes(), shared.to_bytes()), (bytes.clone(), bytes));
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
            prop_assert!(ImageMatcher::from_shared(placed(&short, 0), matcher.config().clone()).is_err());
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
            let bytes = reseal(bytes);
            let copied = ImageMatcher::from_bytes(&bytes, matcher.config().clone());
            let shared = ImageMatcher::from_shared(placed(&bytes, 0), matcher.config().clone());
            prop_assert_eq!(copied.is_ok(), shared.is_ok(), "both loaders judge alike");
            for loaded in [copied, shared].into_iter().flatten() {
                // Whatever was accepted is a working matcher.
                let query = fingerprint_query(&decoded(plane(0, 64, 48)), matcher.config());
                let _ = loaded.query(&query);
            }
        }
    }
}
