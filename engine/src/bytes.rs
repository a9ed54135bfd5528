//! A bounds-checked little-endian reader for the engine's snapshot formats (text index, page index, image
//! matcher).
//!
//! Snapshots come back from disk or another process, so they are hostile input: every read is checked,
//! and a forged record count is compared with the bytes that are left before anything is allocated.

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

    pub(crate) fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
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

    pub(crate) fn f32(&mut self) -> Result<f32, Malformed> {
        self.array::<4>().map(f32::from_le_bytes)
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
