//! A streaming reader (and a small writer) for WARC files, the web archive format of ISO 28500.
//!
//! `seal ingest FILE.warc[.gz]...` runs Common Crawl archives through the matching pipeline, and this
//! module turns such a file into records and their document payloads.
//!
//! # The format
//!
//! A WARC file is a sequence of records. Each record is a version line (`WARC/1.0` or `WARC/1.1`),
//! named header fields (`Name: value`, CRLF-terminated, names case-insensitive), an empty line, a
//! block of exactly `Content-Length` bytes, and two CRLFs. Its `WARC-Type` says what the block is:
//! `warcinfo` (fields describing the file), `request` and `response` (the HTTP messages as sent and
//! received, record `Content-Type: application/http; msgtype=...`), `resource` (a document without
//! HTTP framing), `metadata`, `revisit`, `conversion`. Archives are usually gzip-compressed one
//! record per gzip member and the members concatenated, so that an index can point at any record and
//! a reader can start there; decompressing all members in sequence gives the plain file.
//!
//! # Design
//!
//! - [`WarcReader`] reads from any [`Read`], detects gzip by its magic bytes and decompresses
//!   concatenated members one after another (`Members`). It holds one record's block at a time; a block over
//!   [`WarcConfig::max_block_bytes`] is read and thrown away in buffer-sized steps and reported as
//!   [`RecordError::TooLarge`], so memory stays flat whatever the file and whatever a header claims.
//! - A damaged record is an error item, never the end of the run: after a bad header the reader scans
//!   forward line by line for the next line starting with `WARC/1.` and carries on from there. Every
//!   error item counts as one skipped record ([`WarcStats`]). A damaged gzip member is one error
//!   item too: a gzip stream cannot be re-entered in the middle of a member, so the reader looks for
//!   the next member header in the compressed bytes and goes on from there (archives hold one record
//!   per member, so one record is lost). Only the input itself failing (a read error) or ending inside
//!   a record stops the reader, after one error item.
//! - [`Record::payload`] parses the HTTP response head of `response` records and undoes
//!   `Transfer-Encoding: chunked` and `Content-Encoding: gzip | deflate`, with the decoded size
//!   capped like the block. Common Crawl stores most payloads already decoded and renames the
//!   headers to `X-Crawler-Transfer-Encoding` / `X-Crawler-Content-Encoding`; those renamed headers
//!   are not acted on, which is exactly what makes both cases come out right.
//! - Parsing is lenient where real archives are sloppy (LF-only line ends, missing record trailers,
//!   `<...>` around `WARC-Target-URI`, a `Content-Encoding: gzip` body that is not gzip) and strict
//!   where guessing would hand garbage to matching (an unparseable `Content-Length`, an unknown
//!   content coding).
//!
//! # Why not the `warc` crate
//!
//! `warc` 0.4 reads and writes records well on the happy path, and its `stream_records` can skip a
//! body without buffering it. It was not used because what `seal ingest` needs sits outside it:
//! after a malformed record it offers no way to find the next record (the stream is left wherever
//! parsing stopped), `iter_records` buffers any `Content-Length` a header claims with no cap, and it
//! does not parse or decode HTTP payloads (status, chunked transfer coding, content codings), which
//! is most of the work here. It would also bring `chrono`, `nom`, `uuid` and, for gzip, `libflate`
//! next to the `flate2` the workspace already builds. The reader and writer below are a few hundred
//! lines over `std::io` and `flate2`.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

use flate2::bufread::GzDecoder;
use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use flate2::write::GzEncoder;
use flate2::Compression;

/// The default cap on one record's block and on a payload's decoded size: 16 MiB.
pub const DEFAULT_MAX_BLOCK_BYTES: u64 = 16 * 1024 * 1024;

/// The default cap on one record's header section: 64 KiB, far above any real record's.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;

/// Read buffer size: large enough that skipping an oversize block costs few calls.
const READ_BUFFER: usize = 64 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const VERSION_PREFIX: &[u8] = b"WARC/1.";
/// A version line is short; anything longer is read only this far (the rest is discarded).
const MAX_VERSION_LINE: usize = 64;
/// How much of an offending line an error quotes, so that binary junk does not flood a log.
const PREVIEW_BYTES: usize = 64;

/// Limits for a [`WarcReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarcConfig {
    /// The largest record block that is loaded; a larger record is skipped without being loaded.
    /// Also caps the decoded size of an HTTP payload. Default [`DEFAULT_MAX_BLOCK_BYTES`].
    pub max_block_bytes: u64,
    /// The largest header section (all header lines together) that is accepted; a larger one is a
    /// damaged record. Default [`DEFAULT_MAX_HEADER_BYTES`].
    pub max_header_bytes: usize,
}

impl Default for WarcConfig {
    fn default() -> Self {
        WarcConfig { max_block_bytes: DEFAULT_MAX_BLOCK_BYTES, max_header_bytes: DEFAULT_MAX_HEADER_BYTES }
    }
}

/// Counters kept by a [`WarcReader`]. Every item it yields is counted once:
/// `records_read + records_skipped` is the number of items so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarcStats {
    /// Records returned as `Ok`.
    pub records_read: u64,
    /// Error items: damaged, oversize or truncated records (and a failing input, once).
    pub records_skipped: u64,
}

/// What went wrong with one record, or with decoding its payload.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading the input failed (the reader stops after this), or a gzip member is damaged (it goes on
    /// with the next member).
    #[error("reading the WARC input failed: {0}")]
    Io(#[from] io::Error),
    /// The input ended inside a record. The reader stops after this.
    #[error("the input ended inside a record ({part})")]
    Truncated {
        /// Which part of the record was cut: "version line", "header" or "block".
        part: &'static str,
    },
    /// A record did not start with a `WARC/1.x` version line.
    #[error("expected a WARC/1.x version line, found {found:?}")]
    NotAVersionLine {
        /// The start of the line found instead.
        found: String,
    },
    /// A header line was neither `Name: value` nor a continuation line.
    #[error("malformed WARC header line {line:?}")]
    MalformedHeader {
        /// The start of the offending line.
        line: String,
    },
    /// The header section was longer than [`WarcConfig::max_header_bytes`].
    #[error("the WARC header section is longer than {limit} bytes")]
    HeaderTooLarge {
        /// The configured cap.
        limit: usize,
    },
    /// `Content-Length` was missing or not a number, so the block's end is unknown.
    #[error("missing or invalid Content-Length {value:?}")]
    BadContentLength {
        /// The header's value, if there was one.
        value: Option<String>,
    },
    /// The block was larger than [`WarcConfig::max_block_bytes`]; it was read past, not loaded.
    #[error("a record block of {length} bytes is over the {limit}-byte cap and was skipped")]
    TooLarge {
        /// The block's `Content-Length`.
        length: u64,
        /// The configured cap.
        limit: u64,
        /// The record's `WARC-Target-URI`, so the skip can be logged usefully.
        target_uri: Option<String>,
    },
    /// The block of an `application/http` response record is not an HTTP response.
    #[error("malformed HTTP response: {0}")]
    MalformedHttp(&'static str),
    /// The HTTP payload uses a content or transfer coding this reader does not decode.
    #[error("unsupported HTTP content coding {0:?}")]
    UnsupportedEncoding(String),
    /// The HTTP payload claimed a coding but did not decode.
    #[error("decoding the {coding} HTTP payload failed: {source}")]
    Decode {
        /// The coding that failed: "gzip" or "deflate".
        coding: &'static str,
        /// The decoder's error.
        source: io::Error,
    },
    /// The decoded HTTP payload was larger than [`WarcConfig::max_block_bytes`].
    #[error("the decoded HTTP payload is over the {limit}-byte cap")]
    PayloadTooLarge {
        /// The configured cap.
        limit: u64,
    },
}

/// What the reader does after an error item.
enum Recovery {
    /// Scan forward for the next `WARC/1.` line: the damaged record's end is unknown.
    Resync,
    /// Go on with the next record: the damaged record was consumed exactly.
    Continue,
    /// Stop: the input is gone or cannot be trusted.
    Stop,
}

impl RecordError {
    fn recovery(&self) -> Recovery {
        match self {
            RecordError::Io(e) if DamagedMember::is(e) => Recovery::Resync,
            RecordError::Io(_) | RecordError::Truncated { .. } => Recovery::Stop,
            RecordError::TooLarge { .. } => Recovery::Continue,
            _ => Recovery::Resync,
        }
    }
}

/// One WARC record: its header fields and its raw block.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    version: String,
    headers: Vec<(String, String)>,
    block: Vec<u8>,
    max_decoded: u64,
}

impl fmt::Debug for Record {
    // A block can be megabytes of binary; its length is what a log or a failed assertion needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("block_len", &self.block.len())
            .finish()
    }
}

impl Record {
    /// The version after `WARC/`, e.g. `1.0` or `1.1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// All header fields in file order, names as written.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header field named `name` (compared case-insensitively), value trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// `WARC-Type`: `warcinfo`, `request`, `response`, `resource`, `metadata`, `revisit`, ...
    pub fn warc_type(&self) -> Option<&str> {
        self.header("WARC-Type")
    }

    /// `WARC-Target-URI`, without the angle brackets that some writers (after an erratum in the
    /// WARC 1.0 text) put around it.
    pub fn target_uri(&self) -> Option<&str> {
        self.header("WARC-Target-URI").map(|uri| uri.strip_prefix('<').and_then(|u| u.strip_suffix('>')).unwrap_or(uri))
    }

    /// `WARC-Date` as Unix milliseconds, or `None` when it is missing or not a valid date
    /// (see [`parse_warc_date`]).
    pub fn date_millis(&self) -> Option<i64> {
        self.header("WARC-Date").and_then(parse_warc_date)
    }

    /// `WARC-Record-ID`, e.g. `<urn:uuid:...>`.
    pub fn record_id(&self) -> Option<&str> {
        self.header("WARC-Record-ID")
    }

    /// The record's own `Content-Type`: what the block is (`application/http; msgtype=response`
    /// for an HTTP response, the document's type for a `resource`).
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// The raw block, exactly `Content-Length` bytes.
    pub fn block(&self) -> &[u8] {
        &self.block
    }

    /// The raw block, by value.
    pub fn into_block(self) -> Vec<u8> {
        self.block
    }

    /// The document this record carries, or `None` for records that carry none (`warcinfo`,
    /// `request`, `metadata`, `revisit`, ...).
    ///
    /// - `response` with an `application/http` record type: the HTTP status, headers and body, the
    ///   body with chunked transfer coding and gzip/deflate content coding undone.
    /// - `resource`, `conversion`, and a non-HTTP `response`: the block, typed by the record's
    ///   `Content-Type`.
    ///
    /// A body cut short by the archive (Common Crawl truncates large payloads and says so in
    /// `WARC-Truncated`) decodes as far as it goes rather than failing.
    pub fn payload(&self) -> Result<Option<Payload<'_>>, RecordError> {
        let warc_type = self.warc_type().unwrap_or("");
        let is_http = self.content_type().is_some_and(|ct| media_type(ct) == "application/http");
        if warc_type.eq_ignore_ascii_case("response") && is_http {
            return parse_http_response(&self.block, self.max_decoded).map(Some);
        }
        let is_document = ["response", "resource", "conversion"].iter().any(|t| warc_type.eq_ignore_ascii_case(t));
        if !is_document {
            return Ok(None);
        }
        Ok(Some(Payload {
            http_status: None,
            http_headers: Vec::new(),
            content_type: self.content_type().map(str::to_owned),
            body: Cow::Borrowed(&self.block),
        }))
    }
}

/// The document in a record: what matching runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload<'a> {
    /// The HTTP status code, for an HTTP response.
    pub http_status: Option<u16>,
    /// The HTTP response headers in order (empty when there is no HTTP head).
    pub http_headers: Vec<(String, String)>,
    /// The document's type: the HTTP `Content-Type` for a response, the record's `Content-Type`
    /// otherwise. Classify it with [`is_html`] and [`is_image`].
    pub content_type: Option<String>,
    /// The document's bytes, decoded. Borrowed from the record's block when nothing needed decoding.
    pub body: Cow<'a, [u8]>,
}

impl Payload<'_> {
    /// The first HTTP header named `name` (case-insensitive), value trimmed.
    pub fn http_header(&self, name: &str) -> Option<&str> {
        find_header(&self.http_headers, name)
    }
}

fn find_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The media type of a `Content-Type` value: the part before any `;`, trimmed and lower-cased.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether a `Content-Type` names an HTML document, for text matching.
pub fn is_html(content_type: &str) -> bool {
    matches!(media_type(content_type).as_str(), "text/html" | "application/xhtml+xml")
}

/// Whether a `Content-Type` names a raster image, for image matching. `image/svg+xml` is not one:
/// it is XML text that an image decoder cannot read.
pub fn is_image(content_type: &str) -> bool {
    let media = media_type(content_type);
    media.len() > "image/".len() && media.starts_with("image/") && media != "image/svg+xml"
}

/// The source after gzip detection. The two bytes read for detection are put back in front.
enum Input<R: Read> {
    Plain(BufReader<Source<R>>),
    // Boxed: the decoder's state is several hundred bytes, the plain reader's a few dozen.
    Gzip(Box<BufReader<Members<BufReader<Source<R>>>>>),
}

/// The input with the bytes read for gzip detection put back in front.
type Source<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// The error a [`Members`] read returns for a damaged member.
#[derive(Debug, thiserror::Error)]
#[error("a gzip member is damaged; reading goes on at the next member")]
struct DamagedMember;

impl DamagedMember {
    fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<DamagedMember>())
    }
}

/// Concatenated gzip members, decompressed in turn (what `MultiGzDecoder` does), except that a
/// damaged member is not the end: its read fails once with [`DamagedMember`], and the next read goes
/// on from the next gzip member header after the damaged member's start.
struct Members<R: BufRead> {
    /// The member being read; `None` once the input is exhausted.
    member: Option<GzDecoder<Rewind<R>>>,
}

/// A gzip member header: the magic bytes and the deflate method.
const MEMBER_HEADER: [u8; 3] = [0x1f, 0x8b, 0x08];

/// The most of one member's compressed bytes kept for a rewind; a longer damaged member is searched
/// on from where the inflater stopped.
const MAX_REWIND: usize = 4 * 1024 * 1024;

impl<R: BufRead> Members<R> {
    fn new(raw: R) -> Self {
        let mut raw = Rewind { inner: raw, replay: Vec::new(), at: 0, kept: None };
        raw.start_member();
        Members { member: Some(GzDecoder::new(raw)) }
    }

    /// The next member at the first header past the damaged member's start; `None` at the end.
    fn after_damage(mut raw: Rewind<R>) -> io::Result<Option<GzDecoder<Rewind<R>>>> {
        if !raw.rewind_past_start() && !raw.fill_buf()?.is_empty() {
            raw.consume(1);
        }
        loop {
            let buf = raw.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            // A header split across two fills is found on the next one: keep the last two bytes.
            let (found, skip) = match buf.windows(MEMBER_HEADER.len()).position(|w| w == MEMBER_HEADER) {
                Some(at) => (true, at),
                None => (false, buf.len().saturating_sub(MEMBER_HEADER.len() - 1).max(1)),
            };
            raw.consume(skip);
            if found {
                raw.start_member();
                return Ok(Some(GzDecoder::new(raw)));
            }
        }
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(member) = self.member.as_mut() else { return Ok(0) };
            match member.read(buf) {
                Ok(0) if !buf.is_empty() => {
                    let Some(member) = self.member.take() else { return Ok(0) };
                    let mut raw = member.into_inner();
                    if raw.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                    raw.start_member();
                    self.member = Some(GzDecoder::new(raw));
                }
                Ok(n) => return Ok(n),
                Err(e) if matches!(e.kind(), io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput) => {
                    let Some(member) = self.member.take() else { return Ok(0) };
                    self.member = Self::after_damage(member.into_inner())?;
                    return Err(io::Error::new(io::ErrorKind::InvalidData, DamagedMember));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The compressed bytes under [`Members`]. It keeps what the current member has consumed (up to
/// [`MAX_REWIND`]) so that after damage the search for the next header starts one byte past the
/// damaged member's start, not wherever the inflater gave up, which may be inside the next member.
struct Rewind<R: BufRead> {
    inner: R,
    /// Bytes to serve again, from `at`, before `inner`'s.
    replay: Vec<u8>,
    at: usize,
    /// The current member's bytes consumed so far; `None` when not kept (over the cap, or scanning).
    kept: Option<Vec<u8>>,
}

impl<R: BufRead> Rewind<R> {
    fn start_member(&mut self) {
        let mut kept = self.kept.take().unwrap_or_default();
        kept.clear();
        self.kept = Some(kept);
    }

    /// Serves the current member's bytes again from its second byte; `false` if they were not kept.
    fn rewind_past_start(&mut self) -> bool {
        let Some(kept) = self.kept.take() else { return false };
        if kept.is_empty() {
            return false;
        }
        let mut replay = kept[1..].to_vec();
        replay.extend_from_slice(&self.replay[self.at..]);
        self.replay = replay;
        self.at = 0;
        true
    }
}

impl<R: BufRead> Read for Rewind<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Rewind<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at < self.replay.len() {
            return Ok(&self.replay[self.at..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        let replaying = self.at < self.replay.len();
        if let Some(kept) = &mut self.kept {
            // `fill_buf` again returns the bytes being consumed without reading anything new.
            let consumed = if replaying {
                &self.replay[self.at..(self.at + amount).min(self.replay.len())]
            } else {
                match self.inner.fill_buf() {
                    Ok(buf) => &buf[..amount.min(buf.len())],
                    Err(_) => &[][..],
                }
            };
            if kept.len() + consumed.len() > MAX_REWIND {
                self.kept = None;
            } else {
                kept.extend_from_slice(consumed);
            }
        }
        if replaying {
            self.at += amount;
            if self.at >= self.replay.len() {
                self.replay.clear();
                self.at = 0;
            }
        } else {
            self.inner.consume(amount);
        }
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(r) => r.read(buf),
            Input::Gzip(r) => r.read(buf),
        }
    }
}

impl<R: Read> BufRead for Input<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Input::Plain(r) => r.fill_buf(),
            Input::Gzip(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Input::Plain(r) => r.consume(amount),
            Input::Gzip(r) => r.consume(amount),
        }
    }
}

/// A streaming WARC reader: one record at a time, errors as items, never more than one block held.
///
/// ```
/// use seal_crawler::warc::{WarcConfig, WarcReader};
///
/// let file: &[u8] = b"WARC/1.1\r\nWARC-Type: resource\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n";
/// let mut reader = WarcReader::new(file, WarcConfig::default())?;
/// while let Some(item) = reader.next_record() {
///     match item {
///         Ok(record) => assert_eq!(record.block(), b"hi"),
///         Err(err) => eprintln!("skipped a record: {err}"),
///     }
/// }
/// assert_eq!(reader.stats().records_read, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct WarcReader<R: Read> {
    input: Input<R>,
    gzip: bool,
    config: WarcConfig,
    stats: WarcStats,
    resync: bool,
    done: bool,
    line: Vec<u8>,
}

impl<R: Read> WarcReader<R> {
    /// Wraps `read`. Reads its first two bytes to tell gzip from plain WARC, hence the `io::Result`.
    pub fn new(mut read: R, config: WarcConfig) -> io::Result<Self> {
        let mut magic = Vec::with_capacity(GZIP_MAGIC.len());
        (&mut read).take(GZIP_MAGIC.len() as u64).read_to_end(&mut magic)?;
        let gzip = magic == GZIP_MAGIC;
        let source = io::Cursor::new(magic).chain(read);
        let input = if gzip {
            let raw = BufReader::with_capacity(READ_BUFFER, source);
            Input::Gzip(Box::new(BufReader::with_capacity(READ_BUFFER, Members::new(raw))))
        } else {
            Input::Plain(BufReader::with_capacity(READ_BUFFER, source))
        };
        Ok(WarcReader {
            input,
            gzip,
            config,
            stats: WarcStats::default(),
            resync: false,
            done: false,
            line: Vec::new(),
        })
    }

    /// Whether the input was gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Records read and skipped so far.
    pub fn stats(&self) -> WarcStats {
        self.stats
    }

    /// The next record, an error item for a record that could not be read, or `None` at the end.
    ///
    /// After an error item the next call goes on with the following record; after
    /// [`RecordError::Truncated`] or a failing input ([`RecordError::Io`] other than a damaged gzip
    /// member) it returns `None`.
    pub fn next_record(&mut self) -> Option<Result<Record, RecordError>> {
        if self.done {
            return None;
        }
        match self.read_record() {
            Ok(Some(record)) => {
                self.stats.records_read += 1;
                Some(Ok(record))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.stats.records_skipped += 1;
                match err.recovery() {
                    Recovery::Resync => self.resync = true,
                    Recovery::Continue => {}
                    Recovery::Stop => self.done = true,
                }
                Some(Err(err))
            }
        }
    }

    fn read_record(&mut self) -> Result<Option<Record>, RecordError> {
        let Some(version) = self.read_version_line()? else {
            return Ok(None);
        };
        let headers = self.read_headers()?;
        let length_value = find_header(&headers, "Content-Length");
        let length = length_value
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| RecordError::BadContentLength { value: length_value.map(str::to_owned) })?;

        if length > self.config.max_block_bytes {
            if discard(&mut self.input, length)? > 0 {
                return Err(RecordError::Truncated { part: "block" });
            }
            let target_uri = find_header(&headers, "WARC-Target-URI").map(str::to_owned);
            return Err(RecordError::TooLarge { length, limit: self.config.max_block_bytes, target_uri });
        }

        // Grow as bytes arrive rather than trusting the header with the whole allocation up front:
        // a truncated file's last header may claim far more than is there.
        let initial = usize::try_from(length.min(READ_BUFFER as u64)).unwrap_or(READ_BUFFER);
        let mut block = Vec::with_capacity(initial);
        (&mut self.input).take(length).read_to_end(&mut block)?;
        if (block.len() as u64) < length {
            return Err(RecordError::Truncated { part: "block" });
        }
        // The CRLF CRLF trailer is left for the next call, which skips blank lines: a writer that
        // forgot it still produces readable records.
        Ok(Some(Record { version, headers, block, max_decoded: self.config.max_block_bytes }))
    }

    /// The version of the next record, skipping blank lines, and while resyncing anything that is
    /// not a version line. `None` at a clean end of input.
    fn read_version_line(&mut self) -> Result<Option<String>, RecordError> {
        loop {
            let Some(line) = read_line(&mut self.input, &mut self.line, MAX_VERSION_LINE)? else {
                return Ok(None);
            };
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if self.line.starts_with(VERSION_PREFIX) {
                if !line.terminated {
                    return Err(RecordError::Truncated { part: "version line" });
                }
                self.resync = false;
                let version = String::from_utf8_lossy(&self.line["WARC/".len()..]).trim().to_owned();
                return Ok(Some(version));
            }
            if self.resync {
                continue;
            }
            if !line.terminated {
                return Err(RecordError::Truncated { part: "version line" });
            }
            return Err(RecordError::NotAVersionLine { found: preview(&self.line) });
        }
    }

    fn read_headers(&mut self) -> Result<Vec<(String, String)>, RecordError> {
        let limit = self.config.max_header_bytes;
        let mut budget = limit;
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let Some(line) = read_line(&mut self.input, &mut self.line, budget)? else {
                return Err(RecordError::Truncated { part: "header" });
            };
            if !line.terminated {
                return Err(RecordError::Truncated { part: "header" });
            }
            if line.overflow {
                return Err(RecordError::HeaderTooLarge { limit });
            }
            budget = budget.saturating_sub(self.line.len() + 2);
            if self.line.is_empty() {
                return Ok(headers);
            }
            let text = String::from_utf8_lossy(&self.line);
            if text.starts_with([' ', '\t']) {
                // A folded continuation of the previous field (allowed by the WARC grammar).
                let Some((_, value)) = headers.last_mut() else {
                    return Err(RecordError::MalformedHeader { line: preview(&self.line) });
                };
                value.push(' ');
                value.push_str(text.trim());
                continue;
            }
            match text.split_once(':') {
                Some((name, value)) if is_token(name.trim_end()) => {
                    headers.push((name.trim_end().to_owned(), value.trim().to_owned()));
                }
                _ => return Err(RecordError::MalformedHeader { line: preview(&self.line) }),
            }
        }
    }
}

impl<R: Read> Iterator for WarcReader<R> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// A field name: non-empty, no whitespace or controls (so `Some text: with colon` is not a header).
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

fn preview(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(PREVIEW_BYTES)]).into_owned()
}

struct LineRead {
    /// The line ended with `\n` (rather than with the input).
    terminated: bool,
    /// The line was longer than the maximum; only its start is in the buffer.
    overflow: bool,
}

/// Reads one line into `buf` (without its `\n` or `\r\n`), keeping at most `max` bytes and
/// discarding the rest, so that a newline-free run of binary costs no memory. `None` at end of input.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<LineRead>> {
    buf.clear();
    let mut seen_any = false;
    let mut overflow = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(seen_any.then_some(LineRead { terminated: false, overflow }));
        }
        seen_any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let content = &available[..newline.unwrap_or(available.len())];
        let room = max.saturating_sub(buf.len());
        overflow |= content.len() > room;
        buf.extend_from_slice(&content[..content.len().min(room)]);
        let used = newline.map_or(available.len(), |i| i + 1);
        input.consume(used);
        if newline.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(LineRead { terminated: true, overflow }));
        }
    }
}

/// Reads past `count` bytes in buffer-sized steps without keeping them. Returns how many were
/// missing when the input ended first.
fn discard(input: &mut impl BufRead, mut count: u64) -> io::Result<u64> {
    while count > 0 {
        let available = match input.fill_buf() {
            Ok(available) => available.len(),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available == 0 {
            break;
        }
        let step = usize::try_from(count).map_or(available, |c| c.min(available));
        input.consume(step);
        count -= step as u64;
    }
    Ok(count)
}

/// The next line of `data` from `*pos` without its line end; `None` when `data` is used up.
fn next_line<'d>(data: &'d [u8], pos: &mut usize) -> Option<&'d [u8]> {
    let rest = data.get(*pos..).filter(|r| !r.is_empty())?;
    let (line, used) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], i + 1),
        None => (rest, rest.len()),
    };
    *pos += used;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

fn parse_http_response(block: &[u8], limit: u64) -> Result<Payload<'_>, RecordError> {
    let mut pos = 0;
    let status_line = next_line(block, &mut pos).ok_or(RecordError::MalformedHttp("empty block"))?;
    let status_line = String::from_utf8_lossy(status_line);
    let mut parts = status_line.split_ascii_whitespace();
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/")) {
        return Err(RecordError::MalformedHttp("no HTTP status line"));
    }
    let status = parts
        .next()
        .filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(RecordError::MalformedHttp("no three-digit status code"))?;

    let mut headers: Vec<(String, String)> = Vec::new();
    // A head without its blank line (the record was cut inside it) is taken as a head with no body.
    while let Some(line) = next_line(block, &mut pos) {
        if line.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(line);
        if text.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(text.trim());
            }
            continue;
        }
        // Servers send odd lines; one unusable header must not cost the whole document.
        if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut body: Cow<'_, [u8]> = Cow::Borrowed(block.get(pos..).unwrap_or(&[]));

    if let Some(te) = find_header(&headers, "Transfer-Encoding") {
        let mut codings = coding_list(te);
        if codings.last().map(String::as_str) == Some("chunked") {
            codings.pop();
            // A body that does not parse as chunks was stored decoded under the original header.
            if let Some(unchunked) = dechunk(&body) {
                body = Cow::Owned(unchunked);
            }
        }
        for coding in codings.iter().rev() {
            body = decode(coding, body, limit)?;
        }
    }
    if let Some(ce) = find_header(&headers, "Content-Encoding") {
        for coding in coding_list(ce).iter().rev() {
            body = decode(coding, body, limit)?;
        }
    }
    let content_type = find_header(&headers, "Content-Type").map(str::to_owned);
    Ok(Payload { http_status: Some(status), http_headers: headers, content_type, body })
}

/// A coding list such as `gzip, chunked`, lower-cased, without `identity`, in the order applied.
fn coding_list(value: &str) -> Vec<String> {
    value.split(',').map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty() && c != "identity").collect()
}

/// Undoes chunked transfer coding. `None` when the body does not start with a chunk-size line.
/// Chunk extensions and trailers are dropped; a body cut inside a chunk keeps what arrived.
fn dechunk(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut pos = 0;
    let mut first = true;
    while let Some(line) = next_line(data, &mut pos) {
        let size_text = line.split(|&b| b == b';').next().unwrap_or(line).trim_ascii();
        let size = Some(size_text)
            .filter(|s| !s.is_empty() && s.iter().all(u8::is_ascii_hexdigit))
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| u64::from_str_radix(s, 16).ok());
        let Some(size) = size else {
            if first {
                return None;
            }
            break;
        };
        first = false;
        if size == 0 {
            break;
        }
        let end = usize::try_from(size).map_or(data.len(), |s| pos.saturating_add(s)).min(data.len());
        out.extend_from_slice(&data[pos..end]);
        pos = end;
        let rest = &data[pos..];
        if rest.starts_with(b"\r\n") {
            pos += 2;
        } else if rest.starts_with(b"\n") {
            pos += 1;
        }
    }
    Some(out)
}

/// Undoes one content coding, with the output capped at `limit` bytes.
fn decode<'a>(coding: &str, data: Cow<'a, [u8]>, limit: u64) -> Result<Cow<'a, [u8]>, RecordError> {
    match coding {
        "gzip" | "x-gzip" => {
            // Some archives keep the header but store the body decoded; decoding that would fail.
            if !data.starts_with(&GZIP_MAGIC) {
                return Ok(data);
            }
            read_capped(MultiGzDecoder::new(&data[..]), "gzip", limit).map(Cow::Owned)
        }
        "deflate" => {
            // HTTP's deflate is meant to be zlib-wrapped, but many servers send raw deflate.
            let zlib =
                data.len() >= 2 && data[0] & 0x0f == 8 && ((u16::from(data[0]) << 8) | u16::from(data[1])) % 31 == 0;
            let out = if zlib {
                read_capped(ZlibDecoder::new(&data[..]), "deflate", limit)
            } else {
                read_capped(DeflateDecoder::new(&data[..]), "deflate", limit)
            };
            out.map(Cow::Owned)
        }
        other => Err(RecordError::UnsupportedEncoding(other.to_owned())),
    }
}

fn read_capped(decoder: impl Read, coding: &'static str, limit: u64) -> Result<Vec<u8>, RecordError> {
    let mut out = Vec::new();
    match decoder.take(limit.saturating_add(1)).read_to_end(&mut out) {
        Ok(_) => {}
        // A payload the archive truncated ends mid-stream; what did decode is still the document's
        // start, and read_to_end has kept it.
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(source) => return Err(RecordError::Decode { coding, source }),
    }
    if out.len() as u64 > limit {
        return Err(RecordError::PayloadTooLarge { limit });
    }
    Ok(out)
}

/// Parses a `WARC-Date` (ISO 8601 / W3C-DTF in UTC, e.g. `2024-01-02T03:04:05Z`) into Unix
/// milliseconds.
///
/// Accepts a fraction of a second of any length (WARC 1.1), truncated to the millisecond, and a
/// `+hh:mm` / `-hh:mm` offset besides `Z`. A second of 60 (a leap second) counts as the next
/// minute's first, as Unix time has no leap seconds. Returns `None` for anything else, including a
/// date without a zone (which ISO 8601 reads as local time) and dates that do not exist.
pub fn parse_warc_date(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(i64::from(year), month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }

    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        millis =
            fraction[..len].iter().chain([b'0'; 3].iter()).take(3).fold(0, |acc, c| acc * 10 + i64::from(c - b'0'));
        rest = &fraction[len..];
    }
    let offset_minutes = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };

    let days = days_from_civil(i64::from(year), month, day);
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Formats Unix milliseconds as a `WARC-Date`: `YYYY-MM-DDThh:mm:ssZ`, with `.mmm` before the `Z`
/// when the milliseconds are not zero. `None` outside the years 0000 to 9999.
pub fn format_warc_date(millis: i64) -> Option<String> {
    let seconds = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        return None;
    }
    let in_day = seconds.rem_euclid(86_400);
    let (hour, minute, second) = (in_day / 3600, in_day % 3600 / 60, in_day % 60);
    let fraction = if ms == 0 { String::new() } else { format!(".{ms:03}") };
    Some(format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z"))
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Days since 1970-01-01 in the proleptic Gregorian calendar, and back: Howard Hinnant's
// `days_from_civil` / `civil_from_days`, which shift the year to start in March so that the leap
// day is the year's last and count in 400-year eras of exactly 146 097 days. Exact for any i64 date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// A minimal WARC 1.1 writer, for building fixtures and tests: `warcinfo`, `request`, `response`
/// and `resource` records, optionally gzip-compressed one member per record as archives are.
///
/// Records carry the mandatory fields (`WARC-Type`, `WARC-Record-ID`, `WARC-Date`,
/// `Content-Length`) and a `Content-Type`, but no digests.
pub struct WarcWriter<W: Write> {
    out: W,
    gzip: bool,
    id_seed: u64,
    records: u64,
}

impl<W: Write> WarcWriter<W> {
    /// A writer over `out`; with `gzip`, each record is its own gzip member. Record IDs are
    /// seeded from the clock and process id; use [`WarcWriter::with_id_seed`] for reproducible files.
    pub fn new(out: W, gzip: bool) -> Self {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let id_seed = nanos ^ (u64::from(std::process::id()) << 32);
        WarcWriter { out, gzip, id_seed, records: 0 }
    }

    /// Makes the record IDs a function of `seed` and the record's position, so that the same
    /// calls write the same bytes.
    pub fn with_id_seed(mut self, seed: u64) -> Self {
        self.id_seed = seed;
        self
    }

    /// How many records were written.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Writes a record of any type with `extra` header fields and returns its `WARC-Record-ID`. The
    /// block is given in parts, written one after the other, so that a head and a body need not be
    /// copied together first.
    /// Fails with `InvalidInput` on a date outside the years 0000 to 9999 or a header name or value
    /// that would break the framing (a line break, or a colon in a name).
    pub fn write_record(
        &mut self,
        warc_type: &str,
        date_millis: i64,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
        block: &[&[u8]],
    ) -> io::Result<String> {
        let date = format_warc_date(date_millis).ok_or_else(|| invalid("WARC-Date out of range"))?;
        let id = self.next_record_id();
        let length: usize = block.iter().map(|part| part.len()).sum();
        let length = length.to_string();
        let mut fields: Vec<(&str, &str)> =
            vec![("WARC-Type", warc_type), ("WARC-Record-ID", &id), ("WARC-Date", &date)];
        fields.extend_from_slice(extra);
        if let Some(content_type) = content_type {
            fields.push(("Content-Type", content_type));
        }
        fields.push(("Content-Length", &length));

        let mut head = b"WARC/1.1\r\n".to_vec();
        write_fields(&mut head, &fields)?;
        head.extend_from_slice(b"\r\n");

        let mut parts: Vec<&[u8]> = Vec::with_capacity(block.len() + 2);
        parts.push(&head);
        parts.extend_from_slice(block);
        parts.push(b"\r\n\r\n");
        if self.gzip {
            let mut encoder = GzEncoder::new(&mut self.out, Compression::default());
            for part in &parts {
                encoder.write_all(part)?;
            }
            encoder.finish()?;
        } else {
            for part in &parts {
                self.out.write_all(part)?;
            }
        }
        self.records += 1;
        Ok(id)
    }

    /// Writes a `warcinfo` record describing the file (`fields` such as `software`, `format`).
    pub fn write_warcinfo(
        &mut self,
        date_millis: i64,
        filename: Option<&str>,
        fields: &[(&str, &str)],
    ) -> io::Result<String> {
        let mut block = Vec::new();
        write_fields(&mut block, fields)?;
        let extra: Vec<(&str, &str)> = filename.map(|f| ("WARC-Filename", f)).into_iter().collect();
        self.write_record("warcinfo", date_millis, Some("application/warc-fields"), &extra, &[&block])
    }

    /// Writes a `request` record: a body-less HTTP request for `target_uri` with `headers`.
    pub fn write_request(
        &mut self,
        target_uri: &str,
        date_millis: i64,
        method: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<String> {
        // The request line names the path; the full URI stays in WARC-Target-URI.
        let path = url::Url::parse(target_uri)
            .map(|url| match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            })
            .unwrap_or_else(|_| target_uri.to_owned());
        if !is_token(method) {
            return Err(invalid("HTTP method is not a token"));
        }
        if path.contains(char::is_whitespace) {
            return Err(invalid("request target contains whitespace"));
        }
        let mut head = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
        write_fields(&mut head, headers)?;
        head.extend_from_slice(b"\r\n");
        self.write_record(
            "request",
            date_millis,
            Some("application/http; msgtype=request"),
            &[("WARC-Target-URI", target_uri)],
            &[&head],
        )
    }

    /// Writes a `response` record: an HTTP/1.1 response head with `status` and `headers`, then
    /// `body` as given (encode it and set `Content-Encoding` yourself to test decoding).
    pub fn write_response(
        &mut self,
        target_uri: &str,
        date_millis: i64,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<String> {
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).into_bytes();
        write_fields(&mut head, headers)?;
        head.extend_from_slice(b"\r\n");
        self.write_record(
            "response",
            date_millis,
            Some("application/http; msgtype=response"),
            &[("WARC-Target-URI", target_uri)],
            &[&head, body],
        )
    }

    /// Writes a `resource` record: `body` as a document of `content_type`, without HTTP framing.
    pub fn write_resource(
        &mut self,
        target_uri: &str,
        date_millis: i64,
        content_type: &str,
        body: &[u8],
    ) -> io::Result<String> {
        self.write_record("resource", date_millis, Some(content_type), &[("WARC-Target-URI", target_uri)], &[body])
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// A version-4-shaped UUID from the seed and the record's position (SplitMix64 steps).
    fn next_record_id(&mut self) -> String {
        let mut state = self.id_seed ^ self.records.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let high = splitmix64(&mut state);
        let low = splitmix64(&mut state);
        let high = (high & !0xf000) | 0x4000;
        let low = (low & !(0b11 << 62)) | (0b10 << 62);
        format!(
            "<urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}>",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xffff,
            low >> 48,
            low & 0xffff_ffff_ffff
        )
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn check_field(name: &str, value: &str) -> io::Result<()> {
    if !is_token(name) {
        return Err(invalid("header name is empty or has a space, colon or control character"));
    }
    if value.contains(['\r', '\n']) {
        return Err(invalid("header value contains a line break"));
    }
    Ok(())
}

fn write_fields(out: &mut Vec<u8>, fields: &[(&str, &str)]) -> io::Result<()> {
    for (name, value) in fields {
        check_field(name, value)?;
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    Ok(())
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2024-01-02T03:04:05Z.
    const DATE: i64 = 1_704_164_645_000;
    const HTML: &[u8] = b"<html><body><p>The quick brown fox jumps over the lazy dog.</p></body></html>";

    /// A record as bytes, framed by hand rather than by `WarcWriter`, so that reader tests do not
    /// only check the writer against itself.
    fn raw_record(headers: &[(&str, &str)], block: &[u8]) -> Vec<u8> {
        let mut out = b"WARC/1.0\r\n".to_vec();
        for (name, value) in headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", block.len()).as_bytes());
        out.extend_from_slice(block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    fn resource(id: &str, body: &str) -> Vec<u8> {
        raw_record(
            &[
                ("WARC-Type", "resource"),
                ("WARC-Record-ID", id),
                ("WARC-Date", "2024-01-02T03:04:05Z"),
                ("WARC-Target-URI", "http://example.com/doc"),
                ("Content-Type", "text/plain"),
            ],
            body.as_bytes(),
        )
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).expect("write to a Vec");
        encoder.finish().expect("finish a Vec")
    }

    /// Concatenates records, each as its own gzip member when `gz`, as Common Crawl stores them.
    fn pack(records: &[Vec<u8>], gz: bool) -> Vec<u8> {
        records.iter().flat_map(|r| if gz { gzip(r) } else { r.clone() }).collect()
    }

    fn read_all(bytes: &[u8], config: WarcConfig) -> (Vec<Result<Record, RecordError>>, WarcStats) {
        let mut reader = WarcReader::new(bytes, config).expect("reading from a slice");
        let items: Vec<_> = reader.by_ref().collect();
        assert!(reader.next_record().is_none(), "the reader stays at its end");
        (items, reader.stats())
    }

    /// Each item as its record ID, or `Err` with the error variant's name.
    fn outline(items: &[Result<Record, RecordError>]) -> Vec<Result<String, &'static str>> {
        items
            .iter()
            .map(|item| match item {
                Ok(record) => Ok(record.record_id().unwrap_or("(no id)").to_owned()),
                Err(err) => Err(variant(err)),
            })
            .collect()
    }

    fn variant(err: &RecordError) -> &'static str {
        match err {
            RecordError::Io(_) => "Io",
            RecordError::Truncated { .. } => "Truncated",
            RecordError::NotAVersionLine { .. } => "NotAVersionLine",
            RecordError::MalformedHeader { .. } => "MalformedHeader",
            RecordError::HeaderTooLarge { .. } => "HeaderTooLarge",
            RecordError::BadContentLength { .. } => "BadContentLength",
            RecordError::TooLarge { .. } => "TooLarge",
            RecordError::MalformedHttp(_) => "MalformedHttp",
            RecordError::UnsupportedEncoding(_) => "UnsupportedEncoding",
            RecordError::Decode { .. } => "Decode",
            RecordError::PayloadTooLarge { .. } => "PayloadTooLarge",
        }
    }

    fn ok(id: &str) -> Result<String, &'static str> {
        Ok(id.to_owned())
    }

    /// Hands out one byte per read, to shake out code that assumes a read fills the buffer.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
            let Some(slot) = buf.first_mut() else { return Ok(0) };
            *slot = first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn reads_plain_and_gzip_per_record_files() {
        let records =
            [resource("<urn:a>", "first"), resource("<urn:b>", "second\r\n\r\nline"), resource("<urn:c>", "")];
        for gz in [false, true] {
            let bytes = pack(&records, gz);
            let mut reader = WarcReader::new(&bytes[..], WarcConfig::default()).expect("new");
            assert_eq!(reader.is_gzip(), gz);
            let got: Vec<Record> = reader.by_ref().map(|item| item.expect("a good record")).collect();
            assert_eq!(got.len(), 3, "gzip {gz}");
            let blocks: Vec<&[u8]> = got.iter().map(Record::block).collect();
            assert_eq!(blocks, [&b"first"[..], b"second\r\n\r\nline", b""]);
            for record in &got {
                assert_eq!(record.version(), "1.0");
                assert_eq!(record.warc_type(), Some("resource"));
                assert_eq!(record.target_uri(), Some("http://example.com/doc"));
                assert_eq!(record.date_millis(), Some(DATE));
                assert_eq!(record.content_type(), Some("text/plain"));
            }
            assert_eq!(reader.stats(), WarcStats { records_read: 3, records_skipped: 0 });
        }
    }

    #[test]
    fn short_reads_and_a_whole_file_gzip_stream() {
        let records = [resource("<urn:a>", "first"), resource("<urn:b>", "second")];
        let plain = pack(&records, false);
        // One gzip member for the whole file, as some tools write it, besides one per record.
        for bytes in [plain.clone(), pack(&records, true), gzip(&plain)] {
            let mut reader = WarcReader::new(OneByte(&bytes), WarcConfig::default()).expect("new");
            let ids: Vec<_> = reader.by_ref().map(|r| r.expect("record").record_id().map(str::to_owned)).collect();
            assert_eq!(ids, [Some("<urn:a>".to_owned()), Some("<urn:b>".to_owned())]);
        }
    }

    #[test]
    fn tolerates_sloppy_framing() {
        let mut bytes = b"\r\n\n".to_vec();
        // LF-only line ends, a folded header, angle brackets around the URI, no trailer.
        bytes.extend_from_slice(
            b"WARC/1.1\nWARC-Type: resource\nWARC-Record-ID: <urn:a>\nWARC-Target-URI: <http://a.example/>\n\
              X-Note: first part\n\tsecond part\ncontent-length: 3\n\nabc",
        );
        bytes.extend_from_slice(&resource("<urn:b>", "b"));
        bytes.extend_from_slice(b"\r\n\r\n\r\n");
        let (items, stats) = read_all(&bytes, WarcConfig::default());
        assert_eq!(outline(&items), [ok("<urn:a>"), ok("<urn:b>")]);
        let first = items[0].as_ref().expect("first record");
        assert_eq!(first.version(), "1.1");
        assert_eq!(first.target_uri(), Some("http://a.example/"));
        assert_eq!(first.header("x-note"), Some("first part second part"));
        assert_eq!(first.block(), b"abc");
        assert_eq!(stats, WarcStats { records_read: 2, records_skipped: 0 });
    }

    #[test]
    fn a_damaged_record_is_skipped_and_reading_goes_on() {
        type Damage = fn(&[u8]) -> Vec<u8>;
        type Outline = &'static [Result<&'static str, &'static str>];
        fn replace(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
            let text = String::from_utf8(bytes.to_vec()).expect("test records are text");
            assert!(text.contains(from), "{from:?} not in the record");
            text.replacen(from, to, 1).into_bytes()
        }
        let cases: [(&str, Damage, Outline); 7] = [
            (
                "header line without a colon",
                |r| replace(r, "WARC-Type:", "this line has no colon\r\nWARC-Type:"),
                &[Ok("<urn:a>"), Err("MalformedHeader"), Ok("<urn:c>"), Ok("<urn:d>")],
            ),
            (
                "non-numeric Content-Length",
                |r| replace(r, "Content-Length: ", "Content-Length: x"),
                &[Ok("<urn:a>"), Err("BadContentLength"), Ok("<urn:c>"), Ok("<urn:d>")],
            ),
            (
                "missing Content-Length",
                |r| replace(r, "Content-Length: ", "Content-Lenght: "),
                &[Ok("<urn:a>"), Err("BadContentLength"), Ok("<urn:c>"), Ok("<urn:d>")],
            ),
            (
                "bad version line",
                |r| replace(r, "WARC/1.0", "WARC/9.9"),
                &[Ok("<urn:a>"), Err("NotAVersionLine"), Ok("<urn:c>"), Ok("<urn:d>")],
            ),
            (
                "continuation line first",
                |r| replace(r, "WARC/1.0\r\n", "WARC/1.0\r\n  folded onto nothing\r\n"),
                &[Ok("<urn:a>"), Err("MalformedHeader"), Ok("<urn:c>"), Ok("<urn:d>")],
            ),
            (
                "binary junk before the record",
                |r| [&b"\x00\xff\xfe junk without newline \x01\x02"[..], &[0u8; 3000], b"\nmore junk\n", r].concat(),
                &[Ok("<urn:a>"), Err("NotAVersionLine"), Ok("<urn:b>"), Ok("<urn:c>"), Ok("<urn:d>")],
            ),
            (
                // The short block is returned as it stands (nothing can tell it is short); its tail
                // then fails as a version line and is skipped.
                "Content-Length shorter than the block",
                |r| replace(r, "Content-Length: 46", "Content-Length: 10"),
                &[Ok("<urn:a>"), Ok("<urn:b>"), Err("NotAVersionLine"), Ok("<urn:c>"), Ok("<urn:d>")],
            ),
        ];
        // The damaged record's block has lines of its own that the resync must pass over.
        let block = "line one\r\nWARC/2.0 is not a record\r\nline three";
        assert_eq!(block.len(), 46, "the short-Content-Length case names this length");
        for (name, damage, expected) in cases {
            let records = [
                resource("<urn:a>", "a"),
                damage(&resource("<urn:b>", block)),
                resource("<urn:c>", "c"),
                resource("<urn:d>", "d"),
            ];
            for gz in [false, true] {
                let (items, stats) = read_all(&pack(&records, gz), WarcConfig::default());
                let expected: Vec<_> = expected.iter().map(|e| e.map(str::to_owned)).collect();
                assert_eq!(outline(&items), expected, "{name}, gzip {gz}");
                let skipped = expected.iter().filter(|e| e.is_err()).count() as u64;
                assert_eq!(stats.records_skipped, skipped, "{name}, gzip {gz}");
                assert_eq!(stats.records_read, expected.len() as u64 - skipped, "{name}, gzip {gz}");
            }
        }
    }

    #[test]
    fn an_oversize_header_section_is_skipped() {
        let long = "x".repeat(1000);
        let big = raw_record(&[("WARC-Type", "resource"), ("WARC-Record-ID", "<urn:b>"), ("X-Long", &long)], b"b");
        let bytes = [resource("<urn:a>", "a"), big, resource("<urn:c>", "c")].concat();
        let config = WarcConfig { max_header_bytes: 512, ..WarcConfig::default() };
        let (items, stats) = read_all(&bytes, config);
        assert_eq!(outline(&items), [ok("<urn:a>"), Err("HeaderTooLarge"), ok("<urn:c>")]);
        assert_eq!(stats, WarcStats { records_read: 2, records_skipped: 1 });
    }

    #[test]
    fn a_truncated_tail_gives_one_error_then_the_end() {
        let records = [resource("<urn:a>", "a"), resource("<urn:b>", "b"), resource("<urn:c>", "the last block")];
        let plain = pack(&records, false);
        let last_start = plain.len() - records[2].len();
        let block_start = last_start + records[2].windows(4).position(|w| w == b"\r\n\r\n").expect("header end") + 4;
        let cases = [
            ("inside the version line", last_start + 4, Err("Truncated")),
            ("inside a header line", last_start + 20, Err("Truncated")),
            ("at the end of the header", block_start - 1, Err("Truncated")),
            ("inside the block", block_start + 3, Err("Truncated")),
            // Only the CRLF CRLF trailer is missing: the record itself is whole.
            ("inside the trailer", plain.len() - 3, ok("<urn:c>")),
        ];
        for (name, cut, last) in cases {
            let (items, stats) = read_all(&plain[..cut], WarcConfig::default());
            assert_eq!(outline(&items), [ok("<urn:a>"), ok("<urn:b>"), last], "{name}");
            assert_eq!(stats.records_read + stats.records_skipped, 3, "{name}");
        }

        // In a gzip file the cut is in the last member's compressed bytes; how much of that member
        // still decompresses depends on the cut, so the last record may or may not come out whole.
        let head = pack(&records[..2], true);
        let last = gzip(&records[2]);
        for cut in [1, 10, last.len() / 2, last.len() - 8, last.len() - 1] {
            let bytes = [&head[..], &last[..cut]].concat();
            let (items, stats) = read_all(&bytes, WarcConfig::default());
            let got = outline(&items);
            assert_eq!(got[..2], [ok("<urn:a>"), ok("<urn:b>")], "cut {cut}");
            assert!(matches!(got.last(), Some(Err("Io" | "Truncated"))), "cut {cut}: {got:?}");
            assert!(got.len() == 3 || (got.len() == 4 && got[2] == ok("<urn:c>")), "cut {cut}: {got:?}");
            assert_eq!(stats.records_skipped, 1, "cut {cut}");
        }
    }

    #[test]
    fn oversize_blocks_are_skipped_at_the_cap_boundary() {
        let config = WarcConfig { max_block_bytes: 100, ..WarcConfig::default() };
        for gz in [false, true] {
            let records = [
                resource("<urn:a>", &"a".repeat(100)),
                resource("<urn:b>", &"b".repeat(101)),
                resource("<urn:c>", "c"),
            ];
            let (items, stats) = read_all(&pack(&records, gz), config);
            assert_eq!(outline(&items), [ok("<urn:a>"), Err("TooLarge"), ok("<urn:c>")], "gzip {gz}");
            assert!(matches!(
                &items[1],
                Err(RecordError::TooLarge { length: 101, limit: 100, target_uri: Some(uri) }) if uri == "http://example.com/doc"
            ));
            assert_eq!(stats, WarcStats { records_read: 2, records_skipped: 1 }, "gzip {gz}");
        }
    }

    /// A WARC stream whose one record claims a block of `filler` bytes that are produced on demand,
    /// followed by an ordinary record.
    struct HugeRecord {
        head: io::Cursor<Vec<u8>>,
        filler: u64,
        tail: io::Cursor<Vec<u8>>,
    }

    impl Read for HugeRecord {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.head.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.filler > 0 {
                // The bytes are whatever the buffer held: only their count matters to a skip.
                let n = usize::try_from(self.filler).map_or(buf.len(), |f| f.min(buf.len()));
                self.filler -= n as u64;
                return Ok(n);
            }
            self.tail.read(buf)
        }
    }

    #[test]
    fn an_oversize_record_is_read_past_not_loaded() {
        // 64 GiB: loading it would fail on any machine this runs on, and skipping it must not
        // take more than a moment.
        let length: u64 = 64 << 30;
        let mut head = b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:huge>\r\n".to_vec();
        head.extend_from_slice(format!("Content-Length: {length}\r\n\r\n").as_bytes());
        let mut tail = b"\r\n\r\n".to_vec();
        tail.extend_from_slice(&resource("<urn:next>", "small"));
        let input = HugeRecord { head: io::Cursor::new(head), filler: length, tail: io::Cursor::new(tail) };

        let mut reader = WarcReader::new(input, WarcConfig::default()).expect("new");
        let first = reader.next_record().expect("an item");
        assert!(
            matches!(first, Err(RecordError::TooLarge { length: l, limit: DEFAULT_MAX_BLOCK_BYTES, .. }) if l == length)
        );
        let second = reader.next_record().expect("an item").expect("the next record");
        assert_eq!(second.block(), b"small");
        assert!(reader.next_record().is_none());
        assert_eq!(reader.stats(), WarcStats { records_read: 1, records_skipped: 1 });
    }

    #[test]
    fn a_damaged_gzip_member_costs_its_record_only() {
        let records: Vec<Vec<u8>> =
            (0..4).map(|i| resource(&format!("<urn:{i}>"), &format!("block {i} ").repeat(40))).collect();
        let members: Vec<Vec<u8>> = records.iter().map(|r| gzip(r)).collect();
        // (what is done to member 1 in its compressed bytes, whether its record still comes out, error
        // items)
        type Damage = fn(&mut Vec<u8>);
        let cases: [(&str, Damage, bool, u64); 4] = [
            (
                "deflate data overwritten",
                |m| {
                    let n = m.len();
                    m[12..n / 2].fill(0xff);
                },
                false,
                1,
            ),
            ("header magic destroyed", |m| m[..3].fill(0), false, 1),
            // The block is whole before the trailer's CRC is checked: the record is read, and the
            // mismatch is one error item after it.
            (
                "checksum wrong",
                |m| {
                    let n = m.len();
                    m[n - 6] ^= 0x55;
                },
                true,
                1,
            ),
            // The inflater runs on into member 2's bytes: the search for the next member starts back
            // at member 1's start, so member 2 is not lost with it. What did inflate of member 1 is
            // a record cut off in its header (one error item), then the damage (another).
            ("member cut short", |m| m.truncate(m.len() / 2), false, 2),
        ];
        for (name, damage, survives, errors) in cases {
            let mut damaged = members.clone();
            damage(&mut damaged[1]);
            let bytes = damaged.concat();
            let (items, stats) = read_all(&bytes, WarcConfig::default());
            let got = outline(&items);
            let read: Vec<_> = got.iter().filter(|g| g.is_ok()).cloned().collect();
            let mut want = vec![ok("<urn:0>"), ok("<urn:2>"), ok("<urn:3>")];
            if survives {
                want.insert(1, ok("<urn:1>"));
            }
            assert_eq!(read, want, "{name}: {got:?}");
            assert_eq!(stats.records_skipped, errors, "{name}: {got:?}");
            assert!(got.contains(&Err("Io")), "{name}: {got:?}");
        }
    }

    #[test]
    fn an_oversize_record_cut_short_is_truncated() {
        let record = resource("<urn:a>", &"a".repeat(200));
        let config = WarcConfig { max_block_bytes: 100, ..WarcConfig::default() };
        let (items, _) = read_all(&record[..record.len() - 50], config);
        assert_eq!(outline(&items), [Err("Truncated")]);
    }

    fn response_payload(
        headers: &[(&str, &str)],
        body: &[u8],
        config: WarcConfig,
    ) -> Result<(u16, Vec<u8>), RecordError> {
        let mut writer = WarcWriter::new(Vec::new(), false);
        writer.write_response("http://example.com/", DATE, 200, headers, body).expect("write");
        let bytes = writer.into_inner().expect("flush");
        let record = WarcReader::new(&bytes[..], config).expect("new").next_record().expect("item").expect("record");
        let payload = record.payload()?.expect("a response has a payload");
        Ok((payload.http_status.expect("status"), payload.body.into_owned()))
    }

    #[test]
    fn http_payloads_are_decoded() {
        let gz = gzip(HTML);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Compression::fast());
        zlib.write_all(HTML).expect("write");
        let zlib = zlib.finish().expect("finish");
        let mut raw_deflate = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        raw_deflate.write_all(HTML).expect("write");
        let raw_deflate = raw_deflate.finish().expect("finish");
        let (gz_a, gz_b) = gz.split_at(gz.len() / 3);
        let chunked_gz = [
            format!("{:x}\r\n", gz_a.len()).as_bytes(),
            gz_a,
            format!("\r\n{:X};name=value\r\n", gz_b.len()).as_bytes(),
            gz_b,
            b"\r\n0\r\nTrailer: x\r\n\r\n",
        ]
        .concat();
        let mut corrupt_gz = gz.clone();
        corrupt_gz[12..30].fill(0xff);

        type Headers = &'static [(&'static str, &'static str)];
        type Want = Result<&'static [u8], &'static str>;
        let chunked: Headers = &[("Transfer-Encoding", "chunked")];
        let cases: Vec<(&str, Headers, Vec<u8>, Want)> = vec![
            ("identity", &[("Content-Type", "text/html")], HTML.to_vec(), Ok(HTML)),
            ("chunked", chunked, b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".to_vec(), Ok(b"hello world")),
            ("chunked with LF only, no last chunk", chunked, b"5\nhello\n6\n world\n".to_vec(), Ok(b"hello world")),
            ("chunked, empty", chunked, b"0\r\n\r\n".to_vec(), Ok(b"")),
            ("gzip", &[("Content-Encoding", "gzip")], gz.clone(), Ok(HTML)),
            ("x-gzip", &[("Content-Encoding", "x-gzip")], gz.clone(), Ok(HTML)),
            ("gzip twice", &[("Content-Encoding", "gzip, gzip")], gzip(&gz), Ok(HTML)),
            (
                "chunked and gzip",
                &[("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")],
                chunked_gz.clone(),
                Ok(HTML),
            ),
            (
                "header names in any case",
                &[("transfer-ENCODING", "Chunked"), ("CONTENT-encoding", "GZip")],
                chunked_gz,
                Ok(HTML),
            ),
            ("deflate, zlib-wrapped", &[("Content-Encoding", "deflate")], zlib, Ok(HTML)),
            ("deflate, raw", &[("Content-Encoding", "deflate")], raw_deflate, Ok(HTML)),
            ("identity coding named", &[("Content-Encoding", "identity")], HTML.to_vec(), Ok(HTML)),
            // Common Crawl decodes the payload and renames the headers; nothing is left to undo.
            (
                "renamed by the crawler",
                &[("X-Crawler-Transfer-Encoding", "chunked"), ("X-Crawler-Content-Encoding", "gzip")],
                HTML.to_vec(),
                Ok(HTML),
            ),
            ("gzip header on a decoded body", &[("Content-Encoding", "gzip")], HTML.to_vec(), Ok(HTML)),
            ("chunked header on an unchunked body", chunked, HTML.to_vec(), Ok(HTML)),
            (
                "truncated gzip keeps what decoded",
                &[("Content-Encoding", "gzip")],
                gz[..gz.len() - 8].to_vec(),
                Ok(HTML),
            ),
            ("brotli", &[("Content-Encoding", "br")], b"\x0b\x02\x80hi\x03".to_vec(), Err("UnsupportedEncoding")),
            ("corrupt gzip", &[("Content-Encoding", "gzip")], corrupt_gz, Err("Decode")),
        ];
        for (name, headers, body, expected) in cases {
            let got = response_payload(headers, &body, WarcConfig::default());
            match (got, expected) {
                (Ok((status, body)), Ok(want)) => {
                    assert_eq!(status, 200, "{name}");
                    assert_eq!(body, want, "{name}: {:?}", String::from_utf8_lossy(&body));
                }
                (Err(err), Err(want)) => assert_eq!(variant(&err), want, "{name}: {err}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_truncated_gzip_payload_decodes_as_far_as_it_goes() {
        let text: Vec<u8> = (0..20_000u32).flat_map(|i| format!("word{i} ").into_bytes()).collect();
        let gz = gzip(&text);
        let (_, body) = response_payload(&[("Content-Encoding", "gzip")], &gz[..gz.len() / 2], WarcConfig::default())
            .expect("payload");
        assert!(!body.is_empty() && body.len() < text.len(), "{} of {} bytes", body.len(), text.len());
        assert!(text.starts_with(&body));
    }

    #[test]
    fn decoded_payloads_are_capped() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        let config = WarcConfig { max_block_bytes: 64 * 1024, ..WarcConfig::default() };
        assert!(bomb.len() < 64 * 1024);
        let err = response_payload(&[("Content-Encoding", "gzip")], &bomb, config).expect_err("over the cap");
        assert!(matches!(err, RecordError::PayloadTooLarge { limit: 65_536 }), "{err}");
    }

    #[test]
    fn payloads_by_record_type() {
        let mut writer = WarcWriter::new(Vec::new(), true).with_id_seed(7);
        writer.write_warcinfo(DATE, Some("test.warc.gz"), &[("software", "seal")]).expect("warcinfo");
        writer.write_request("http://example.com/a?b=c", DATE, "GET", &[("Host", "example.com")]).expect("request");
        writer
            .write_response("http://example.com/a?b=c", DATE, 404, &[("Content-Type", "text/html")], HTML)
            .expect("response");
        writer.write_resource("http://example.com/i.png", DATE, "image/png", b"\x89PNG").expect("resource");
        writer.write_record("metadata", DATE, Some("application/warc-fields"), &[], &[b"a: b\r\n"]).expect("metadata");
        assert_eq!(writer.records_written(), 5);
        let bytes = writer.into_inner().expect("flush");

        let (items, stats) = read_all(&bytes, WarcConfig::default());
        assert_eq!(stats, WarcStats { records_read: 5, records_skipped: 0 });
        let records: Vec<Record> = items.into_iter().map(|r| r.expect("record")).collect();
        let types: Vec<_> = records.iter().map(|r| r.warc_type().unwrap_or("")).collect();
        assert_eq!(types, ["warcinfo", "request", "response", "resource", "metadata"]);

        for index in [0, 1, 4] {
            assert_eq!(records[index].payload().expect("no error"), None, "{:?}", records[index].warc_type());
        }
        assert!(records[1].block().starts_with(b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n"));
        let response = records[2].payload().expect("decodes").expect("a payload");
        assert_eq!(response.http_status, Some(404));
        assert_eq!(response.content_type.as_deref(), Some("text/html"));
        assert_eq!(response.http_header("content-type"), Some("text/html"));
        assert!(matches!(response.body, Cow::Borrowed(_)), "an undecoded body is not copied");
        assert_eq!(&response.body[..], HTML);
        let image = records[3].payload().expect("decodes").expect("a payload");
        assert_eq!(
            (image.http_status, image.content_type.as_deref(), &image.body[..]),
            (None, Some("image/png"), &b"\x89PNG"[..])
        );
    }

    #[test]
    fn malformed_http_responses_are_payload_errors() {
        for block in [&b""[..], b"not http\r\n\r\nbody", b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 OK\r\n\r\n"] {
            let bytes =
                raw_record(&[("WARC-Type", "response"), ("Content-Type", "application/http; msgtype=response")], block);
            let record = WarcReader::new(&bytes[..], WarcConfig::default()).expect("new").next_record().expect("item");
            let err = record.expect("the record itself is fine").payload().expect_err("not an HTTP response");
            assert_eq!(variant(&err), "MalformedHttp", "{:?}", String::from_utf8_lossy(block));
        }
        // A head cut before its blank line is a head with an empty body.
        let bytes = raw_record(
            &[("WARC-Type", "response"), ("Content-Type", "application/http;msgtype=response")],
            b"HTTP/1.0 301\r\nLocation: /x",
        );
        let record = WarcReader::new(&bytes[..], WarcConfig::default()).expect("new").next_record().expect("item");
        let record = record.expect("record");
        let payload = record.payload().expect("parses").expect("payload");
        assert_eq!(
            (payload.http_status, payload.http_header("location"), payload.body.len()),
            (Some(301), Some("/x"), 0)
        );
    }

    #[test]
    fn reads_an_archive_written_by_warcio() {
        // See testdata/make_warcio_sample.py.
        let gz: &[u8] = include_bytes!("../testdata/warcio-sample.warc.gz");
        let mut plain = Vec::new();
        MultiGzDecoder::new(gz).read_to_end(&mut plain).expect("the fixture decompresses");
        for bytes in [gz, &plain[..]] {
            let (items, stats) = read_all(bytes, WarcConfig::default());
            assert_eq!(stats, WarcStats { records_read: 6, records_skipped: 0 });
            let records: Vec<Record> = items.into_iter().map(|r| r.expect("record")).collect();
            let types: Vec<_> = records.iter().map(|r| r.warc_type().unwrap_or("")).collect();
            assert_eq!(types, ["warcinfo", "request", "response", "response", "resource", "metadata"]);
            assert!(records.iter().all(|r| r.record_id().is_some_and(|id| id.starts_with("<urn:uuid:"))));
            assert!(records.iter().all(|r| r.date_millis().is_some()));
            assert_eq!(records[1].date_millis(), Some(DATE));
            assert_eq!(records[2].date_millis(), Some(DATE + 123));

            let page = records[2].payload().expect("decodes").expect("payload");
            assert_eq!(page.http_status, Some(200));
            assert!(is_html(page.content_type.as_deref().unwrap_or("")));
            assert!(
                page.body.starts_with(b"<html>") && page.body.ends_with(b"</html>"),
                "{:?}",
                String::from_utf8_lossy(&page.body)
            );
            let missing = records[3].payload().expect("decodes").expect("payload");
            assert_eq!(missing.http_status, Some(404));
            assert_eq!(missing.body, page.body, "the renamed coding is left alone");
            let image = records[4].payload().expect("decodes").expect("payload");
            assert!(is_image(image.content_type.as_deref().unwrap_or("")));
            assert!(image.body.starts_with(b"\x89PNG"));
        }
    }

    #[test]
    fn warc_dates() {
        let cases: [(&str, Option<i64>); 26] = [
            ("2024-01-02T03:04:05Z", Some(DATE)),
            ("  2024-01-02T03:04:05Z\t", Some(DATE)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("1969-12-31T23:59:59Z", Some(-1000)),
            ("2024-02-29T23:59:59Z", Some(1_709_251_199_000)),
            ("2000-02-29T00:00:00Z", Some(951_782_400_000)),
            ("2038-01-19T03:14:08Z", Some(2_147_483_648_000)),
            ("0001-01-01T00:00:00Z", Some(-62_135_596_800_000)),
            ("9999-12-31T23:59:59Z", Some(253_402_300_799_000)),
            ("2024-01-02T03:04:05.1Z", Some(DATE + 100)),
            ("2024-01-02T03:04:05.123Z", Some(DATE + 123)),
            ("2024-01-02T03:04:05.123999999Z", Some(DATE + 123)),
            ("2024-01-02T04:04:05+01:00", Some(DATE)),
            ("2024-01-01T23:34:05-03:30", Some(DATE)),
            ("2016-12-31T23:59:60Z", Some(1_483_228_800_000)),
            ("2023-02-29T00:00:00Z", None),
            ("1900-02-29T00:00:00Z", None),
            ("2024-04-31T00:00:00Z", None),
            ("2024-13-01T00:00:00Z", None),
            ("2024-00-10T00:00:00Z", None),
            ("2024-01-02T24:00:00Z", None),
            ("2024-01-02T03:04:05", None),
            ("2024-01-02T03:04:05.Z", None),
            ("2024-01-02 03:04:05Z", None),
            ("Tue, 02 Jan 2024 03:04:05 GMT", None),
            ("2024-01-02T03:04:05Zjunk", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_warc_date(text), want, "{text}");
        }
        assert_eq!(format_warc_date(DATE).as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(format_warc_date(DATE + 7).as_deref(), Some("2024-01-02T03:04:05.007Z"));
        assert_eq!(format_warc_date(-1).as_deref(), Some("1969-12-31T23:59:59.999Z"));
        assert_eq!(format_warc_date(253_402_300_800_000), None, "year 10000");
    }

    #[test]
    fn content_type_classes() {
        let cases = [
            ("text/html", true, false),
            ("Text/HTML; charset=UTF-8", true, false),
            ("application/xhtml+xml", true, false),
            ("text/plain", false, false),
            ("image/jpeg", false, true),
            (" IMAGE/PNG ;q=1", false, true),
            ("image/webp", false, true),
            ("image/svg+xml", false, false),
            ("image/", false, false),
            ("", false, false),
        ];
        for (content_type, html, image) in cases {
            assert_eq!((is_html(content_type), is_image(content_type)), (html, image), "{content_type:?}");
        }
    }

    #[test]
    fn the_writer_refuses_what_would_break_the_framing() {
        let mut writer = WarcWriter::new(Vec::new(), false);
        let bad: [&[(&str, &str)]; 4] =
            [&[("X-Evil", "a\r\nWARC-Type: forged")], &[("X Bad", "v")], &[("", "v")], &[("X:Bad", "v")]];
        for headers in bad {
            let err = writer.write_response("http://example.com/", DATE, 200, headers, b"").expect_err("refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{headers:?}");
        }
        assert!(writer.write_request("http://example.com/", DATE, "GET X", &[]).is_err());
        assert!(writer.write_resource("http://example.com/", 253_402_300_800_000, "text/plain", b"").is_err());
        assert_eq!(writer.records_written(), 0);
        assert!(writer.into_inner().expect("flush").is_empty(), "nothing half-written");
    }

    #[test]
    fn record_ids_are_distinct_and_reproducible() {
        let ids = |seed| {
            let mut writer = WarcWriter::new(Vec::new(), false).with_id_seed(seed);
            (0..50).map(|_| writer.write_resource("u:", DATE, "text/plain", b"").expect("write")).collect::<Vec<_>>()
        };
        let first = ids(1);
        assert_eq!(first, ids(1));
        assert_ne!(first, ids(2));
        let unique: std::collections::HashSet<_> = first.iter().collect();
        assert_eq!(unique.len(), first.len());
        assert!(first.iter().all(|id| id.len() == "<urn:uuid:>".len() + 36 && id.as_bytes()[24] == b'4'), "{first:?}");
    }

    #[derive(Debug, Clone)]
    enum Spec {
        Info(String),
        Request(String),
        Response(String, u16, Vec<u8>),
        Resource(String, Vec<u8>),
    }

    fn spec() -> impl Strategy<Value = (Spec, i64)> {
        let uri = "http://[a-z]{1,8}\\.example/[a-z0-9/]{0,16}";
        let body = proptest::collection::vec(any::<u8>(), 0..600);
        let record = prop_oneof![
            "[a-z]{1,12}".prop_map(Spec::Info),
            uri.prop_map(Spec::Request),
            (uri, 100u16..600, body.clone()).prop_map(|(u, s, b)| Spec::Response(u, s, b)),
            (uri, body).prop_map(|(u, b)| Spec::Resource(u, b)),
        ];
        (record, -62_167_219_200_000i64..253_402_300_800_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn dates_round_trip(millis in -62_167_219_200_000i64..253_402_300_800_000) {
            let text = format_warc_date(millis).expect("in range");
            prop_assert_eq!(parse_warc_date(&text), Some(millis), "{}", text);
        }

        #[test]
        fn writer_output_reads_back(specs in proptest::collection::vec(spec(), 1..8), gz in any::<bool>()) {
            let mut writer = WarcWriter::new(Vec::new(), gz);
            let mut ids = Vec::new();
            for (spec, date) in &specs {
                let id = match spec {
                    Spec::Info(software) => writer.write_warcinfo(*date, None, &[("software", software)]),
                    Spec::Request(uri) => writer.write_request(uri, *date, "GET", &[("Accept", "*/*")]),
                    Spec::Response(uri, status, body) => writer.write_response(uri, *date, *status, &[("Content-Type", "image/png")], body),
                    Spec::Resource(uri, body) => writer.write_resource(uri, *date, "text/html", body),
                };
                ids.push(id.expect("write"));
            }
            let bytes = writer.into_inner().expect("flush");
            let (items, stats) = read_all(&bytes, WarcConfig::default());
            prop_assert_eq!(stats, WarcStats { records_read: specs.len() as u64, records_skipped: 0 });
            for ((item, (spec, date)), id) in items.iter().zip(&specs).zip(&ids) {
                let record = item.as_ref().expect("record");
                prop_assert_eq!(record.record_id(), Some(id.as_str()));
                prop_assert_eq!(record.date_millis(), Some(*date));
                let payload = record.payload().expect("decodes");
                match spec {
                    Spec::Info(_) | Spec::Request(_) => prop_assert_eq!(payload, None),
                    Spec::Response(uri, status, body) => {
                        prop_assert_eq!(record.target_uri(), Some(uri.as_str()));
                        let payload = payload.expect("payload");
                        prop_assert_eq!(payload.http_status, Some(*status));
                        prop_assert_eq!(payload.content_type.as_deref(), Some("image/png"));
                        prop_assert_eq!(&payload.body[..], &body[..]);
                    }
                    Spec::Resource(uri, body) => {
                        prop_assert_eq!(record.target_uri(), Some(uri.as_str()));
                        prop_assert_eq!(&payload.expect("payload").body[..], &body[..]);
                    }
                }
            }
        }
    }
}
