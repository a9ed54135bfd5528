//! The guarded HTTP fetcher: the one way out to the network for the whole platform.
//!
//! Every outbound fetch (channel ownership checks, a page fetched on first view, the monitoring
//! crawler) goes through [`Fetcher::get`], evidence capture through [`Fetcher::get_verbatim`] (the
//! same checks, the bytes as sent, every redirect hop returned), and every outbound POST (asking an external time-stamp
//! authority) through [`Fetcher::post`], so the SSRF rules in [`crate::guard`], the overall deadline,
//! the body cap and the concurrency cap are enforced once, here, instead of at every call site.
//!
//! What a fetch guarantees:
//! - every hop's URL is checked (scheme, no credentials, port, literal IP) and every resolved address
//!   is checked when the connection is made, so neither a redirect nor a name such as `localhost` can
//!   reach the server itself or its private network;
//! - redirects are followed by hand, so each hop passes the same checks, and at most
//!   [`FetchPolicy::max_redirects`] of them;
//! - one deadline covers the wait for a permit, DNS, connecting, TLS, headers and the whole body, so a
//!   server that trickles one byte a second cannot hold a request past it;
//! - the body is read chunk by chunk and abandoned as soon as it passes the caller's cap;
//! - errors say what kind of thing went wrong in a few generic words and never carry the inner error,
//!   an address or whether a port was closed or silent, so the fetcher cannot be used as a port scanner.
//!   The detail goes to `tracing::debug!` for operators.

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{ACCEPT_ENCODING, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use tokio::sync::Semaphore;
use url::Url;

use crate::guard::{check_url, AddressRefused, GuardedResolver};

/// What a [`Fetcher`] may reach and how much time and parallelism it may spend.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Lifts the address rules (loopback, private, link-local and the rest) for tests and intranet
    /// deployments. Ports are still checked against `allowed_ports`.
    pub allow_private: bool,
    /// The ports a URL may name (explicitly or by its scheme's default). Default 80 and 443, which keeps
    /// the server's own port and internal services on other ports out of reach.
    pub allowed_ports: Vec<u16>,
    /// Exact socket addresses that are always allowed, whatever their address and port. They apply to
    /// URLs whose host is that IP literal (a resolved name never matches, because the resolver does not
    /// see the port), so a test can open one 127.0.0.1 server and still prove that another loopback
    /// port is refused.
    pub allow_exact: Vec<SocketAddr>,
    /// How many redirects one fetch follows before it gives up. Default 5.
    pub max_redirects: usize,
    /// One deadline for the whole fetch: waiting for a permit, DNS, connecting, TLS, headers, every
    /// redirect hop and the whole body. Default 10 s.
    pub deadline: Duration,
    /// How many fetches may be in flight at once across clones of one [`Fetcher`]. Default 16. Waiting
    /// for a slot counts against the deadline.
    pub max_concurrent: usize,
    /// The `User-Agent` sent with every request: honest, naming the platform, never a browser's. The
    /// default is `CopyrightSeal/<version> (copyright seal fetcher)`; deployments should add their
    /// contact URL.
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_private: false,
            allowed_ports: vec![80, 443],
            allow_exact: Vec::new(),
            max_redirects: 5,
            deadline: Duration::from_secs(10),
            max_concurrent: 16,
            // No contact URL is invented here: the project has no public home yet, and a deployment
            // should name its own (`CopyrightSeal/0.1.0 (+https://its.host/about-our-fetcher)`).
            user_agent: concat!("CopyrightSeal/", env!("CARGO_PKG_VERSION"), " (copyright seal fetcher)").to_owned(),
        }
    }
}

/// A response that arrived within the policy: any status, including 4xx and 5xx (callers decide what
/// a status means to them), with its whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL of the last hop, after redirects.
    pub final_url: Url,
    /// The HTTP status code of the last hop.
    pub status: u16,
    /// The `Content-Type` header, when it is present and readable as text.
    pub content_type: Option<String>,
    /// The body, decompressed if the server sent gzip (except from [`Fetcher::get_verbatim`], which
    /// returns it as sent), at most the caller's `max_body_bytes`.
    pub body: Vec<u8>,
    /// How long the server asked us to wait before asking again (`Retry-After`), if it said.
    pub retry_after: Option<Duration>,
    /// The last hop's response header fields, in the order the HTTP stack keeps them (fields of one
    /// name together), names lower-cased by it, values as raw bytes. When the body was decompressed
    /// the stack has already removed `Content-Encoding` and `Content-Length`; from
    /// [`Fetcher::get_verbatim`] they are as the server sent them.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The last hop's HTTP version as it appears in a status line, e.g. `HTTP/1.1`.
    pub http_version: String,
    /// The address of the server that answered the last hop, when the connection reports it.
    pub remote_addr: Option<IpAddr>,
}

/// Why a fetch gave no response. The texts are short and generic on purpose: they may reach the user
/// who typed the URL, and must not tell them anything about the server's network (an address, an inner
/// error, or a closed port from an open one).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not an `http`/`https` URL without credentials, or a redirect's `Location` is not one.
    #[error("the address is not a valid web address")]
    BadUrl,
    /// The address or the port is not allowed by the policy.
    #[error("the address is not allowed")]
    Refused,
    /// DNS, connecting, TLS or reading failed. One variant for all of them, so a closed port, a
    /// filtered one and a server that hangs up look the same.
    #[error("the site could not be reached")]
    Unreachable,
    /// The fetch did not finish within the policy's deadline.
    #[error("the site took too long to answer")]
    TimedOut,
    /// The body is longer than the caller's cap.
    #[error("the page is too large")]
    TooLarge,
    /// The site redirected more often than the policy allows.
    #[error("the site redirected too many times")]
    TooManyRedirects,
    /// The policy itself cannot be used (no concurrency, or a user agent that is not a header value).
    #[error("the fetch policy is not valid")]
    BadPolicy,
}

/// What one request sends: GET, GET for the record (no redirects followed, no decoding), or POST
/// with a content type and body.
#[derive(Clone, Copy)]
enum Method<'a> {
    Get,
    Verbatim,
    Post { content_type: &'a str, body: &'a [u8] },
}

/// Time a fetch spent in its `before_hop` waits, which its deadline does not count.
#[derive(Default)]
struct Paused {
    /// Finished waits.
    total: std::time::Duration,
    /// The wait in progress, if any.
    since: Option<tokio::time::Instant>,
}

/// A callback run before each redirect hop with the hop's URL (see [`Fetcher::get_paced`]).
pub type HopHook<'a> =
    &'a (dyn Fn(Url) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync);

/// The guarded HTTP client. Cheap to clone; clones share the connection pool and the concurrency cap.
#[derive(Clone, Debug)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: FetchPolicy,
    client: reqwest::Client,
    /// The client for [`Fetcher::get_verbatim`]: the same guard, but no content decoding. Built on
    /// first use, so fetchers that never archive do not pay for a second TLS configuration.
    verbatim: OnceLock<reqwest::Client>,
    permits: Semaphore,
}

impl Fetcher {
    /// Builds a fetcher for `policy`. Fails with [`FetchError::BadPolicy`] when `max_concurrent` is 0
    /// (every fetch would only wait out its deadline) or the user agent is not a valid header value.
    pub fn new(policy: FetchPolicy) -> Result<Fetcher, FetchError> {
        if policy.max_concurrent == 0 {
            return Err(FetchError::BadPolicy);
        }
        let client = build_client(&policy, true)?;
        let permits = Semaphore::new(policy.max_concurrent);
        Ok(Fetcher { inner: Arc::new(Inner { policy, client, verbatim: OnceLock::new(), permits }) })
    }

    /// The policy this fetcher enforces.
    pub fn policy(&self) -> &FetchPolicy {
        &self.inner.policy
    }

    /// Fetches `url` with GET, following allowed redirects, and returns the last response with a body
    /// of at most `max_body_bytes` bytes. Everything, including the wait for a concurrency slot, runs
    /// under the policy's one deadline.
    pub async fn get(&self, url: &Url, max_body_bytes: usize) -> Result<Fetched, FetchError> {
        self.get_paced(url, max_body_bytes, None).await
    }

    /// [`Fetcher::get`], calling `before_hop` with each redirect target before requesting it and
    /// waiting for what it returns: the crawler waits there for the target host's politeness delay,
    /// so redirect hops keep a site's `Crawl-delay` too. That wait does not count against the
    /// deadline: a hop queued behind a site's `Crawl-delay` has not been slow, and counting it made a
    /// redirected page time out whenever the host's queue was long.
    pub async fn get_paced(
        &self,
        url: &Url,
        max_body_bytes: usize,
        before_hop: Option<HopHook<'_>>,
    ) -> Result<Fetched, FetchError> {
        self.within_deadline(url, Method::Get, max_body_bytes, before_hop).await
    }

    /// Fetches `url` with one GET for the record, as evidence capture needs it: a redirect is returned
    /// as the answer (with its `Location` in [`Fetched::headers`]) rather than followed, so the caller
    /// can record every hop, and the body is returned as the server sent it (after undoing chunked
    /// transfer coding only), with `Content-Encoding` and `Content-Length` untouched. The request asks
    /// for `Accept-Encoding: gzip`, as [`Fetcher::get`] does. Guard, deadline, body cap (on the bytes
    /// as sent) and concurrency cap are those of every other fetch.
    pub async fn get_verbatim(&self, url: &Url, max_body_bytes: usize) -> Result<Fetched, FetchError> {
        self.within_deadline(url, Method::Verbatim, max_body_bytes, None).await
    }

    /// The request header fields [`Fetcher::get_verbatim`] sends to `url`, in the order they go out
    /// and spelled as they go out (the HTTP stack lower-cases names), so that an archive can record the
    /// request as sent: the request's own field, then reqwest's defaults, then hyper's `Host`, which
    /// carries the port only when it is not the scheme's default. `tests/evidence.rs` compares this
    /// with what a server receives, so a change in the HTTP stack cannot make the record drift.
    pub fn verbatim_request_headers(&self, url: &Url) -> Vec<(String, String)> {
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        vec![
            ("accept-encoding".to_owned(), "gzip".to_owned()),
            ("accept".to_owned(), "*/*".to_owned()),
            ("user-agent".to_owned(), self.inner.policy.user_agent.clone()),
            ("host".to_owned(), host),
        ]
    }

    /// POSTs `body` as `content_type` to `url` and returns the response with a body of at most
    /// `max_body_bytes`, under the same guard, deadline and concurrency cap as [`Fetcher::get`]. A 307
    /// or 308 redirect is followed with the same body (each hop checked); any other redirect is
    /// returned as the answer, because turning a POST into a GET would ask a different question.
    pub async fn post(
        &self,
        url: &Url,
        content_type: &str,
        body: &[u8],
        max_body_bytes: usize,
    ) -> Result<Fetched, FetchError> {
        self.within_deadline(url, Method::Post { content_type, body }, max_body_bytes, None).await
    }

    async fn within_deadline(
        &self,
        url: &Url,
        method: Method<'_>,
        max_body_bytes: usize,
        before_hop: Option<HopHook<'_>>,
    ) -> Result<Fetched, FetchError> {
        let paused = std::sync::Mutex::new(Paused::default());
        let fetch = self.send_hops(url, method, max_body_bytes, before_hop, &paused);
        tokio::pin!(fetch);
        let start = tokio::time::Instant::now();
        // The deadline, moved on by the time spent in `before_hop` (and, while a hop is waiting
        // there, by the wait so far, so it cannot fire during one).
        let until = || {
            let p = paused.lock().unwrap_or_else(|e| e.into_inner());
            let waiting = p.since.map(|s| s.elapsed());
            (start + self.inner.policy.deadline + p.total + waiting.unwrap_or_default(), waiting.is_some())
        };
        loop {
            match tokio::time::timeout_at(until().0, fetch.as_mut()).await {
                Ok(result) => return result,
                Err(_) => {
                    let (deadline, waiting) = until();
                    if waiting || deadline > tokio::time::Instant::now() {
                        continue;
                    }
                    tracing::debug!(%url, "fetch passed its deadline");
                    return Err(FetchError::TimedOut);
                }
            }
        }
    }

    async fn send_hops(
        &self,
        url: &Url,
        method: Method<'_>,
        max_body_bytes: usize,
        before_hop: Option<HopHook<'_>>,
        paused: &std::sync::Mutex<Paused>,
    ) -> Result<Fetched, FetchError> {
        // The semaphore lives as long as `inner` and is never closed, so acquiring cannot fail; map it
        // anyway rather than panic.
        let _permit = self.inner.permits.acquire().await.map_err(|_| FetchError::Unreachable)?;
        let policy = &self.inner.policy;
        let mut current = url.clone();
        let mut redirects = 0;
        loop {
            check_url(&current, policy)?;
            let request = match method {
                Method::Get => self.inner.client.get(current.clone()),
                Method::Verbatim => self.verbatim_client()?.get(current.clone()).header(ACCEPT_ENCODING, "gzip"),
                Method::Post { content_type, body } => {
                    self.inner.client.post(current.clone()).header(CONTENT_TYPE, content_type).body(body.to_vec())
                }
            };
            let response = request.send().await.map_err(|e| classify(&e))?;
            let status = response.status().as_u16();
            let follows = match method {
                Method::Get => matches!(status, 301 | 302 | 303 | 307 | 308),
                Method::Verbatim => false,
                Method::Post { .. } => matches!(status, 307 | 308),
            };
            if follows {
                if let Some(location) = response.headers().get(LOCATION) {
                    let location = location.to_str().map_err(|_| FetchError::BadUrl)?;
                    let next = current.join(location).map_err(|_| FetchError::BadUrl)?;
                    if redirects >= policy.max_redirects {
                        return Err(FetchError::TooManyRedirects);
                    }
                    redirects += 1;
                    if let Some(hook) = before_hop {
                        paused.lock().unwrap_or_else(|e| e.into_inner()).since = Some(tokio::time::Instant::now());
                        hook(next.clone()).await;
                        let mut p = paused.lock().unwrap_or_else(|e| e.into_inner());
                        if let Some(since) = p.since.take() {
                            p.total += since.elapsed();
                        }
                    }
                    current = next;
                    continue;
                }
            }
            return read_body(response, current, max_body_bytes).await;
        }
    }

    fn verbatim_client(&self) -> Result<&reqwest::Client, FetchError> {
        if let Some(client) = self.inner.verbatim.get() {
            return Ok(client);
        }
        let client = build_client(&self.inner.policy, false)?;
        // Two tasks may race to build it; either client is as good, and the first one set is kept.
        Ok(self.inner.verbatim.get_or_init(|| client))
    }
}

/// The reqwest client behind a [`Fetcher`]: redirects off (followed by hand), no proxy, the guarded
/// resolver, the policy's user agent, no `Referer`; gzip decoding on or off.
fn build_client(policy: &FetchPolicy, decode: bool) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        // Redirects are followed by hand so that each hop passes `check_url`.
        .redirect(reqwest::redirect::Policy::none())
        // An environment proxy would make the connection on our behalf, past the resolver's checks.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private: policy.allow_private }))
        .user_agent(policy.user_agent.as_str())
        // The page we come from is nobody's business.
        .referer(false)
        .gzip(decode)
        .build()
        .map_err(|e| {
            tracing::debug!(error = %e, "fetcher setup failed");
            FetchError::BadPolicy
        })
}

async fn read_body(mut response: reqwest::Response, final_url: Url, cap: usize) -> Result<Fetched, FetchError> {
    let status = response.status().as_u16();
    let headers =
        response.headers().iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    let http_version = http_version(response.version()).to_owned();
    let remote_addr = response.remote_addr().map(|addr| addr.ip());
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let declared = response.content_length();
    // Refuse before reading a byte when the server announces more than the cap.
    if declared.is_some_and(|len| len > cap as u64) {
        return Err(FetchError::TooLarge);
    }
    // Trust the announced length for the first allocation only up to a modest size: it is the
    // server's claim, not a fact.
    let initial = declared.map_or(0, |len| len as usize).min(cap).min(1 << 20);
    let mut body = Vec::with_capacity(initial);
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
        if body.len() + chunk.len() > cap {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { final_url, status, content_type, body, retry_after, headers, http_version, remote_addr })
}

/// A version as a status line spells it.
fn http_version(version: reqwest::Version) -> &'static str {
    match version {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay-seconds, or an HTTP date (one in the past means
/// now). Anything else is ignored, as if the header were absent.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Sorts a reqwest error into the two answers a caller may see: our resolver's refusal, or everything
/// else as `Unreachable`. The detail goes to the debug log only.
fn classify(error: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(e) = source {
        if e.is::<AddressRefused>() {
            return FetchError::Refused;
        }
        source = e.source();
    }
    tracing::debug!(error = ?error, "fetch failed");
    FetchError::Unreachable
}
