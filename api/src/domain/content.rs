//! Content items as the domain sees them: what kind an item is, and the SHA-256 that names its bytes.

use sha2::{Digest, Sha256};
use std::fmt;

/// What a content item is, which decides how it is fingerprinted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// Plain text (a `.txt` file's body).
    Text,
    /// An HTML page; its visible text is fingerprinted.
    Html,
    /// An image (JPEG, PNG, WebP, GIF).
    Image,
}

impl ContentKind {
    /// The name stored in `work_contents.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Text => "text",
            ContentKind::Html => "html",
            ContentKind::Image => "image",
        }
    }

    /// The kind named by a stored `kind`.
    pub fn parse(name: &str) -> Option<ContentKind> {
        match name {
            "text" => Some(ContentKind::Text),
            "html" => Some(ContentKind::Html),
            "image" => Some(ContentKind::Image),
            _ => None,
        }
    }
}

/// A SHA-256 digest as 64 lower-case hex digits: the name of a content file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Hex {
        Sha256Hex(hex::encode(Sha256::digest(bytes)))
    }

    /// Checks and wraps a hex digest read back from storage; `None` unless it is 64 lower-case hex digits.
    pub fn parse(hex: &str) -> Option<Sha256Hex> {
        let ok = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Sha256Hex(hex.to_owned()))
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
