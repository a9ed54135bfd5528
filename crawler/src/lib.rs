//! `seal-crawler`: the monitoring crawler (not built yet).
//!
//! It will fetch pages with tokio and reqwest, obey robots.txt (texting_robots) and per-host politeness
//! limits, decode them, and hand the bytes to `seal-engine` for matching. It owns all network IO of the
//! monitoring pipeline so that the engine stays pure.
