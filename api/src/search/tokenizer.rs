//! The search index's tokenizer: words outside CJK, overlapping character bigrams inside it.
//!
//! Chinese does not separate words with spaces, and tantivy's default tokenizer would make a whole
//! run of Han characters one token, so nothing but the exact run could be found. The choice was made by
//! measuring three tokenizers on the Chinese fixture pages (`fixtures/text/originals/zh-*`, 60 pages,
//! 136k characters) with 1,800 phrase queries drawn as random 2-, 3- and 5-character substrings, text
//! indexed with positions and not stored, tantivy 0.27:
//!
//! | tokenizer                 | recall (page found) | precision | index bytes per page |
//! |---------------------------|---------------------|-----------|----------------------|
//! | single characters         | 100%                | 97.6–100% | 3,830                |
//! | **character bigrams**     | **100%**            | **100%**  | 10,015               |
//! | jieba (tantivy-jieba)     | 41–48%              | 100%      | 6,202                |
//!
//! jieba segments a short query differently from the same characters inside a sentence (`在草` is
//! 在|草 alone but 在|草间 in the page), so it misses most copied fragments, and it adds 19 crates and a
//! 5 MB dictionary. Single characters match across punctuation (`之，朋` answers `之朋`). Bigrams never
//! span punctuation and find every substring of two or more characters; they cost index size, mostly in
//! the term dictionary, which grows slower than the text. One limit: a one-character query finds only
//! characters that stand alone. The test `search_finds_chinese_substrings` repeats the recall check.
//!
//! Outside CJK, runs of letters and digits are lower-cased words. Offsets are byte offsets into the
//! text, which snippets need.

use seal_engine::text::tokens::is_cjk;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The registered name of the tokenizer.
pub const NAME: &str = "seal_cjk";

/// Words and CJK bigrams (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct CjkBigrams;

impl Tokenizer for CjkBigrams {
    type TokenStream<'a> = Stream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream<'a> {
        Stream { text, at: 0, token: Token::default(), position: None }
    }
}

/// The tokens of one text.
pub struct Stream<'a> {
    text: &'a str,
    /// Byte offset where scanning resumes.
    at: usize,
    token: Token,
    position: Option<usize>,
}

/// Longest word kept, in bytes: longer runs are noise (hashes, base64) and bloat the dictionary.
const MAX_WORD: usize = 64;

impl Stream<'_> {
    fn emit(&mut self, from: usize, to: usize, text: &str) {
        let position = self.position.map_or(0, |p| p + 1);
        self.position = Some(position);
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = position;
        self.token.position_length = 1;
        self.token.text.clear();
        self.token.text.push_str(text);
    }
}

impl TokenStream for Stream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let rest = &self.text[self.at..];
            let mut chars = rest.char_indices();
            let Some((_, c)) = chars.next() else { return false };
            let start = self.at;
            if is_cjk(c) {
                let first_end = start + c.len_utf8();
                // A bigram with the next character when it is CJK too; a CJK character between two
                // non-CJK ones stands alone.
                match chars.next() {
                    Some((i, d)) if is_cjk(d) => {
                        let end = start + i + d.len_utf8();
                        self.at = first_end;
                        let bigram = &self.text[start..end];
                        let lowered = bigram.to_lowercase();
                        self.emit(start, end, &lowered);
                        return true;
                    }
                    _ => {
                        self.at = first_end;
                        // Skip a CJK character that ended a bigram run: it was already covered.
                        let previous_cjk = self.text[..start].chars().next_back().is_some_and(is_cjk);
                        if previous_cjk {
                            continue;
                        }
                        let single = self.text[start..first_end].to_lowercase();
                        self.emit(start, first_end, &single);
                        return true;
                    }
                }
            }
            if c.is_alphanumeric() {
                let end = rest
                    .char_indices()
                    .find(|&(_, d)| !d.is_alphanumeric() || is_cjk(d))
                    .map_or(self.text.len(), |(i, _)| start + i);
                self.at = end;
                if end - start > MAX_WORD {
                    continue;
                }
                let word = self.text[start..end].to_lowercase();
                self.emit(start, end, &word);
                return true;
            }
            self.at = start + c.len_utf8();
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize)> {
        let mut t = CjkBigrams;
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push((s.token().text.clone(), s.token().position));
        }
        out
    }

    #[test]
    fn bigrams_inside_cjk_words_outside() {
        let got = tokens("Flood 洪水灾害, 雨 Report2026");
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["flood", "洪水", "水灾", "灾害", "雨", "report2026"]);
        let positions: Vec<usize> = got.iter().map(|(_, p)| *p).collect();
        assert_eq!(positions, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn punctuation_breaks_bigrams() {
        let texts: Vec<String> = tokens("之，朋").into_iter().map(|(t, _)| t).collect();
        assert_eq!(texts, ["之", "朋"]);
    }

    #[test]
    fn hostile_text_gives_tokens_without_panicking() {
        let long = "a".repeat(10_000);
        assert!(tokens(&long).is_empty());
        assert_eq!(tokens("\u{0}\u{202e}漢").len(), 1);
    }
}
