//! Arrays that are either owned vectors or views into bytes the caller holds (a mapped snapshot
//! file), so that a matcher of a million works loads without copying its gigabytes of windows.
//!
//! Why: on this workplace's virtual machines making fresh memory exist costs about 2 µs a 4 KB page
//! (a fault and its zeroing). A million-work matcher keeps 12 GB, so reading its snapshot into
//! vectors took 20 s, most of it faults, while mapping the same file from the page cache and
//! reading it through takes about 1 s. The engine does no IO: the caller maps the file and hands its
//! bytes over as [`SharedBytes`]; the engine only casts aligned ranges of them (`bytemuck`, no
//! unsafe code here) and keeps them alive.
//!
//! A view is read-only: the index that holds columns keeps what changes (new windows, removals)
//! beside them, and a rebuild replaces them with owned vectors.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// Bytes a loaded matcher may keep views into, for as long as it lives: a mapped file or a vector.
/// They must give the same bytes on every call (a mapping of a file nobody rewrites in place, as the
/// monitor's write-then-rename snapshots are, does).
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// An array of plain values, owned or viewed in [`SharedBytes`].
#[derive(Clone)]
pub(crate) enum Column<T> {
    Owned(Vec<T>),
    Shared { bytes: SharedBytes, range: Range<usize> },
}

impl<T: bytemuck::Pod> Column<T> {
    /// A view of `range` of `bytes`; `None` when the range is outside them, not a whole number of
    /// values, or not aligned for `T` where it lies in memory.
    pub(crate) fn view(bytes: &SharedBytes, range: Range<usize>) -> Option<Self> {
        let slice = (**bytes).as_ref().get(range.clone())?;
        bytemuck::try_cast_slice::<u8, T>(slice).ok()?;
        Some(Column::Shared { bytes: Arc::clone(bytes), range })
    }

    /// The values.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Column::Owned(values) => values,
            // Checked by `view`; bytes that changed under us give an empty column, not a panic.
            Column::Shared { bytes, range } => {
                (**bytes).as_ref().get(range.clone()).and_then(|b| bytemuck::try_cast_slice(b).ok()).unwrap_or(&[])
            }
        }
    }

    /// The values as a vector: moved when owned, copied out of the shared bytes when viewed.
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            Column::Owned(values) => values,
            shared @ Column::Shared { .. } => shared.as_slice().to_vec(),
        }
    }

    /// Heap bytes this column owns (a view owns none: its bytes are the caller's mapping).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Column::Owned(values) => values.capacity() * size_of::<T>(),
            Column::Shared { .. } => 0,
        }
    }

    /// Bytes viewed in shared bytes (none when owned).
    pub(crate) fn shared_bytes(&self) -> usize {
        match self {
            Column::Owned(_) => 0,
            Column::Shared { range, .. } => range.len(),
        }
    }
}

/// The value of `slot`, numbered across `base` (an index's columns), then `tail` (what was added
/// since its last rebuild).
#[inline]
pub(crate) fn at_slot<T: Copy>(base: &[T], tail: &[T], slot: usize) -> T {
    slot.checked_sub(base.len()).map_or_else(|| base[slot], |t| tail[t])
}

impl<T> Default for Column<T> {
    fn default() -> Self {
        Column::Owned(Vec::new())
    }
}

impl<T> From<Vec<T>> for Column<T> {
    fn from(values: Vec<T>) -> Self {
        Column::Owned(values)
    }
}

impl<T: bytemuck::Pod> Deref for Column<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: bytemuck::Pod + fmt::Debug> fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Owned(values) => f.debug_tuple("Owned").field(&values.len()).finish(),
            Column::Shared { range, .. } => f.debug_struct("Shared").field("range", range).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(values: &[u64]) -> SharedBytes {
        // A Vec<u64>'s bytes are 8-aligned: viewing them as u64 must work.
        Arc::new(AlignedBytes(values.to_vec()))
    }

    struct AlignedBytes(Vec<u64>);
    impl AsRef<[u8]> for AlignedBytes {
        fn as_ref(&self) -> &[u8] {
            bytemuck::cast_slice(&self.0)
        }
    }

    #[test]
    fn a_view_reads_in_place_and_copies_only_when_taken_out() {
        let bytes = words(&[1, 2, 3, 4]);
        let column = Column::<u64>::view(&bytes, 8..32).expect("aligned");
        assert_eq!(&*column, &[2, 3, 4]);
        assert_eq!((column.heap_bytes(), column.shared_bytes()), (0, 24));
        assert_eq!(column.into_vec(), vec![2, 3, 4]);
        let owned = Column::from(vec![7u64, 8]);
        assert_eq!((owned.heap_bytes(), owned.shared_bytes()), (16, 0));
        assert_eq!(owned.into_vec(), vec![7, 8]);
        assert_eq!(&*Column::<u32>::view(&bytes, 8..16).expect("aligned"), &[2, 0]);
    }

    #[test]
    fn misaligned_partial_or_outside_ranges_are_refused() {
        let bytes = words(&[1, 2, 3]);
        assert!(Column::<u64>::view(&bytes, 4..12).is_none(), "misaligned");
        assert!(Column::<u64>::view(&bytes, 0..12).is_none(), "not whole values");
        assert!(Column::<u64>::view(&bytes, 16..32).is_none(), "outside");
        assert!(Column::<u8>::view(&bytes, 3..7).is_some(), "bytes need no alignment");
    }
}
