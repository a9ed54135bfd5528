//! Image fingerprints and matching, pure: bytes in, results out.
//!
//! - [`decode`]: JPEG, PNG, WebP, GIF to luminance, with hard limits, DCT-scaled JPEG decoding.
//! - [`pdq`]: Meta's PDQ hash and quality, and its eight dihedral variants from one DCT.
//! - [`region`]: the crop-robust signal (window hashes, registered on a ladder, confirmed by voting).
//! - [`index`]: multi-index hashing over 256-bit hashes (add, remove, radius queries, bytes).
//! - [`matcher`]: fingerprints for originals and queries, and the matcher that names what matched.
//! - [`snapshot`]: the matcher's registered state to and from versioned, checksummed bytes.
//! - [`config`]: every threshold, with its default and reason.

pub mod config;
pub mod decode;
pub mod error;
pub mod index;
pub mod matcher;
pub mod pdq;
pub mod region;
pub mod snapshot;

pub use crate::column::SharedBytes;
pub use config::{ImageConfig, RegionConfig};
pub use decode::{decode_luma, DecodeLimits, Decoded, Format, Luma};
pub use error::ImageError;
pub use index::{HammingIndex, IndexHit};
pub use matcher::{
    fingerprint_original, fingerprint_query, ImageHit, ImageMatcher, OriginalFingerprint, QueryFingerprint, Rect,
    Signal, WorkId,
};
pub use pdq::{dct16, pdq, Dct16, Dihedral, PdqHash};
pub use region::{QueryWindow, RegionHash};
pub use snapshot::{SnapshotCheck, SNAPSHOT_VERSION};
