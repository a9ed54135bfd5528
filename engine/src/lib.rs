//! `seal-engine`: the pure heart of monitoring. It fingerprints text and images, indexes registered
//! works, matches pages against them and classifies hits.
//!
//! **Invariant:** the engine never fetches a URL, reads a clock or opens a file. Bytes and times come in
//! as arguments and results go out as values, so every function here is deterministic and testable
//! without the outside world. Network, storage and time belong to `seal-crawler` and `seal-api`.

mod bytes;
mod column;
pub mod image;
pub mod iscc;
pub mod text;
