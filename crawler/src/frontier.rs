//! The frontier: which URLs the crawl has seen, which wait to be fetched, and in what order.
//!
//! - URLs are normalised once ([`normalize`]) with the `url` crate's WHATWG parser, which already
//!   lowercases the host, drops default ports, resolves `.`/`..` and percent-encodes consistently; we
//!   add dropping the fragment and refusing everything but `http`/`https` and URLs with credentials
//!   (the fetcher refuses those anyway). Query strings are kept as they are: reordering or dropping
//!   parameters guesses at a site's semantics, and a wrong guess merges distinct pages.
//! - Every URL ever offered is remembered in `seen`, so none is queued twice. Memory grows with the
//!   crawl (one `Url` per seen page), bounded by the page budget times the links per page.
//! - Queues are per host (authority: host and port) and served round-robin, with at most
//!   `per_host` entries of one host out at a time; so a big site cannot starve the others while many
//!   hosts are crawled in parallel.
//! - The page budget is enforced when a URL is *offered*, not when it is fetched: the pages done, in
//!   flight and queued never exceed `max_pages`. The frontier therefore stays bounded and every
//!   reported frontier entry will be fetched (or skipped) unless the crawl is stopped. The price: a
//!   queued URL that later fails still used a slot that another URL could have had.
//! - Offering is two-step (`reserve`, then `release`): a reserved URL is seen
//!   and counted in the budget but cannot be dispatched until the event that reports it has been sent,
//!   so the platform always learns of a frontier entry before any event about fetching it.

use std::collections::{HashMap, HashSet, VecDeque};

use url::Url;

/// What a frontier entry is fetched as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// An HTML page (or whatever a link points at): fetched, reported as a page, its links followed.
    Page,
    /// A sitemap or sitemap index (plain or gzip); its URLs are reported in a `Discovered` event.
    Sitemap,
    /// An RSS or Atom feed; its items' URLs are reported in a `Discovered` event.
    Feed,
}

/// One URL waiting in (or reported for) the frontier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The normalised URL.
    pub url: Url,
    /// Link distance from a seed (seeds, explicit sitemaps and feeds, and the pages they list are 0).
    pub depth: u32,
    /// What it is fetched as.
    pub kind: EntryKind,
}

impl Entry {
    /// A page entry.
    pub fn page(url: Url, depth: u32) -> Entry {
        Entry { url, depth, kind: EntryKind::Page }
    }
}

/// The canonical form of `url` for deduplication, or `None` when the crawler never fetches it
/// (not `http`/`https`, credentials, no host).
pub fn normalize(url: &Url) -> Option<Url> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let mut url = url.clone();
    url.set_fragment(None);
    Some(url)
}

/// The politeness key of a URL: host and port (`example.com:443`). Two ports of one host are
/// different servers as far as load goes (and the tests' servers are all on 127.0.0.1).
pub fn authority(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0))
}

/// Which pages the crawl may fetch and follow. Images and explicitly given sitemaps and feeds are
/// fetched wherever they are; pages and the entries of sitemaps and feeds must be in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Allowed hosts: `example.com` (any port), `example.com:8080` (that port only) or
    /// `*.example.com` (any subdomain, not the bare domain). Empty: the seeds' hosts.
    pub hosts: Vec<String>,
    /// Allowed path prefixes (`/blog/`); empty: every path.
    pub path_prefixes: Vec<String>,
}

impl Scope {
    /// Whether `url` is in scope.
    pub fn contains(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        let port = url.port_or_known_default().unwrap_or(0);
        let host_ok = self.hosts.iter().any(|h| {
            let h = h.trim().to_ascii_lowercase();
            if let Some(suffix) = h.strip_prefix("*.") {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix)
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            } else if let Some((name, p)) = h.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok()) {
                name == host && p.parse::<u16>().ok() == Some(port)
            } else {
                h == host
            }
        });
        host_ok && (self.path_prefixes.is_empty() || self.path_prefixes.iter().any(|p| url.path().starts_with(p)))
    }

    /// This scope with its hosts defaulted to the seeds' hosts when none are given.
    pub fn or_seed_hosts(&self, seeds: &[Url]) -> Scope {
        let mut scope = self.clone();
        if scope.hosts.is_empty() {
            scope.hosts = seeds.iter().filter_map(Url::host_str).map(str::to_owned).collect();
            scope.hosts.sort();
            scope.hosts.dedup();
        }
        scope
    }
}

#[derive(Default)]
struct HostQueue {
    queue: VecDeque<Entry>,
    /// Entries of this host dispatched and not yet finished.
    out: usize,
}

/// The in-memory frontier of one crawl run. Not thread-safe by itself; the crawl holds it in a mutex.
pub(crate) struct Frontier {
    seen: HashSet<Url>,
    hosts: HashMap<String, HostQueue>,
    /// Hosts with queued entries, in round-robin order; a host is in it exactly when its queue is not
    /// empty.
    ready: VecDeque<String>,
    per_host: usize,
    max_pages: usize,
    /// Pages fetched (this run and before a resume), reserved or queued, dispatched.
    pages_done: usize,
    pages_reserved: usize,
    pages_out: usize,
    /// Sitemaps and feeds this run may still accept.
    aux_left: usize,
}

impl Frontier {
    pub(crate) fn new(per_host: usize, max_pages: usize, pages_done: usize, max_aux: usize) -> Frontier {
        Frontier {
            seen: HashSet::new(),
            hosts: HashMap::new(),
            ready: VecDeque::new(),
            per_host: per_host.max(1),
            max_pages,
            pages_done,
            pages_reserved: 0,
            pages_out: 0,
            aux_left: max_aux,
        }
    }

    /// Remembers `url` as seen without queueing it (done before a resume, or a redirect's target).
    pub(crate) fn mark_seen(&mut self, url: Url) {
        self.seen.insert(url);
    }

    pub(crate) fn is_seen(&self, url: &Url) -> bool {
        self.seen.contains(url)
    }

    /// Whether another page fits in the budget.
    pub(crate) fn page_budget_left(&self) -> bool {
        self.pages_done + self.pages_reserved + self.pages_out < self.max_pages
    }

    /// Marks `entry` seen and holds a budget slot for it; `false` (and nothing changes) when it was
    /// already seen or the budget is spent. Pass reserved entries to [`Frontier::release`] to make them
    /// fetchable.
    pub(crate) fn reserve(&mut self, entry: &Entry) -> bool {
        if self.seen.contains(&entry.url) {
            return false;
        }
        match entry.kind {
            EntryKind::Page if !self.page_budget_left() => return false,
            EntryKind::Page => self.pages_reserved += 1,
            EntryKind::Sitemap | EntryKind::Feed if self.aux_left == 0 => return false,
            EntryKind::Sitemap | EntryKind::Feed => self.aux_left -= 1,
        }
        self.seen.insert(entry.url.clone());
        true
    }

    /// Queues reserved entries. Sitemaps and feeds go to the front of their host's queue: they are
    /// cheap and may list many pages.
    pub(crate) fn release(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            let key = authority(&entry.url);
            let host = self.hosts.entry(key.clone()).or_default();
            if host.queue.is_empty() {
                self.ready.push_back(key);
            }
            match entry.kind {
                EntryKind::Page => host.queue.push_back(entry),
                EntryKind::Sitemap | EntryKind::Feed => host.queue.push_front(entry),
            }
        }
    }

    /// The next entry to fetch from a host with a free slot, round-robin over hosts. Sitemaps and
    /// feeds queued once the page budget is spent are dropped from this run: nothing they list could
    /// be fetched, and as they were reported but never read they stay pending in the platform's store
    /// for a resumed or later crawl.
    pub(crate) fn next(&mut self) -> Option<Entry> {
        let budget_left = self.page_budget_left();
        for _ in 0..self.ready.len() {
            let key = self.ready.pop_front()?;
            let Some(host) = self.hosts.get_mut(&key) else { continue };
            if !budget_left {
                // Sitemaps and feeds only ever join at the front and pages at the back, so this drops
                // them all without walking the pages (a retain here made every call O(queue)).
                while host.queue.front().is_some_and(|e| e.kind != EntryKind::Page) {
                    host.queue.pop_front();
                }
            }
            if host.queue.is_empty() {
                continue;
            }
            if host.out >= self.per_host {
                self.ready.push_back(key);
                continue;
            }
            let Some(entry) = host.queue.pop_front() else { continue };
            host.out += 1;
            if entry.kind == EntryKind::Page {
                self.pages_reserved -= 1;
                self.pages_out += 1;
            }
            if !host.queue.is_empty() {
                self.ready.push_back(key);
            }
            return Some(entry);
        }
        None
    }

    /// Ends a dispatched entry. `page_fetched`: a page answered and counts against the budget.
    pub(crate) fn finish(&mut self, entry: &Entry, page_fetched: bool) {
        let key = authority(&entry.url);
        if let Some(host) = self.hosts.get_mut(&key) {
            host.out = host.out.saturating_sub(1);
            if host.out == 0 && host.queue.is_empty() {
                self.hosts.remove(&key);
            }
        }
        if entry.kind == EntryKind::Page {
            self.pages_out = self.pages_out.saturating_sub(1);
            if page_fetched {
                self.pages_done += 1;
            }
        }
    }

    /// Entries queued (released, not yet dispatched).
    pub(crate) fn queued(&self) -> usize {
        self.hosts.values().map(|h| h.queue.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn normalize_cases() {
        let cases = [
            ("HTTP://Example.COM:80/a/../b?q=1#frag", Some("http://example.com/b?q=1")),
            ("https://example.com:443", Some("https://example.com/")),
            ("https://example.com:8443/x?b=2&a=1", Some("https://example.com:8443/x?b=2&a=1")),
            ("ftp://example.com/", None),
            ("mailto:a@example.com", None),
            ("https://user:pw@example.com/", None),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(&u(input)).as_ref().map(Url::as_str), want, "{input}");
        }
    }

    #[test]
    fn scope_cases() {
        let scope = Scope {
            hosts: vec!["example.com".into(), "*.blog.org".into(), "127.0.0.1:8080".into()],
            path_prefixes: vec![],
        };
        for (url, want) in [
            ("https://example.com/x", true),
            ("http://example.com:81/x", true),
            ("https://www.example.com/", false),
            ("https://a.blog.org/", true),
            ("https://blog.org/", false),
            ("https://evilblog.org/", false),
            ("http://127.0.0.1:8080/", true),
            ("http://127.0.0.1:8081/", false),
        ] {
            assert_eq!(scope.contains(&u(url)), want, "{url}");
        }
        let prefixed = Scope { hosts: vec!["example.com".into()], path_prefixes: vec!["/blog/".into()] };
        assert!(prefixed.contains(&u("https://example.com/blog/post")));
        assert!(!prefixed.contains(&u("https://example.com/shop/")));
        let seeded = Scope::default().or_seed_hosts(&[u("https://Seed.example/a"), u("https://seed.example/b")]);
        assert_eq!(seeded.hosts, ["seed.example"]);
    }

    #[test]
    fn dedup_budget_and_round_robin() {
        let mut f = Frontier::new(1, 3, 0, 10);
        let a1 = Entry::page(u("http://a/1"), 0);
        assert!(f.reserve(&a1));
        assert!(!f.reserve(&a1), "seen");
        let entries = [Entry::page(u("http://a/2"), 1), Entry::page(u("http://b/1"), 1)];
        for e in &entries {
            assert!(f.reserve(e));
        }
        assert!(!f.reserve(&Entry::page(u("http://c/1"), 1)), "budget of 3 is spent");
        // Reserved but unreleased entries are not dispatched.
        assert_eq!(f.next(), None);
        f.release([a1.clone()]);
        f.release(entries.clone());
        let first = f.next().expect("a/1");
        assert_eq!(first.url.as_str(), "http://a/1");
        // a is busy (one per host), so b comes next even though a/2 was queued first.
        assert_eq!(f.next().map(|e| e.url.to_string()).as_deref(), Some("http://b/1"));
        assert_eq!(f.next(), None);
        f.finish(&first, true);
        assert_eq!(f.next().map(|e| e.url.to_string()).as_deref(), Some("http://a/2"));
        // A failed page frees its budget slot.
        f.finish(&entries[0], false);
        assert!(f.reserve(&Entry::page(u("http://c/1"), 1)));
    }
}
