//! Why an ISCC could not be computed.
//!
//! Every variant corresponds to an input that iscc-core also refuses (with a `ValueError` or
//! `TypeError`), so a caller can tell a bad argument from a bug: the functions here never panic on
//! input.

/// An input the ISCC algorithms refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsccError {
    /// Unit lengths are whole 32-bit words from 32 to 256 bits (the digests are 256 bits long).
    #[error("invalid bit length {0}: must be a multiple of 32 between 32 and 256")]
    InvalidBits(u32),
    /// The Meta-Code needs a title that is not empty after normalisation.
    #[error("Meta-Code requires a non-empty name (after normalisation)")]
    EmptyName,
    /// The `meta` element is neither a JSON object nor a base64 data URL.
    #[error("invalid meta element: {0}")]
    InvalidMeta(String),
    /// The decoded `meta` payload exceeds iscc-core's `meta_trim_meta` limit.
    #[error("meta payload of {size} bytes exceeds the limit of {limit} bytes")]
    MetaTooLarge {
        /// Payload size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The Image-Code hashes exactly 32×32 grey pixels.
    #[error("Image-Code needs 1024 (32x32) pixels, got {0}")]
    PixelCount(usize),
    /// A pixel buffer is shorter or longer than its width and height say, or has no pixels.
    #[error("pixel buffer of {len} values does not match a {width}x{height} image")]
    PixelBuffer {
        /// Number of values in the buffer.
        len: usize,
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
    },
    /// A string given as an ISCC unit does not decode.
    #[error("malformed ISCC {code:?}: {reason}")]
    Malformed {
        /// The offending input.
        code: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The units cannot be combined into an ISCC-CODE.
    #[error("cannot build an ISCC-CODE: {0}")]
    Composite(&'static str),
}
