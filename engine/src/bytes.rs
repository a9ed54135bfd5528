//! A bounds-checked little-endian reader for the engine's snapshot formats (text index, page index, image
//! matcher).
//!
//! Snapshots come back from disk or another process, so they are hostile input: every read is checked,
//! and a forged record count is compared with the bytes that are left before anything is allocated.
//!
//! [`HashedReader`] and [`HashedWriter`] do the same over a stream, for snapshots too large to hold
//! twice (a million-image matcher is gigabytes): they hash what passes through (xxh3-64), so that the
//! trailing checksum is checked without a second pass or a second copy.

use std::io::{Read, Write};
use xxhash_rust::xxh3::Xxh3;

/// Why snapshot bytes could not be read; each format turns it into its own error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

/// Reads values in order from a byte slice.
pub(crate) struct ByteReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> ByteReader<'a> {
    /// A reader over `bytes` starting at offset `at`.
    pub(crate) fn new(bytes: &'a [u8], at: usize) -> Self {
        Self { bytes, at }
    }

    /// Bytes read so far, from the start of the slice.
    pub(crate) fn position(&self) -> usize {
        self.at
    }

    /// Skips to the next multiple of `align` from the start of the slice (the padding before an
    /// aligned column; its bytes are not checked: the checksum covers them).
    pub(crate) fn align(&mut self, align: usize) -> Result<(), Malformed> {
        self.slice(self.at.next_multiple_of(align) - self.at).map(drop)
    }

    /// Whether every byte has been read (trailing bytes mean a damaged or foreign snapshot).
    pub(crate) fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }

    pub(crate) fn slice(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.at.checked_add(n).ok_or(Malformed("truncated"))?;
        let slice = self.bytes.get(self.at..end).ok_or(Malformed("truncated"))?;
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        self.slice(N)?.try_into().map_err(|_| Malformed("truncated"))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Malformed> {
        self.array::<2>().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Malformed> {
        self.array::<4>().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Malformed> {
        self.array::<8>().map(u64::from_le_bytes)
    }

    /// A count of records of at least `record_bytes` each, refused when the bytes left cannot hold them,
    /// so that a forged count cannot make the caller allocate or loop beyond the data.
    pub(crate) fn count(&mut self, record_bytes: usize) -> Result<usize, Malformed> {
        let n = usize::try_from(self.u64()?).map_err(|_| Malformed("count"))?;
        if n.checked_mul(record_bytes).is_none_or(|need| need > self.bytes.len() - self.at) {
            return Err(Malformed("count larger than the data"));
        }
        Ok(n)
    }
}

/// Records read in order from a slice ([`ByteReader`]) or a stream ([`HashedReader`]), so that one
/// parser serves both ways of loading a snapshot.
pub(crate) trait Records {
    /// The next `n` bytes (a record's worth: `n` at most [`STREAM_BUFFER`]).
    fn record(&mut self, n: usize) -> Result<&[u8], StreamError>;
    /// A count of records of at least `record_bytes` each, refused when the bytes left cannot hold them.
    fn records(&mut self, record_bytes: usize) -> Result<usize, StreamError>;

    fn le<const N: usize>(&mut self) -> Result<[u8; N], StreamError> {
        self.record(N)?.try_into().map_err(|_| Malformed("truncated").into())
    }
    fn le_u8(&mut self) -> Result<u8, StreamError> {
        Ok(self.le::<1>()?[0])
    }
    fn le_u32(&mut self) -> Result<u32, StreamError> {
        self.le().map(u32::from_le_bytes)
    }
    fn le_u64(&mut self) -> Result<u64, StreamError> {
        self.le().map(u64::from_le_bytes)
    }
    fn le_f32(&mut self) -> Result<f32, StreamError> {
        self.le().map(f32::from_le_bytes)
    }
}

impl Records for ByteReader<'_> {
    fn record(&mut self, n: usize) -> Result<&[u8], StreamError> {
        Ok(self.slice(n)?)
    }
    fn records(&mut self, record_bytes: usize) -> Result<usize, StreamError> {
        Ok(self.count(record_bytes)?)
    }
}

impl<R: Read> Records for HashedReader<R> {
    fn record(&mut self, n: usize) -> Result<&[u8], StreamError> {
        self.slice(n)
    }
    fn records(&mut self, record_bytes: usize) -> Result<usize, StreamError> {
        self.count(record_bytes)
    }
}

/// Bytes a [`HashedReader`] or [`HashedWriter`] moves at a time.
const STREAM_BUFFER: usize = 1 << 20;

/// Why a streamed snapshot could not be read: damaged or foreign bytes, or the stream itself failed.
#[derive(Debug)]
pub(crate) enum StreamError {
    Malformed(Malformed),
    Io(std::io::Error),
}

impl From<Malformed> for StreamError {
    fn from(malformed: Malformed) -> Self {
        StreamError::Malformed(malformed)
    }
}

impl From<std::io::Error> for StreamError {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::UnexpectedEof {
            StreamError::Malformed(Malformed("truncated"))
        } else {
            StreamError::Io(error)
        }
    }
}

/// Reads values in order from a stream of `len` bytes whose last 8 are the xxh3-64 of the rest
/// (the body), hashing the body as it is read; [`HashedReader::finish`] checks the sum. Counts are
/// checked against the body bytes left, as [`ByteReader::count`] does, so allocation stays bounded
/// by the declared length.
pub(crate) struct HashedReader<R> {
    inner: R,
    hasher: Xxh3,
    buffer: Vec<u8>,
    start: usize,
    /// Body bytes not yet pulled from `inner`.
    unread: u64,
    /// Body bytes in all.
    body: u64,
}

impl<R: Read> HashedReader<R> {
    /// A reader of the `len` bytes `inner` holds (checksum included).
    pub(crate) fn new(inner: R, len: u64) -> Result<Self, Malformed> {
        let body = len.checked_sub(8).ok_or(Malformed("truncated"))?;
        Ok(Self { inner, hasher: Xxh3::new(), buffer: Vec::new(), start: 0, unread: body, body })
    }

    /// Skips to the next multiple of `align` bytes from the start of the body (the padding before an
    /// aligned column; the checksum covers its bytes).
    pub(crate) fn align(&mut self, align: u64) -> Result<(), StreamError> {
        let at = self.body - self.remaining();
        let skip = at.next_multiple_of(align) - at;
        self.slice(usize::try_from(skip).map_err(|_| Malformed("alignment"))?).map(drop)
    }

    /// Body bytes left to read.
    pub(crate) fn remaining(&self) -> u64 {
        self.unread + (self.buffer.len() - self.start) as u64
    }

    /// Makes `need` (at most [`STREAM_BUFFER`]) bytes available at `start`.
    fn fill(&mut self, need: usize) -> Result<(), StreamError> {
        let have = self.buffer.len() - self.start;
        if have >= need {
            return Ok(());
        }
        if need as u64 > have as u64 + self.unread {
            return Err(Malformed("truncated").into());
        }
        self.buffer.drain(..self.start);
        self.start = 0;
        let pull = (STREAM_BUFFER.max(need) - have).min(usize::try_from(self.unread).unwrap_or(usize::MAX));
        let at = self.buffer.len();
        self.buffer.resize(at + pull, 0);
        self.inner.read_exact(&mut self.buffer[at..])?;
        self.hasher.update(&self.buffer[at..]);
        self.unread -= pull as u64;
        Ok(())
    }

    /// The next `n` bytes (`n` at most [`STREAM_BUFFER`]: records, not columns).
    pub(crate) fn slice(&mut self, n: usize) -> Result<&[u8], StreamError> {
        if n > STREAM_BUFFER {
            return Err(Malformed("record too large").into());
        }
        self.fill(n)?;
        let at = self.start;
        self.start += n;
        Ok(&self.buffer[at..at + n])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StreamError> {
        self.slice(N)?.try_into().map_err(|_| Malformed("truncated").into())
    }

    pub(crate) fn u64(&mut self) -> Result<u64, StreamError> {
        self.array::<8>().map(u64::from_le_bytes)
    }

    /// A count of records of at least `record_bytes` each, refused when the body left cannot hold them.
    pub(crate) fn count(&mut self, record_bytes: usize) -> Result<usize, StreamError> {
        let n = usize::try_from(self.u64()?).map_err(|_| Malformed("count"))?;
        if n.checked_mul(record_bytes).is_none_or(|need| need as u64 > self.remaining()) {
            return Err(Malformed("count larger than the data").into());
        }
        Ok(n)
    }

    /// `n` values of `size` bytes each, decoded by `decode`, into a vector of exactly that capacity
    /// (`n * size` must fit in the body left: checked before allocating).
    pub(crate) fn column<T>(
        &mut self,
        n: usize,
        size: usize,
        decode: impl Fn(&[u8]) -> T,
    ) -> Result<Vec<T>, StreamError> {
        if n.checked_mul(size).is_none_or(|need| need as u64 > self.remaining()) {
            return Err(Malformed("column larger than the data").into());
        }
        let mut out = Vec::with_capacity(n);
        let per_fill = (STREAM_BUFFER / size.max(1)).max(1);
        while out.len() < n {
            let k = per_fill.min(n - out.len());
            self.fill(k * size)?;
            out.extend(self.buffer[self.start..self.start + k * size].chunks_exact(size).map(&decode));
            self.start += k * size;
        }
        Ok(out)
    }

    /// The next `n` bytes as a vector with room for `spare` more, for the caller to append without
    /// reallocating (`n` must fit in the body left: checked before allocating).
    pub(crate) fn bytes(&mut self, n: usize, spare: usize) -> Result<Vec<u8>, StreamError> {
        if n as u64 > self.remaining() {
            return Err(Malformed("column larger than the data").into());
        }
        let mut out = Vec::with_capacity(n.saturating_add(spare));
        while out.len() < n {
            let k = STREAM_BUFFER.min(n - out.len());
            self.fill(k)?;
            out.extend_from_slice(&self.buffer[self.start..self.start + k]);
            self.start += k;
        }
        Ok(out)
    }

    /// Checks that the body is read to its end, that the checksum follows and matches, and that
    /// nothing comes after it.
    pub(crate) fn finish(mut self) -> Result<(), StreamError> {
        if self.remaining() != 0 {
            return Err(Malformed("trailing bytes").into());
        }
        let mut sum = [0u8; 8];
        self.inner.read_exact(&mut sum)?;
        if self.hasher.digest() != u64::from_le_bytes(sum) {
            return Err(Malformed("checksum mismatch").into());
        }
        if self.inner.read(&mut [0u8; 1])? != 0 {
            return Err(Malformed("trailing bytes").into());
        }
        Ok(())
    }
}

/// Writes a body through a buffer, hashing it, and ends it with its xxh3-64 ([`HashedWriter::finish`]).
pub(crate) struct HashedWriter<W> {
    inner: W,
    hasher: Xxh3,
    buffer: Vec<u8>,
    /// Body bytes flushed to `inner`.
    flushed: u64,
}

impl<W: Write> HashedWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self { inner, hasher: Xxh3::new(), buffer: Vec::with_capacity(STREAM_BUFFER), flushed: 0 }
    }

    /// Zero bytes up to the next multiple of `align` from the start of the body, so that the column
    /// after them can be read in place from a mapping of the bytes (see `column.rs`).
    pub(crate) fn align(&mut self, align: u64) -> std::io::Result<()> {
        let at = self.flushed + self.buffer.len() as u64;
        let pad = at.next_multiple_of(align) - at;
        self.put(&vec![0; usize::try_from(pad).unwrap_or(0)])
    }

    /// Appends `bytes` to the body.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= STREAM_BUFFER {
            self.flush_buffer()?;
        }
        Ok(())
    }

    /// Appends each of `values`, encoded by `encode` into `N` bytes.
    pub(crate) fn column<T, const N: usize>(
        &mut self,
        values: &[T],
        encode: impl Fn(&T) -> [u8; N],
    ) -> std::io::Result<()> {
        for chunk in values.chunks(STREAM_BUFFER / N) {
            for value in chunk {
                self.buffer.extend_from_slice(&encode(value));
            }
            if self.buffer.len() >= STREAM_BUFFER {
                self.flush_buffer()?;
            }
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> std::io::Result<()> {
        self.hasher.update(&self.buffer);
        self.inner.write_all(&self.buffer)?;
        self.flushed += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Writes what is buffered and the checksum, and gives the stream back (unflushed: the caller's).
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.flush_buffer()?;
        self.inner.write_all(&self.hasher.digest().to_le_bytes())?;
        Ok(self.inner)
    }
}
