//! The monitor's files under `DATA/index/`: two snapshots and an append-only log.
//!
//! The indexes are derived data (the content store and `work_contents` can always rebuild them), so
//! these files only need to make the *common* start-up cheap: load the snapshots, replay the short log
//! of what changed since, done. Every file can be lost or torn without losing a registration.
//!
//! - `text.snap`, `image.snap`: `"SEALSNP\0" | version u32 | covers u64 | xxh3(header) u64 | 4 zero
//!   bytes | engine bytes` (the engine's own checksummed format). `covers` is the sequence number of the
//!   last log record the snapshot includes; each snapshot records its own, so a crash between writing
//!   the two is harmless. Written to a temp file, fsynced, renamed, and the directory fsynced: a file
//!   once renamed into place is never changed, which is what lets `image.snap` be mapped and read in
//!   place ([`map_snapshot`]). The zero bytes (version 2) put the engine bytes at offset 32, so that
//!   their columns are aligned in a mapping; version 1 had none and is still read.
//! - `log`: `"SEALLOG\0" | version u32`, then records `len u32 | xxh3(payload) u64 | payload`, payload
//!   `seq u64 | op u8 | kind u8 | engine id u64 | sha256 32 bytes`. Appends are fsynced once per batch.
//!   A torn or damaged record ends the log: it and everything after it are dropped on open (they can
//!   only be the tail a crash interrupted; what they said is repaired from the store).

use crate::domain::{ContentKind, EngineId, Sha256Hex};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64;

const LOG_MAGIC: &[u8; 8] = b"SEALLOG\0";
const SNAP_MAGIC: &[u8; 8] = b"SEALSNP\0";
const VERSION: u32 = 1;
const LOG_HEADER: usize = 12;
/// Snapshot header version: 2 pads the header to 32 bytes.
const SNAP_VERSION: u32 = 2;
const SNAP_HEADER: usize = 8 + 4 + 8 + 8 + 4;
/// A version-1 header: no padding.
const SNAP_VERSION_V1: u32 = 1;
const SNAP_HEADER_V1: usize = 8 + 4 + 8 + 8;
const PAYLOAD: usize = 8 + 1 + 1 + 8 + 32;
/// Records longer than this are damage, not records.
const MAX_PAYLOAD: usize = 1024;

/// What a log record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// The item was fingerprinted and added.
    Add,
    /// The item was removed.
    Remove,
}

/// One change to the indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Position in the log (increasing, continues across truncations).
    pub seq: u64,
    /// Add or remove.
    pub op: Op,
    /// Which index: text and html go to the text index, images to the image matcher.
    pub kind: ContentKind,
    /// The item.
    pub engine_id: EngineId,
    /// Its bytes in the content store (what an add is replayed from).
    pub sha256: Sha256Hex,
}

fn kind_code(kind: ContentKind) -> u8 {
    match kind {
        ContentKind::Text => 0,
        ContentKind::Html => 1,
        ContentKind::Image => 2,
    }
}

fn encode(record: &LogRecord, out: &mut Vec<u8>) {
    let mut payload = Vec::with_capacity(PAYLOAD);
    payload.extend_from_slice(&record.seq.to_le_bytes());
    payload.push(match record.op {
        Op::Add => 1,
        Op::Remove => 2,
    });
    payload.push(kind_code(record.kind));
    payload.extend_from_slice(&record.engine_id.get().to_le_bytes());
    let hex = record.sha256.as_str().as_bytes();
    for pair in hex.chunks(2) {
        let nibble = |c: u8| if c.is_ascii_digit() { c - b'0' } else { c - b'a' + 10 };
        payload.push(nibble(pair[0]) << 4 | nibble(pair.get(1).copied().unwrap_or(b'0')));
    }
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&xxh3_64(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

fn decode(payload: &[u8]) -> Option<LogRecord> {
    if payload.len() != PAYLOAD {
        return None;
    }
    let u64_at = |at: usize| payload.get(at..at + 8).and_then(|s| s.try_into().ok()).map(u64::from_le_bytes);
    let op = match payload[8] {
        1 => Op::Add,
        2 => Op::Remove,
        _ => return None,
    };
    let kind = match payload[9] {
        0 => ContentKind::Text,
        1 => ContentKind::Html,
        2 => ContentKind::Image,
        _ => return None,
    };
    let mut hex = String::with_capacity(64);
    for b in &payload[18..50] {
        hex.push_str(&format!("{b:02x}"));
    }
    Some(LogRecord {
        seq: u64_at(0)?,
        op,
        kind,
        engine_id: EngineId::from_raw(u64_at(10)?)?,
        sha256: Sha256Hex::parse(&hex)?,
    })
}

/// Reads log bytes: the records up to the first torn or damaged one, and the length of that valid
/// prefix. Bytes that do not start with the header give no records and a valid length of 0.
pub fn parse_log(bytes: &[u8]) -> (Vec<LogRecord>, usize) {
    if bytes.len() < LOG_HEADER || &bytes[..8] != LOG_MAGIC || bytes[8..12] != VERSION.to_le_bytes() {
        return (Vec::new(), 0);
    }
    let mut records = Vec::new();
    let mut at = LOG_HEADER;
    while let Some(head) = bytes.get(at..at + 12) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let sum = u64::from_le_bytes([head[4], head[5], head[6], head[7], head[8], head[9], head[10], head[11]]);
        if len > MAX_PAYLOAD {
            break;
        }
        let Some(payload) = bytes.get(at + 12..at + 12 + len) else { break };
        if xxh3_64(payload) != sum {
            break;
        }
        let Some(record) = decode(payload) else { break };
        records.push(record);
        at += 12 + len;
    }
    (records, at)
}

/// The log file, open for appending.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    records: u64,
}

impl LogWriter {
    /// Opens the log at `path`, returning its valid records; a torn or damaged tail is cut off (and the
    /// cut made durable) so that appends continue after the last good record. A missing or unreadable
    /// header starts a fresh log.
    pub fn open(path: &Path) -> io::Result<(LogWriter, Vec<LogRecord>)> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let (records, valid) = parse_log(&bytes);
        if valid == 0 {
            let writer = Self::create(path)?;
            return Ok((writer, records));
        }
        let file = OpenOptions::new().write(true).open(path)?;
        if valid < bytes.len() {
            file.set_len(valid as u64)?;
            file.sync_all()?;
        }
        let mut file = file;
        use std::io::Seek;
        file.seek(io::SeekFrom::Start(valid as u64))?;
        let count = records.len() as u64;
        Ok((LogWriter { path: path.to_owned(), file, records: count }, records))
    }

    /// Replaces the log with an empty one, atomically (after a snapshot made its records redundant).
    pub fn create(path: &Path) -> io::Result<LogWriter> {
        let mut header = Vec::with_capacity(LOG_HEADER);
        header.extend_from_slice(LOG_MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        write_atomically(path, &[&header])?;
        let mut file = OpenOptions::new().write(true).open(path)?;
        use std::io::Seek;
        file.seek(io::SeekFrom::End(0))?;
        Ok(LogWriter { path: path.to_owned(), file, records: 0 })
    }

    /// Appends records and fsyncs once.
    pub fn append(&mut self, records: &[LogRecord]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut out = Vec::with_capacity(records.len() * (12 + PAYLOAD));
        for record in records {
            encode(record, &mut out);
        }
        self.file.write_all(&out)?;
        self.file.sync_data()?;
        self.records += records.len() as u64;
        Ok(())
    }

    /// Records in the log now.
    pub fn len(&self) -> u64 {
        self.records
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Where the log lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `parts` to `path` atomically and durably: temp file, fsync, rename, fsync of the directory.
pub fn write_atomically(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    write_atomically_with(path, |out| parts.iter().try_for_each(|part| out.write_all(part)))
}

/// [`write_atomically`] for content produced by `write` (through a buffer), so that a large snapshot
/// is streamed to disk instead of being built in memory first.
pub fn write_atomically_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("path without a directory"))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut out = io::BufWriter::with_capacity(1 << 20, File::create(&temp)?);
    write(&mut out)?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, path)?;
    File::open(dir)?.sync_all()
}

fn snapshot_header(covers: u64) -> Vec<u8> {
    let mut header = Vec::with_capacity(SNAP_HEADER);
    header.extend_from_slice(SNAP_MAGIC);
    header.extend_from_slice(&SNAP_VERSION.to_le_bytes());
    header.extend_from_slice(&covers.to_le_bytes());
    let sum = xxh3_64(&header);
    header.extend_from_slice(&sum.to_le_bytes());
    header.extend_from_slice(&[0; SNAP_HEADER - SNAP_HEADER_V1]);
    header
}

/// The header's length for the magic and version its first 12 bytes give.
fn snapshot_header_len(start: &[u8]) -> io::Result<usize> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "damaged snapshot header");
    match (start.get(..8), start.get(8..12)) {
        (Some(magic), Some(version)) if magic == SNAP_MAGIC && version == SNAP_VERSION.to_le_bytes() => Ok(SNAP_HEADER),
        (Some(magic), Some(version)) if magic == SNAP_MAGIC && version == SNAP_VERSION_V1.to_le_bytes() => {
            Ok(SNAP_HEADER_V1)
        }
        _ => Err(bad()),
    }
}

/// The `covers` a whole header (28 or 32 bytes) records, once its checksum checks out.
fn snapshot_covers(header: &[u8]) -> io::Result<u64> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "damaged snapshot header");
    let word =
        |at: usize| header.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).ok_or_else(bad);
    if xxh3_64(header.get(..20).ok_or_else(bad)?) != word(20)? {
        return Err(bad());
    }
    word(12)
}

/// A snapshot mapped into memory: the log position it covers and its engine bytes, read in place.
pub struct MappedSnapshot {
    /// The last log record the snapshot covers.
    pub covers: u64,
    /// The engine bytes, a view of the mapped file (aligned to 8 bytes for a version-2 header).
    pub engine: seal_engine::image::SharedBytes,
}

/// Maps a snapshot: `Ok(None)` when there is none, `Err(InvalidData)` when its header is damaged.
/// Mapping goes through tantivy's `MmapDirectory` (which the text search already uses): the one
/// mapping in the platform, behind a safe interface, so that this workspace stays free of unsafe
/// code. Sound because snapshot files are replaced by rename, never rewritten in place.
pub fn map_snapshot(path: &Path) -> io::Result<Option<MappedSnapshot>> {
    use tantivy::directory::{Directory, MmapDirectory};
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::other("snapshot path without a directory"));
    };
    if !path.try_exists()? {
        return Ok(None);
    }
    let mapped = MmapDirectory::open(dir)
        .map_err(io::Error::other)?
        .get_file_handle(Path::new(name))
        .map_err(io::Error::other)
        .and_then(|handle| handle.read_bytes(0..handle.len()))?;
    let header = snapshot_header_len(&mapped)?;
    if mapped.len() < header {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "damaged snapshot header"));
    }
    let covers = snapshot_covers(&mapped[..header])?;
    Ok(Some(MappedSnapshot { covers, engine: std::sync::Arc::new(mapped.slice(header..mapped.len())) }))
}

/// Writes a snapshot: engine bytes covering the log up to `covers`.
pub fn write_snapshot(path: &Path, covers: u64, engine_bytes: &[u8]) -> io::Result<()> {
    write_atomically(path, &[&snapshot_header(covers), engine_bytes])
}

/// [`write_snapshot`] with the engine bytes streamed by `write` (the image matcher's, gigabytes at a
/// million works, never held in memory beside the matcher).
pub fn write_snapshot_with(
    path: &Path,
    covers: u64,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write_atomically_with(path, |out| {
        out.write_all(&snapshot_header(covers))?;
        write(out)
    })
}

/// A snapshot opened for streaming: the log position it covers, a reader at the engine bytes, and
/// how many engine bytes there are.
pub struct SnapshotReader {
    /// The last log record the snapshot covers.
    pub covers: u64,
    /// The file, at the first engine byte.
    pub engine: io::BufReader<File>,
    /// Engine bytes from there to the end of the file.
    pub engine_len: u64,
}

/// Opens a snapshot: `Ok(None)` when there is none, `Err(InvalidData)` when its header is damaged;
/// otherwise a reader of the engine bytes (which the engine checks itself).
pub fn open_snapshot(path: &Path) -> io::Result<Option<SnapshotReader>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut engine = io::BufReader::with_capacity(1 << 20, file);
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "damaged snapshot header");
    let mut header = [0u8; SNAP_HEADER];
    engine.read_exact(&mut header[..12]).map_err(|_| bad())?;
    let header_len = snapshot_header_len(&header)?;
    engine.read_exact(&mut header[12..header_len]).map_err(|_| bad())?;
    let covers = snapshot_covers(&header[..header_len])?;
    Ok(Some(SnapshotReader { covers, engine, engine_len: len - header_len as u64 }))
}

/// Reads a snapshot whole: `Ok(None)` when there is none, `Err(InvalidData)` when its header is
/// damaged; otherwise the log position it covers and the engine bytes.
pub fn read_snapshot(path: &Path) -> io::Result<Option<(u64, Vec<u8>)>> {
    let Some(mut snapshot) = open_snapshot(path)? else { return Ok(None) };
    let mut bytes = Vec::with_capacity(usize::try_from(snapshot.engine_len).unwrap_or(0));
    snapshot.engine.read_to_end(&mut bytes)?;
    Ok(Some((snapshot.covers, bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(seq: u64, n: u64) -> LogRecord {
        LogRecord {
            seq,
            op: if n.is_multiple_of(3) { Op::Remove } else { Op::Add },
            kind: [ContentKind::Text, ContentKind::Html, ContentKind::Image][(n % 3) as usize],
            engine_id: EngineId::from_raw(n + 1).unwrap_or_else(|| unreachable!()),
            sha256: Sha256Hex::of(&n.to_le_bytes()),
        }
    }

    fn log_bytes(records: &[LogRecord]) -> Vec<u8> {
        let mut out = LOG_MAGIC.to_vec();
        out.extend_from_slice(&VERSION.to_le_bytes());
        for r in records {
            encode(r, &mut out);
        }
        out
    }

    #[test]
    fn round_trips_and_drops_a_torn_tail_on_open() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("log");
        let (mut log, none) = LogWriter::open(&path)?;
        assert!(none.is_empty());
        let records: Vec<_> = (1..=5).map(|n| record(n, n)).collect();
        log.append(&records)?;
        drop(log);
        let len = fs::metadata(&path)?.len();
        OpenOptions::new().write(true).open(&path)?.set_len(len - 7)?;
        let (mut log, read) = LogWriter::open(&path)?;
        assert_eq!(read, records[..4]);
        log.append(&[record(9, 9)])?;
        drop(log);
        let (_, read) = LogWriter::open(&path)?;
        assert_eq!(read.len(), 5);
        assert_eq!(read[4], record(9, 9));
        Ok(())
    }

    #[test]
    fn snapshots_round_trip_and_refuse_damage() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("text.snap");
        assert!(read_snapshot(&path)?.is_none());
        write_snapshot(&path, 77, b"engine")?;
        assert_eq!(read_snapshot(&path)?, Some((77, b"engine".to_vec())));
        let mapped = map_snapshot(&path)?.expect("written");
        assert_eq!((mapped.covers, (*mapped.engine).as_ref()), (77, &b"engine"[..]));
        let mut bytes = fs::read(&path)?;
        assert_eq!(bytes.len(), 32 + 6, "engine bytes start aligned");
        // A version-1 file (no padding) still reads.
        let mut v1 = bytes[..28].to_vec();
        v1[8..12].copy_from_slice(&SNAP_VERSION_V1.to_le_bytes());
        let sum = xxh3_64(&v1[..20]);
        v1[20..28].copy_from_slice(&sum.to_le_bytes());
        v1.extend_from_slice(b"engine");
        fs::write(&path, &v1)?;
        assert_eq!(read_snapshot(&path)?, Some((77, b"engine".to_vec())));
        assert_eq!(
            map_snapshot(&path)?.map(|m| (m.covers, (*m.engine).as_ref().to_vec())),
            Some((77, b"engine".to_vec()))
        );
        bytes[13] ^= 1;
        fs::write(&path, &bytes)?;
        assert!(read_snapshot(&path).is_err());
        assert!(map_snapshot(&path).is_err());
        fs::write(&path, &bytes[..20])?;
        assert!(read_snapshot(&path).is_err());
        assert!(map_snapshot(&path).is_err());
        assert!(map_snapshot(&dir.path().join("none.snap"))?.is_none());
        Ok(())
    }

    proptest! {
        #[test]
        fn truncation_and_damage_never_yield_a_wrong_record(
            n in 0usize..20,
            cut in any::<prop::sample::Index>(),
            flip in any::<Option<(prop::sample::Index, u8)>>(),
        ) {
            let records: Vec<_> = (0..n as u64).map(|i| record(i + 1, i)).collect();
            let mut bytes = log_bytes(&records);
            bytes.truncate(cut.index(bytes.len() + 1));
            if let Some((at, mask)) = flip {
                if !bytes.is_empty() && mask != 0 {
                    let i = at.index(bytes.len());
                    bytes[i] ^= mask;
                }
            }
            let (read, valid) = parse_log(&bytes);
            prop_assert!(valid <= bytes.len());
            prop_assert!(read.len() <= records.len());
            prop_assert_eq!(&read[..], &records[..read.len()]);
        }
    }
}
