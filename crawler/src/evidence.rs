//! Evidence capture: an infringing page and everything it loads, archived so that a court, the
//! infringer's lawyer or an archivist can replay it and check that nobody changed it afterwards.
//!
//! A screenshot proves little: it can be edited and shows nothing of what the server sent. So a
//! rights holder's capture is kept as the exchanges themselves, in the formats web archives use:
//! a WARC file (ISO 28500, WARC/1.1) with a request and a response record per fetch, packaged as a
//! WACZ 1.1.1 file with a manifest of hashes whose digest is signed ([`package`]) and can be
//! time-stamped by the caller (RFC 3161 over [`Wacz::datapackage_sha256`]). ReplayWeb.page opens the
//! WACZ and checks its signature; `wacz validate` (py-wacz) checks its structure and hashes.
//!
//! # Only through the guarded fetcher
//!
//! The page URL comes from a user and the resources from a hostile page, so every request goes
//! through [`Fetcher::get_verbatim`]: the SSRF guard, the port rules, the deadline and the body cap
//! apply to each hop of each resource. A resource pointing at a forbidden address (a metadata service,
//! the server's own network) is refused before any connection and listed as a [`ResourceFailure`].
//!
//! # Bytes as sent (the content-coding choice)
//!
//! A record must be self-consistent: its HTTP head must describe the body that follows. The
//! platform's usual client decodes gzip and then drops `Content-Encoding` and `Content-Length`, so
//! the fact that the server compressed the page would be lost. Evidence is therefore fetched with a
//! client that does not decode: the response record holds the body exactly as the server sent it,
//! with its `Content-Encoding` and `Content-Length` untouched, which replay tools decode as a
//! browser does. Only the chunked transfer coding is undone by the HTTP stack; when the server used
//! it, the record's `Transfer-Encoding` field is kept as `X-Archive-Orig-Transfer-Encoding` and a
//! `Content-Length` for the held body is added (the webrecorder convention), and likewise a
//! `Content-Length` that does not match the held body is kept as `X-Archive-Orig-Content-Length`.
//! Header names are lower-case, as the HTTP stack hands them over.
//!
//! # Redirects
//!
//! Each hop is fetched and recorded on its own (the fetcher returns 3xx answers here rather than
//! following them), so the archive shows that `http://a/` sent the visitor to `https://b/`, and a
//! replay of the first URL works. The page is the last hop.
//!
//! # Limits
//!
//! [`CaptureLimits`] caps the page, each resource, the number of resources and the whole capture. A
//! resource over a cap is not archived and is listed as a failure with the reason, so the evidence
//! says what it is missing. Only the page failing fails the capture.

mod html;
mod wacz;
mod warc;

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Instant;

use tokio::task::JoinSet;
use url::Url;

use crate::fetch::{FetchError, Fetched, Fetcher};

pub use wacz::{package, verify, EvidenceSigner, VerifiedWacz, Wacz};
pub use warc::{surt, write_warc};

/// How many resources are fetched at the same time: enough to hide latency, few enough not to look
/// like an attack on the site.
const RESOURCE_CONCURRENCY: usize = 4;

/// What one capture may fetch. The defaults suit one web page with its images, styles and scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureLimits {
    /// The page's body (each redirect hop's too), as sent. Default 10 MiB.
    pub max_page_bytes: usize,
    /// How many resources the page may load into the capture. Default 40.
    pub max_resources: usize,
    /// One resource's body, as sent. Default 10 MiB.
    pub max_resource_bytes: usize,
    /// All bodies of the capture together, the page's included. Default 50 MiB.
    pub max_total_bytes: usize,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        CaptureLimits {
            max_page_bytes: 10 << 20,
            max_resources: 40,
            max_resource_bytes: 10 << 20,
            max_total_bytes: 50 << 20,
        }
    }
}

/// One HTTP request and its response, with what a WARC request and response record need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The URL requested.
    pub url: Url,
    /// The request method (`GET`).
    pub method: String,
    /// The request header fields as sent, in order.
    pub request_headers: Vec<(String, String)>,
    /// The response status code.
    pub status: u16,
    /// The response's HTTP version as a status line spells it, e.g. `HTTP/1.1`.
    pub http_version: String,
    /// The response header fields as received (names lower-case), in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The response body as the server sent it (content coding kept, chunked framing undone).
    pub body: Vec<u8>,
    /// When the request was started, in milliseconds since the Unix epoch.
    pub fetched_ms: i64,
    /// The address of the server that answered, when the connection reported it.
    pub remote_addr: Option<IpAddr>,
}

impl Exchange {
    fn new(fetcher: &Fetcher, url: &Url, fetched: Fetched, fetched_ms: i64) -> Exchange {
        Exchange {
            url: url.clone(),
            method: "GET".to_owned(),
            request_headers: fetcher.verbatim_request_headers(url),
            status: fetched.status,
            http_version: fetched.http_version,
            headers: fetched.headers,
            body: fetched.body,
            fetched_ms,
            remote_addr: fetched.remote_addr,
        }
    }

    /// The first response header field named `name` (case-insensitive), as text if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The media type of the response (`text/html`), lower-case, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(crate::warc::media_type).filter(|m| !m.is_empty())
    }

    fn redirect_target(&self) -> Option<Url> {
        if !matches!(self.status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        self.url.join(self.header("location")?.trim()).ok()
    }
}

/// Why a resource is not in the capture. The texts are as generic as the fetcher's: they say what
/// kind of thing went wrong and nothing about the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FailureReason {
    /// The address or port is not allowed (private, loopback, metadata service, ...). Nothing was sent.
    #[error("the address is not allowed")]
    Refused,
    /// The URL is not an http/https URL the fetcher accepts.
    #[error("the address is not a valid web address")]
    BadUrl,
    /// DNS, connecting, TLS or reading failed.
    #[error("the site could not be reached")]
    Unreachable,
    /// The fetch passed the fetcher's deadline.
    #[error("the site took too long to answer")]
    TimedOut,
    /// The body was larger than [`CaptureLimits::max_resource_bytes`].
    #[error("the resource is larger than the per-resource limit")]
    TooLarge,
    /// The resource redirected more often than the fetch policy allows.
    #[error("the site redirected too many times")]
    TooManyRedirects,
    /// Fetching it would have passed [`CaptureLimits::max_total_bytes`].
    #[error("the capture's total size limit was reached")]
    OverBudget,
    /// The page loads more resources than [`CaptureLimits::max_resources`]; this one was not fetched.
    #[error("the capture's resource limit was reached")]
    LimitReached,
    /// The fetch could not be run (a task failed or the fetcher could not be set up).
    #[error("the fetch could not be run")]
    Internal,
}

impl From<&FetchError> for FailureReason {
    fn from(error: &FetchError) -> Self {
        match error {
            FetchError::BadUrl => FailureReason::BadUrl,
            FetchError::Refused => FailureReason::Refused,
            FetchError::Unreachable => FailureReason::Unreachable,
            FetchError::TimedOut => FailureReason::TimedOut,
            FetchError::TooLarge => FailureReason::TooLarge,
            FetchError::TooManyRedirects => FailureReason::TooManyRedirects,
            FetchError::BadPolicy => FailureReason::Internal,
        }
    }
}

/// A resource the page loads that is not in the capture, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFailure {
    /// The resource's URL, as resolved from the page.
    pub url: Url,
    /// Why it is missing.
    pub reason: FailureReason,
}

/// A captured page: its redirect hops, the page itself and the resources it loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The URL the capture was asked for.
    pub requested_url: Url,
    /// The redirect answers before the page, in order (empty when the URL answered directly).
    pub redirects: Vec<Exchange>,
    /// The page: the last hop.
    pub page: Exchange,
    /// The page's `<title>`, when it has one.
    pub title: Option<String>,
    /// Every resource exchange, redirect hops included, in the order the page names them.
    pub resources: Vec<Exchange>,
    /// The resources the page loads that are not in the capture.
    pub failures: Vec<ResourceFailure>,
    /// When the capture started, in milliseconds since the Unix epoch.
    pub started_ms: i64,
    /// A rendering of the page from the capture, when the caller made one (archived as a WARC
    /// `resource` record, `urn:screenshot:<page URL>`, as Browsertrix does).
    pub screenshot: Option<Screenshot>,
}

/// A PNG rendering of the captured page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screenshot {
    /// The PNG.
    pub png: Vec<u8>,
    /// When it was rendered, in milliseconds since the Unix epoch.
    pub taken_ms: i64,
}

impl Capture {
    /// Every exchange in archive order: redirects, the page, the resources.
    pub fn exchanges(&self) -> impl Iterator<Item = &Exchange> {
        self.redirects.iter().chain(std::iter::once(&self.page)).chain(self.resources.iter())
    }
}

/// Why a capture, a package or a verification failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The page itself could not be fetched.
    #[error("the page could not be captured: {0}")]
    Page(FetchError),
    /// The operating system gave no randomness for a record id or a key.
    #[error("no randomness available: {0}")]
    Random(String),
    /// A record or manifest could not be written (a date outside 0000-9999, a JSON failure).
    #[error("the archive could not be written: {0}")]
    Write(String),
    /// The signing key is not usable.
    #[error("the signing key is not valid")]
    BadKey,
    /// The bytes are not a readable WACZ (not a zip, a manifest missing or malformed).
    #[error("not a valid WACZ: {0}")]
    NotAWacz(String),
    /// A file's hash or size differs from the one `datapackage.json` lists.
    #[error("{path} does not match its hash in datapackage.json")]
    HashMismatch {
        /// The file's path in the WACZ.
        path: String,
    },
    /// A file in the WACZ is not listed in `datapackage.json`.
    #[error("{path} is not listed in datapackage.json")]
    UnlistedFile {
        /// The file's path in the WACZ.
        path: String,
    },
    /// A file listed in `datapackage.json` is not in the WACZ.
    #[error("{path} is listed in datapackage.json but missing")]
    MissingFile {
        /// The listed path.
        path: String,
    },
    /// `datapackage-digest.json` does not match `datapackage.json`, or its signed data does not
    /// match it (hash or creation time).
    #[error("datapackage-digest.json does not match datapackage.json")]
    DigestMismatch,
    /// The WACZ carries no signature.
    #[error("the WACZ is not signed")]
    Unsigned,
    /// The signature does not verify against the embedded public key.
    #[error("the signature does not verify")]
    BadSignature,
}

/// Captures `url` and the resources its HTML loads, every request through `fetcher` (see the module
/// docs). `now_ms` is the clock (milliseconds since the Unix epoch) for the records' dates: the page
/// hops read it as they are requested, resources at the start of their fetch plus the time elapsed.
///
/// Fails only when the page cannot be fetched (every hop's error, a redirect loop, a body over
/// [`CaptureLimits::max_page_bytes`]); a resource that fails is listed in [`Capture::failures`].
pub async fn capture(
    fetcher: &Fetcher,
    url: &Url,
    limits: &CaptureLimits,
    now_ms: impl Fn() -> i64,
) -> Result<Capture, CaptureError> {
    let started_ms = now_ms();
    let page_cap = limits.max_page_bytes.min(limits.max_total_bytes);
    let mut hops = fetch_chain(fetcher, url, page_cap, &now_ms).await.map_err(CaptureError::Page)?;
    let Some(page) = hops.pop() else {
        // `fetch_chain` returns at least one hop or an error.
        return Err(CaptureError::Page(FetchError::Unreachable));
    };
    let mut spent: usize = hops.iter().chain(std::iter::once(&page)).map(|h| h.body.len()).sum();

    let (title, found) = match html::page_html(&page, limits.max_page_bytes) {
        Some(body) => html::read_page(&body, &page.url, page.header("content-type")),
        None => (None, Vec::new()),
    };
    let mut seen: HashSet<String> = hops.iter().chain(std::iter::once(&page)).map(|h| h.url.to_string()).collect();
    let wanted: Vec<Url> = found.into_iter().filter(|u| seen.insert(u.to_string())).collect();

    let mut failures = Vec::new();
    let mut fetched: Vec<(usize, Vec<Exchange>)> = Vec::new();
    let mut tasks: JoinSet<ResourceFetch> = JoinSet::new();
    let mut queue = wanted.into_iter().enumerate();
    let mut started = 0usize;
    loop {
        while tasks.len() < RESOURCE_CONCURRENCY {
            let Some((position, resource)) = queue.next() else { break };
            if started >= limits.max_resources {
                failures.push(ResourceFailure { url: resource, reason: FailureReason::LimitReached });
                continue;
            }
            let remaining = limits.max_total_bytes.saturating_sub(spent);
            if remaining == 0 {
                failures.push(ResourceFailure { url: resource, reason: FailureReason::OverBudget });
                continue;
            }
            started += 1;
            let cap = limits.max_resource_bytes.min(remaining);
            let fetcher = fetcher.clone();
            let base = now_ms();
            let begun = Instant::now();
            tasks.spawn(async move {
                let clock = move || base.saturating_add(i64::try_from(begun.elapsed().as_millis()).unwrap_or(i64::MAX));
                let result = fetch_chain(&fetcher, &resource, cap, &clock).await;
                (position, resource, cap, result)
            });
        }
        let Some(joined) = tasks.join_next().await else { break };
        let Ok((position, resource, cap, result)) = joined else {
            // A panicked task has lost its URL with it; nothing is known to list.
            tracing::debug!("an evidence resource task failed");
            continue;
        };
        match result {
            Ok(chain) => {
                let size: usize = chain.iter().map(|h| h.body.len()).sum();
                if spent.saturating_add(size) > limits.max_total_bytes {
                    failures.push(ResourceFailure { url: resource, reason: FailureReason::OverBudget });
                } else {
                    spent += size;
                    fetched.push((position, chain));
                }
            }
            Err(error) => {
                let mut reason = FailureReason::from(&error);
                if reason == FailureReason::TooLarge && cap < limits.max_resource_bytes {
                    reason = FailureReason::OverBudget;
                }
                failures.push(ResourceFailure { url: resource, reason });
            }
        }
    }
    // Resources finish in any order; the archive lists them in the order the page names them.
    fetched.sort_by_key(|(position, _)| *position);
    let resources = fetched.into_iter().flat_map(|(_, chain)| chain).collect();
    Ok(Capture {
        requested_url: url.clone(),
        redirects: hops,
        page,
        title,
        resources,
        failures,
        started_ms,
        screenshot: None,
    })
}

/// What a resource task hands back: its position in the page, its URL, the byte cap it ran under and
/// its hops (or why there are none).
type ResourceFetch = (usize, Url, usize, Result<Vec<Exchange>, FetchError>);

/// Fetches `url` and every redirect hop after it (at most the policy's `max_redirects`), each hop
/// recorded. The bodies of all hops together stay under `cap`. A redirect whose `Location` is not a
/// URL ends the chain: that answer is what the site gave.
async fn fetch_chain<C: Fn() -> i64>(
    fetcher: &Fetcher,
    url: &Url,
    cap: usize,
    clock: &C,
) -> Result<Vec<Exchange>, FetchError> {
    let max_redirects = fetcher.policy().max_redirects;
    let mut hops: Vec<Exchange> = Vec::new();
    let mut current = url.clone();
    let mut spent = 0usize;
    loop {
        let at = clock();
        let fetched = fetcher.get_verbatim(&current, cap.saturating_sub(spent)).await?;
        spent += fetched.body.len();
        let exchange = Exchange::new(fetcher, &current, fetched, at);
        let next = exchange.redirect_target();
        hops.push(exchange);
        match next {
            None => return Ok(hops),
            Some(_) if hops.len() > max_redirects => return Err(FetchError::TooManyRedirects),
            Some(next) => current = next,
        }
    }
}
