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
//! works u64, each: id u32, pdq 32 B, core pdq 32 B, width u32, height u32,
//!                  thumbnail width u32, height u32, width x height grey bytes
//! the whole, core and turned PDQ indexes, each: entries u64 (n), then columns
//!                  n hashes 32 B | n payloads u32 | offsets u32 | packed postings u64
//!                  (HammingIndex's tables as it built them; their sizes follow from n)
//! turns: the turned index's n entries' work u32 and angle f32 (its payloads are 0..n, slots here)
//! region windows u64 (n), then columns in the region index's order (sorted by chunk 0, stable):
//!                  n hashes u64 | n works u32 | n places (x u16, y u16, side u16, in 1/1024 of the short
//!                  side) | offsets of chunks 0, 1 and 2 (2^fine + 1 and 2 x (2^width + 1) u32, both
//!                  widths set by n) |
//!                  for chunks 1 and 2, each window's hash without the chunk's bits (2 x n x 6 bytes,
//!                  sorted by chunk, then value), then 2 bytes so that the last entry reads as a u64
//! checksum u64
//! ```
//!
//! Every column after the works starts after zero bytes up to a multiple of 8 from the first byte.
//! The alignment is what lets [`ImageMatcher::from_shared`] read the columns (and the thumbnails) in
//! place from a mapping, whose start is page-aligned; [`ImageMatcher::read_from`] streams them into
//! owned memory. Nothing is rebuilt on a load: the tables are read as they were written.
//!
//! Older versions are still read. Version 7 keyed chunk 0's region table at the chunk's width
//! (`fine` = `width`; such a table is read as it is, and writing it rebuilds the region tables).
//! Version 6 kept each work's turned hashes in its record and no PDQ tables (they are rebuilt on a
//! load, on a second thread); version 5 also left its window columns unaligned and chunk 0's offsets
//! out, so it is read by copying.
//!
//! Works are written in id order, windows in the order a rebuild leaves them (by chunk 0, then
//! slot), and PDQ entries in their index's order, so a loaded matcher writes the bytes it was read
//! from. (Two histories that reach one state may order PDQ entries of one bucket differently.) Hits
//! are deduplicated and region votes break ties by a total order, so the answers do not depend on
//! any of these orders. Window places are stored as the index keeps them
//! (`u16`, 1/1024 of the short side).
//!
//! Why the tables are stored: at a million works the windows are about 290 million and the PDQ
//! entries 17 million. Rebuilding the region tables (two counting sorts with random writes) took most
//! of a version-3 load, and rebuilding the PDQ tables took 4 s of a version-6 one; stored, both are
//! read in place, so a load costs a pass over the bytes and the checks.
//!
//! The fingerprint parameters are stored and compared, never adopted: hashes taken with another plane
//! size, window ladder or largest turn would silently stop matching, so such bytes are refused. The
//! thresholds of matching (distances, votes, correlations) come from the caller's config as usual.

use super::config::ImageConfig;
use super::error::ImageError;
use super::index::{HammingColumns, HammingIndex, Layout};
use super::matcher::{max_rotation, ImageMatcher, Thumbnail, WorkInfo};
use super::pdq::PdqHash;
use super::region::{
    chunk0_offsets, region_offsets_len, region_rest_len, region_table_span, RegionColumns, RegionContents, RegionIndex,
    REST_PAD, R_CHUNKS,
};
use crate::bytes::{ByteReader, HashedReader, HashedWriter, Malformed, Records, StreamError};
use crate::column::{Column, SharedBytes};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::sync::Arc;
use xxhash_rust::xxh3::xxh3_64;

const MAGIC: &[u8; 8] = b"SEALIMG\0";
const FORMAT_VERSION: u32 = 8;
/// The version [`ImageMatcher::write_to`] writes (a little-endian `u32` after the 8-byte magic), for
/// callers that keep snapshots and rewrite older ones.
pub const SNAPSHOT_VERSION: u32 = FORMAT_VERSION;
/// As version 8, with chunk 0's region table keyed at the chunk's width (no finer key).
const COARSE_CHUNK0_VERSION: u32 = 7;
/// As version 7, with turned hashes inside the work records and PDQ tables rebuilt on a load.
const TURNS_INLINE_VERSION: u32 = 6;
/// As version 6, and the window columns unaligned with chunk 0's offsets left out.
const UNALIGNED_VERSION: u32 = 5;
/// Every column starts at a multiple of this many bytes from the snapshot's first byte, so that a
/// mapping of the snapshot can be read in place ([`ImageMatcher::from_shared`]).
const COLUMN_ALIGN: usize = 8;
/// Smallest work record: id, hashes, frame, thumbnail size (pixels come on top; versions 5 and 6 add a
/// turn count byte and the turns).
const WORK_RECORD_BYTES: usize = 4 + 32 + 32 + 8 + 8;
/// Most turns a work may register (the configured angles and none).
const MAX_TURNS: usize = 64;
/// An index entry's share of its columns: hash and payload (the tables come on top).
const INDEX_RECORD_BYTES: usize = 32 + 4;
/// A window's share of the columns: hash, work, x, y, side, and its entries in the later chunks'
/// tables (6 bytes each).
const WINDOW_RECORD_BYTES: usize = 8 + 4 + 6 + 12;

/// A value a column holds, read from its little-endian bytes (so that the streaming reader is right
/// on any host; a view casts, and is only taken on little-endian ones).
trait LeValue: bytemuck::Pod {
    fn from_le(bytes: &[u8]) -> Self;

    /// `n` values from a stream.
    fn read_all<R: Read>(reader: &mut HashedReader<R>, n: usize) -> Result<Vec<Self>, StreamError> {
        reader.column(n, size_of::<Self>(), Self::from_le)
    }
}

impl LeValue for u8 {
    fn from_le(bytes: &[u8]) -> Self {
        bytes[0]
    }

    /// Bytes are copied in blocks, not one by one: the region tables are gigabytes.
    fn read_all<R: Read>(reader: &mut HashedReader<R>, n: usize) -> Result<Vec<Self>, StreamError> {
        reader.bytes(n, 0)
    }
}

impl LeValue for u32 {
    fn from_le(b: &[u8]) -> Self {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl LeValue for u64 {
    fn from_le(b: &[u8]) -> Self {
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

impl LeValue for [u16; 3] {
    fn from_le(b: &[u8]) -> Self {
        [u16::from_le_bytes([b[0], b[1]]), u16::from_le_bytes([b[2], b[3]]), u16::from_le_bytes([b[4], b[5]])]
    }
}

impl LeValue for PdqHash {
    fn from_le(b: &[u8]) -> Self {
        PdqHash(std::array::from_fn(|i| <u64 as LeValue>::from_le(&b[8 * i..])))
    }
}

/// Where a snapshot's columns come from: a stream, copied into owned vectors, or bytes the matcher
/// may keep, viewed in place. One parser serves both.
trait ColumnSource: Records {
    /// `n` values; `aligned`: after zero bytes up to the next multiple of [`COLUMN_ALIGN`].
    fn column<T: LeValue>(&mut self, n: usize, aligned: bool) -> Result<Column<T>, ImageError>;
}

impl<R: Read> ColumnSource for HashedReader<R> {
    fn column<T: LeValue>(&mut self, n: usize, aligned: bool) -> Result<Column<T>, ImageError> {
        if aligned {
            self.align(COLUMN_ALIGN as u64)?;
        }
        Ok(T::read_all(self, n)?.into())
    }
}

/// Bytes read in place: a reader over them and the shared handle views keep alive.
struct Viewer<'a> {
    reader: ByteReader<'a>,
    bytes: &'a SharedBytes,
}

impl Records for Viewer<'_> {
    fn record(&mut self, n: usize) -> Result<&[u8], StreamError> {
        self.reader.record(n)
    }
    fn records(&mut self, record_bytes: usize) -> Result<usize, StreamError> {
        self.reader.records(record_bytes)
    }
}

impl ColumnSource for Viewer<'_> {
    fn column<T: LeValue>(&mut self, n: usize, aligned: bool) -> Result<Column<T>, ImageError> {
        if aligned {
            self.reader.align(COLUMN_ALIGN)?;
        }
        let start = self.reader.position();
        let len = n.checked_mul(size_of::<T>()).ok_or(ImageError::BadIndex("column larger than the data"))?;
        self.reader.slice(len)?;
        Column::view(self.bytes, start..start + len).ok_or(ImageError::BadIndex("misaligned column"))
    }
}

impl ImageMatcher {
    /// Serializes every registered work (whole-image, inscribed and turned hashes, frame,
    /// verification thumbnail), the PDQ indexes' tables and every region window with the region
    /// tables, with the fingerprint parameters they were taken with. See [`ImageMatcher::write_to`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.works.len() * 2000 + self.regions.len() * WINDOW_RECORD_BYTES);
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
            for value in [info.width, info.height, info.thumbnail.width as u32, info.thumbnail.height as u32] {
                record.extend_from_slice(&value.to_le_bytes());
            }
            record.extend_from_slice(&info.thumbnail.pixels);
            out.put(&record)?;
        }
        let pdq = |h: &PdqHash| -> [u8; 32] { bytemuck::cast(h.0.map(u64::to_le)) };
        let mut turns = Vec::new();
        for (i, index) in [&self.whole, &self.core, &self.turned].into_iter().enumerate() {
            let parts = index.parts();
            out.put(&(parts.hashes.len() as u64).to_le_bytes())?;
            out.align(COLUMN_ALIGN as u64)?;
            out.column(&parts.hashes, pdq)?;
            out.align(COLUMN_ALIGN as u64)?;
            if i < 2 {
                out.column(&parts.payloads, |p| p.to_le_bytes())?;
            } else {
                // Turn slots are renumbered in entry order, so that equal states give equal bytes.
                let slots: Vec<u32> = (0..parts.payloads.len() as u32).collect();
                out.column(&slots, |p| p.to_le_bytes())?;
                turns = parts.payloads.iter().map(|&slot| self.turns.get(slot as usize).copied()).collect();
            }
            out.align(COLUMN_ALIGN as u64)?;
            out.column(&parts.offsets, |o| o.to_le_bytes())?;
            out.align(COLUMN_ALIGN as u64)?;
            out.column(&parts.postings, |w| w.to_le_bytes())?;
        }
        out.align(COLUMN_ALIGN as u64)?;
        out.column(&turns, |turn| -> [u8; 8] {
            let (work, degrees) = turn.unwrap_or((u32::MAX, f32::NAN));
            bytemuck::cast([work.to_le_bytes(), degrees.to_le_bytes()])
        })?;
        let parts = self.regions.parts();
        out.put(&(parts.hashes.len() as u64).to_le_bytes())?;
        out.align(COLUMN_ALIGN as u64)?;
        out.column(&parts.hashes, |h| h.to_le_bytes())?;
        out.align(COLUMN_ALIGN as u64)?;
        out.column(&parts.works, |w| w.to_le_bytes())?;
        out.align(COLUMN_ALIGN as u64)?;
        out.column(&parts.places, |&[x, y, side]| {
            let ([x0, x1], [y0, y1], [s0, s1]) = (x.to_le_bytes(), y.to_le_bytes(), side.to_le_bytes());
            [x0, x1, y0, y1, s0, s1]
        })?;
        out.align(COLUMN_ALIGN as u64)?;
        out.column(&parts.offsets, |o| o.to_le_bytes())?;
        out.align(COLUMN_ALIGN as u64)?;
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
    /// columns went straight into the matcher's arrays. A failing stream gives
    /// [`ImageError::SnapshotRead`].
    pub fn read_from(input: impl Read, len: u64, config: ImageConfig) -> Result<Self, ImageError> {
        let mut reader = HashedReader::new(input, len)?;
        let version = read_head(&mut reader, &config)?;
        let matcher = read_body(&mut reader, config, version, Checks::All)?;
        reader.finish()?;
        Ok(matcher)
    }

    /// A matcher over `bytes` in [`ImageMatcher::to_bytes`]'s form, reading its columns in place:
    /// nothing of the windows, the PDQ tables or the thumbnails is copied (the bulk of a large
    /// matcher: about 11 of its 12 GB at a million works), so the load costs a pass over the bytes
    /// rather than making their memory exist again. The caller maps the snapshot file and must not
    /// change it while the matcher lives (see [`SharedBytes`]). The checksum is checked on a second
    /// thread while the rest is parsed and checked. Works registered later go to owned tails and
    /// removals to bitsets; only a rebuild (`optimize`, or a tail grown past its share) moves an
    /// index into owned memory.
    ///
    /// Version 5 bytes, bytes that do not start on an 8-byte boundary in memory (the columns would be
    /// misaligned), and big-endian hosts are read as [`ImageMatcher::from_bytes`] reads them (copied),
    /// with the same errors.
    pub fn from_shared(bytes: SharedBytes, config: ImageConfig) -> Result<Self, ImageError> {
        let data: &[u8] = (*bytes).as_ref();
        let Some((body, version)) = in_place(data, &config)? else { return Self::from_bytes(data, config) };
        std::thread::scope(|scope| {
            let checked = scope.spawn(|| sums_match(data, body));
            let parsed = parse_in_place(&bytes, config.clone(), body, version).and_then(|matcher| {
                contents_check(&matcher)?;
                Ok(matcher)
            });
            match checked.join() {
                Ok(true) => parsed,
                Ok(false) => Err(ImageError::BadIndex("checksum mismatch")),
                Err(_) => Err(ImageError::BadIndex("checksum failed")),
            }
        })
    }

    /// [`ImageMatcher::from_shared`] without the checks that read every byte: the checksum, each
    /// window's work and place, and the region offsets, which at a million works read 12 GB: from a
    /// cold page cache the full load took 7.9-8.7 s on an idle VM (25 s beside a busy one) and this
    /// one 1.4-3.3 s (`examples/snapshot_load.rs`). They are returned as a
    /// [`SnapshotCheck`] for the caller to run, typically on a thread of its own while the matcher
    /// already answers queries. Until it has passed, a damaged snapshot can give wrong answers but
    /// never a panic or a read outside the bytes (the unchecked values are clamped or skipped where
    /// they are used); when it fails, the matcher must be dropped and rebuilt, and nothing it holds
    /// written anywhere. Bytes read by copying (see [`ImageMatcher::from_shared`]) are checked in
    /// full here, and their check has nothing left to do.
    pub fn from_shared_deferred(bytes: SharedBytes, config: ImageConfig) -> Result<(Self, SnapshotCheck), ImageError> {
        let data: &[u8] = (*bytes).as_ref();
        let Some((body, version)) = in_place(data, &config)? else {
            return Ok((Self::from_bytes(data, config)?, SnapshotCheck { pending: None }));
        };
        let matcher = parse_in_place(&bytes, config, body, version)?;
        let pending = Pending {
            bytes: Arc::clone(&bytes),
            body,
            known: KnownWorks::new(&matcher.works),
            contents: matcher.regions.contents(),
        };
        Ok((matcher, SnapshotCheck { pending: Some(pending) }))
    }

    /// Rebuilds the PDQ indexes on a second thread while `load` fills the region index (whose
    /// windows it checks against the registered works): versions 5 and 6, which stored no PDQ tables.
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
    if ![FORMAT_VERSION, COARSE_CHUNK0_VERSION, TURNS_INLINE_VERSION, UNALIGNED_VERSION].contains(&version) {
        return Err(ImageError::BadIndex("unsupported format version"));
    }
    let mut expected = Vec::new();
    write_parameters(&mut expected, config);
    if reader.record(expected.len())? != expected.as_slice() {
        return Err(ImageError::BadIndex("written with other fingerprint parameters"));
    }
    Ok(version)
}

/// Everything after the head: works, then (version 7 on) the PDQ indexes and turns, then the windows.
fn read_body(
    source: &mut impl ColumnSource,
    config: ImageConfig,
    version: u32,
    checks: Checks,
) -> Result<ImageMatcher, ImageError> {
    let mut matcher = ImageMatcher::new(config);
    read_works(source, &mut matcher, version)?;
    if version <= TURNS_INLINE_VERSION {
        matcher.with_indexes_rebuilt(|regions, known| {
            *regions = read_windows(source, known, version, checks)?;
            Ok(())
        })?;
        return Ok(matcher);
    }
    let known = KnownWorks::new(&matcher.works);
    let whole = read_index(source)?;
    let core = read_index(source)?;
    let turned = read_index(source)?;
    for index in [&whole, &core] {
        index.check_payloads(|work| known.contains(work)).map_err(ImageError::BadIndex)?;
    }
    let n = turned.len();
    let raw: Column<u32> = source.column(2 * n, true)?;
    let mut turns = Vec::with_capacity(n);
    for pair in raw.chunks_exact(2) {
        let (work, degrees) = (pair[0], f32::from_bits(pair[1]));
        if !known.contains(work) {
            return Err(ImageError::BadIndex("turn of an unknown work"));
        }
        if !(degrees.is_finite() && degrees.abs() <= 45.0) {
            return Err(ImageError::BadIndex("turn out of range"));
        }
        turns.push((work, degrees));
    }
    turned.check_payloads(|slot| (slot as usize) < n).map_err(ImageError::BadIndex)?;
    let regions = read_windows(source, &known, version, checks)?;
    drop(known);
    (matcher.whole, matcher.core, matcher.turned, matcher.turns, matcher.regions) =
        (whole, core, turned, turns, regions);
    Ok(matcher)
}

/// One PDQ index's entries and tables.
fn read_index(source: &mut impl ColumnSource) -> Result<HammingIndex, ImageError> {
    let n = source.records(INDEX_RECORD_BYTES)?;
    let layout = Layout::of(n);
    let (offsets, words) = layout.table_lengths();
    let columns = HammingColumns {
        hashes: source.column(n, true)?,
        payloads: source.column(n, true)?,
        offsets: source.column(offsets, true)?,
        postings: source.column(words, true)?,
    };
    HammingIndex::from_columns(columns, layout).map_err(ImageError::BadIndex)
}

/// The works: from version 7 on into the works map alone (their hashes come with the indexes' columns),
/// before it each with its turned hashes, indexed as a bulk registration is.
fn read_works(source: &mut impl ColumnSource, matcher: &mut ImageMatcher, version: u32) -> Result<(), ImageError> {
    let bad = ImageError::BadIndex;
    let turns_inline = version <= TURNS_INLINE_VERSION;
    let work_count = source.records(WORK_RECORD_BYTES + usize::from(turns_inline))?;
    // Grown once: rehashing a million works as the map doubles was a tenth of a load.
    matcher.works.reserve(work_count);
    let mut previous: Option<u32> = None;
    let mut turns = Vec::new();
    for _ in 0..work_count {
        let id = source.le_u32()?;
        if previous.is_some_and(|p| p >= id) {
            return Err(bad("work ids out of order or repeated"));
        }
        previous = Some(id);
        let pdq = read_pdq(source)?;
        let core = read_pdq(source)?;
        turns.clear();
        if turns_inline {
            let turn_count = usize::from(source.le_u8()?);
            if turn_count > MAX_TURNS {
                return Err(bad("too many turns"));
            }
            for _ in 0..turn_count {
                let degrees = source.le_f32()?;
                if !(degrees.is_finite() && degrees.abs() <= 45.0) {
                    return Err(bad("turn out of range"));
                }
                turns.push((degrees, read_pdq(source)?));
            }
        }
        let (width, height) = (source.le_u32()?, source.le_u32()?);
        let (thumb_w, thumb_h) = (source.le_u32()? as usize, source.le_u32()? as usize);
        if width == 0 || height == 0 || thumb_w == 0 || thumb_h == 0 {
            return Err(bad("empty frame or thumbnail"));
        }
        let area = thumb_w.checked_mul(thumb_h).ok_or(bad("thumbnail too large"))?;
        let pixels = source.column(area, false)?;
        let info =
            WorkInfo { pdq, core, width, height, thumbnail: Thumbnail { width: thumb_w, height: thumb_h, pixels } };
        if turns_inline {
            matcher.insert_work(id, info, &turns, true);
        } else {
            matcher.works.insert(id, info);
        }
    }
    Ok(())
}

/// The region columns and tables, each window's work checked against the registered ones. Version 5
/// left chunk 0's offsets out (they are recomputed), did not align its columns, and did not pad its
/// table entries.
fn read_windows(
    source: &mut impl ColumnSource,
    known: &KnownWorks,
    version: u32,
    checks: Checks,
) -> Result<RegionIndex, ImageError> {
    let aligned = version != UNALIGNED_VERSION;
    let n = source.records(WINDOW_RECORD_BYTES)?;
    let hashes: Column<u64> = source.column(n, aligned)?;
    let works: Column<u32> = source.column(n, aligned)?;
    if checks == Checks::All {
        known.check(&works)?;
    }
    let places = source.column(n, aligned)?;
    let span = region_table_span(n);
    let offsets = if aligned {
        source.column(region_offsets_len(n, version == FORMAT_VERSION), true)?
    } else {
        let later: Column<u32> = source.column((R_CHUNKS - 1) * span, false)?;
        let mut offsets = chunk0_offsets(&hashes).map_err(ImageError::BadIndex)?;
        offsets.extend_from_slice(&later);
        offsets.into()
    };
    let rests = if n == 0 {
        Column::default()
    } else if aligned {
        source.column(region_rest_len(n) + REST_PAD, true)?
    } else {
        let mut rests = source.column::<u8>(region_rest_len(n), false)?.into_vec();
        rests.extend_from_slice(&[0; REST_PAD]);
        rests.into()
    };
    let columns = RegionColumns { hashes, works, places, offsets, rests };
    match checks {
        Checks::All => RegionIndex::from_columns(columns),
        Checks::Deferred => RegionIndex::from_columns_unchecked(columns),
    }
    .map_err(ImageError::BadIndex)
}

/// Whether a load checks the windows' values (work, place, offsets) as it reads them, or leaves them
/// to a [`SnapshotCheck`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checks {
    All,
    Deferred,
}

/// The checks [`ImageMatcher::from_shared_deferred`] left out, to run once, on any thread: the
/// checksum of the whole snapshot, then each window's work and place and the region offsets. It
/// keeps the snapshot's bytes alive, not the matcher.
#[must_use = "the snapshot is not verified until the check has run"]
pub struct SnapshotCheck {
    pending: Option<Pending>,
}

struct Pending {
    /// The snapshot, for its checksum.
    bytes: SharedBytes,
    /// Its length before the checksum.
    body: usize,
    /// The registered works, for each window's.
    known: KnownWorks,
    contents: RegionContents,
}

impl SnapshotCheck {
    /// Runs the checks: `Ok` when the snapshot is what was written and consistent, else
    /// [`ImageError::BadIndex`] with the same reasons [`ImageMatcher::from_shared`] gives.
    pub fn run(self) -> Result<(), ImageError> {
        let Some(Pending { bytes, body, known, contents }) = self.pending else { return Ok(()) };
        if !sums_match((*bytes).as_ref(), body) {
            return Err(ImageError::BadIndex("checksum mismatch"));
        }
        known.check(&contents.works)?;
        contents.check().map_err(ImageError::BadIndex)
    }

    /// Whether there is anything left to check (`false` for bytes that were read by copying).
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

impl std::fmt::Debug for SnapshotCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotCheck").field("pending", &self.is_pending()).finish()
    }
}

/// Where `data` can be read in place: the length of its body (everything before the checksum) and
/// its version, after its head was checked; `None` when it must be copied (see
/// [`ImageMatcher::from_shared`]).
fn in_place(data: &[u8], config: &ImageConfig) -> Result<Option<(usize, u32)>, ImageError> {
    let Some(body) = data.len().checked_sub(8) else { return Ok(None) };
    // Columns start at multiples of 8 from the first byte: aligned when it is.
    let aligned = data.as_ptr().align_offset(COLUMN_ALIGN) == 0;
    if cfg!(target_endian = "big") || !aligned {
        return Ok(None);
    }
    let version = read_head(&mut ByteReader::new(&data[..body], 0), config)?;
    Ok((version != UNALIGNED_VERSION).then_some((body, version)))
}

/// Whether the checksum after the first `body` bytes of `data` is theirs.
fn sums_match(data: &[u8], body: usize) -> bool {
    let (body, sum) = data.split_at(body);
    sum == xxh3_64(body).to_le_bytes()
}

/// The matcher over `bytes` read in place (`body` and `version` from [`in_place`]), with the
/// checks of the windows' values left out ([`Checks::Deferred`]).
fn parse_in_place(
    bytes: &SharedBytes,
    config: ImageConfig,
    body: usize,
    version: u32,
) -> Result<ImageMatcher, ImageError> {
    let data: &[u8] = (**bytes).as_ref();
    let mut viewer = Viewer { reader: ByteReader::new(&data[..body], 0), bytes };
    read_head(&mut viewer, &config)?;
    let matcher = read_body(&mut viewer, config, version, Checks::Deferred)?;
    if viewer.reader.is_done() {
        Ok(matcher)
    } else {
        Err(ImageError::BadIndex("trailing bytes"))
    }
}

/// The checks [`parse_in_place`] left out, on this thread, but for the checksum.
fn contents_check(matcher: &ImageMatcher) -> Result<(), ImageError> {
    KnownWorks::new(&matcher.works).check(&matcher.regions.contents().works)?;
    matcher.regions.check_contents().map_err(ImageError::BadIndex)
}

/// The registered work ids, for checking each window's owner: a bit per id when the ids are dense
/// (as a store's sequences are), else a set. Millions of windows make a map lookup each the largest
/// cost of loading (measured: 17% of `from_bytes` at 100k works). Owned, so that a deferred
/// [`SnapshotCheck`] can take it to another thread.
enum KnownWorks {
    Bits(Vec<u64>),
    Set(HashSet<u32>),
}

impl KnownWorks {
    fn new(works: &HashMap<u32, WorkInfo>) -> Self {
        let top = works.keys().max().map_or(0, |&id| id as usize + 1);
        if top > 64 * (works.len() + 1024) {
            return KnownWorks::Set(works.keys().copied().collect());
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
            KnownWorks::Set(set) => set.contains(&id),
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
    use crate::image::matcher::{fingerprint_original, fingerprint_query, QueryFingerprint};
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
        assert!(shared.regions.mapped_bytes() >= matcher.region_count() * 18, "windows read in place");
        assert!(shared.whole.mapped_bytes() >= matcher.len() * 36, "PDQ entries read in place");
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
        // A rebuild (what `optimize` does before a snapshot) moves the indexes into owned memory;
        // thumbnails stay read in place.
        shared.optimize();
        let thumbnails: usize = shared.works.values().map(|info| info.thumbnail.pixels.shared_bytes()).sum();
        assert!(thumbnails > 0);
        assert_eq!(shared.mapped_bytes(), thumbnails);
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
        assert!(ImageMatcher::from_shared(placed(&bytes[..bytes.len() - 8], 0), config.clone()).is_err());
        // Deferred, the same damage loads, answers, and fails its check.
        let (unchecked, check) =
            ImageMatcher::from_shared_deferred(placed(&flipped, 0), config.clone()).expect("loads");
        assert!(check.is_pending());
        assert_eq!(unchecked.len(), matcher.len());
        assert_eq!(check.run().err(), Some(ImageError::BadIndex("checksum mismatch")));
        let (fine, check) = ImageMatcher::from_shared_deferred(placed(&bytes, 0), config.clone()).expect("loads");
        assert_eq!(check.run(), Ok(()));
        assert_eq!(fine.to_bytes(), bytes);
        // Copied (misaligned): checked in full at once, nothing left for later.
        let (_, check) = ImageMatcher::from_shared_deferred(placed(&bytes, 4), config.clone()).expect("loads");
        assert!(!check.is_pending());
        assert!(ImageMatcher::from_shared_deferred(placed(&flipped, 4), config).is_err());
    }

    /// `matcher`'s bytes as versions 5 and 6 wrote them (the releases before): each work's turns in
    /// its record and no PDQ tables; version 5 also left the window columns unaligned, chunk 0's
    /// offsets out and the table entries unpadded.
    fn legacy(matcher: &ImageMatcher, version: u32) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&version.to_le_bytes());
        write_parameters(&mut out, matcher.config());
        let mut turned: HashMap<u32, Vec<(f32, PdqHash)>> = HashMap::new();
        matcher.for_each_turned(|work, degrees, hash| turned.entry(work).or_default().push((degrees, *hash)));
        let mut ids: Vec<u32> = matcher.works.keys().copied().collect();
        ids.sort_unstable();
        out.extend_from_slice(&(ids.len() as u64).to_le_bytes());
        for id in ids {
            let info = &matcher.works[&id];
            out.extend_from_slice(&id.to_le_bytes());
            write_pdq(&mut out, &info.pdq);
            write_pdq(&mut out, &info.core);
            let mut turns = turned.remove(&id).unwrap_or_default();
            turns.sort_by(|a, b| a.0.total_cmp(&b.0));
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
        let parts = matcher.regions.parts();
        let n = parts.hashes.len();
        out.extend_from_slice(&(n as u64).to_le_bytes());
        let span = region_table_span(n);
        let offsets = if version == 5 { &parts.offsets[span.min(parts.offsets.len())..] } else { &parts.offsets };
        let rests =
            if version == 5 { &parts.rests[..parts.rests.len().saturating_sub(REST_PAD)] } else { &parts.rests };
        let columns: [Vec<u8>; 5] = [
            parts.hashes.iter().flat_map(|h| h.to_le_bytes()).collect(),
            parts.works.iter().flat_map(|w| w.to_le_bytes()).collect(),
            parts.places.iter().flat_map(|p| p.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).collect(),
            offsets.iter().flat_map(|o| o.to_le_bytes()).collect(),
            rests.to_vec(),
        ];
        for column in columns {
            while version == 6 && !out.len().is_multiple_of(COLUMN_ALIGN) {
                out.push(0);
            }
            out.extend_from_slice(&column);
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    #[test]
    fn versions_5_and_6_still_load() {
        let (matcher, queries) = sample();
        let config = matcher.config().clone();
        for version in [UNALIGNED_VERSION, TURNS_INLINE_VERSION] {
            let old = legacy(matcher, version);
            let streamed = ImageMatcher::from_bytes(&old, config.clone()).expect("loads");
            // Mapped, version 6's windows are read in place; version 5's are copied (not aligned).
            let mapped = ImageMatcher::from_shared(placed(&old, 0), config.clone()).expect("loads");
            assert_eq!(mapped.regions.mapped_bytes() > 0, version == TURNS_INLINE_VERSION);
            for copy in [streamed, mapped] {
                // The same state: it writes the same old bytes (index entries may sit in another
                // order, as they do after another history, so the current bytes can differ).
                assert_eq!(legacy(&copy, version), old, "version {version}");
                let again = ImageMatcher::from_bytes(&copy.to_bytes(), config.clone()).expect("loads");
                assert_eq!(legacy(&again, version), old, "version {version}, written anew");
                for luma in queries {
                    let query = fingerprint_query(&decoded(luma.clone()), &config);
                    assert_eq!(copy.query(&query), matcher.query(&query));
                }
            }
        }
    }

    /// Version 7 differs only in chunk 0's region table, which it keyed at the chunk's width; below
    /// 2^23 windows that is the finer key too, so a small matcher's version-7 bytes are its current
    /// ones under the old number. They load, answer the same and are written anew as version 8.
    #[test]
    fn version_7_still_loads() {
        let (matcher, queries) = sample();
        let config = matcher.config().clone();
        let current = matcher.to_bytes();
        let mut old = current.clone();
        old[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&COARSE_CHUNK0_VERSION.to_le_bytes());
        let old = reseal(old);
        let streamed = ImageMatcher::from_bytes(&old, config.clone()).expect("loads");
        let mapped = ImageMatcher::from_shared(placed(&old, 0), config.clone()).expect("loads");
        for copy in [streamed, mapped] {
            assert_eq!(copy.to_bytes(), current);
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
            let (matcher, queries) = sample();
            let mut bytes = matcher.to_bytes();
            // The header and the first work record hold every count and size; aim there half the time.
            let span = if in_header { bytes.len().min(120) } else { bytes.len() };
            for (at, value) in edits {
                bytes[at.index(span)] = value;
            }
            let bytes = reseal(bytes);
            let config = matcher.config();
            let copied = ImageMatcher::from_bytes(&bytes, config.clone());
            let shared = ImageMatcher::from_shared(placed(&bytes, 0), config.clone());
            prop_assert_eq!(copied.is_ok(), shared.is_ok(), "both loaders judge alike");
            // Deferred, the damage may show only when the check runs, but it shows, and until then the
            // matcher answers queries without panicking.
            let deferred = ImageMatcher::from_shared_deferred(placed(&bytes, 0), config.clone());
            let mut unchecked = None;
            match deferred {
                Ok((loaded, check)) => {
                    prop_assert_eq!(check.run().is_ok(), shared.is_ok(), "the deferred check judges alike");
                    unchecked = Some(loaded);
                }
                Err(_) => prop_assert!(shared.is_err(), "refused at once only when the full load refuses"),
            }
            let queries: Vec<QueryFingerprint> =
                queries.iter().map(|luma| fingerprint_query(&decoded(luma.clone()), config)).collect();
            for loaded in [copied.ok(), shared.ok(), unchecked].into_iter().flatten() {
                for query in &queries {
                    let _ = loaded.query(query);
                }
            }
        }
    }
}
