//! Errors of the image engine. Every failure on outside bytes is a value here, never a panic.

use thiserror::Error;

/// What can go wrong while decoding, hashing or (de)serializing image data.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// The bytes start with no signature of a supported format (JPEG, PNG, WebP, GIF).
    #[error("unknown image format (supported: JPEG, PNG, WebP, GIF)")]
    UnknownFormat,
    /// The image declares a size beyond the configured limits; it is refused before any pixel is allocated.
    #[error("image is {width}x{height}, beyond the limit of {max_dimension} px per side or {max_pixels} px in all")]
    TooLarge {
        /// Declared width in pixels.
        width: u64,
        /// Declared height in pixels.
        height: u64,
        /// Configured limit per side.
        max_dimension: u32,
        /// Configured limit on width times height.
        max_pixels: u64,
    },
    /// The image has a zero or too small side to carry a fingerprint.
    #[error("image is {width}x{height}, too small to fingerprint")]
    TooSmall {
        /// Decoded width in pixels.
        width: u64,
        /// Decoded height in pixels.
        height: u64,
    },
    /// The data is truncated or corrupt; the message comes from the format decoder.
    #[error("{format} data is truncated or corrupt: {message}")]
    Corrupt {
        /// The format the signature announced.
        format: &'static str,
        /// The decoder's explanation.
        message: String,
    },
    /// PDQ's quality score says the image is too flat or blurred to hash reliably.
    #[error("image quality {quality} is below the minimum of {min_quality}")]
    LowQuality {
        /// PDQ quality of the image, 0..=100.
        quality: u8,
        /// Configured minimum.
        min_quality: u8,
    },
    /// Serialized index bytes are not in the expected layout.
    #[error("index bytes are invalid: {0}")]
    BadIndex(&'static str),
    /// The stream a snapshot was read from failed (not the bytes' fault: the file or the disk).
    #[error("reading the index failed: {0}")]
    SnapshotRead(String),
}
