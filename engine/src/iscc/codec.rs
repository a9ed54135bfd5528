//! The ISCC wire format: the variable-length header, unpadded base32, and the ISCC-CODE that combines
//! units under one header (ISO 24138 §5–6; iscc-core's `codec.py` and `iscc_code.py`).
//!
//! A unit is `header ‖ digest[..bits/8]`, base32-encoded without padding and prefixed `ISCC:`. The header
//! is four "varnibbles" (MainType, SubType, Version, Length), each 4 to 16 bits, padded with a zero
//! nibble to a whole byte.

use super::error::IsccError;

/// The ISCC MainTypes this module produces or reads (the numeric values are fixed by the standard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum MainType {
    /// Metadata similarity.
    Meta = 0,
    /// Semantic content similarity.
    Semantic = 1,
    /// Perceptual content similarity (Text-Code, Image-Code, ...).
    Content = 2,
    /// Raw data similarity.
    Data = 3,
    /// Data identity (checksum).
    Instance = 4,
    /// A composite ISCC-CODE.
    Iscc = 5,
}

impl MainType {
    fn from_value(value: u32) -> Option<MainType> {
        Some(match value {
            0 => MainType::Meta,
            1 => MainType::Semantic,
            2 => MainType::Content,
            3 => MainType::Data,
            4 => MainType::Instance,
            5 => MainType::Iscc,
            _ => return None,
        })
    }
}

/// SubTypes of Content-Codes (`ST_CC`); the ISCC-CODE reuses them for its own SubType.
pub(crate) const SUBTYPE_TEXT: u32 = 0;
/// Content-Code subtype of the Image-Code.
pub(crate) const SUBTYPE_IMAGE: u32 = 1;
/// ISCC-CODE subtype when only Data and Instance are combined (`ST_ISCC.SUM`).
const SUBTYPE_SUM: u32 = 5;
/// ISCC-CODE subtype when Meta, Data and Instance are combined without content (`ST_ISCC.NONE`).
const SUBTYPE_NONE: u32 = 6;
/// ISCC-CODE subtype of the 128-bit Data + Instance composite (`ST_ISCC.WIDE`).
const SUBTYPE_WIDE: u32 = 7;

/// The optional units an ISCC-CODE may hold before Data and Instance; the index is the header's length
/// field (iscc-core's `UNITS`).
const UNIT_COMBINATIONS: [&[MainType]; 8] = [
    &[],
    &[MainType::Content],
    &[MainType::Semantic],
    &[MainType::Semantic, MainType::Content],
    &[MainType::Meta],
    &[MainType::Meta, MainType::Content],
    &[MainType::Meta, MainType::Semantic],
    &[MainType::Meta, MainType::Semantic, MainType::Content],
];

/// Checks a unit length and returns it in bytes. The standard allows any multiple of 32 bits; the
/// digests here are 256 bits, so longer requests could not be filled.
pub(crate) fn digest_bytes(bits: u32) -> Result<usize, IsccError> {
    if bits.is_multiple_of(32) && (32..=256).contains(&bits) {
        Ok(bits as usize / 8)
    } else {
        Err(IsccError::InvalidBits(bits))
    }
}

/// Encodes one ISCC-UNIT as `ISCC:<base32>`, truncating `digest` to `bits`.
pub(crate) fn encode_unit(main_type: MainType, subtype: u32, bits: u32, digest: &[u8]) -> Result<String, IsccError> {
    let nbytes = digest_bytes(bits)?;
    debug_assert!(digest.len() >= nbytes, "digest shorter than the requested length");
    // The length field counts 32-bit words beyond the first (32 -> 0, 64 -> 1, ...).
    let mut bytes = encode_header(main_type as u32, subtype, 0, bits / 32 - 1);
    bytes.extend_from_slice(&digest[..nbytes.min(digest.len())]);
    Ok(format!("ISCC:{}", base32_encode(&bytes)))
}

/// Writes the four header fields as varnibbles, zero-padded to a whole byte.
fn encode_header(main_type: u32, subtype: u32, version: u32, length: u32) -> Vec<u8> {
    let mut nibbles: Vec<u8> = Vec::with_capacity(16);
    for value in [main_type, subtype, version, length] {
        push_varnibble(&mut nibbles, value);
    }
    if nibbles.len() % 2 == 1 {
        nibbles.push(0);
    }
    nibbles.chunks_exact(2).map(|pair| (pair[0] << 4) | pair[1]).collect()
}

/// Variable-length nibble coding: a unary prefix (`0`, `10`, `110`, `1110`) selects 3, 6, 9 or 12 data
/// bits, offset so that each range continues the previous one (0–7, 8–71, 72–583, 584–4679). Every
/// value written here is below 8, but the ranges are kept for completeness of the format.
fn push_varnibble(nibbles: &mut Vec<u8>, value: u32) {
    let (prefix, prefix_bits, data_bits, offset) = match value {
        0..=7 => (0b0, 1, 3, 0),
        8..=71 => (0b10, 2, 6, 8),
        72..=583 => (0b110, 3, 9, 72),
        _ => (0b1110, 4, 12, 584),
    };
    let total = prefix_bits + data_bits;
    let word = (prefix << data_bits) | (value.saturating_sub(offset) & ((1 << data_bits) - 1));
    for shift in (0..total / 4).rev() {
        nibbles.push(((word >> (shift * 4)) & 0xF) as u8);
    }
}

/// A decoded header and the bytes that follow it.
struct Decoded {
    main_type: MainType,
    subtype: u32,
    length: u32,
    body: Vec<u8>,
}

/// Reads the four varnibbles of a header; the body is what follows, after the padding nibble if the
/// header has an odd number of nibbles.
fn decode_header(code: &str, bytes: &[u8]) -> Result<Decoded, IsccError> {
    let malformed = |reason| IsccError::Malformed { code: code.to_string(), reason };
    let nibble_count = bytes.len() * 2;
    let nibble = |i: usize| if i.is_multiple_of(2) { bytes[i / 2] >> 4 } else { bytes[i / 2] & 0xF };
    let mut at = 0usize;
    let mut fields = [0u32; 4];
    for field in &mut fields {
        if at >= nibble_count {
            return Err(malformed("truncated header"));
        }
        let first = nibble(at);
        let (count, data_mask, offset) = match first {
            0..=7 => (1, 0x7, 0),
            8..=11 => (2, 0x3F, 8),
            12..=13 => (3, 0x1FF, 72),
            14 => (4, 0xFFF, 584),
            _ => return Err(malformed("invalid varnibble prefix")),
        };
        if at + count > nibble_count {
            return Err(malformed("truncated header"));
        }
        let word = (at..at + count).fold(0u32, |acc, i| (acc << 4) | u32::from(nibble(i)));
        *field = (word & data_mask) + offset;
        at += count;
    }
    // An odd header ends mid-byte; the standard pads it with a zero nibble.
    if at % 2 == 1 {
        if at < nibble_count && nibble(at) != 0 {
            return Err(malformed("non-zero header padding"));
        }
        at += 1;
    }
    let main_type = MainType::from_value(fields[0]).ok_or_else(|| malformed("unknown MainType"))?;
    if fields[2] != 0 {
        return Err(malformed("unsupported version"));
    }
    Ok(Decoded { main_type, subtype: fields[1], length: fields[3], body: bytes[(at / 2).min(bytes.len())..].to_vec() })
}

/// Removes the `ISCC:` scheme, surrounding white space and dashes, as iscc-core's `iscc_clean` does.
fn clean(code: &str) -> Result<&str, IsccError> {
    let code = code.trim();
    match code.split_once(':') {
        None => Ok(code),
        Some((scheme, rest)) if scheme.trim().eq_ignore_ascii_case("iscc") && !rest.contains(':') => Ok(rest.trim()),
        Some(_) => Err(IsccError::Malformed { code: code.to_string(), reason: "scheme is not ISCC" }),
    }
}

/// Combines ISCC-UNITs into an ISCC-CODE (iscc-core's `gen_iscc_code_v0`).
///
/// `units` may come in any order and with or without the `ISCC:` prefix. Data and Instance are required;
/// Meta, Semantic and Content are optional. Each unit contributes its first 64 bits, or with `wide` and
/// exactly a Data and an Instance unit of at least 128 bits each, its first 128 bits.
pub fn iscc_code<S: AsRef<str>>(units: &[S], wide: bool) -> Result<String, IsccError> {
    if units.len() < 2 {
        return Err(IsccError::Composite("at least two units (Data and Instance) are required"));
    }
    let mut decoded = Vec::with_capacity(units.len());
    for unit in units {
        let raw = unit.as_ref();
        let cleaned: String = clean(raw)?.chars().filter(|&c| c != '-').collect();
        // 16 base32 characters are a 16-bit header and a 64-bit body: nothing shorter can contribute.
        if cleaned.len() < 16 {
            return Err(IsccError::Composite("units must be at least 64 bits long"));
        }
        let bytes = base32_decode(&cleaned)
            .ok_or_else(|| IsccError::Malformed { code: raw.to_string(), reason: "invalid base32" })?;
        let unit = decode_header(raw, &bytes)?;
        if unit.main_type == MainType::Iscc {
            return Err(IsccError::Composite("an ISCC-CODE cannot contain another ISCC-CODE"));
        }
        if unit.body.len() < 8 {
            return Err(IsccError::Malformed { code: raw.to_string(), reason: "body shorter than 64 bits" });
        }
        decoded.push(unit);
    }
    // A stable sort, like Python's `sorted`, puts the units in the order the standard lays them out.
    decoded.sort_by_key(|unit| unit.main_type);
    let types: Vec<MainType> = decoded.iter().map(|unit| unit.main_type).collect();
    let (optional, required) = types.split_at(types.len() - 2);
    if required != [MainType::Data, MainType::Instance] {
        return Err(IsccError::Composite("Data-Code and Instance-Code are required"));
    }
    let is_wide = wide && optional.is_empty() && decoded.iter().all(|unit| (unit.length + 1) * 32 >= 128);
    let subtype = if is_wide {
        SUBTYPE_WIDE
    } else {
        let mut content = decoded
            .iter()
            .filter(|unit| matches!(unit.main_type, MainType::Semantic | MainType::Content))
            .map(|unit| unit.subtype);
        match content.next() {
            Some(first) if content.all(|subtype| subtype == first) => first,
            Some(_) => return Err(IsccError::Composite("Semantic-Code and Content-Code must share a SubType")),
            None if units.len() == 2 => SUBTYPE_SUM,
            None => SUBTYPE_NONE,
        }
    };
    let combination = UNIT_COMBINATIONS
        .iter()
        .position(|combination| *combination == optional)
        .ok_or(IsccError::Composite("invalid combination of units"))?;
    let take = if is_wide { 16 } else { 8 };
    let mut bytes = encode_header(MainType::Iscc as u32, subtype, 0, combination as u32);
    for unit in &decoded {
        // Wide units were checked for 128 bits by their header; a body shorter than that is refused here.
        let body = unit.body.get(..take).ok_or(IsccError::Composite("unit body shorter than its header says"))?;
        bytes.extend_from_slice(body);
    }
    Ok(format!("ISCC:{}", base32_encode(&bytes)))
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, upper case, without padding (the canonical ISCC text form).
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32_ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes unpadded (or padded) base32, case-insensitively as iscc-core does; `None` on a foreign
/// character.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let value = match c.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_matches_rfc4648() {
        // RFC 4648 §10 test vectors, padding removed.
        let vectors =
            [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB")];
        for (plain, encoded) in vectors {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base32_decode("mzxw6"), Some(b"foo".to_vec()));
        assert_eq!(base32_decode("MZ1W6"), None);
    }

    #[test]
    fn varnibbles_cover_every_range() {
        for value in [0, 7, 8, 71, 72, 583, 584, 4679] {
            let bytes = encode_header(value, 0, 0, 0);
            let decoded = decode_header("", &[bytes.clone(), vec![0; 8]].concat());
            // MainType must be known for decoding, so only check the small values through the decoder.
            if value <= 5 {
                assert_eq!(decoded.map(|d| d.main_type as u32), Ok(value));
            }
            let mut nibbles = Vec::new();
            push_varnibble(&mut nibbles, value);
            let expected = match value {
                0..=7 => 1,
                8..=71 => 2,
                72..=583 => 3,
                _ => 4,
            };
            assert_eq!(nibbles.len(), expected, "{value}");
        }
    }

    #[test]
    fn header_decodes_what_it_encodes() {
        let bytes = [encode_header(3, 0, 0, 7), vec![1, 2, 3, 4, 5, 6, 7, 8]].concat();
        let decoded = decode_header("", &bytes).expect("valid header");
        assert_eq!((decoded.main_type, decoded.subtype, decoded.length), (MainType::Data, 0, 7));
        assert_eq!(decoded.body, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn invalid_bit_lengths_are_refused() {
        for bits in [0, 31, 63, 288, 512] {
            assert_eq!(digest_bytes(bits), Err(IsccError::InvalidBits(bits)));
        }
        assert_eq!(digest_bytes(96), Ok(12));
    }

    #[test]
    fn composite_needs_data_and_instance() {
        let data = "GAAXL2XYM5BQIAZ3";
        let meta = "AAAYPXW445FTYNJ3";
        assert!(matches!(iscc_code(&[data], false), Err(IsccError::Composite(_))));
        assert!(matches!(iscc_code(&[meta, data], false), Err(IsccError::Composite(_))));
        assert!(matches!(iscc_code(&["ISCC:GAAXL2", data], false), Err(IsccError::Composite(_))));
        assert!(matches!(iscc_code(&["FOO:GAAXL2XYM5BQIAZ3", data], false), Err(IsccError::Malformed { .. })));
    }

    #[test]
    fn wide_composite_keeps_128_bits() {
        let data = "ISCC:GABXOD4P2IS6YHS2XOK6IBVPVXPPG";
        let instance = "ISCC:IABS2OW637YRWYPRJSEG4NNPUA3HG";
        let wide = iscc_code(&[data, instance], true).expect("wide composite");
        assert!(wide.starts_with("ISCC:K4"), "{wide}");
        let bytes = base32_decode(wide.trim_start_matches("ISCC:")).expect("base32");
        assert_eq!(bytes.len(), 2 + 32);
        let narrow = iscc_code(&[data, instance], false).expect("composite");
        assert!(narrow.starts_with("ISCC:KU"), "{narrow}");
    }
}
