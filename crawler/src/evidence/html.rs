//! What a captured page loads, read from its HTML: the resources a browser would fetch to show it,
//! and its title for the page list.
//!
//! A streaming read with lol_html, like `discover.rs` (no DOM, so a large or hostile page costs little
//! and malformed markup degrades instead of failing). It is a separate reader from `discover::html_links`
//! because it wants other things: stylesheets, scripts, icons and media rather than links and feeds,
//! and the page's own charset for the title (a GBK page's title must not come out as mojibake).

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;

use url::Url;

use super::Exchange;

/// The page's body decoded from its content coding, when it is HTML (or untyped) and decodes
/// within `cap` bytes; `None` when there is nothing to read links from.
pub(super) fn page_html(page: &Exchange, cap: usize) -> Option<Cow<'_, [u8]>> {
    if let Some(media) = page.media_type() {
        if !crate::warc::is_html(&media) {
            return None;
        }
    }
    let coding = page.header("content-encoding").map(|c| c.trim().to_ascii_lowercase()).unwrap_or_default();
    let decoder: Box<dyn Read + '_> = match coding.as_str() {
        "" | "identity" => return Some(Cow::Borrowed(&page.body)),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(page.body.as_slice())),
        // HTTP's "deflate" is zlib-wrapped, though some servers send raw deflate.
        "deflate" if page.body.first().is_some_and(|b| b & 0x0f == 8) => {
            Box::new(flate2::read::ZlibDecoder::new(page.body.as_slice()))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(page.body.as_slice())),
        _ => return None,
    };
    let mut out = Vec::new();
    // One byte past the cap tells an over-long body from one that fits exactly.
    let read = decoder.take(cap as u64 + 1).read_to_end(&mut out);
    (read.is_ok() && out.len() <= cap).then_some(Cow::Owned(out))
}

/// Reads an HTML page for its title and the resources a browser would load to show it: images
/// (`src`, or the first `srcset` candidate), stylesheets, icons, scripts, media sources and posters.
/// URLs are resolved against `<base href>` (the first one, wherever it is) or the page URL; only
/// http/https URLs are kept, without fragments, in document order (duplicates are the caller's).
pub(super) fn read_page(body: &[u8], page_url: &Url, content_type: Option<&str>) -> (Option<String>, Vec<Url>) {
    use lol_html::{element, text, AsciiCompatibleEncoding, HtmlRewriter, Settings};

    let base: RefCell<Option<String>> = RefCell::new(None);
    let raw: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let title = RefCell::new(String::new());
    let title_done = RefCell::new(false);
    let push = |value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            raw.borrow_mut().push(value);
        }
    };
    // A charset the server declares wins; otherwise UTF-8, switched by a `<meta charset>`.
    let declared = content_type
        .and_then(|ct| ct.split(';').skip(1).find_map(|p| p.trim().strip_prefix("charset=").map(str::to_owned)))
        .and_then(|label| encoding_rs::Encoding::for_label_no_replacement(label.trim_matches('"').as_bytes()))
        .and_then(AsciiCompatibleEncoding::new);

    let settings = Settings::new()
        .append_element_content_handler(element!("base[href]", |el| {
            let mut base = base.borrow_mut();
            if base.is_none() {
                *base = el.get_attribute("href");
            }
            Ok(())
        }))
        .append_element_content_handler(element!("img, source", |el| {
            let src = el.get_attribute("src").filter(|s| !s.trim().is_empty());
            let srcset = el.get_attribute("srcset").and_then(|s| first_srcset_candidate(&s));
            push(src.or(srcset));
            Ok(())
        }))
        .append_element_content_handler(element!("link[href]", |el| {
            let rel = el.get_attribute("rel").unwrap_or_default().to_ascii_lowercase();
            if rel.split_ascii_whitespace().any(|r| matches!(r, "stylesheet" | "icon" | "apple-touch-icon")) {
                push(el.get_attribute("href"));
            }
            Ok(())
        }))
        .append_element_content_handler(element!("script[src], video[src], audio[src]", |el| {
            push(el.get_attribute("src"));
            Ok(())
        }))
        .append_element_content_handler(element!("video[poster]", |el| {
            push(el.get_attribute("poster"));
            Ok(())
        }))
        .append_element_content_handler(text!("title", |chunk| {
            if !*title_done.borrow() {
                title.borrow_mut().push_str(chunk.as_str());
                if chunk.last_in_text_node() {
                    *title_done.borrow_mut() = true;
                }
            }
            Ok(())
        }));
    let settings = match declared {
        Some(encoding) => settings.with_encoding(encoding),
        None => settings.with_encoding(AsciiCompatibleEncoding::utf_8()).with_adjust_charset_on_meta_tag(true),
    };
    {
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        // A page lol_html cannot finish still gave us whatever came before the failure.
        if rewriter.write(body).is_ok() {
            let _ = rewriter.end();
        }
    }

    let base_url = base.into_inner().and_then(|b| page_url.join(b.trim()).ok()).unwrap_or_else(|| page_url.clone());
    let urls = raw
        .into_inner()
        .iter()
        .filter_map(|r| base_url.join(r.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|mut u| {
            u.set_fragment(None);
            u
        })
        .collect();
    let title = collapse_whitespace(&decode_entities(&title.into_inner()));
    (Some(title).filter(|t| !t.is_empty()), urls)
}

/// The URL of the first candidate of a `srcset` attribute (`a.jpg 1x, b.jpg 2x` → `a.jpg`).
fn first_srcset_candidate(srcset: &str) -> Option<String> {
    let first = srcset.trim_start().split(',').next()?.split_ascii_whitespace().next()?;
    (!first.is_empty()).then(|| first.to_owned())
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the character references a title commonly holds: numeric ones and the five XML
/// entities plus `&nbsp;`. Anything else is left as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 12);
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((ch, end))
        });
        match decoded {
            Some((ch, end)) => {
                out.push(ch);
                rest = &rest[end + 1..];
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn page_resources_are_found_resolved_and_typed() {
        let html = "<html><head><title> Caf&eacute; &amp; 茶 &#x4E2D;</title><base href=\"/static/\">\
            <link rel=\"stylesheet\" href=\"a.css\"><link rel=\"shortcut icon\" href=\"/fav.ico\">\
            <link rel=\"alternate\" href=\"feed.xml\"><script src=\"app.js\"></script></head>\
            <body><img src=\"x.png#frag\"><img srcset=\"s1.png 1x, s2.png 2x\"><img src=\"data:image/png;base64,AA\">\
            <video poster=\"p.jpg\"><source src=\"v.mp4\"></video><a href=\"other.html\">no</a>\
            <svg><title>not the title</title></svg></body></html>";
        let (title, urls) = read_page(html.as_bytes(), &url("https://site.cn/dir/page.html"), None);
        assert_eq!(title.as_deref(), Some("Caf&eacute; & 茶 中"));
        let urls: Vec<String> = urls.iter().map(Url::to_string).collect();
        assert_eq!(
            urls,
            [
                "https://site.cn/static/a.css",
                "https://site.cn/fav.ico",
                "https://site.cn/static/app.js",
                "https://site.cn/static/x.png",
                "https://site.cn/static/s1.png",
                "https://site.cn/static/p.jpg",
                "https://site.cn/static/v.mp4",
            ]
        );
    }

    #[test]
    fn a_declared_charset_decodes_the_title() {
        let (gbk, _, _) = encoding_rs::GBK.encode("<title>侵权页面</title>");
        let (title, _) = read_page(&gbk, &url("http://site.cn/"), Some("text/html; charset=GBK"));
        assert_eq!(title.as_deref(), Some("侵权页面"));
        let with_meta = [b"<meta charset=\"gbk\">".as_slice(), &gbk].concat();
        let (title, _) = read_page(&with_meta, &url("http://site.cn/"), Some("text/html"));
        assert_eq!(title.as_deref(), Some("侵权页面"));
    }

    fn page(headers: &[(&str, &str)], body: Vec<u8>) -> Exchange {
        Exchange {
            url: url("http://site.cn/"),
            method: "GET".to_owned(),
            request_headers: Vec::new(),
            status: 200,
            http_version: "HTTP/1.1".to_owned(),
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec())).collect(),
            body,
            fetched_ms: 0,
            remote_addr: None,
        }
    }

    #[test]
    fn the_page_is_read_through_its_content_coding_within_the_cap() {
        use std::io::Write;
        let html = "<title>压缩</title>".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(html.as_bytes()).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let typed = [("content-type", "text/html"), ("content-encoding", "gzip")];
        let compressed = page(&typed, gz.clone());
        let decoded = page_html(&compressed, 10_000).expect("decodes");
        assert_eq!(decoded.as_ref(), html.as_bytes());
        // Expanding past the cap (a gzip bomb) gives nothing rather than a huge buffer.
        assert!(page_html(&page(&typed, gz), 100).is_none());
        // Not HTML, or a coding we cannot undo: nothing to read.
        assert!(page_html(&page(&[("content-type", "image/png")], b"x".to_vec()), 100).is_none());
        assert!(page_html(&page(&[("content-encoding", "br")], b"x".to_vec()), 100).is_none());
        assert!(page_html(&page(&[], b"<p>".to_vec()), 100).is_some());
    }

    #[test]
    fn entities_decode_and_junk_stays() {
        assert_eq!(decode_entities("a &lt;b&gt; &#39;c&#x27; &bogus; & d &#xZZ;"), "a <b> 'c' &bogus; & d &#xZZ;");
    }
}
