//! Channel ownership: what a website or blog channel's proof covers ([`ChannelScope`]) and the check
//! itself ([`check_claim`]), with no actix.
//!
//! Ownership of a website or blog is proven over HTTP, through the guarded fetcher only: the owner
//! publishes the claim token either in `<meta name="copyright-seal-verification" content="TOKEN">` in
//! the `<head>` of the scope's home page or as the body of `/.well-known/copyright-seal.txt`. A website
//! is an origin; a blog may add a path, and then proof and authority both stop at that path.

use seal_crawler::fetch::Fetcher;
use seal_licensing::offer::ChannelKind;
use url::Url;

/// Why a handle is not a channel address; the text is for the person who typed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScopeError(pub &'static str);

/// Where a website or blog channel's authority reaches, and so what proving it covers: one host and
/// port (both schemes when the handle names none), under one path (`/` for a website, which is an
/// origin only). Proof is looked for at exactly this scope, and first-view registration and source
/// URLs are accepted only inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelScope {
    /// `Some` when the handle named a scheme.
    scheme: Option<String>,
    /// Lower-case host (IDNA-encoded by the URL parser).
    host: String,
    /// Explicit port, if any.
    port: Option<u16>,
    /// Path prefix without a trailing slash (empty for a whole origin).
    path: String,
}

impl ChannelScope {
    /// Parses a handle as the owner typed it.
    pub fn parse(kind: ChannelKind, handle: &str) -> Result<ChannelScope, ScopeError> {
        let bad = || ScopeError("enter a domain such as example.com, or an address such as https://example.com");
        let (scheme, parsed) = if handle.contains("://") {
            let u = Url::parse(handle).map_err(|_| bad())?;
            (Some(u.scheme().to_owned()), u)
        } else {
            (None, Url::parse(&format!("https://{handle}")).map_err(|_| bad())?)
        };
        if !matches!(parsed.scheme(), "http" | "https")
            || !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(bad());
        }
        let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?.to_ascii_lowercase();
        let path = parsed.path().trim_end_matches('/').to_owned();
        if kind == ChannelKind::Website && !path.is_empty() {
            return Err(ScopeError(
                "a website is proven for its whole domain: enter the domain only (a blog may have a path)",
            ));
        }
        Ok(ChannelScope { scheme, host, port: parsed.port(), path })
    }

    /// The canonical handle to store.
    pub fn handle(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        match &self.scheme {
            Some(s) => format!("{s}://{}{port}{}", self.host, self.path),
            None => format!("{}{port}{}", self.host, self.path),
        }
    }

    /// The sites to look at: as given when the handle names a scheme, else https and then http.
    pub fn bases(&self) -> Vec<Url> {
        let schemes = match &self.scheme {
            Some(s) => vec![s.clone()],
            None => vec!["https".to_owned(), "http".to_owned()],
        };
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        schemes.iter().filter_map(|s| Url::parse(&format!("{s}://{}{port}{}/", self.host, self.path)).ok()).collect()
    }

    /// Whether a page URL lies inside this scope.
    pub fn contains(&self, url: &Url) -> bool {
        let scheme_ok = match &self.scheme {
            Some(s) => url.scheme() == s,
            None => matches!(url.scheme(), "http" | "https"),
        };
        let path = url.path();
        scheme_ok
            && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && url.port() == self.port
            && (self.path.is_empty()
                || path == self.path
                || path.strip_prefix(self.path.as_str()).is_some_and(|rest| rest.starts_with('/')))
    }
}

/// The home page and the well-known file of one base URL.
pub fn claim_urls(base: &Url) -> (Url, Url) {
    let mut file = base.clone();
    file.set_path("/.well-known/copyright-seal.txt");
    (base.clone(), file)
}

/// Whether an HTML page carries the claim token in a `<meta name="copyright-seal-verification">`
/// element inside `<head>`. An HTML tokenizer, not a string search: the text `<meta` inside a script,
/// a JSON blob, a comment or the body does not count.
pub fn page_has_token(html: &[u8], token: &str) -> bool {
    use lol_html::{element, HtmlRewriter, Settings};
    let found = std::cell::Cell::new(false);
    let mut rewriter = HtmlRewriter::new(
        Settings::new().append_element_content_handler(element!(
            r#"head > meta[name="copyright-seal-verification"]"#,
            |el| {
                if el.get_attribute("content").is_some_and(|c| c.trim() == token) {
                    found.set(true);
                }
                Ok(())
            }
        )),
        |_: &[u8]| {},
    );
    // A page that does not parse proves nothing.
    if rewriter.write(html).is_err() || rewriter.end().is_err() {
        return false;
    }
    found.get()
}

/// Why an ownership check failed, as a code the channel page maps to a fixed message (never text
/// from the checked site or the network layer, which would let anyone put words on our page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimFailure {
    /// No page of the site could be fetched.
    Unreachable,
    /// Pages were fetched but none carried the token.
    NoToken,
}

impl ClaimFailure {
    /// The code in the redirect.
    pub fn code(self) -> &'static str {
        match self {
            ClaimFailure::Unreachable => "unreachable",
            ClaimFailure::NoToken => "no_token",
        }
    }
}

/// Fetches the channel's pages through the guarded fetcher (https first for a bare domain) and
/// checks for the token. Returns the method that proved it.
pub async fn check_claim(
    fetcher: &Fetcher,
    kind: ChannelKind,
    handle: &str,
    token: &str,
) -> Result<&'static str, ClaimFailure> {
    let scope = ChannelScope::parse(kind, handle).map_err(|_| ClaimFailure::Unreachable)?;
    let mut reached = false;
    for base in scope.bases() {
        let (home, file) = claim_urls(&base);
        match fetcher.get(&file, 4096).await {
            Ok(r) if (200..300).contains(&r.status) => {
                reached = true;
                if String::from_utf8_lossy(&r.body).trim() == token {
                    return Ok("file");
                }
            }
            Ok(_) => reached = true,
            Err(e) => tracing::info!(url = %file, error = %e, "ownership file not fetched"),
        }
        match fetcher.get(&home, 2 * 1024 * 1024).await {
            Ok(r) if (200..300).contains(&r.status) => {
                reached = true;
                // The meta tag must be on the scope's own page, not on wherever a redirect led.
                if scope.contains(&r.final_url) && page_has_token(&r.body, token) {
                    return Ok("meta");
                }
            }
            Ok(_) => reached = true,
            Err(e) => tracing::info!(url = %home, error = %e, "home page not fetched"),
        }
    }
    Err(if reached { ClaimFailure::NoToken } else { ClaimFailure::Unreachable })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_tags_count_only_as_elements_in_head() {
        let ok = |html: &str| page_has_token(html.as_bytes(), "seal-x");
        assert!(ok("<html><head><meta content=\"seal-x\" name=\"copyright-seal-verification\"></head></html>"));
        assert!(ok("<HEAD><META NAME=\"copyright-seal-verification\" CONTENT=\" seal-x \"></HEAD>"));
        assert!(!ok("<head><meta name=\"description\" content=\"seal-x\"></head>"));
        // Regression: any `<meta` string anywhere used to count, even inside JSON or a comment.
        assert!(!ok(
            "<head><script>var x = '<meta name=\"copyright-seal-verification\" content=\"seal-x\">'</script></head>"
        ));
        assert!(!ok("<head><!-- <meta name=\"copyright-seal-verification\" content=\"seal-x\"> --></head>"));
        assert!(!ok("<head></head><body><meta name=\"copyright-seal-verification\" content=\"seal-x\"></body>"));
        assert!(!ok("<head><meta name=\"copyright-seal-verification\" content=\"seal-x-longer\"></head>"));
    }

    #[test]
    fn a_website_is_an_origin_and_a_blog_a_path() {
        let site = ChannelScope::parse(ChannelKind::Website, "Example.COM").expect("domain");
        assert_eq!(site.handle(), "example.com");
        let bases: Vec<String> = site.bases().iter().map(Url::to_string).collect();
        assert_eq!(bases, ["https://example.com/", "http://example.com/"]);
        assert_eq!(claim_urls(&site.bases()[0]).1.as_str(), "https://example.com/.well-known/copyright-seal.txt");
        assert!(site.contains(&Url::parse("http://example.com/a/b").expect("url")));
        assert!(!site.contains(&Url::parse("https://evil.example.com/").expect("url")));
        // Regression: a proof at a path used to grant the whole host; a website handle is an origin only.
        assert!(ChannelScope::parse(ChannelKind::Website, "https://example.com/blog").is_err());
        assert!(ChannelScope::parse(ChannelKind::Website, "https://user@example.com").is_err());
        assert!(ChannelScope::parse(ChannelKind::Website, "ftp://example.com").is_err());
        let blog = ChannelScope::parse(ChannelKind::Blog, "http://127.0.0.1:9/blog/").expect("blog");
        assert_eq!(blog.handle(), "http://127.0.0.1:9/blog");
        assert_eq!(blog.bases()[0].as_str(), "http://127.0.0.1:9/blog/");
        assert!(blog.contains(&Url::parse("http://127.0.0.1:9/blog/post/1").expect("url")));
        assert!(!blog.contains(&Url::parse("http://127.0.0.1:9/blogger/post").expect("url")));
        assert!(!blog.contains(&Url::parse("http://127.0.0.1:10/blog/post").expect("url")));
        assert!(!blog.contains(&Url::parse("https://127.0.0.1:9/blog/post").expect("url")));
    }
}
