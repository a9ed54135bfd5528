//! robots.txt: what an answer means, and a per-origin cache that fetches each file once.
//!
//! Parsing and matching are texting_robots' (tested against Google's robots.txt suite): our product
//! token's group if there is one, else `*`; the longest matching rule wins and `Allow` wins a tie;
//! `Crawl-delay` and `Sitemap:` lines are read. What we decide here is what a *failed* fetch means,
//! following Google's published rules:
//!
//! | answer | meaning |
//! | --- | --- |
//! | 2xx | the file's rules (an unparseable file has no rules: allow all) |
//! | 4xx except 429 | no robots.txt: allow all |
//! | 429, 5xx, unreachable, timed out, too large, refused | *unavailable*: disallow all, for `unavailable_ttl`, then fetched again |
//!
//! Disallowing on server errors is the conservative choice: a site whose robots.txt is failing may
//! well be failing under load, and a monitoring crawler has no business adding to it or reading pages
//! its owner may have excluded. The file is fetched through the same politeness gate and retries as
//! pages (so a transient 503 is retried with backoff before the origin is judged unavailable).
//! The cache is keyed by origin (scheme, host, port), as robots.txt is defined per origin; each
//! origin's file is fetched at most once while its entry is fresh, however many tasks ask at once
//! (a `tokio::sync::OnceCell` per origin: the first asker fetches, the others wait for its answer).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

/// The most of a robots.txt we read. Google reads 500 KiB; a larger file counts as unavailable,
/// since the fetcher refuses a body over its cap instead of truncating it.
pub const MAX_ROBOTS_BYTES: usize = 512 * 1024;

/// One origin's robots.txt, as far as the crawler cares.
#[derive(Debug)]
pub struct RobotsRules {
    rules: Rules,
    loaded_at: Instant,
    /// `Crawl-delay` for our agent (or `*`), when given and sane.
    pub crawl_delay: Option<Duration>,
    /// `Sitemap:` lines, resolved against the robots.txt URL.
    pub sitemaps: Vec<Url>,
}

#[derive(Debug)]
enum Rules {
    AllowAll,
    File(Robot),
    Unavailable,
}

/// What fetching robots.txt gave: a status and body, or no answer at all.
pub enum RobotsAnswer<'a> {
    /// The server answered (after redirects) with this status and body.
    Answer {
        /// HTTP status.
        status: u16,
        /// Body (at most [`MAX_ROBOTS_BYTES`]).
        body: &'a [u8],
    },
    /// No answer: unreachable, timed out, refused or too large.
    Failed,
}

/// The verdict on one URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Fetching is allowed.
    Allowed,
    /// robots.txt disallows it for our agent.
    Disallowed,
    /// robots.txt could not be read (5xx, 429 or no answer): treated as disallow-all for now.
    Unavailable,
}

impl RobotsRules {
    /// Interprets a robots.txt answer for the product token `agent` (e.g. `CopyrightSeal`).
    pub fn from_answer(agent: &str, robots_url: &Url, answer: RobotsAnswer<'_>) -> RobotsRules {
        let loaded_at = Instant::now();
        let unavailable = RobotsRules { rules: Rules::Unavailable, loaded_at, crawl_delay: None, sitemaps: Vec::new() };
        let allow_all = RobotsRules { rules: Rules::AllowAll, loaded_at, crawl_delay: None, sitemaps: Vec::new() };
        match answer {
            RobotsAnswer::Failed => unavailable,
            RobotsAnswer::Answer { status, body } => match status {
                200..=299 => match Robot::new(agent, body) {
                    Ok(robot) => {
                        // A negative, NaN or absurd delay is ignored rather than trusted: a day
                        // between requests is no crawl at all, and from_secs_f32 panics on bad input.
                        let crawl_delay = robot
                            .delay
                            .filter(|d| d.is_finite() && *d > 0.0 && *d <= 86_400.0)
                            .map(Duration::from_secs_f32);
                        let sitemaps = robot.sitemaps.iter().filter_map(|s| robots_url.join(s.trim()).ok()).collect();
                        RobotsRules { rules: Rules::File(robot), loaded_at, crawl_delay, sitemaps }
                    }
                    Err(e) => {
                        tracing::debug!(%robots_url, error = %e, "robots.txt did not parse; allowing all");
                        allow_all
                    }
                },
                429 => unavailable,
                400..=499 => allow_all,
                _ => unavailable,
            },
        }
    }

    /// Whether `url` (on this file's origin) may be fetched.
    pub fn verdict(&self, url: &Url) -> Verdict {
        match &self.rules {
            Rules::AllowAll => Verdict::Allowed,
            Rules::Unavailable => Verdict::Unavailable,
            Rules::File(robot) if robot.allowed(url.as_str()) => Verdict::Allowed,
            Rules::File(_) => Verdict::Disallowed,
        }
    }

    fn expired(&self, unavailable_ttl: Duration) -> bool {
        matches!(self.rules, Rules::Unavailable) && self.loaded_at.elapsed() >= unavailable_ttl
    }
}

/// The origin of `url` as a cache key (`https://example.com:443`).
pub fn origin_key(url: &Url) -> String {
    format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0))
}

/// The robots.txt URL for `url`'s origin.
pub fn robots_url(url: &Url) -> Option<Url> {
    let mut robots = url.join("/robots.txt").ok()?;
    robots.set_query(None);
    robots.set_fragment(None);
    Some(robots)
}

type Cell = Arc<OnceCell<Arc<RobotsRules>>>;

/// Per-origin robots.txt cache for one crawl.
pub(crate) struct RobotsCache {
    cells: Mutex<HashMap<String, Cell>>,
    unavailable_ttl: Duration,
}

impl RobotsCache {
    pub(crate) fn new(unavailable_ttl: Duration) -> RobotsCache {
        RobotsCache { cells: Mutex::new(HashMap::new()), unavailable_ttl }
    }

    fn cell(&self, origin: &str) -> Cell {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        let cell = cells.entry(origin.to_owned()).or_default();
        if cell.get().is_some_and(|rules| rules.expired(self.unavailable_ttl)) {
            *cell = Arc::default();
        }
        Arc::clone(cell)
    }

    /// The rules for `url`'s origin, loading them with `load` if no fresh copy is cached. Concurrent
    /// callers for one origin share a single load.
    pub(crate) async fn get<F, Fut>(&self, url: &Url, load: F) -> Arc<RobotsRules>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = RobotsRules>,
    {
        let cell = self.cell(&origin_key(url));
        Arc::clone(cell.get_or_init(|| async { Arc::new(load().await) }).await)
    }

    /// The rules for `url`'s origin if they are already loaded (no fetch).
    pub(crate) fn peek(&self, url: &Url) -> Option<Arc<RobotsRules>> {
        let cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.get(&origin_key(url)).and_then(|c| c.get().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn answers_map_to_rules() {
        let robots = u("https://example.com/robots.txt");
        let page = u("https://example.com/private/page");
        let body = b"User-agent: *\nDisallow: /private\n";
        let cases: &[(RobotsAnswer<'_>, Verdict)] = &[
            (RobotsAnswer::Answer { status: 200, body }, Verdict::Disallowed),
            (RobotsAnswer::Answer { status: 404, body }, Verdict::Allowed),
            (RobotsAnswer::Answer { status: 401, body }, Verdict::Allowed),
            (RobotsAnswer::Answer { status: 429, body }, Verdict::Unavailable),
            (RobotsAnswer::Answer { status: 500, body }, Verdict::Unavailable),
            (RobotsAnswer::Answer { status: 503, body }, Verdict::Unavailable),
            (RobotsAnswer::Failed, Verdict::Unavailable),
        ];
        for (answer, want) in cases {
            let answer = match answer {
                RobotsAnswer::Answer { status, body } => RobotsAnswer::Answer { status: *status, body },
                RobotsAnswer::Failed => RobotsAnswer::Failed,
            };
            assert_eq!(RobotsRules::from_answer("CopyrightSeal", &robots, answer).verdict(&page), *want);
        }
    }

    #[test]
    fn agent_group_longest_match_delay_and_sitemaps() {
        let body = b"User-agent: *\nDisallow: /\n\nUser-agent: CopyrightSeal\nDisallow: /private\nAllow: /private/public\nCrawl-delay: 2.5\n\nSitemap: /sitemap.xml\nSitemap: https://other.example/s.xml.gz\n";
        let robots = u("https://example.com/robots.txt");
        let rules =
            RobotsRules::from_answer("CopyrightSeal", &robots, RobotsAnswer::Answer { status: 200, body: &body[..] });
        for (path, want) in [
            ("/", Verdict::Allowed),
            ("/private", Verdict::Disallowed),
            ("/private/x?y=1", Verdict::Disallowed),
            ("/private/public/page", Verdict::Allowed),
        ] {
            assert_eq!(rules.verdict(&robots.join(path).expect("url")), want, "{path}");
        }
        assert_eq!(rules.crawl_delay, Some(Duration::from_millis(2500)));
        let sitemaps: Vec<&str> = rules.sitemaps.iter().map(Url::as_str).collect();
        assert_eq!(sitemaps, ["https://example.com/sitemap.xml", "https://other.example/s.xml.gz"]);
        // Another agent falls into `*`.
        let other =
            RobotsRules::from_answer("OtherBot", &robots, RobotsAnswer::Answer { status: 200, body: &body[..] });
        assert_eq!(other.verdict(&u("https://example.com/")), Verdict::Disallowed);
    }

    #[test]
    fn hostile_delays_are_ignored() {
        let robots = u("https://example.com/robots.txt");
        for delay in ["-1", "NaN", "inf", "1e30", "abc"] {
            let body = format!("User-agent: *\nCrawl-delay: {delay}\n");
            let rules =
                RobotsRules::from_answer("x", &robots, RobotsAnswer::Answer { status: 200, body: body.as_bytes() });
            assert_eq!(rules.crawl_delay, None, "{delay}");
        }
    }

    #[test]
    fn robots_url_and_origin() {
        assert_eq!(
            robots_url(&u("https://Example.com:443/a/b?c#d")).map(|u| u.to_string()).as_deref(),
            Some("https://example.com/robots.txt")
        );
        assert_eq!(origin_key(&u("http://example.com/x")), "http://example.com:80");
    }
}
