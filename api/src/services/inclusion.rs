//! Automatic inclusion ("no upload needed"): the platform reads the sitemap and feed of every
//! verified website or blog channel, and each page there that embeds the seal code of that channel
//! (or of one of the holder's works) is registered as a work of the channel's holder: its HTML and
//! the images it embeds, content stored and fingerprinted, the page as the work's source URL. So the
//! holder's own pages are never reported as hits of the holder (the pipeline skips a work's own source
//! page, and the rest of the channel is white as the holder's own channel).
//!
//! Fetching goes through the crawler (robots.txt, politeness, the guarded fetcher), limited to the
//! channel's proven scope: the channel's home page, its `/sitemap.xml`, the sitemaps its robots.txt
//! names, and the feeds its pages announce. Registration is idempotent by content, so reading an
//! unchanged page again registers nothing new.

use super::channels::ChannelScope;
use super::registration::{NewItem, NewWork};
use crate::domain::ContentKind;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_crawler::crawl::{CrawlConfig, CrawlEvent};
use seal_crawler::fetch::Fetcher;
use seal_crawler::frontier::Scope;
use seal_licensing::offer::{Channel, ChannelKind};
use std::cell::Cell;
use std::time::Duration;
use url::Url;

/// Most pages read per channel and run.
pub const MAX_PAGES_PER_CHANNEL: usize = 500;

/// The verified website and blog channels: the ones whose pages may be included.
pub fn included_channels(store: &SqliteStore) -> Result<Vec<Channel>, StoreError> {
    let mut out = Vec::new();
    for channel in store.all_channels()? {
        if !matches!(channel.kind, ChannelKind::Website | ChannelKind::Blog) {
            continue;
        }
        if store.claim(&channel.id)?.is_some_and(|c| c.verified_at.is_some()) {
            out.push(channel);
        }
    }
    Ok(out)
}

/// Whether an HTML page embeds the seal code (`<script src=".../seal.js" data-seal="ID">`) naming one of
/// `ids` (the channel, or a work of its holder). Read with lol_html, so a mention in text or a comment
/// does not count.
pub fn embeds_seal(html: &[u8], ids: &[String]) -> bool {
    use lol_html::{element, HtmlRewriter, Settings};
    let found = Cell::new(false);
    let settings = Settings::new().append_element_content_handler(element!("script[data-seal]", |el| {
        let src_ok =
            el.get_attribute("src").is_some_and(|s| s.split(['?', '#']).next().unwrap_or("").ends_with("/seal.js"));
        if src_ok && el.get_attribute("data-seal").is_some_and(|id| ids.iter().any(|i| *i == id.trim())) {
            found.set(true);
        }
        Ok(())
    }));
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    // Malformed HTML is not an error for lol_html; a write error only ends the scan early.
    let _ = rewriter.write(html).and_then(|()| rewriter.end());
    found.get()
}

/// A page of a channel that embeds its seal, with its images.
#[derive(Clone, Debug)]
pub struct SealedPage {
    /// The page's URL (after redirects, inside the channel's scope).
    pub url: Url,
    /// The HTML.
    pub html: Vec<u8>,
    /// The images it embeds that were fetched: (url, bytes).
    pub images: Vec<(Url, Vec<u8>)>,
}

/// Reads a channel's sitemap, feed and home page through the crawler and returns the pages that
/// embed its seal. `ids` are the seal ids that count (the channel's id, and its holder's work ids).
pub fn sealed_pages(
    fetcher: &Fetcher,
    channel: &Channel,
    ids: &[String],
    min_host_delay: Duration,
) -> Result<Vec<SealedPage>, String> {
    let scope = ChannelScope::parse(channel.kind, &channel.handle).map_err(|e| e.to_string())?;
    let bases = scope.bases();
    let mut config = CrawlConfig::new(bases.clone());
    config.sitemaps = bases.iter().filter_map(|b| b.join("sitemap.xml").ok()).collect();
    let hosts: Vec<String> = bases
        .iter()
        .filter_map(|b| b.host_str().map(|h| b.port().map_or(h.to_owned(), |p| format!("{h}:{p}"))))
        .collect();
    let path = bases.first().map(|b| b.path().to_owned()).unwrap_or_else(|| "/".into());
    config.scope = Scope { hosts, path_prefixes: if path == "/" { Vec::new() } else { vec![path] } };
    config.max_pages = MAX_PAGES_PER_CHANNEL;
    config.max_depth = 1;
    config.min_host_delay = min_host_delay;
    config.max_attempts = 2;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<CrawlEvent>(16);
    let progress = seal_crawler::crawl::Progress::default();
    let mut found = Vec::new();
    runtime.block_on(async {
        let crawl = seal_crawler::crawl::crawl(fetcher, &config, None, tx, &progress);
        let collect = async {
            while let Some(event) = rx.recv().await {
                let CrawlEvent::Page(page) = event else { continue };
                let html = page.content_type.as_deref().is_none_or(|ct| ct.to_ascii_lowercase().contains("html"));
                if !(200..300).contains(&page.status) || !html || !scope.contains(&page.final_url) {
                    continue;
                }
                if !embeds_seal(&page.body, ids) {
                    continue;
                }
                let images = page
                    .images
                    .into_iter()
                    .filter_map(|i| i.result.ok().map(|img| (i.url, img.body.to_vec())))
                    .collect();
                found.push(SealedPage { url: page.final_url, html: page.body.to_vec(), images });
            }
        };
        tokio::join!(crawl, collect);
    });
    Ok(found)
}

/// The work a sealed page becomes: its HTML first (the work's content hash), then its images.
pub fn work_of(page: &SealedPage, channel: &Channel, author: &str) -> NewWork {
    let extracted = seal_engine::text::extract(
        &page.html,
        seal_engine::text::ContentKind::Html,
        &seal_engine::text::ExtractConfig::default(),
    )
    .ok();
    let title: String = extracted
        .and_then(|e| e.title)
        .map(|t| t.chars().filter(|c| !seal_licensing::offer::is_forbidden_char(*c)).collect::<String>())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| page.url.to_string())
        .trim()
        .chars()
        .take(200)
        .collect();
    let mut items = vec![NewItem { kind: ContentKind::Html, bytes: page.html.clone(), file: None, source: None }];
    for (url, bytes) in &page.images {
        if seal_engine::image::Format::sniff(bytes).is_some() {
            let file = url.path_segments().and_then(|mut s| s.next_back()).map(str::to_owned);
            items.push(NewItem { kind: ContentKind::Image, bytes: bytes.clone(), file, source: None });
        }
    }
    NewWork {
        owner: channel.owner.clone(),
        channel: Some(channel.id.clone()),
        title,
        author: if author.trim().is_empty() { "—".into() } else { author.to_owned() },
        source_url: Some(page.url.to_string()),
        items,
    }
}

/// The seal ids that count for a channel: its own id and its holder's work ids.
pub fn seal_ids(store: &SqliteStore, channel: &Channel) -> Result<Vec<String>, StoreError> {
    let mut ids = vec![channel.id.as_str().to_owned()];
    ids.extend(store.all_works_of(&channel.owner)?.into_iter().map(|w| w.id.as_str().to_owned()));
    Ok(ids)
}

/// Drops the images the engine would refuse (too small or too flat to fingerprint), so that one
/// unusable image does not keep the page's text from being registered.
pub fn keep_usable_images(monitor: &crate::monitor::Monitor, work: &mut NewWork) {
    work.items
        .retain(|item| item.kind != ContentKind::Image || monitor.prepare(ContentKind::Image, &item.bytes).is_ok());
}

/// What one inclusion pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InclusionReport {
    /// Channels read.
    pub channels: usize,
    /// Pages found embedding a seal.
    pub sealed_pages: usize,
    /// Works newly registered.
    pub registered: usize,
    /// Channels that could not be read, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Everything one pass needs to know about a channel before fetching: the channel, the seal ids
/// that count, and the author to name.
pub fn plan(store: &SqliteStore) -> Result<Vec<(Channel, Vec<String>, String)>, StoreError> {
    included_channels(store)?
        .into_iter()
        .map(|c| {
            let ids = seal_ids(store, &c)?;
            let author = store.holder_name(&c.owner)?;
            Ok((c, ids, author))
        })
        .collect()
}

/// Fetches every planned channel and returns the works its sealed pages become, with the report so
/// far (`registered` is for the caller to fill in once it has registered them).
pub fn fetch_planned(
    fetcher: &Fetcher,
    planned: &[(Channel, Vec<String>, String)],
    min_host_delay: Duration,
) -> (Vec<NewWork>, InclusionReport) {
    let mut report = InclusionReport::default();
    let mut works = Vec::new();
    for (channel, ids, author) in planned {
        report.channels += 1;
        match sealed_pages(fetcher, channel, ids, min_host_delay) {
            Ok(pages) => {
                report.sealed_pages += pages.len();
                works.extend(pages.iter().map(|p| work_of(p, channel, author)));
            }
            Err(e) => report.failed.push((channel.id.as_str().to_owned(), e)),
        }
    }
    (works, report)
}
