//! Visible text out of page bytes: charset detection, a tolerant streaming HTML scanner, and entities.
//!
//! The scanner is hand-written rather than built on a DOM or on lol_html. Matching needs only the visible
//! characters and the block boundaries between them, never a tree, so a single forward pass over the
//! bytes is enough: nesting depth costs nothing (there is no stack), malformed markup degrades to text,
//! and `benches/text.rs` measures it against the floor of lol_html's streaming rewriter on the fixture
//! pages (lol_html collecting raw text chunks and nothing else).
//!
//! Left out: `<script>`, `<style>`, `<noscript>`, `<template>`, `<textarea>`, comments, declarations and
//! processing instructions. `<title>` is kept apart as the page title. Block-level tags become line breaks
//! so that paragraphs survive extraction; runs of white space fold to one space.

use super::TextError;
use encoding_rs::Encoding;
use memchr::memchr;

/// Bounds on extraction that callers choose; the defaults suit news pages and long-form articles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractConfig {
    /// Inputs longer than this are rejected with [`TextError::TooLarge`] before any work is done.
    /// Default 16 MiB: far above real article pages (typically under 1 MiB), low enough to bound memory.
    pub max_input_bytes: usize,
    /// Extracted text is cut after this many characters and flagged as truncated.
    /// Default 2,000,000 characters, about 1,000 pages of a book.
    pub max_text_chars: usize,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        Self { max_input_bytes: 16 << 20, max_text_chars: 2_000_000 }
    }
}

/// What the bytes are. `Auto` treats input that starts with markup as HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// An HTML page or fragment.
    Html,
    /// Plain text; line breaks are kept as paragraph boundaries.
    PlainText,
    /// Sniff: HTML if the first non-blank character is `<`, plain text otherwise.
    Auto,
}

/// The visible text of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Visible text; paragraphs are separated by `\n`, other white space folded to single spaces.
    pub text: String,
    /// The `<title>` of an HTML page, if it had one.
    pub title: Option<String>,
    /// The character encoding the bytes were decoded with (a WHATWG label such as `GBK`).
    pub encoding: &'static str,
    /// Whether the text was cut at [`ExtractConfig::max_text_chars`].
    pub truncated: bool,
}

/// Decodes `bytes` and returns their visible text.
///
/// Empty input gives empty text. Input that looks binary (NUL bytes in the first kilobyte of a page
/// that is not UTF-16) gives [`TextError::Binary`]; input over the byte bound gives [`TextError::TooLarge`].
/// The same as [`extract_with_charset`] without a charset from the transport.
pub fn extract(bytes: &[u8], kind: ContentKind, config: &ExtractConfig) -> Result<Extracted, TextError> {
    extract_with_charset(bytes, kind, None, config)
}

/// [`extract`] for bytes that came with a charset from the transport: the `charset` parameter of an HTTP
/// `Content-Type` header (`gbk` in `text/html; charset=gbk`), given as `http_charset`.
///
/// The encoding is chosen as browsers do: a byte order mark, then the HTTP charset, then a charset
/// declared in the page, then UTF-8 if the bytes are valid UTF-8, then a statistical guess. The HTTP
/// charset is a WHATWG label (`gbk`, `GB2312`, `big5`, `utf-8`, … in any case, quotes and spaces
/// tolerated); an unknown label is ignored, and so is one that names the `replacement` encoding (such as
/// `iso-2022-kr`), which would turn the whole page into U+FFFD and hide any copy in it.
pub fn extract_with_charset(
    bytes: &[u8],
    kind: ContentKind,
    http_charset: Option<&str>,
    config: &ExtractConfig,
) -> Result<Extracted, TextError> {
    if bytes.len() > config.max_input_bytes {
        return Err(TextError::TooLarge { bytes: bytes.len(), limit: config.max_input_bytes });
    }
    let encoding = detect_encoding(bytes, http_charset.and_then(transport_encoding));
    if encoding != encoding_rs::UTF_16LE && encoding != encoding_rs::UTF_16BE && looks_binary(bytes) {
        return Err(TextError::Binary);
    }
    let (decoded, _, _) = encoding.decode(bytes);
    let is_html = match kind {
        ContentKind::Html => true,
        ContentKind::PlainText => false,
        ContentKind::Auto => decoded.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']).starts_with('<'),
    };
    let mut out = TextSink::new(config.max_text_chars);
    let mut title = None;
    if is_html {
        scan_html(&decoded, &mut out, &mut title);
    } else {
        out.push_text(&decoded, true);
    }
    let truncated = out.truncated;
    Ok(Extracted { text: out.finish(), title, encoding: encoding.name(), truncated })
}

/// A page with NUL bytes early on is an image, archive or executable, not text.
fn looks_binary(bytes: &[u8]) -> bool {
    memchr(0, &bytes[..bytes.len().min(1024)]).is_some()
}

/// A page's bytes as text, in the encoding [`extract`] would pick (so a GBK page reads right), with
/// malformed sequences replaced.
pub fn decode_html(bytes: &[u8]) -> String {
    detect_encoding(bytes, None).decode_without_bom_handling(bytes).0.into_owned()
}

/// The encoding an HTTP charset label names, if it is a WHATWG label of a usable encoding.
fn transport_encoding(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches(['"', '\'']);
    Encoding::for_label(label.as_bytes()).filter(|encoding| *encoding != encoding_rs::REPLACEMENT)
}

/// BOM, then the transport's charset (HTTP), then a `charset` declared in the first 1,024 bytes, then
/// UTF-8 if the bytes are valid UTF-8, then a statistical guess (chardetng), which tells GBK from Big5
/// from windows-1252 on real pages.
fn detect_encoding(bytes: &[u8], transport: Option<&'static Encoding>) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return encoding;
    }
    // Unlike an in-page declaration, the transport's UTF-16 is believed: browsers decode with it too.
    if let Some(encoding) = transport {
        return encoding;
    }
    if let Some(encoding) = declared_charset(&bytes[..bytes.len().min(1024)]) {
        // A page that claims UTF-16 in ASCII-compatible bytes is lying; browsers treat it as UTF-8.
        if encoding != encoding_rs::UTF_16LE && encoding != encoding_rs::UTF_16BE {
            return encoding;
        }
    }
    if std::str::from_utf8(bytes).is_ok() {
        return encoding_rs::UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(None, true)
}

/// Finds `charset=LABEL` (from `<meta charset>` or `http-equiv`) in a page prefix.
fn declared_charset(prefix: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = prefix.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(found) = memchr::memmem::find(&lower[from..], b"charset") {
        let mut at = from + found + b"charset".len();
        from = at;
        while at < lower.len() && matches!(lower[at], b' ' | b'\t' | b'\n' | b'\r') {
            at += 1;
        }
        if lower.get(at) != Some(&b'=') {
            continue;
        }
        at += 1;
        while at < lower.len() && matches!(lower[at], b' ' | b'"' | b'\'' | b'\t') {
            at += 1;
        }
        let end = lower[at..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.')))
            .map_or(lower.len(), |n| at + n);
        if let Some(encoding) = Encoding::for_label(&lower[at..end]) {
            return Some(encoding);
        }
    }
    None
}

/// How a tag affects visible text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TagClass {
    /// Its content is never visible (`script`, `style`, …); the name to find its end tag by.
    RawText(&'static str),
    /// It ends a line of visible text in a browser.
    Block,
    /// Neither: text flows through it.
    Inline,
}

/// Classifies a tag name (any case) with one `match`, which compiles to a few comparisons.
/// `title` counts as raw text because it is captured apart from the body text.
fn classify(name: &[u8]) -> TagClass {
    let mut lower = [0u8; 10];
    let Some(slot) = lower.get_mut(..name.len()) else { return TagClass::Inline };
    for (to, from) in slot.iter_mut().zip(name) {
        *to = from.to_ascii_lowercase();
    }
    match &*slot {
        b"script" => TagClass::RawText("script"),
        b"style" => TagClass::RawText("style"),
        b"noscript" => TagClass::RawText("noscript"),
        b"template" => TagClass::RawText("template"),
        b"textarea" => TagClass::RawText("textarea"),
        b"title" => TagClass::RawText("title"),
        b"xmp" => TagClass::RawText("xmp"),
        b"address" | b"article" | b"aside" | b"blockquote" | b"body" | b"br" | b"caption" | b"center" | b"dd"
        | b"details" | b"dialog" | b"div" | b"dl" | b"dt" | b"fieldset" | b"figcaption" | b"figure" | b"footer"
        | b"form" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"header" | b"hr" | b"html" | b"li" | b"main"
        | b"nav" | b"ol" | b"option" | b"p" | b"pre" | b"section" | b"summary" | b"table" | b"td" | b"th" | b"tr"
        | b"ul" => TagClass::Block,
        _ => TagClass::Inline,
    }
}

/// One forward pass: text runs go to the sink, tags are classified, raw-text elements are skipped whole.
fn scan_html(html: &str, out: &mut TextSink, title: &mut Option<String>) {
    let bytes = html.as_bytes();
    let mut at = 0;
    while at < bytes.len() && !out.full() {
        let Some(lt) = memchr(b'<', &bytes[at..]).map(|n| at + n) else {
            out.push_html_text(&html[at..]);
            break;
        };
        if lt > at {
            out.push_html_text(&html[at..lt]);
        }
        at = match parse_tag(bytes, lt) {
            Tag::Comment(end) | Tag::Other(end) => end,
            Tag::Text => {
                out.push_html_text("<");
                lt + 1
            }
            Tag::Element { name, end, closing } => match (classify(&bytes[name.0..name.1]), closing) {
                (TagClass::RawText(raw), false) => {
                    let close = find_close_tag(bytes, end, raw.as_bytes());
                    if raw == "title" && title.is_none() {
                        let mut sink = TextSink::new(1000);
                        sink.push_html_text(&html[end..close.0]);
                        let text = sink.finish();
                        *title = (!text.is_empty()).then_some(text);
                    }
                    out.soft_break();
                    close.1
                }
                (TagClass::Block, _) => {
                    out.line_break();
                    end
                }
                _ => end,
            },
        };
    }
}

/// The shape of markup starting at a `<`.
enum Tag {
    /// `<!-- … -->`; the index just past it.
    Comment(usize),
    /// `<!DOCTYPE …>`, `<?xml …>` and the like; the index just past it.
    Other(usize),
    /// A start or end tag: its name's byte range and the index just past `>`.
    Element { name: (usize, usize), end: usize, closing: bool },
    /// A `<` that starts no markup (`a < b`), which browsers show as text.
    Text,
}

fn parse_tag(bytes: &[u8], lt: usize) -> Tag {
    let rest = &bytes[lt + 1..];
    if rest.starts_with(b"!--") {
        let body = lt + 4;
        return Tag::Comment(memchr::memmem::find(&bytes[body..], b"-->").map_or(bytes.len(), |n| body + n + 3));
    }
    match rest.first() {
        Some(b'!') | Some(b'?') => Tag::Other(memchr(b'>', rest).map_or(bytes.len(), |n| lt + 1 + n + 1)),
        Some(b'/') if rest.get(1).is_some_and(u8::is_ascii_alphabetic) => {
            let (name, end) = tag_name_and_end(bytes, lt + 2);
            Tag::Element { name, end, closing: true }
        }
        Some(b'/') => Tag::Other(memchr(b'>', rest).map_or(bytes.len(), |n| lt + 1 + n + 1)),
        Some(c) if c.is_ascii_alphabetic() => {
            let (name, end) = tag_name_and_end(bytes, lt + 1);
            Tag::Element { name, end, closing: false }
        }
        _ => Tag::Text,
    }
}

/// Reads a tag name, then skips attributes up to the closing `>`, honouring quoted values (which may hold `>`).
fn tag_name_and_end(bytes: &[u8], start: usize) -> ((usize, usize), usize) {
    let mut at = start;
    while at < bytes.len() && !matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>') {
        at += 1;
    }
    let name = (start, at);
    let mut quote: Option<u8> = None;
    while at < bytes.len() {
        let b = bytes[at];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            // Only a quote that opens an attribute value counts; a stray one mid-name does not.
            None if (b == b'"' || b == b'\'')
                && (at > 0 && bytes[at - 1] == b'=' || at > 1 && bytes[at - 1] == b' ' && bytes[at - 2] == b'=') =>
            {
                quote = Some(b);
            }
            None if b == b'>' => return (name, at + 1),
            None => {}
        }
        at += 1;
    }
    (name, bytes.len())
}

/// Finds `</name` (any case) after `from`; returns (start of the close tag, index past its `>`).
/// An unclosed raw-text element runs to the end of the page, as in a browser.
fn find_close_tag(bytes: &[u8], from: usize, name: &[u8]) -> (usize, usize) {
    let mut at = from;
    while let Some(n) = memchr::memmem::find(&bytes[at..], b"</") {
        let start = at + n;
        let after = start + 2;
        let candidate = &bytes[after..(after + name.len()).min(bytes.len())];
        let boundary = bytes.get(after + name.len()).is_none_or(|b| !b.is_ascii_alphanumeric());
        if candidate.eq_ignore_ascii_case(name) && boundary {
            let end = memchr(b'>', &bytes[after..]).map_or(bytes.len(), |m| after + m + 1);
            return (start, end);
        }
        at = after;
    }
    (bytes.len(), bytes.len())
}

/// Accumulates visible text with white-space folding, paragraph breaks and the character bound.
struct TextSink {
    text: String,
    chars: usize,
    max_chars: usize,
    pending: Pending,
    truncated: bool,
}

/// White space seen since the last visible character, resolved lazily so that none is written at the ends.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Pending {
    None,
    Space,
    Break,
}

impl TextSink {
    fn new(max_chars: usize) -> Self {
        Self { text: String::new(), chars: 0, max_chars, pending: Pending::None, truncated: false }
    }

    fn full(&self) -> bool {
        self.truncated
    }

    fn line_break(&mut self) {
        self.pending = Pending::Break;
    }

    /// A boundary that separates words without starting a paragraph (around skipped elements).
    fn soft_break(&mut self) {
        self.pending = self.pending.max(Pending::Space);
    }

    /// HTML text: entities decoded; all white space, including newlines, is plain spacing.
    fn push_html_text(&mut self, raw: &str) {
        if raw.contains('&') {
            let decoded = decode_entities(raw);
            self.push_text(&decoded, false);
        } else {
            self.push_text(raw, false);
        }
    }

    /// Appends text; with `lines_are_breaks`, each newline is a paragraph boundary (plain-text input).
    /// This is the hottest loop of extraction, so it works on bytes: runs of visible characters are
    /// copied as whole slices, and only the few lead bytes that can start a Unicode space are decoded.
    fn push_text(&mut self, raw: &str, lines_are_breaks: bool) {
        let bytes = raw.as_bytes();
        let mut run_start = 0;
        let mut run_chars = 0;
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            let (spacing, width) = match byte {
                b'\n' if lines_are_breaks => (Some(Pending::Break), 1),
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => (Some(Pending::Space), 1),
                0x00..=0x7f => (None, 1),
                // U+0085, U+00A0, U+1680, U+2000..U+205F, U+3000 and U+FEFF start with these bytes.
                0xc2 | 0xe1 | 0xe2 | 0xe3 | 0xef => {
                    let c = raw[at..].chars().next().unwrap_or(' ');
                    let space = c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}';
                    (space.then_some(Pending::Space), c.len_utf8())
                }
                _ => (None, 1),
            };
            match spacing {
                None => {
                    // Continuation bytes belong to the character already counted.
                    run_chars += usize::from(byte & 0xc0 != 0x80);
                    at += width;
                }
                Some(space) => {
                    if run_chars > 0 {
                        self.push_run(&raw[run_start..at], run_chars);
                    }
                    self.pending = self.pending.max(space);
                    at += width;
                    run_start = at;
                    run_chars = 0;
                }
            }
        }
        if run_chars > 0 {
            self.push_run(&raw[run_start..], run_chars);
        }
    }

    /// Appends a run of visible characters, preceded by the pending separator, within the bound.
    fn push_run(&mut self, run: &str, run_chars: usize) {
        if self.truncated {
            return;
        }
        let separator = match self.pending {
            _ if self.text.is_empty() => None,
            Pending::None => None,
            Pending::Space => Some(' '),
            Pending::Break => Some('\n'),
        };
        let sep_chars = usize::from(separator.is_some());
        let room = self.max_chars.saturating_sub(self.chars + sep_chars);
        if room == 0 {
            self.truncated = true;
            return;
        }
        if let Some(sep) = separator {
            self.text.push(sep);
        }
        if run_chars <= room {
            self.text.push_str(run);
            self.chars += sep_chars + run_chars;
        } else {
            let cut = run.char_indices().nth(room).map_or(run.len(), |(at, _)| at);
            self.text.push_str(&run[..cut]);
            self.chars += sep_chars + room;
            self.truncated = true;
        }
        self.pending = Pending::None;
    }

    fn finish(self) -> String {
        self.text
    }
}

/// Decodes character references. Named references cover what news pages use (Latin-1 letters,
/// typographic punctuation, spaces); an unknown name is left as written, as browsers do.
fn decode_entities(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match parse_reference(rest) {
            Some((decoded, used)) => {
                out.push(decoded);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses `&#123;`, `&#x7B;` or `&name;` at the start of `s`; returns the char and the bytes consumed.
fn parse_reference(s: &str) -> Option<(char, usize)> {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (num, 10, 2),
        };
        let len = digits.bytes().take(8).take_while(|b| (*b as char).is_digit(radix)).count();
        if len == 0 {
            return None;
        }
        let value = u32::from_str_radix(&digits[..len], radix).ok()?;
        let c = match value {
            0 => '\u{fffd}',
            v => char::from_u32(v).unwrap_or('\u{fffd}'),
        };
        let used = skip + len + usize::from(digits[len..].starts_with(';'));
        return Some((c, used));
    }
    let len = body.bytes().take(10).take_while(u8::is_ascii_alphanumeric).count();
    if len == 0 || !body[len..].starts_with(';') {
        return None;
    }
    let c = named_entity(&body[..len])?;
    Some((c, 1 + len + 1))
}

/// Latin-1 letters, in order from U+00C0, by their HTML names (U+00D7 and U+00F7 are the signs).
const LATIN1_LETTERS: [&str; 64] = [
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml",
    "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times",
    "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde",
    "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml",
    "eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

fn named_entity(name: &str) -> Option<char> {
    if let Some(i) = LATIN1_LETTERS.iter().position(|n| *n == name) {
        return char::from_u32(0xC0 + i as u32);
    }
    let c = match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "shy" => '\u{ad}',
        "ldquo" => '\u{201c}',
        "rdquo" => '\u{201d}',
        "lsquo" => '\u{2018}',
        "rsquo" => '\u{2019}',
        "sbquo" => '\u{201a}',
        "bdquo" => '\u{201e}',
        "laquo" => '\u{ab}',
        "raquo" => '\u{bb}',
        "lsaquo" => '\u{2039}',
        "rsaquo" => '\u{203a}',
        "mdash" => '\u{2014}',
        "ndash" => '\u{2013}',
        "hellip" => '\u{2026}',
        "middot" => '\u{b7}',
        "bull" => '\u{2022}',
        "copy" => '\u{a9}',
        "reg" => '\u{ae}',
        "trade" => '\u{2122}',
        "deg" => '\u{b0}',
        "plusmn" => '\u{b1}',
        "para" => '\u{b6}',
        "sect" => '\u{a7}',
        "cent" => '\u{a2}',
        "pound" => '\u{a3}',
        "yen" => '\u{a5}',
        "euro" => '\u{20ac}',
        "iexcl" => '\u{a1}',
        "iquest" => '\u{bf}',
        "prime" => '\u{2032}',
        "Prime" => '\u{2033}',
        "larr" => '\u{2190}',
        "rarr" => '\u{2192}',
        "uarr" => '\u{2191}',
        "darr" => '\u{2193}',
        "ordf" => '\u{aa}',
        "ordm" => '\u{ba}',
        "sup1" => '\u{b9}',
        "sup2" => '\u{b2}',
        "sup3" => '\u{b3}',
        "frac12" => '\u{bd}',
        "frac14" => '\u{bc}',
        "frac34" => '\u{be}',
        "micro" => '\u{b5}',
        "OElig" => '\u{152}',
        "oelig" => '\u{153}',
        "Scaron" => '\u{160}',
        "scaron" => '\u{161}',
        _ => return None,
    };
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        extract(html.as_bytes(), ContentKind::Html, &ExtractConfig::default()).map(|e| e.text).unwrap_or_default()
    }

    #[test]
    fn leaves_out_invisible_elements_and_comments() {
        let html = "<html><head><title>T &amp; U</title><style>p{color:red}</style>\
            <script>var a = '<p>no</p>';</script></head><body><!-- hidden --><p>One <b>two</b></p>\
            <noscript>enable js</noscript><template><p>tpl</p></template><div>three</div></body></html>";
        assert_eq!(text(html), "One two\nthree");
        let extracted = extract(html.as_bytes(), ContentKind::Auto, &ExtractConfig::default());
        assert_eq!(extracted.ok().and_then(|e| e.title).as_deref(), Some("T & U"));
    }

    #[test]
    fn decodes_entities_and_folds_space() {
        assert_eq!(
            text("<p>caf&eacute; &ldquo;x&rdquo;&nbsp;&#x4E2D;&#25991; &bogus; a&b</p>"),
            "café “x” 中文 &bogus; a&b"
        );
        assert_eq!(text("<p>  a \n\t b  </p>\n\n<p>c</p>"), "a b\nc");
    }

    #[test]
    fn tolerates_malformed_markup() {
        assert_eq!(text("<p>a < b and <p>c</div></span>d"), "a < b and\nc\nd");
        assert_eq!(text("<a href=\"x>y\" title='q'>link</a> <script>never closed"), "link");
        assert_eq!(text("<div><!-- unterminated"), "");
        assert_eq!(text("</>x<!DOCTYPE html>y<?pi?>z"), "xyz");
    }

    #[test]
    fn deep_nesting_costs_nothing() {
        let html = format!("{}deep{}", "<div><span>".repeat(100_000), "</span></div>".repeat(100_000));
        assert_eq!(text(&html), "deep");
    }

    #[test]
    fn decodes_declared_and_guessed_chinese_encodings() {
        let (gbk, _, _) = encoding_rs::GBK.encode("<html><head><meta charset=\"gbk\"></head><p>版权印章保护原创</p>");
        let extracted = extract(&gbk, ContentKind::Html, &ExtractConfig::default()).ok();
        assert_eq!(extracted.as_ref().map(|e| e.text.as_str()), Some("版权印章保护原创"));
        assert_eq!(extracted.map(|e| e.encoding), Some("GBK"));
        let sentence = "<p>新闻媒体的大部分侵权是转载：整篇文章、摘录、轻度编辑的副本，被包裹在另一个网站的导航、广告和评论中。</p>";
        let (undeclared, _, _) = encoding_rs::GBK.encode(sentence);
        let extracted = extract(&undeclared, ContentKind::Html, &ExtractConfig::default()).ok();
        assert_eq!(extracted.map(|e| e.encoding), Some("GBK"));
    }

    #[test]
    fn the_http_charset_comes_after_the_bom_and_before_everything_else() {
        let gbk = |text: &str| encoding_rs::GBK.encode(text).0.into_owned();
        let body = "<p>新闻媒体的大部分侵权是转载：整篇文章、摘录、轻度编辑的副本，被包裹在另一个网站的导航、广告和评论中。</p>";
        let text =
            "新闻媒体的大部分侵权是转载：整篇文章、摘录、轻度编辑的副本，被包裹在另一个网站的导航、广告和评论中。";
        // Two characters are too few to sniff: chardetng takes these bytes for EUC-KR.
        let short = "<p>版权</p>";
        let with_bom = [&b"\xef\xbb\xbf"[..], "<p>版权印章</p>".as_bytes()].concat();
        let mislabelled = gbk(&format!("<head><meta charset=\"utf-8\"></head>{body}"));
        let big5 = encoding_rs::BIG5.encode("<p>著作權印章保護原創文章</p>").0.into_owned();
        // (bytes, HTTP charset, expected encoding, expected text).
        let cases: Vec<(Vec<u8>, Option<&str>, &str, &str)> = vec![
            // No charset anywhere: sniffed.
            (gbk(body), None, "GBK", text),
            // The header says GBK: believed, whatever sniffing would make of a short page.
            (gbk(body), Some("gbk"), "GBK", text),
            (gbk(short), None, "EUC-KR", "경홈"),
            (gbk(short), Some("gbk"), "GBK", "版权"),
            (gbk(short), Some(" \"GB2312\" "), "GBK", "版权"),
            // The header wins over a wrong in-page declaration.
            (mislabelled.clone(), Some("GBK"), "GBK", text),
            // Without the header, the declaration is believed (and the text garbled: what the header fixes).
            (mislabelled.clone(), None, "UTF-8", ""),
            // A byte order mark wins over the header.
            (with_bom, Some("gbk"), "UTF-8", "版权印章"),
            // Unknown labels and the replacement encoding are ignored.
            (gbk(body), Some("no-such-charset"), "GBK", text),
            (gbk(body), Some("iso-2022-kr"), "GBK", text),
            (big5, Some("big5"), "Big5", "著作權印章保護原創文章"),
        ];
        for (i, (bytes, http, encoding, expected)) in cases.iter().enumerate() {
            let extracted = extract_with_charset(bytes, ContentKind::Html, *http, &ExtractConfig::default());
            let extracted = extracted.map(|e| (e.encoding, e.text));
            match *expected {
                "" => assert_eq!(extracted.as_ref().map(|e| e.0), Ok(*encoding), "case {i}"),
                _ => assert_eq!(extracted, Ok((*encoding, expected.to_string())), "case {i}"),
            }
            if http.is_none() {
                assert_eq!(
                    extract(bytes, ContentKind::Html, &ExtractConfig::default()),
                    extract_with_charset(bytes, ContentKind::Html, None, &ExtractConfig::default())
                );
            }
        }
    }

    #[test]
    fn bounds_and_bad_input_give_errors_or_empty_results() {
        let config = ExtractConfig { max_input_bytes: 10, max_text_chars: 5 };
        assert!(matches!(extract(&[b'a'; 11], ContentKind::Auto, &config), Err(TextError::TooLarge { .. })));
        let cut = extract(b"abcdefgh", ContentKind::PlainText, &config).ok();
        assert_eq!(cut.map(|e| (e.text, e.truncated)), Some(("abcde".to_string(), true)));
        assert!(matches!(extract(b"\x89PNG\r\n\x1a\n\0\0", ContentKind::Auto, &config), Err(TextError::Binary)));
        assert_eq!(extract(b"", ContentKind::Auto, &config).ok().map(|e| e.text), Some(String::new()));
        let invalid = extract(b"ok \xff\xfe\xfd fine", ContentKind::PlainText, &ExtractConfig::default());
        assert!(invalid.is_ok());
    }

    #[test]
    fn a_fifty_megabyte_page_is_refused_by_default_and_bounded_when_allowed() {
        let page = format!("<html><body>{}</body></html>", "<p>copy paste reprint</p>".repeat(2_000_000));
        assert!(page.len() > 50_000_000);
        let refused = extract(page.as_bytes(), ContentKind::Html, &ExtractConfig::default());
        assert!(matches!(refused, Err(TextError::TooLarge { limit, .. }) if limit == 16 << 20));
        let config = ExtractConfig { max_input_bytes: 64 << 20, ..ExtractConfig::default() };
        let bounded = extract(page.as_bytes(), ContentKind::Html, &config).ok();
        assert_eq!(bounded.map(|e| (e.text.chars().count() <= config.max_text_chars, e.truncated)), Some((true, true)));
    }

    #[test]
    fn plain_text_keeps_lines_as_paragraphs() {
        let extracted =
            extract("第一段。\r\n\r\n第二段 second.\n".as_bytes(), ContentKind::Auto, &ExtractConfig::default());
        assert_eq!(extracted.ok().map(|e| e.text), Some("第一段。\n第二段 second.".to_string()));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Arbitrary bytes give text or a typed error, never a panic, and the bound always holds.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), limit in 1usize..300) {
            let config = ExtractConfig { max_input_bytes: 1 << 20, max_text_chars: limit };
            for kind in [ContentKind::Html, ContentKind::PlainText, ContentKind::Auto] {
                if let Ok(extracted) = extract(&bytes, kind, &config) {
                    prop_assert!(extracted.text.chars().count() <= limit);
                }
            }
        }

        /// Markup-shaped garbage never panics either.
        #[test]
        fn arbitrary_markup_never_panics(html in "(<[a-z/!?-]{0,8}[^<>]{0,12}>?|&#?x?[0-9a-z]{0,6};?|[^<&]{0,10}){0,60}") {
            let _ = extract(html.as_bytes(), ContentKind::Html, &ExtractConfig::default());
        }
    }
}
