//! The Meta-Code (iscc-core `gen_meta_code_v0`): a SimHash of a work's title, and of its description or
//! its structured metadata, so that works with similar metadata get similar codes.
//!
//! The name is cleaned, made one line and cut to 128 UTF-8 bytes; the description is cleaned and cut to
//! 4096 bytes. Without `meta` the digest interleaves a SimHash of the name's character trigrams with one
//! of the description's (or is the name's alone); with `meta` the second SimHash is over 4-byte windows
//! of the metadata payload (JCS JSON or the data URL's bytes) and the description does not count.

use super::codec::{encode_unit, MainType};
use super::error::IsccError;
use super::hash::{multihash_blake3, simhash};
use super::jcs::{data_url, data_url_payload, jcs_canonicalize};
use super::text::{byte_windows, char_windows, text_clean, text_collapse, text_remove_newlines, text_trim};
use serde_json::Value;

/// Longest name, in UTF-8 bytes (iscc-core `meta_trim_name`).
const TRIM_NAME: usize = 128;
/// Longest description, in UTF-8 bytes (iscc-core `meta_trim_description`).
const TRIM_DESCRIPTION: usize = 4096;
/// Largest `meta` payload, in bytes (iscc-core `meta_trim_meta`).
const TRIM_META: usize = 128_000;
/// Width of the character n-grams over name and description (`meta_ngram_size_text`).
const NGRAM_TEXT: usize = 3;
/// Width of the byte n-grams over a metadata payload (`meta_ngram_size_bytes`).
const NGRAM_BYTES: usize = 4;

/// Structured metadata for the Meta-Code's `meta` element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Meta<'a> {
    /// A JSON object, hashed in its JCS canonical form (an empty object counts as no metadata).
    Json(&'a Value),
    /// A base64 data URL whose payload is hashed as given (an empty string counts as no metadata).
    DataUrl(&'a str),
}

/// A Meta-Code and the normalised values iscc-core reports with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCode {
    /// The canonical `ISCC:...` Meta-Code.
    pub iscc: String,
    /// The name as normalised for hashing.
    pub name: String,
    /// The description as normalised, if it is not empty.
    pub description: Option<String>,
    /// The metadata as a data URL, if metadata was given.
    pub meta: Option<String>,
    /// Multihash (`1e20` + BLAKE3, hex) of the metadata payload, or of `name description` without it.
    pub metahash: String,
}

/// The Meta-Code of a work (iscc-core `gen_meta_code_v0`). `description` may be empty.
pub fn meta_code(name: &str, description: &str, meta: Option<Meta<'_>>, bits: u32) -> Result<MetaCode, IsccError> {
    let name = text_trim(&text_remove_newlines(&text_clean(name)), TRIM_NAME).to_string();
    if name.is_empty() {
        return Err(IsccError::EmptyName);
    }
    let cleaned_description = text_clean(description);
    let description = text_trim(&cleaned_description, TRIM_DESCRIPTION).to_string();

    // Python tests `if meta:`, so an empty object or an empty string means "no metadata".
    let meta = match meta {
        Some(Meta::Json(Value::Object(map))) if map.is_empty() => None,
        Some(Meta::DataUrl("")) => None,
        other => other,
    };
    let (digest, metahash, meta_out) = match meta {
        None => {
            let payload = format!("{name} {description}");
            let digest = soft_hash_meta(&name, Extra::Text(&description));
            (digest, multihash_blake3(payload.trim().as_bytes()), None)
        }
        Some(meta) => {
            let (payload, url) = match meta {
                Meta::DataUrl(url) => (data_url_payload(url)?, url.to_string()),
                Meta::Json(value @ Value::Object(map)) => {
                    let payload = jcs_canonicalize(value).into_bytes();
                    let media_type =
                        if map.contains_key("@context") { "application/ld+json" } else { "application/json" };
                    let url = data_url(media_type, &payload);
                    (payload, url)
                }
                Meta::Json(_) => return Err(IsccError::InvalidMeta("JSON metadata must be an object".to_string())),
            };
            if payload.len() > TRIM_META {
                return Err(IsccError::MetaTooLarge { size: payload.len(), limit: TRIM_META });
            }
            (soft_hash_meta(&name, Extra::Bytes(&payload)), multihash_blake3(&payload), Some(url))
        }
    };
    let iscc = encode_unit(MainType::Meta, 0, bits, &digest)?;
    let description = (!description.is_empty()).then_some(description);
    Ok(MetaCode { iscc, name, description, meta: meta_out, metahash })
}

/// What the name's SimHash is combined with.
enum Extra<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// The 256-bit Meta-Hash (iscc-core `soft_hash_meta_v0`): the SimHash of BLAKE3 hashes of the collapsed
/// name's trigrams; with a non-empty extra, the first 128 bits of it interleaved in 32-bit words with
/// the first 128 bits of the extra's SimHash, so both halves of a 64-bit code carry each source.
fn soft_hash_meta(name: &str, extra: Extra<'_>) -> [u8; 32] {
    let name = text_collapse(name);
    let name_hash = simhash(&char_windows(&name, NGRAM_TEXT).map(blake3_bytes).collect::<Vec<_>>());
    let extra_hash = match extra {
        Extra::Text("") | Extra::Bytes([]) => return name_hash,
        Extra::Text(text) => {
            let text = text_collapse(text);
            simhash(&char_windows(&text, NGRAM_TEXT).map(blake3_bytes).collect::<Vec<_>>())
        }
        Extra::Bytes(bytes) => {
            simhash(&byte_windows(bytes, NGRAM_BYTES).map(|gram| *blake3::hash(gram).as_bytes()).collect::<Vec<_>>())
        }
    };
    let mut digest = [0u8; 32];
    for (i, chunk) in digest.chunks_exact_mut(8).enumerate() {
        chunk[..4].copy_from_slice(&name_hash[i * 4..i * 4 + 4]);
        chunk[4..].copy_from_slice(&extra_hash[i * 4..i * 4 + 4]);
    }
    digest
}

fn blake3_bytes(text: &str) -> [u8; 32] {
    *blake3::hash(text.as_bytes()).as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_names_are_refused() {
        assert_eq!(meta_code(" \u{0}\n ", "x", None, 64), Err(IsccError::EmptyName));
    }

    #[test]
    fn empty_meta_counts_as_none() {
        let plain = meta_code("Hello", "World", None, 64).expect("meta code");
        let empty = json!({});
        assert_eq!(meta_code("Hello", "World", Some(Meta::Json(&empty)), 64).as_ref(), Ok(&plain));
        assert_eq!(meta_code("Hello", "World", Some(Meta::DataUrl("")), 64).as_ref(), Ok(&plain));
    }

    #[test]
    fn non_object_json_and_plain_data_urls_are_refused() {
        let array = json!([1, 2]);
        assert!(matches!(meta_code("Hello", "", Some(Meta::Json(&array)), 64), Err(IsccError::InvalidMeta(_))));
        assert!(matches!(
            meta_code("Hello", "", Some(Meta::DataUrl("data:text/plain,hello")), 64),
            Err(IsccError::InvalidMeta(_))
        ));
    }

    #[test]
    fn oversized_meta_is_refused() {
        let big = json!({ "x": "a".repeat(TRIM_META) });
        assert!(matches!(meta_code("Hello", "", Some(Meta::Json(&big)), 64), Err(IsccError::MetaTooLarge { .. })));
    }
}
