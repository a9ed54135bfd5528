//! The byte forms of the Meta-Code's `meta` element: JSON canonicalised by JCS (RFC 8785), and base64
//! data URLs (RFC 2397), as iscc-core reads them with the `jcs` and `data-url` packages.
//!
//! JCS makes equal JSON hash equally: object members sorted by the UTF-16 code units of their names, no
//! white space, minimal string escapes, and every number printed as ECMAScript prints an IEEE-754
//! double (so `1.0` is `1` and `1e20` is `100000000000000000000`).

use super::error::IsccError;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::Value;
use std::fmt::Write as _;

/// Serialises `value` in JCS form (RFC 8785).
pub fn jcs_canonicalize(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // Integers go through f64 too: JCS (and the Python `jcs` package) treat all numbers as doubles.
        Value::Number(n) => match n.as_f64() {
            Some(f) => out.push_str(&es6_number(f)),
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A JSON string with only the escapes RFC 8785 requires: quote, backslash, and control characters
/// (short forms where JSON has them, lower-case `\u00xx` otherwise).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript's `Number.prototype.toString` for a finite double (ECMA-262 §6.1.6.1.20), which RFC 8785
/// prescribes for numbers. Rust's `{:e}` gives the same shortest round-trip digits; only the layout
/// differs.
pub(crate) fn es6_number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        // -0 prints as 0; JSON cannot carry NaN or infinities, so they never reach here from a `Value`.
        return "0".to_string();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    // `{:e}` finds how many digits the shortest round-trip form needs, but when two such forms are
    // equally close it does not pick the even one as ECMAScript requires (1963828270450416.25 is
    // printed ...416.3, not ...416.2). Formatting again to exactly that many digits rounds correctly,
    // ties to even, and still round-trips, since it is the closest of them.
    let shortest = format!("{:e}", value.abs());
    let significant = shortest.split_once('e').map_or(1, |(m, _)| m.chars().filter(char::is_ascii_digit).count());
    let scientific = format!("{:.*e}", significant - 1, value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    let k = digits.len() as i32;
    // `n` is the position of the decimal point relative to the digits: value = 0.digits × 10^n.
    let n = exponent.parse::<i32>().unwrap_or(0) + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_sign = if e >= 0 { "+" } else { "-" };
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        format!("{first}{fraction}e{e_sign}{}", e.abs())
    };
    format!("{sign}{body}")
}

/// `\w` of Python's regular expressions on text: letters, digits and underscore.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The payload of a base64 data URL, with the syntax the `data-url` package accepts:
/// `data:[type/subtype][;name=value]*;base64,<data>`.
///
/// A data URL without `;base64` is refused: iscc-core 1.5.0 hands its payload on as text and then fails
/// to hash it, so no valid Meta-Code exists for one.
pub fn data_url_payload(url: &str) -> Result<Vec<u8>, IsccError> {
    let invalid = |why: &str| IsccError::InvalidMeta(format!("{why}: {}", url.chars().take(64).collect::<String>()));
    let rest = url.strip_prefix("data:").ok_or_else(|| invalid("not a data URL"))?;
    let (header, data) = rest.split_once(',').ok_or_else(|| invalid("data URL without a comma"))?;
    let data_ok = !data.is_empty() && data.chars().all(|c| is_word(c) || ".~%=/+-".contains(c));
    if !data_ok {
        return Err(invalid("data URL with characters outside its alphabet"));
    }
    let mut parts = header.split(';');
    let media_type = parts.next().unwrap_or_default();
    if !media_type.is_empty() && !is_media_type(media_type) {
        return Err(invalid("data URL with an invalid media type"));
    }
    let mut parts: Vec<&str> = parts.collect();
    if parts.last() != Some(&"base64") {
        return Err(invalid("data URL is not base64-encoded"));
    }
    parts.pop();
    for parameter in parts {
        let valid = parameter.split_once('=').is_some_and(|(name, value)| {
            !name.is_empty()
                && !value.is_empty()
                && name.chars().all(|c| is_word(c) || "-.+".contains(c))
                && value.chars().all(|c| is_word(c) || "-.+%".contains(c))
        });
        if !valid {
            return Err(invalid("data URL with an invalid parameter"));
        }
    }
    // Python's lenient base64 decoder skips characters outside the alphabet (the URL alphabet allows
    // `.~%_-`) and ignores stray bits in the last character; so does this one.
    let filtered: String = data.chars().filter(|c| c.is_ascii_alphanumeric() || "+/=".contains(*c)).collect();
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    lenient.decode(filtered).map_err(|e| invalid(&format!("invalid base64 ({e})")))
}

/// `[a-z][a-z0-9-]+/[a-z][\w.+-]+`, the media types the `data-url` package recognises.
fn is_media_type(media_type: &str) -> bool {
    let Some((kind, subtype)) = media_type.split_once('/') else {
        return false;
    };
    let starts_lower = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    starts_lower(kind)
        && kind.len() >= 2
        && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && starts_lower(subtype)
        && subtype.chars().count() >= 2
        && subtype.chars().all(|c| is_word(c) || "-.+".contains(c))
}

/// A base64 data URL of `payload` with media type `media_type` (what iscc-core returns as `meta`).
pub fn data_url(media_type: &str, payload: &[u8]) -> String {
    format!("data:{media_type};base64,{}", STANDARD.encode(payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_as_ecmascript_does() {
        // Examples from RFC 8785 Appendix B and ECMA-262.
        let cases: [(f64, &str); 15] = [
            // Exactly halfway between two 17-digit forms: ECMAScript takes the even one.
            (1963828270450416.0 + 0.25, "1963828270450416.2"),
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (123.456, "123.456"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (295147905179352830000.0, "295147905179352830000"),
            (0.000001234, "0.000001234"),
        ];
        for (value, expected) in cases {
            assert_eq!(es6_number(value), expected, "{value:e}");
        }
    }

    #[test]
    fn canonical_form_sorts_by_utf16_and_escapes_minimally() {
        let value = json!({"b": [1.0, true, null], "a": "x\"\n\u{1}é", "\u{E000}": 1, "\u{1F600}": 2});
        // U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000 in UTF-16.
        assert_eq!(
            jcs_canonicalize(&value),
            "{\"a\":\"x\\\"\\n\\u0001é\",\"b\":[1,true,null],\"\u{1F600}\":2,\"\u{E000}\":1}"
        );
    }

    #[test]
    fn data_urls_decode_and_encode() {
        let url = "data:application/json;charset=utf-8;base64,eyJzb21lIjogIm9iamVjdCJ9";
        assert_eq!(data_url_payload(url).as_deref(), Ok(&b"{\"some\": \"object\"}"[..]));
        assert_eq!(
            data_url("application/json", b"{\"some\":\"object\"}"),
            "data:application/json;base64,eyJzb21lIjoib2JqZWN0In0="
        );
        for bad in
            ["data:,abc", "data:text/plain,abc", "http://x", "data:application/json;base64,", "data:Text/x;base64,YQ=="]
        {
            assert!(data_url_payload(bad).is_err(), "{bad}");
        }
    }
}
