//! The demo world with its content: [`load`] seeds the records (`store::demo`) and then gives each
//! demo work its body as a stored, fingerprinted text item, so `seal serve --demo` and `seal demo` show
//! matching on the works the README names (`rh-a-w0`, …). [`bulk_works`] makes the `bulk-{n}` works of
//! `seal demo --works N`, registered with content through [`register_batch_with_ids`].
//!
//! The demo's fixed works are registered as records first (the store's seed cannot reach the content
//! store or the monitor), then their content is attached with [`attach_content`]; both steps are
//! idempotent, so loading the demo on every start changes nothing after the first.
//!
//! [`register_batch_with_ids`]: super::registration::register_batch_with_ids

use super::registration::{attach_content, NewItem, NewWork, RegistrationError};
use crate::content::ContentStore;
use crate::domain::{ContentKind, Sha256Hex};
use crate::monitor::Monitor;
use crate::store::demo::{self, DemoWorld};
use crate::store::{Repository, SqliteStore, StoreError};
use seal_licensing::ids::WorkId;
use seal_licensing::Timestamp;

/// What [`load`] did.
#[derive(Clone, Debug)]
pub struct DemoLoad {
    /// The seeded world (offers and works to buy).
    pub world: DemoWorld,
    /// Demo works whose content was attached by this call (0 on every load after the first).
    pub attached: usize,
    /// Demo works left without content because an older version registered them with another body
    /// (their `content_sha256` names that body, which no longer exists to store).
    pub stale: Vec<WorkId>,
}

/// Seeds the demo world and attaches each demo work's body as its text item. Idempotent.
pub fn load(
    store: &mut SqliteStore,
    content: &ContentStore,
    monitor: &mut Monitor,
    now: Timestamp,
) -> Result<DemoLoad, RegistrationError> {
    let world = demo::seed(store, now)?;
    let mut attached = 0;
    let mut stale = Vec::new();
    for (id, body) in demo::work_bodies() {
        // A data directory seeded by an earlier version holds these ids with a hash of a shorter body;
        // refusing to start over it would be worse than leaving those works unmatched.
        let registered_with = store.work(&id)?.map(|w| w.content_sha256);
        if registered_with.as_deref() != Some(Sha256Hex::of(body.as_bytes()).as_str()) {
            stale.push(id);
            continue;
        }
        let item = NewItem { kind: ContentKind::Text, bytes: body.into_bytes(), file: None, source: None };
        if attach_content(store, content, monitor, &id, vec![item], now)? {
            attached += 1;
        }
    }
    Ok(DemoLoad { world, attached, stale })
}

/// Bulk works `from..to` (ids `bulk-{n}`), each with its generated news item as its one text item,
/// ready for [`register_batch_with_ids`](super::registration::register_batch_with_ids).
pub fn bulk_works(from: u64, to: u64) -> Vec<(WorkId, NewWork)> {
    (from..to)
        .map(|n| {
            let (id, owner, channel, title, source_url, body) = demo::bulk_work(n);
            let author = format!("作者 {owner}");
            let items = vec![NewItem { kind: ContentKind::Text, bytes: body.into_bytes(), file: None, source: None }];
            (id, NewWork { owner, channel: Some(channel), title, author, source_url: Some(source_url), items })
        })
        .collect()
}

/// What [`monitoring`] found.
#[derive(Clone, Debug, Default)]
pub struct DemoMonitoring {
    /// Pages run through the pipeline.
    pub pages: u64,
    /// Hits stored or seen again.
    pub hits: usize,
}

/// Gives the demo a monitoring history: pages that copy demo works (verbatim, in part, on a licensed
/// reader's site, on a partner's allowlisted portal) are run through the real
/// monitoring pipeline, so the hits the dashboards show were found by the engine and coloured by the
/// classifier, not written by hand; plus a paused monitoring job and a holder's pending suspect-site
/// submission. Idempotent: hits are updated in place on every start.
pub fn monitoring(
    store: &mut SqliteStore,
    monitor: &Monitor,
    pages: &crate::monitor::pages::PageStore,
    now: Timestamp,
) -> Result<DemoMonitoring, super::pipeline::PipelineError> {
    use super::pipeline::{run, Item, PageInput, PipelineConfig, Progress, Targets};
    use crate::store::Monitoring;
    let bodies = demo::work_bodies();
    let article = |n: usize, half: bool| -> String {
        let body = bodies.get(n).map(|(_, b)| b.as_str()).unwrap_or_default();
        // The article without its title block (the first three lines name the work and its source).
        let text: String = body.lines().skip(4).collect::<Vec<_>>().join("\n");
        let text = if half { text.chars().take(text.chars().count() * 3 / 4).collect() } else { text };
        text.split('\n').filter(|p| !p.trim().is_empty()).map(|p| format!("<p>{p}</p>")).collect()
    };
    let page = |title: &str, body: String| {
        format!("<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body><article>{body}</article></body></html>")
    };
    // A licence of a demo work, if the demo bought one, gives a licensed reader's site.
    let mut licensed = None;
    for (n, (work, _)) in bodies.iter().enumerate() {
        if let Some(l) = store.licences_of_work(work)?.into_iter().next() {
            if let seal_licensing::licence::UseScope::Domain(d) = &l.scope {
                licensed = Some((n, format!("https://{d}/reprints/{}", work.as_str())));
                break;
            }
        }
    }
    let partner = seal_licensing::ids::PartyId::new("rh-b").map_err(|e| StoreError::Conflict(e.to_string()))?;
    super::subscribers::allow(store, &partner, "domain", "partner-portal.example", "demo: offline contract", now)?;
    let day = seal_licensing::time::MS_PER_DAY;
    let ago = |d: i64| Timestamp::from_unix_ms(now.unix_ms() - d * day);
    let mut items: Vec<(String, String, Timestamp)> = vec![
        ("https://copycat-news.example/2026/11/story.html".into(), page("转载：今日要闻", article(0, false)), ago(6)),
        ("https://aggregator.example/feed/8831".into(), page("聚合 | 热点", article(3, true)), ago(3)),
        ("https://m.weibo-mirror.example/status/889".into(), page("微博搬运", article(5, false)), ago(1)),
        ("https://partner-portal.example/rh-b/0".into(), page("合作伙伴转载", article(2, false)), ago(4)),
    ];
    if let Some((n, url)) = licensed {
        items.push((url, page("已授权转载", article(n, false)), ago(5)));
    }
    // Two months of reprints on a handful of sites, some coming back, so the usage reports, search
    // facets and work timelines have a shape.
    let sites = [
        ("daily-digest.example", "每日文摘"),
        ("news-hub.example", "新闻汇"),
        ("copycat-news.example", "转载"),
        ("forum.example.net", "论坛转帖"),
        ("partner-portal.example", "合作伙伴转载"),
        ("blog-farm.example", "博客"),
    ];
    for i in 0..36usize {
        let (site, label) = sites[(i * 7 + i / 5) % sites.len()];
        let n = i % bodies.len().max(1);
        items.push((
            format!("https://{site}/archive/{i}.html"),
            page(&format!("{label} · {i}"), article(n, i % 3 == 0)),
            ago(7 + ((i * 11) % 54) as i64),
        ));
    }
    let config = PipelineConfig { source: "crawl", job: None, workers: 1, ..PipelineConfig::default() };
    let report = run(
        Targets { monitor, pages: Some(pages) },
        store,
        &config,
        || now,
        &Progress::default(),
        |tx| {
            for (url, html, seen) in items {
                let input = PageInput {
                    url,
                    frontier_url: None,
                    content_type: Some("text/html; charset=utf-8".into()),
                    body: html.into_bytes(),
                    seen,
                    images: Vec::new(),
                    discovered: Vec::new(),
                };
                if tx.send(Item::Page(input)).is_err() {
                    break;
                }
            }
        },
    )?;
    super::subscribers::drain_recolour(store, now)?;
    demo_jobs(store, now)?;
    Ok(DemoMonitoring { pages: report.pages, hits: report.hits.len() })
}

/// A paused monitoring job and a pending suspect-site submission, once.
fn demo_jobs(store: &mut SqliteStore, now: Timestamp) -> Result<(), StoreError> {
    use super::jobs::{create, Actor, JobSpec};
    use crate::store::Monitoring;
    if !store.jobs(None)?.is_empty() {
        return Ok(());
    }
    let spec = |seed: &str| JobSpec {
        seeds: vec![seed.to_owned()],
        sitemaps: Vec::new(),
        feeds: Vec::new(),
        hosts: Vec::new(),
        path_prefixes: Vec::new(),
        max_pages: 500,
        max_depth: 3,
        fetch_images: true,
    };
    let to_store = |e: super::jobs::JobError| StoreError::Conflict(e.to_string());
    let mut watch = create(
        store,
        &Actor::Admin,
        "Copycat watch (demo)",
        spec("https://copycat-news.example/"),
        Some(86_400_000),
        now,
    )
    .map_err(to_store)?;
    // Paused: the demo's sites do not exist, so the scheduler must not try them.
    watch.status = "paused".into();
    store.update_job(&watch)?;
    let holder = seal_licensing::ids::PartyId::new("rh-a").map_err(|e| StoreError::Conflict(e.to_string()))?;
    create(
        store,
        &Actor::Holder(holder),
        "Suspect: aggregator.example",
        spec("https://aggregator.example/"),
        None,
        now,
    )
    .map_err(to_store)?;
    Ok(())
}
