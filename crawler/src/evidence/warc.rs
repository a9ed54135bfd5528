//! The capture as a WARC/1.1 file and its CDXJ index.
//!
//! [`crate::warc::WarcWriter`] writes fixtures for the reader's tests; evidence needs more than it
//! gives: random record ids (an id derived from a clock seed could be predicted and collide across
//! captures), `WARC-Block-Digest` and `WARC-Payload-Digest` so each record can be checked on its own,
//! `WARC-IP-Address`, `WARC-Concurrent-To` between a request and its response, raw header bytes, and
//! the offset and length of every gzip member for the index a replay tool looks records up in. So the
//! framing is written here, in a few dozen lines, and read back by that reader in the tests.
//!
//! Records are each their own gzip member (what `.warc.gz` means to every tool). For each exchange
//! the response record comes first and the request record follows with `WARC-Concurrent-To` naming
//! the response, the order webrecorder's tools write. Digests are `sha256:<hex>`, which WARC 1.1
//! allows and the WACZ manifest uses too.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use url::Url;

use super::{Capture, CaptureError, Exchange};
use crate::warc::format_warc_date;

/// The name of the WARC file inside a WACZ.
pub(crate) const WARC_NAME: &str = "data.warc.gz";

/// A written WARC file and what packaging needs from it.
pub(crate) struct WarcBuild {
    /// The `.warc.gz` bytes.
    pub(crate) bytes: Vec<u8>,
    /// CDXJ lines for the response records, sorted, each ending in a newline.
    pub(crate) cdxj: String,
    /// The `WARC-Date` of the page's response record.
    pub(crate) page_date: String,
}

/// Writes `capture` as a gzip-compressed WARC/1.1 file: a `warcinfo` record naming `software`, then
/// a response and a request record per exchange (see the module docs).
pub fn write_warc(capture: &Capture, software: &str) -> Result<Vec<u8>, CaptureError> {
    build(capture, software).map(|b| b.bytes)
}

pub(crate) fn build(capture: &Capture, software: &str) -> Result<WarcBuild, CaptureError> {
    let mut out = Vec::new();
    let warcinfo_id = record_id()?;
    let mut info = vec![
        ("software".to_owned(), software.to_owned()),
        ("format".to_owned(), "WARC File Format 1.1".to_owned()),
        (
            "conformsTo".to_owned(),
            "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/".to_owned(),
        ),
        ("description".to_owned(), format!("Evidence capture of {}", capture.requested_url)),
    ];
    if let Some((_, agent)) = capture.page.request_headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("user-agent")) {
        info.push(("http-header-user-agent".to_owned(), agent.clone()));
    }
    for failure in &capture.failures {
        info.push(("resource-not-captured".to_owned(), format!("{} ({})", failure.url, failure.reason)));
    }
    let mut info_block = Vec::new();
    for (name, value) in &info {
        push_field(&mut info_block, name, value.as_bytes());
    }
    let date = warc_date(capture.started_ms)?;
    write_record(
        &mut out,
        &[
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", &warcinfo_id),
            ("WARC-Date", &date),
            ("WARC-Filename", WARC_NAME),
        ],
        "application/warc-fields",
        &[&info_block],
        None,
    )?;

    let mut cdxj = Vec::new();
    let mut page_date = String::new();
    for exchange in capture.exchanges() {
        let date = warc_date(exchange.fetched_ms)?;
        if std::ptr::eq(exchange, &capture.page) {
            page_date.clone_from(&date);
        }
        let response_id = record_id()?;
        let request_id = record_id()?;
        let target = exchange.url.as_str();
        let ip = exchange.remote_addr.map(|ip| ip.to_string());

        let head = response_head(exchange);
        let payload_digest = sha256_label(&exchange.body);
        let mut fields: Vec<(&str, &str)> = vec![
            ("WARC-Type", "response"),
            ("WARC-Record-ID", &response_id),
            ("WARC-Date", &date),
            ("WARC-Target-URI", target),
        ];
        if let Some(ip) = &ip {
            fields.push(("WARC-IP-Address", ip));
        }
        fields.push(("WARC-Warcinfo-ID", &warcinfo_id));
        fields.push(("WARC-Concurrent-To", &request_id));
        let (offset, length, member_digest) = write_record(
            &mut out,
            &fields,
            "application/http;msgtype=response",
            &[&head, &exchange.body],
            Some(&payload_digest),
        )?;
        cdxj.push(cdxj_line(exchange, &date, &payload_digest, offset, length, &member_digest)?);

        let request = request_head(exchange);
        let mut fields: Vec<(&str, &str)> = vec![
            ("WARC-Type", "request"),
            ("WARC-Record-ID", &request_id),
            ("WARC-Date", &date),
            ("WARC-Target-URI", target),
        ];
        if let Some(ip) = &ip {
            fields.push(("WARC-IP-Address", ip));
        }
        fields.push(("WARC-Warcinfo-ID", &warcinfo_id));
        fields.push(("WARC-Concurrent-To", &response_id));
        write_record(&mut out, &fields, "application/http;msgtype=request", &[&request], None)?;
    }
    if let Some(shot) = &capture.screenshot {
        let date = warc_date(shot.taken_ms)?;
        let id = record_id()?;
        let target = format!("urn:screenshot:{}", capture.page.url);
        let fields: Vec<(&str, &str)> = vec![
            ("WARC-Type", "resource"),
            ("WARC-Record-ID", &id),
            ("WARC-Date", &date),
            ("WARC-Target-URI", &target),
            ("WARC-Warcinfo-ID", &warcinfo_id),
        ];
        write_record(&mut out, &fields, "image/png", &[&shot.png], None)?;
    }
    cdxj.sort();
    Ok(WarcBuild { bytes: out, cdxj: cdxj.concat(), page_date })
}

/// A random (version 4) UUID as a WARC record id, `<urn:uuid:...>`.
fn record_id() -> Result<String, CaptureError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| CaptureError::Random(e.to_string()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("<urn:uuid:{}-{}-{}-{}-{}>", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

fn warc_date(millis: i64) -> Result<String, CaptureError> {
    format_warc_date(millis).ok_or_else(|| CaptureError::Write("a date outside the years 0000 to 9999".to_owned()))
}

pub(crate) fn sha256_label(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes one record as its own gzip member and returns the member's offset, length and
/// `sha256:` digest (the CDXJ `recordDigest`). `WARC-Block-Digest`, `WARC-Payload-Digest` (when
/// given), `Content-Type` and `Content-Length` are added after `fields`.
fn write_record(
    out: &mut Vec<u8>,
    fields: &[(&str, &str)],
    content_type: &str,
    block: &[&[u8]],
    payload_digest: Option<&str>,
) -> Result<(u64, u64, String), CaptureError> {
    let mut hasher = Sha256::new();
    for part in block {
        hasher.update(part);
    }
    let block_digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    let length: usize = block.iter().map(|p| p.len()).sum();

    let mut head = b"WARC/1.1\r\n".to_vec();
    for (name, value) in fields {
        push_field(&mut head, name, value.as_bytes());
    }
    push_field(&mut head, "WARC-Block-Digest", block_digest.as_bytes());
    if let Some(digest) = payload_digest {
        push_field(&mut head, "WARC-Payload-Digest", digest.as_bytes());
    }
    push_field(&mut head, "Content-Type", content_type.as_bytes());
    push_field(&mut head, "Content-Length", length.to_string().as_bytes());
    head.extend_from_slice(b"\r\n");

    let offset = out.len();
    let write = |out: &mut Vec<u8>| -> std::io::Result<()> {
        let mut encoder = GzEncoder::new(out, Compression::default());
        encoder.write_all(&head)?;
        for part in block {
            encoder.write_all(part)?;
        }
        encoder.write_all(b"\r\n\r\n")?;
        encoder.finish().map(|_| ())
    };
    write(out).map_err(|e| CaptureError::Write(e.to_string()))?;
    let member = &out[offset..];
    Ok((offset as u64, member.len() as u64, sha256_label(member)))
}

/// The HTTP request head as sent: request line with the path and query, then the header fields.
fn request_head(exchange: &Exchange) -> Vec<u8> {
    let target = match exchange.url.query() {
        Some(query) => format!("{}?{query}", exchange.url.path()),
        None => exchange.url.path().to_owned(),
    };
    let mut head = format!("{} {target} {}\r\n", exchange.method, exchange.http_version).into_bytes();
    for (name, value) in &exchange.request_headers {
        push_field(&mut head, name, value.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The HTTP response head, its framing fields made true of the held body (see the module docs of
/// `evidence`): `Transfer-Encoding` and a wrong `Content-Length` are kept under `X-Archive-Orig-`,
/// and a `Content-Length` for the body is added where the status allows a body.
fn response_head(exchange: &Exchange) -> Vec<u8> {
    let reason = reqwest::StatusCode::from_u16(exchange.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let mut head = format!("{} {} {reason}\r\n", exchange.http_version, exchange.status).into_bytes();
    let length = exchange.body.len().to_string();
    let mut has_length = false;
    for (name, value) in &exchange.headers {
        let is_te = name.eq_ignore_ascii_case("transfer-encoding");
        let is_cl = name.eq_ignore_ascii_case("content-length");
        if is_cl && !has_length && value.trim_ascii() == length.as_bytes() {
            has_length = true;
            push_field(&mut head, name, value);
        } else if is_te || is_cl {
            push_field(&mut head, &format!("x-archive-orig-{name}"), value);
        } else {
            push_field(&mut head, name, value);
        }
    }
    let bodiless = exchange.status < 200 || exchange.status == 204 || exchange.status == 304;
    if !has_length && !bodiless {
        push_field(&mut head, "content-length", length.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// One CDXJ line (`<surt> <14-digit timestamp> {json}\n`) for a response record, with the fields
/// wabac.js and pywb read: url, mime, status, payload digest, the gzip member's offset and length,
/// its digest, and the WARC file name.
fn cdxj_line(
    exchange: &Exchange,
    date: &str,
    payload_digest: &str,
    offset: u64,
    length: u64,
    record_digest: &str,
) -> Result<String, CaptureError> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        url: &'a str,
        mime: String,
        status: u16,
        digest: &'a str,
        length: u64,
        offset: u64,
        #[serde(rename = "recordDigest")]
        record_digest: &'a str,
        filename: &'a str,
    }
    let timestamp: String = date.chars().filter(char::is_ascii_digit).take(14).collect();
    let line = Line {
        url: exchange.url.as_str(),
        mime: exchange.media_type().unwrap_or_else(|| "unk".to_owned()),
        status: exchange.status,
        digest: payload_digest,
        length,
        offset,
        record_digest,
        filename: WARC_NAME,
    };
    let json = serde_json::to_string(&line).map_err(|e| CaptureError::Write(e.to_string()))?;
    Ok(format!("{} {timestamp} {json}\n", surt(&exchange.url)))
}

/// The SURT key of a URL as wabac.js (warcio.js `getSurt`) computes it for lookups, so an index
/// written here is found by ReplayWeb.page: a leading `www`, `www2`, ... label dropped, the URL
/// lower-cased, the host's labels reversed and joined by commas, a non-default port after a colon,
/// then `)`, the path, and the query's `&`-separated parts sorted. The fragment is dropped.
pub fn surt(url: &Url) -> String {
    let mut text = url.as_str().to_owned();
    if let Some(fragment) = text.find('#') {
        text.truncate(fragment);
    }
    let scheme_end = text.find("://").map_or(0, |i| i + 3);
    let host_part = &text[scheme_end..];
    let digits = host_part.strip_prefix("www").map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()));
    if let Some(rest) = digits.and_then(|rest| rest.strip_prefix('.')) {
        text = format!("{}{rest}", &text[..scheme_end]);
    }
    let lowered = text.to_lowercase();
    let Ok(parsed) = Url::parse(&lowered) else { return lowered };
    let host = parsed.host_str().unwrap_or("");
    let mut key = host.split('.').rev().collect::<Vec<_>>().join(",");
    if let Some(port) = parsed.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push(')');
    key.push_str(parsed.path());
    if let Some(query) = parsed.query().filter(|q| !q.is_empty()) {
        let mut parts: Vec<&str> = query.split('&').collect();
        parts.sort_unstable();
        key.push('?');
        key.push_str(&parts.join("&"));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surt_matches_warcio_js() {
        for (url, key) in [
            ("http://example.com", "com,example)/"),
            ("https://www.Example.com/A/b.html?z=1&a=2#frag", "com,example)/a/b.html?a=2&z=1"),
            ("http://www2.example.com/", "com,example)/"),
            ("http://wwwexample.com/", "com,wwwexample)/"),
            ("http://127.0.0.1:8080/x?b=2&a=1", "1,0,0,127:8080)/x?a=1&b=2"),
            ("https://example.com:443/a", "com,example)/a"),
            ("http://example.com:81/a?", "com,example:81)/a"),
            ("http://中文.cn/%E4%B8%AD", "cn,xn--fiq228c)/%e4%b8%ad"),
        ] {
            let parsed = Url::parse(url).expect("test URL");
            assert_eq!(surt(&parsed), key, "{url}");
        }
    }

    #[test]
    fn record_ids_are_random_v4_uuids() {
        let a = record_id().expect("randomness");
        let b = record_id().expect("randomness");
        assert_ne!(a, b);
        assert_eq!(a.len(), "<urn:uuid:>".len() + 36);
        assert_eq!(&a[24..25], "4", "{a}");
        assert!(matches!(&a[29..30], "8" | "9" | "a" | "b"), "{a}");
    }
}
