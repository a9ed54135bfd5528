//! Text: from page bytes to hits on registered works.
//!
//! The pipeline is [`extract`] (bytes → visible text) → [`tokens`] (normalized word and CJK-character
//! tokens) → [`fingerprint`] (k-grams, winnowing, SimHash) → [`index`] (registered works) → [`matcher`]
//! (candidates, chaining, scores, hits). [`match_page`] runs it end to end.
//!
//! [`pages`] turns the roles round for retroactive matching: compact fingerprints of crawled pages, searched
//! by a newly registered work with the same chaining and thresholds.

pub mod extract;
pub mod fingerprint;
pub mod index;
pub mod matcher;
pub mod pages;
pub mod tokens;

pub use extract::{extract, extract_with_charset, ContentKind, ExtractConfig, Extracted};
pub use fingerprint::FingerprintConfig;
pub use index::{Registered, TextIndex, WorkId};
pub use matcher::{CopyKind, Hit, MatchConfig, MatchedSpan};
pub use pages::{PageFingerprint, PageHit, PageIndex, PageIndexConfig, PageIndexError, PageKey, PageSpan, RetroConfig};

/// Why text could not be extracted, registered or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The input is larger than [`ExtractConfig::max_input_bytes`].
    #[error("input of {bytes} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        bytes: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The input is binary data, not text or HTML.
    #[error("input is binary data, not text")]
    Binary,
    /// The text has no letters, digits or CJK characters to fingerprint.
    #[error("text has nothing to fingerprint")]
    NoText,
    /// The text has more tokens than positions can address (over four billion).
    #[error("text is too long to index")]
    TooLong,
    /// Serialized index bytes are damaged or of another format.
    #[error("corrupt text index: {0}")]
    CorruptIndex(&'static str),
}

/// A page's extracted text and the works found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageMatch {
    /// The page's visible text; hit spans index into it by character.
    pub extracted: Extracted,
    /// Hits, best first.
    pub hits: Vec<Hit>,
}

/// Extracts a page's text and matches it against the index.
pub fn match_page(
    index: &TextIndex,
    bytes: &[u8],
    kind: ContentKind,
    extract_config: &ExtractConfig,
    match_config: &MatchConfig,
) -> Result<PageMatch, TextError> {
    let extracted = extract(bytes, kind, extract_config)?;
    let hits = index.find(&extracted.text, match_config);
    Ok(PageMatch { extracted, hits })
}
