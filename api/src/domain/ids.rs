//! The one mapping between platform work ids and engine ids.
//!
//! The engine knows works by small integers (`seal_engine::text::WorkId(u64)`, image `WorkId = u32`) and
//! never sees a platform id; the platform knows works by string ids. Each content item of a work gets an
//! [`EngineId`] from the store's counter when it is registered (monotonic, never reused), kept in
//! `work_contents.engine_id`. This module is the only place that converts between an `EngineId` and the
//! engine's types; the store resolves an `EngineId` back to its work (`content_by_engine_id`).

use seal_engine::image;
use seal_engine::text;

/// The id a content item is fingerprinted under, allocated by the store (positive, never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngineId(u64);

impl EngineId {
    /// Wraps a value read from the `engine_id` column; `None` unless it is positive. Image ids must also
    /// fit the image engine's `u32` (checked by [`EngineId::image`]).
    pub fn from_stored(value: i64) -> Option<EngineId> {
        u64::try_from(value).ok().filter(|v| *v > 0).map(EngineId)
    }

    /// The value for the `engine_id` column.
    pub fn stored(self) -> i64 {
        // Built only from positive i64 values, so it always fits back.
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// The raw number (for logs and snapshots).
    pub fn get(self) -> u64 {
        self.0
    }

    /// Wraps a raw number read back from the monitor's own files; `None` for zero.
    pub fn from_raw(value: u64) -> Option<EngineId> {
        (value > 0 && value <= i64::MAX as u64).then_some(EngineId(value))
    }

    /// The text engine's id for this item.
    pub fn text(self) -> text::WorkId {
        text::WorkId(self.0)
    }

    /// The image engine's id for this item, when it fits the image engine's 32 bits.
    pub fn image(self) -> Option<image::WorkId> {
        u32::try_from(self.0).ok()
    }

    /// The item a text hit names.
    pub fn from_text(id: text::WorkId) -> Option<EngineId> {
        Self::from_raw(id.0)
    }

    /// The item an image hit names.
    pub fn from_image(id: image::WorkId) -> Option<EngineId> {
        Self::from_raw(u64::from(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_cannot_be_an_engine_id() {
        let id = EngineId::from_stored(42).expect("positive");
        assert_eq!(EngineId::from_text(id.text()), Some(id));
        assert_eq!(id.image().and_then(EngineId::from_image), Some(id));
        assert_eq!(id.stored(), 42);
        assert_eq!(EngineId::from_stored(0), None);
        assert_eq!(EngineId::from_stored(-3), None);
        assert_eq!(EngineId::from_stored(1 << 40).and_then(EngineId::image), None);
    }
}
