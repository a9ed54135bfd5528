//! Normalization and tokens: the units that fingerprints are built from.
//!
//! Two texts that a reader would call the same must give the same tokens, whatever their width forms,
//! case, punctuation, spacing or script. So every character is brought to its compatibility decomposition
//! (which identifies exactly the strings NFKC identifies) and case-folded, punctuation and white space
//! become separators, and then:
//! - runs of letters and digits outside CJK become **word** tokens;
//! - each Han, Kana or Hangul character is a token of its own, because those scripts do not mark word
//!   boundaries with spaces and a segmenter would be slow, dictionary-bound and unstable across edits.
//!
//! A mixed page therefore yields one stream in which English words and Chinese characters sit side by side,
//! and the shingles over it are word n-grams in English runs and character n-grams in CJK runs.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};
use xxhash_rust::xxh3::xxh3_64;

/// One token: its hash and where it stands in the text it came from, in characters (Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// A stable 64-bit hash of the normalized token (xxh3, identical across platforms and compiler versions).
    pub hash: u64,
    /// Character offset of the token's first character in the source text.
    pub start: u32,
    /// Character offset just past the token's last character.
    pub end: u32,
    /// Whether the token is a single CJK character (it weighs less than a word as evidence).
    pub cjk: bool,
}

/// Splits text into normalized tokens. Offsets refer to `text` as given.
pub fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::with_capacity(bytes.len() / 5);
    let mut word = Word { bytes: Vec::with_capacity(64), start: 0 };
    let mut index = 0u32;
    let mut at = 0usize;
    while at < bytes.len() {
        let byte = bytes[at];
        // ASCII is most of any page, even a Chinese one (markup leftovers, numbers, Latin names).
        if byte.is_ascii() {
            if byte.is_ascii_alphanumeric() {
                word.push(index, byte.to_ascii_lowercase());
            } else {
                word.end(index, &mut tokens);
            }
            at += 1;
            index = index.saturating_add(1);
            continue;
        }
        let Some(c) = text[at..].chars().next() else { break };
        at += c.len_utf8();
        let here = index;
        index = index.saturating_add(1);
        // Fast path, and a correctness one: Hangul syllables would decompose into jamo letters.
        if is_cjk(c) && !(0xF900..=0xFAFF).contains(&(c as u32)) {
            word.end(here, &mut tokens);
            tokens.push(Token { hash: cjk_hash(c), start: here, end: here + 1, cjk: true });
            continue;
        }
        // Decompositions longer than four characters (a few ligatures of whole phrases) are cut
        // consistently, so equal inputs still give equal tokens.
        let mut pieces = [None; 4];
        let mut count = 0;
        decompose_compatible(c, |d| {
            if count < pieces.len() {
                pieces[count] = Some(d);
            }
            count += 1;
        });
        for d in pieces.iter().flatten().copied() {
            if is_cjk(d) {
                word.end(here, &mut tokens);
                tokens.push(Token { hash: cjk_hash(d), start: here, end: here + 1, cjk: true });
            } else if d.is_alphanumeric() || (is_combining_mark(d) && !word.bytes.is_empty()) {
                fold_case(d, |folded| {
                    let mut buf = [0u8; 4];
                    for b in folded.encode_utf8(&mut buf).bytes() {
                        word.push(here, b);
                    }
                });
            } else {
                word.end(here, &mut tokens);
            }
        }
    }
    word.end(index, &mut tokens);
    tokens
}

/// The word being built: its normalized UTF-8 bytes and the character offset where it started.
struct Word {
    bytes: Vec<u8>,
    start: u32,
}

impl Word {
    fn push(&mut self, at: u32, byte: u8) {
        if self.bytes.is_empty() {
            self.start = at;
        }
        self.bytes.push(byte);
    }

    fn end(&mut self, at: u32, tokens: &mut Vec<Token>) {
        if !self.bytes.is_empty() {
            tokens.push(Token { hash: xxh3_64(&self.bytes), start: self.start, end: at, cjk: false });
            self.bytes.clear();
        }
    }
}

/// Simple lowercase mapping plus the full case foldings that matter in practice (ß, final sigma).
fn fold_case(c: char, mut emit: impl FnMut(char)) {
    match c {
        'ß' | 'ẞ' => {
            emit('s');
            emit('s');
        }
        'ς' => emit('σ'),
        _ => c.to_lowercase().for_each(emit),
    }
}

/// A CJK character's hash: its code point mixed (splitmix64), distinct from any word's xxh3 in practice.
fn cjk_hash(c: char) -> u64 {
    crate::text::fingerprint::mix64(u64::from(c as u32) ^ 0x9e37_79b9_7f4a_7c15)
}

/// Han ideographs (with extensions and compatibility forms), Hiragana, Katakana and Hangul syllables.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3100..=0x312F    // Bopomofo
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x3134F  // extensions B to G
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(text: &str) -> Vec<u64> {
        tokenize(text).iter().map(|t| t.hash).collect()
    }

    #[test]
    fn width_case_punctuation_and_spacing_do_not_matter() {
        assert_eq!(hashes("Ｈｅｌｌｏ，　ＷＯＲＬＤ！ ２０２６"), hashes("hello world 2026"));
        assert_eq!(hashes("“Straße”—ok…"), hashes("strasse ok"));
        assert_eq!(hashes("caf\u{e9}"), hashes("cafe\u{301}"));
        assert_eq!(hashes("ﬁne"), hashes("fine"));
    }

    #[test]
    fn cjk_characters_are_tokens_and_mix_with_words() {
        let tokens = tokenize("版权Seal印章，ok");
        assert_eq!(tokens.len(), 6);
        assert_eq!(tokens.iter().map(|t| t.cjk).collect::<Vec<_>>(), [true, true, false, true, true, false]);
        assert_eq!((tokens[2].start, tokens[2].end), (2, 6));
        assert_eq!(hashes("版 权"), hashes("版权"));
        assert_eq!(hashes("ｶﾀｶﾅ"), hashes("カタカナ"));
        assert_eq!(hashes("한국어"), hashes("한 국 어"));
    }

    #[test]
    fn offsets_are_character_offsets() {
        let text = "中文 text, 更多";
        let tokens = tokenize(text);
        let chars: Vec<char> = text.chars().collect();
        let words: Vec<String> =
            tokens.iter().map(|t| chars[t.start as usize..t.end as usize].iter().collect()).collect();
        assert_eq!(words, ["中", "文", "text", "更", "多"]);
    }
}
