//! ISCC codes (International Standard Content Code, ISO 24138) as the reference implementation
//! iscc-core 1.5.0 defines them, checked against its conformance vectors (`fixtures/iscc/data.json`).
//!
//! An ISCC is a sequence of units, each a header and a digest: the Meta-Code (similar metadata), a
//! Content-Code (similar text or image), the Data-Code (similar bytes) and the Instance-Code (identical
//! bytes); the ISCC-CODE combines their first 64 bits under one header. All codes are returned in their
//! canonical text form, `ISCC:` and unpadded upper-case base32.
//!
//! | iscc-core                | here                                                    |
//! |--------------------------|---------------------------------------------------------|
//! | `gen_meta_code_v0`       | [`meta_code`]                                           |
//! | `gen_text_code_v0`       | [`text_code`]                                           |
//! | `gen_image_code_v0`      | [`image_code_from_pixels`] (normalised 32×32 pixels)     |
//! | `gen_data_code_v0`       | [`data_code`]                                           |
//! | `gen_instance_code_v0`   | [`instance_code`]                                       |
//! | `gen_iscc_code_v0`       | [`iscc_code`]                                           |
//! | `text_clean`, `text_collapse`, `text_trim`, `text_remove_newlines` | same names   |
//!
//! [`codes_for`] computes every code of a registered work in one call. Image input goes through
//! [`image_normalize`], which follows Pillow's steps but not the decoders, so Image-Codes of the same
//! file may differ from the reference SDK's in a few bits (see [`image_normalize`]);
//! everything else is exact. Pure: no IO, bytes in, strings out.

mod codec;
mod data;
mod error;
mod hash;
mod image;
mod instance;
mod jcs;
mod meta;
mod text;

#[cfg(test)]
mod conformance;

pub use codec::iscc_code;
pub use data::{cdc_chunks, data_code};
pub use error::IsccError;
pub use image::{image_code_for, image_code_from_pixels, image_normalize, Pixels};
pub use instance::{instance_code, InstanceCode};
pub use jcs::{data_url, data_url_payload, jcs_canonicalize};
pub use meta::{meta_code, Meta, MetaCode};
pub use text::{text_clean, text_code, text_collapse, text_remove_newlines, text_trim, TextCode};

use crate::image::Luma;

/// Bits per unit in [`codes_for`]: the ISCC-CODE keeps 64 bits of each unit, so longer units would add
/// nothing to it.
const UNIT_BITS: u32 = 64;

/// What a work's Content-Code is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ContentInput<'a> {
    /// Plain text, already extracted from the file (markup removed).
    Text(&'a str),
    /// A decoded image: its pixels and size.
    Image {
        /// The pixel buffer.
        pixels: Pixels<'a>,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
}

impl<'a> From<&'a Luma> for ContentInput<'a> {
    /// The luma plane the engine's image decoder produces.
    fn from(luma: &'a Luma) -> Self {
        ContentInput::Image { pixels: Pixels::Luma(&luma.pixels), width: luma.width, height: luma.height }
    }
}

/// Every ISCC of one work, 64-bit units and the ISCC-CODE that combines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codes {
    /// Meta-Code of title and description.
    pub meta: String,
    /// Text-Code or Image-Code, when content was given.
    pub content: Option<String>,
    /// Data-Code of the file's bytes.
    pub data: String,
    /// Instance-Code of the file's bytes.
    pub instance: String,
    /// The ISCC-CODE of the units above.
    pub iscc: String,
    /// Multihash (`1e20` + BLAKE3, hex) of the file's bytes: the full checksum the Instance-Code cuts.
    pub datahash: String,
}

/// Computes all codes of a work: the Meta-Code from `title` and `description`, a Content-Code from
/// `content` if given, the Data- and Instance-Codes from the file's `bytes`, and the ISCC-CODE.
pub fn codes_for(
    title: &str,
    description: &str,
    content: Option<ContentInput<'_>>,
    bytes: &[u8],
) -> Result<Codes, IsccError> {
    let meta = meta_code(title, description, None, UNIT_BITS)?.iscc;
    let content = match content {
        None => None,
        Some(ContentInput::Text(text)) => Some(text_code(text, UNIT_BITS)?.iscc),
        Some(ContentInput::Image { pixels, width, height }) => {
            Some(image_code_from_pixels(&image_normalize(pixels, width, height)?, UNIT_BITS)?)
        }
    };
    let data = data_code(bytes, UNIT_BITS)?;
    let instance = instance_code(bytes, UNIT_BITS)?;
    let mut units = vec![meta.as_str(), data.as_str(), instance.iscc.as_str()];
    if let Some(content) = &content {
        units.push(content);
    }
    let iscc = iscc_code(&units, false)?;
    Ok(Codes { meta, content, data, instance: instance.iscc, iscc, datahash: instance.datahash })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_for_text_combines_all_four_units() {
        let codes = codes_for(
            "Die Unendliche Geschichte",
            "Von Michael Ende",
            Some(ContentInput::Text("Hello World")),
            b"\xff\x00",
        )
        .expect("codes");
        assert_eq!(codes.meta, "ISCC:AAAZXZ6OU4E45RB5");
        assert_eq!(codes.content.as_deref(), Some("ISCC:EAASKDNZNYGUUF5A"));
        assert_eq!(codes.data, "ISCC:GAAXL2XYM5BQIAZ3");
        assert_eq!(
            iscc_code(&[&codes.meta, codes.content.as_deref().unwrap_or(""), &codes.data, &codes.instance], false),
            Ok(codes.iscc.clone())
        );
        // Meta + Content(Text) + Data + Instance: MainType ISCC, SubType TEXT, length 5 (Meta, Content).
        assert!(codes.iscc.starts_with("ISCC:KAC"), "{}", codes.iscc);
        assert_eq!(codes.datahash.len(), 68);
    }

    #[test]
    fn codes_for_without_content_and_for_images() {
        let codes = codes_for("Title", "", None, b"bytes").expect("codes");
        assert_eq!(codes.content, None);
        assert!(codes.iscc.starts_with("ISCC:KY"), "{}", codes.iscc);
        let luma = Luma { width: 64, height: 48, pixels: (0..64 * 48).map(|i| ((i * 31) % 256) as f32).collect() };
        let codes = codes_for("Title", "", Some(ContentInput::from(&luma)), b"bytes").expect("codes");
        assert!(codes.content.as_deref().is_some_and(|c| c.starts_with("ISCC:EE")));
        assert!(codes.iscc.starts_with("ISCC:KE"), "{}", codes.iscc);
    }

    #[test]
    fn codes_for_refuses_an_empty_title() {
        assert_eq!(codes_for("  ", "", None, b""), Err(IsccError::EmptyName));
    }
}
