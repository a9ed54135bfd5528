//! `seal-crawler`: the platform's one guarded way out to the network.
//!
//! Today it holds [`fetch::Fetcher`], the HTTP client that every outbound fetch goes through: the `api`
//! crate's channel ownership checks and first-view page fetches, and later the monitoring crawler. It
//! exists because a security review found server-side request forgery (the server fetched any URL and
//! followed redirects to itself), requests held open by slow bodies, and error texts that told a closed
//! port from an open one; [`guard`] holds the address rules that close those holes.
//!
//! The monitoring crawler will be built on the same fetcher: robots.txt (texting_robots), per-host
//! politeness limits, decoding, and handing the bytes to `seal-engine` for matching. This crate owns all
//! network IO of the platform's outbound side so that the engine stays pure.

pub mod fetch;
pub mod guard;
pub mod warc;

pub use fetch::{FetchError, FetchPolicy, Fetched, Fetcher};
pub use guard::is_forbidden;
