//! `seal-crawler`: the platform's one guarded way out to the network, and the monitoring crawler.
//!
//! [`fetch::Fetcher`] is the HTTP client that every outbound fetch goes through: the `api` crate's
//! channel ownership checks and first-view page fetches, and the monitoring crawler. It exists because
//! a security review found server-side request forgery (the server fetched any URL and followed
//! redirects to itself), requests held open by slow bodies, and error texts that told a closed port
//! from an open one; [`guard`] holds the address rules that close those holes.
//!
//! The monitoring crawler ([`crawl::crawl`]) is built on the same fetcher and never around it:
//! robots.txt ([`robots`], texting_robots), per-host politeness (`polite`), discovery through
//! links, sitemaps and feeds ([`discover`]), a deduplicating, budgeted frontier ([`frontier`]) and a
//! shared image cache. It does not decode or match: it hands bytes and their `Content-Type` to the
//! platform in events, and the platform hands them to `seal-engine`, so the engine stays pure.

pub mod crawl;
pub mod discover;
pub mod evidence;
pub mod fetch;
pub mod frontier;
pub mod guard;
mod images;
mod polite;
pub mod robots;
pub mod warc;

pub use crawl::{
    crawl, CrawlConfig, CrawlEvent, CrawlStats, FetchFailure, Image, ImageFetcher, ImageRef, ImageResult, PageEvent,
    Progress, Resume, SkipReason,
};
pub use fetch::{FetchError, FetchPolicy, Fetched, Fetcher};
pub use frontier::{normalize, Entry, EntryKind, Scope};
pub use guard::is_forbidden;
