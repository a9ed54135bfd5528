//! Text normalisation for the Meta-Code and the Text-Code, and the Text-Code itself (iscc-core's
//! `code_meta.py` text helpers and `code_content_text.py`).
//!
//! The normalisation rules are part of the standard: two implementations only produce the same code if
//! they clean, collapse and cut text the same way. Python's notions are kept where they differ from
//! Rust's: `str.isspace` (which also counts U+001C–U+001F), `str.splitlines` line boundaries, and
//! `str.lower` (full case mapping with final sigma, which `str::to_lowercase` also does). Character
//! categories come from Unicode 16 tables and the normalisation forms from `unicode-normalization`; a
//! CPython built on an older Unicode version may differ on characters assigned since.

use super::codec::{encode_unit, MainType, SUBTYPE_TEXT};
use super::error::IsccError;
use super::hash::minhash_256;
use unicode_general_category::get_general_category;
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh32::xxh32;

/// Width of the character n-grams of the Text-Code (iscc-core `text_ngram_size`).
const TEXT_NGRAM_SIZE: usize = 13;

/// Characters iscc-core treats as line breaks and keeps through [`text_clean`] (`text_newlines`).
const NEWLINES: [char; 7] = ['\n', '\u{0B}', '\u{0C}', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// The major Unicode general category of `c`: `b'C'` (other), `b'M'` (mark), `b'P'` (punctuation), ...
fn major_category(c: char) -> u8 {
    get_general_category(c).abbreviation().as_bytes()[0]
}

/// Python's `str.isspace`: White_Space plus the four information separators U+001C–U+001F, which
/// CPython counts as white space through their bidirectional class.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c)
}

/// Python's `str.strip()` with no argument.
fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// Python's `str.splitlines()` for text whose only line breaks are [`NEWLINES`] (the others are
/// control characters that [`text_clean`] has removed by then): `\r\n` is one break, and a break at
/// the very end does not start another line.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if NEWLINES.contains(&c) {
            lines.push(&text[start..i]);
            start = i + c.len_utf8();
            if c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
                chars.next();
                start += 1;
            }
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Cleans text for display (iscc-core `text_clean`): NFKC, control characters removed except line
/// breaks, runs of blank lines reduced to one empty line, leading and trailing white space stripped.
pub fn text_clean(text: &str) -> String {
    let normalized: String = text.nfkc().filter(|&c| major_category(c) != b'C' || NEWLINES.contains(&c)).collect();
    let mut out: Vec<&str> = Vec::new();
    let mut blank_run = false;
    for line in split_lines(&normalized) {
        if py_strip(line).is_empty() {
            // Keep one empty line for a run of blank lines, so paragraphs stay apart.
            if !blank_run {
                out.push("");
                blank_run = true;
            }
        } else {
            out.push(line);
            blank_run = false;
        }
    }
    py_strip(&out.join("\n")).to_string()
}

/// Joins all white-space separated words with single spaces (iscc-core `text_remove_newlines`); the
/// Meta-Code's name is a one-line title.
pub fn text_remove_newlines(text: &str) -> String {
    text.split(is_py_space).filter(|word| !word.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Cuts text so that its UTF-8 encoding fits `nbytes`, dropping a character split by the cut, then
/// strips white space (iscc-core `text_trim`).
pub fn text_trim(text: &str, nbytes: usize) -> &str {
    let mut end = nbytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    py_strip(&text[..end])
}

/// Simplifies text for similarity hashing (iscc-core `text_collapse`): NFD, lower case, white space,
/// control characters, marks (so diacritics) and punctuation removed, then NFKC.
pub fn text_collapse(text: &str) -> String {
    let lowered = text.nfd().collect::<String>().to_lowercase();
    lowered.chars().filter(|&c| !is_py_space(c) && !matches!(major_category(c), b'C' | b'M' | b'P')).nfkc().collect()
}

/// The `width`-character windows of `text`, advancing one character at a time; text shorter than
/// `width` (including empty text) gives a single window with all of it (iscc-core `sliding_window`).
pub(crate) fn char_windows(text: &str, width: usize) -> impl Iterator<Item = &str> {
    debug_assert!(width >= 2, "iscc-core refuses windows narrower than 2");
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len())).collect();
    let count = starts.len() - 1;
    let windows = count.saturating_sub(width) + 1;
    (0..windows).map(move |i| &text[starts[i]..starts[(i + width).min(count)]])
}

/// The `width`-byte windows of `bytes`, with the same short-input rule as [`char_windows`].
pub(crate) fn byte_windows(bytes: &[u8], width: usize) -> impl Iterator<Item = &[u8]> {
    let windows = bytes.len().saturating_sub(width) + 1;
    (0..windows).map(move |i| &bytes[i..(i + width).min(bytes.len())])
}

/// A Text-Code and the character count iscc-core reports with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextCode {
    /// The canonical `ISCC:...` Text-Code.
    pub iscc: String,
    /// Number of characters (Unicode scalar values) of the collapsed text.
    pub characters: usize,
}

/// The Content-Code Text of plain text (iscc-core `gen_text_code_v0`): a 256-bit MinHash over xxh32
/// hashes of 13-character n-grams of the collapsed text, cut to `bits`. Markup must be removed first.
pub fn text_code(text: &str, bits: u32) -> Result<TextCode, IsccError> {
    let collapsed = text_collapse(text);
    let features: Vec<u32> = char_windows(&collapsed, TEXT_NGRAM_SIZE).map(|gram| xxh32(gram.as_bytes(), 0)).collect();
    let iscc = encode_unit(MainType::Content, SUBTYPE_TEXT, bits, &minhash_256(&features))?;
    Ok(TextCode { iscc, characters: collapsed.chars().count() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_one_blank_line_and_drops_controls() {
        // The tab and NUL are control characters; the four blank lines become one.
        assert_eq!(text_clean("  a\tb \r\n\n \n\u{2029}c\u{0}d\n"), "ab \n\ncd");
        assert_eq!(text_clean("\u{FB01}x"), "fix");
        assert_eq!(text_clean(""), "");
    }

    #[test]
    fn splitlines_follows_python() {
        assert_eq!(split_lines("a\r\nb\rc\n"), vec!["a", "b", "c"]);
        assert_eq!(split_lines("\n\n"), vec!["", ""]);
        assert_eq!(split_lines(""), Vec::<&str>::new());
    }

    #[test]
    fn trim_never_splits_a_character() {
        assert_eq!(text_trim("ñaña", 1), "");
        assert_eq!(text_trim("ñaña", 3), "ña");
        assert_eq!(text_trim(" a ", 100), "a");
    }

    #[test]
    fn collapse_removes_case_marks_space_and_punctuation() {
        assert_eq!(text_collapse("Die unéndlíche,  Geschichte"), "dieunendlichegeschichte");
        assert_eq!(text_collapse("ΣΑΣ"), "σας");
    }

    #[test]
    fn windows_follow_sliding_window() {
        assert_eq!(char_windows("", 3).collect::<Vec<_>>(), vec![""]);
        assert_eq!(char_windows("ab", 3).collect::<Vec<_>>(), vec!["ab"]);
        assert_eq!(char_windows("äbcd", 3).collect::<Vec<_>>(), vec!["äbc", "bcd"]);
        assert_eq!(byte_windows(b"abcde", 4).collect::<Vec<_>>(), vec![&b"abcd"[..], b"bcde"]);
        assert_eq!(byte_windows(b"", 4).count(), 1);
    }
}
