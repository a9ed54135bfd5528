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

/// The demo's licensed WeChat official account (its `__biz`).
const DEMO_BIZ: &str = "MzA5NDc1NzQ4MA==";

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
    // WeChat: rh-b licensed one official account by contract; its article is white, another
    // account's copy of the same work black (both on the same host, told apart by `__biz`).
    if let Some(n) = bodies.iter().position(|(w, _)| w.as_str() == "rh-b-w0") {
        let work = bodies[n].0.clone();
        let account =
            seal_licensing::licence::UseScope::WechatAccount { id: DEMO_BIZ.into(), name: "示例日报".into() };
        if !store.licences_of_work(&work)?.iter().any(|l| l.scope == account) {
            super::licences::grant_contract(store, &work, account, "示例日报 公众号", None, now)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
        }
        items.push((
            format!("https://mp.weixin.qq.com/s?__biz={DEMO_BIZ}&mid=2247483650&idx=1"),
            page("示例日报", article(n, false)),
            ago(2),
        ));
        items.push((
            "https://mp.weixin.qq.com/s?__biz=MzkzODA0NTY3OA==&mid=2247480001&idx=2".into(),
            page("搬运号", article(n, true)),
            ago(2),
        ));
        // Reached by a short link: the page names its own article link, which names the account.
        let short = format!(
            "<!doctype html><html><head><meta charset=utf-8><title>示例日报</title><meta property=\"og:url\" \
             content=\"http://mp.weixin.qq.com/s?__biz={DEMO_BIZ}&amp;mid=2247483651&amp;idx=1#rd\"></head>\
             <body><article>{}</article></body></html>",
            article(n, true)
        );
        items.push(("https://mp.weixin.qq.com/s/SealDemoShortLink".into(), short, ago(1)));
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
    demo_cases(store, now)?;
    Ok(DemoMonitoring { pages: report.pages, hits: report.hits.len() })
}

/// Rights protection in the demo, once: rh-a's black hits on three sites become cases: one waiting
/// for review, one approved with its settlement invitation out, and one that expired and went to
/// arbitration (approved three weeks ago, so its deadline has passed).
fn demo_cases(store: &mut SqliteStore, now: Timestamp) -> Result<(), StoreError> {
    use super::cases::{self, Review};
    use crate::store::cases::{Cases, Protection};
    use crate::store::monitoring::HitFilter;
    use crate::store::Monitoring;
    let holder = seal_licensing::ids::PartyId::new("rh-a").map_err(|e| StoreError::Conflict(e.to_string()))?;
    // Only where the demo's channels are verified (`seal serve --demo`), as the trust rule asks.
    if !store.cases(Some(&holder), &[], None, 1)?.is_empty() || !cases::may_open(store, &holder)? {
        return Ok(());
    }
    let conflict = |e: cases::CaseError| StoreError::Conflict(e.to_string());
    let protection = Protection { auto: false, multiplier_bps: 30_000, deadline_days: 14, identity_confirmed_at: None };
    cases::set_protection(store, &holder, &protection).map_err(conflict)?;
    let filter = HitFilter { owner: Some(holder.clone()), colour: Some("black".into()), ..HitFilter::default() };
    let mut by_domain: Vec<(String, Vec<i64>)> = Vec::new();
    for h in store.hits(&filter, 500)? {
        match by_domain.iter_mut().find(|(d, _)| *d == h.domain) {
            Some((_, ids)) => ids.push(h.id),
            None => by_domain.push((h.domain.clone(), vec![h.id])),
        }
    }
    let reviewer =
        seal_licensing::ids::PartyId::new("platform-review").map_err(|e| StoreError::Conflict(e.to_string()))?;
    let base = "http://127.0.0.1:8080";
    let weeks_ago = Timestamp::from_unix_ms(now.unix_ms() - 21 * seal_licensing::time::MS_PER_DAY);
    for (n, (domain, hits)) in by_domain.into_iter().take(4).enumerate() {
        let opened_at = if n >= 2 { weeks_ago } else { now };
        let Some(id) = cases::submit(store, &holder, "rh-a", &hits, opened_at).map_err(conflict)?.into_iter().next()
        else {
            continue;
        };
        if n == 0 {
            continue;
        }
        let contact = Some(format!("editor@{domain}"));
        let approve = Review::Approve { contact };
        if cases::review(store, base, &id, &reviewer, approve, opened_at).is_err() {
            continue;
        }
        if n == 2 {
            cases::sweep(store, base, now).map_err(conflict)?;
            let escalate =
                seal_licensing::case::CaseAction::Escalate { track: seal_licensing::case::Track::Arbitration };
            cases::offline_action(store, &id, &reviewer, escalate, now).map_err(conflict)?;
            let step = seal_licensing::case::CaseAction::RecordStep {
                note: "向仲裁委员会提交申请书及证据卷宗 Application and dossier filed with the arbitration commission"
                    .into(),
            };
            cases::offline_action(store, &id, &reviewer, step, now).map_err(conflict)?;
        }
        if n == 3 {
            demo_settlement(store, &id, weeks_ago.saturating_add_ms(2 * seal_licensing::time::MS_PER_DAY))?;
        }
    }
    Ok(())
}

/// The infringer of a demo case paid the disclosed fee: the retroactive licence goes through the book
/// (escrow, publicity period) and settles the case in the same unit, with `licence.granted` for the
/// subscribers, as a checkout's fulfilment does.
fn demo_settlement(store: &mut SqliteStore, case_id: &str, at: Timestamp) -> Result<(), StoreError> {
    use crate::store::prelude::*;
    use seal_licensing::book::{PaymentInput, PurchaseCommand};
    let conflict = |e: super::cases::CaseError| StoreError::Conflict(e.to_string());
    let c = super::cases::load(store, case_id, None).map_err(conflict)?;
    let (Some(offer), Some(fee), Some(currency)) = (c.offer.clone(), c.fee_minor, c.currency.clone()) else {
        return Ok(());
    };
    let party = |s: &str| seal_licensing::ids::PartyId::new(s).map_err(|e| StoreError::Conflict(e.to_string()));
    let licence = seal_licensing::ids::LicenceId::new(format!("lic-{case_id}"))
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    let cmd = PurchaseCommand {
        licence_id: licence.clone(),
        offer,
        work: c.work.clone(),
        licensee: party("settled-infringer")?,
        licensee_name: format!("{} 网站 site", c.domain),
        scope: seal_licensing::licence::UseScope::Domain(c.domain.clone()),
        payment: Some(PaymentInput {
            provider: party("alipay")?,
            provider_ref: format!("pay-{case_id}"),
            amount_minor: fee,
            currency,
        }),
        app: None,
        settlement_bps: Some(c.multiplier_bps),
    };
    store.atomically(|s| -> Result<(), StoreError> {
        s.purchase(&cmd, at)?;
        super::cases::settled_by(s, case_id, &licence, at).map_err(conflict)?;
        let payload = serde_json::json!({"licence": licence.as_str(), "work": c.work.as_str(), "case": case_id});
        s.record_event("licence.granted", licence.as_str(), &payload, at)?;
        Ok(())
    })
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
