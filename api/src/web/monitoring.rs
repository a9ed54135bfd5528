//! Monitoring pages: a rights holder's hits (white and black), allowlist and suspect-site submissions,
//! and the administrator's monitoring jobs; plus the parsing and wording the REST v1 endpoints share
//! (`rest.rs` answers the same filters with the same rules).
//!
//! Everything on these pages that a crawled page or a user wrote (titles, URLs, names, notes) goes
//! through askama's escaping; a URL becomes a link only when it is http or https, so a stored
//! `javascript:` address stays inert text. Links to suspect pages carry `rel="nofollow noopener
//! noreferrer"`: the dashboard's address is nothing an infringing site needs to see.

use super::auth::{csrf_page, form_user, require};
use super::error::ApiError;
use super::{db, see_other, State};
use crate::i18n::Lang;
use crate::services::jobs::{self, Actor, Decision, JobSpec};
use crate::services::subscribers::{allow, disallow, drain_recolour};
use crate::store::monitoring::{domain_of, AllowEntry, HitFilter, HitRow, JobRow, Reason};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use crate::store::SqliteStore;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::Timestamp;
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::IntoParams;

/// Hits per page on the dashboard (the API takes `limit`).
const PAGE_HITS: usize = 50;
/// The longest `limit` of `GET /api/v1/hits`.
pub const MAX_HIT_LIMIT: usize = 200;
/// Holders submit one-off checks of a suspect site within these budgets; an administrator schedules
/// anything larger or repeating.
const HOLDER_MAX_PAGES: usize = 1_000;
const HOLDER_MAX_DEPTH: u32 = 5;

/// Filters of a hit listing, as the dashboard's form and `GET /api/v1/hits` send them. Every field is
/// text so an empty form field means "any" rather than a parse error.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct HitQuery {
    /// Only this work (a rights holder's own works only; another's id simply finds nothing).
    pub work: Option<String>,
    /// Only pages on this host (exact; a URL is reduced to its host).
    pub domain: Option<String>,
    /// `white` (licensed) or `black` (unlicensed).
    #[param(pattern = "^(white|black)?$")]
    pub colour: Option<String>,
    /// `text` or `image`.
    #[param(pattern = "^(text|image)?$")]
    pub kind: Option<String>,
    /// Keyset cursor: the `next` of the previous page (hits with smaller ids, i.e. older).
    #[param(value_type = Option<i64>)]
    pub before: Option<String>,
    /// Hits per page, 1–200 (default 50).
    #[param(value_type = Option<usize>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A host typed by a person: `Example.com`, or a whole URL reduced to its host.
fn parse_domain(text: &str) -> Result<String, ApiError> {
    let host = if text.contains("://") { domain_of(text) } else { text.to_ascii_lowercase() };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'));
    if ok {
        Ok(host)
    } else {
        Err(ApiError::invalid("domain must be a host name such as example.com").keyed("mon-error-domain", &[]))
    }
}

impl HitQuery {
    /// The store filter for `user` and the page size. A rights holder's filter always carries their
    /// own id, whatever else is asked; an administrator's covers every holder.
    pub fn filter(&self, user: &User) -> Result<(HitFilter, usize), ApiError> {
        let limit = match given(&self.limit) {
            None => PAGE_HITS,
            Some(l) => match l.parse::<usize>() {
                Ok(n @ 1..=MAX_HIT_LIMIT) => n,
                _ => {
                    return Err(ApiError::invalid(format!("limit must be 1 to {MAX_HIT_LIMIT}"))
                        .keyed("mon-error-limit", &[("max", &MAX_HIT_LIMIT.to_string())]))
                }
            },
        };
        let work = match given(&self.work) {
            None => None,
            Some(w) => Some(
                WorkId::new(w)
                    .map_err(|_| ApiError::invalid("work is not a work id").keyed("mon-error-work-id", &[]))?,
            ),
        };
        let colour = match given(&self.colour) {
            None | Some("all") => None,
            Some(c @ ("white" | "black")) => Some(c.to_owned()),
            Some(_) => return Err(ApiError::invalid("colour must be white or black").keyed("mon-error-colour", &[])),
        };
        let kind = match given(&self.kind) {
            None => None,
            Some(k @ ("text" | "image")) => Some(k.to_owned()),
            Some(_) => return Err(ApiError::invalid("kind must be text or image").keyed("mon-error-kind", &[])),
        };
        let before = match given(&self.before) {
            None => None,
            Some(b) => match b.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(ApiError::invalid("before must be a hit id (the previous page's next)")
                        .keyed("mon-error-before", &[]))
                }
            },
        };
        let domain = given(&self.domain).map(parse_domain).transpose()?;
        let owner = if user.role == Role::Admin { None } else { Some(user.id.clone()) };
        Ok((HitFilter { owner, work, domain, colour, kind, before }, limit))
    }
}

/// One page of hits, newest first, and the cursor of the next (older) page if there is one.
pub fn hit_page(store: &SqliteStore, filter: &HitFilter, limit: usize) -> Result<(Vec<HitRow>, Option<i64>), ApiError> {
    // One more than asked says whether an older page exists, so the last page has no "older" link.
    let mut rows = store.hits(filter, limit + 1)?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|h| h.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// The allowlist patterns behind the hits of a page, by entry id, so a reason can name the pattern.
pub fn allow_patterns(store: &SqliteStore, hits: &[HitRow]) -> Result<HashMap<i64, String>, ApiError> {
    let mut owners: Vec<&PartyId> = hits.iter().filter(|h| h.reason == Reason::Allowlist).map(|h| &h.owner).collect();
    owners.sort();
    owners.dedup();
    let mut out = HashMap::new();
    for owner in owners {
        out.extend(store.allowlist(owner)?.into_iter().map(|e| (e.id, e.pattern)));
    }
    Ok(out)
}

/// Why a hit has its colour, in plain English words: the API's `reason_text`, which stays in one
/// language for machines and logs.
pub fn reason_words(hit: &HitRow, patterns: &HashMap<i64, String>, admin: bool) -> String {
    reason_in(Lang::En, hit, patterns, admin)
}

/// Why a hit has its colour, in the words of `l`.
pub fn reason_in(l: Lang, hit: &HitRow, patterns: &HashMap<i64, String>, admin: bool) -> String {
    let r = &hit.reason_ref;
    match hit.reason {
        Reason::Licence => l.t1("mon-reason-licence", "ref", r),
        Reason::OwnChannel if admin => l.t1("mon-reason-holder-channel", "ref", r),
        Reason::OwnChannel => l.t1("mon-reason-own-channel", "ref", r),
        Reason::Allowlist => match r.parse::<i64>().ok().and_then(|id| patterns.get(&id)) {
            Some(p) => l.t1("mon-reason-allowlist", "pattern", p),
            None => l.t1("mon-reason-allowlist-removed", "ref", r),
        },
        Reason::Unlicensed => l.t("mon-reason-unlicensed"),
    }
}

/// The engine's kind of copy (`full`, `excerpt`, … for text; `whole`, `region`, … for images) in
/// words; a kind this version does not know is shown as stored.
pub fn copy_words(l: Lang, copy: &str) -> String {
    let key = match copy {
        "full" => "mon-copy-full",
        "excerpt" => "mon-copy-excerpt",
        "near-duplicate" => "mon-copy-near-duplicate",
        "whole" => "mon-copy-whole",
        "flipped" => "mon-copy-flipped",
        "rotated" => "mon-copy-rotated",
        "region" => "mon-copy-region",
        other => return other.to_owned(),
    };
    l.t(key)
}

/// An error for a page in `l`: its words, and the English detail when the catalogue has none.
pub fn error_words(l: Lang, e: &ApiError) -> String {
    match e.message_in(l) {
        (message, Some(detail)) => format!("{message} ({detail})"),
        (message, None) => message,
    }
}

/// `url` when it is an http or https address (fit for an `href`), else `None`.
pub fn safe_href(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

/// A time for tables: `2026-11-20 08:00` (UTC). Pages in a language write times with `Lang::time`
/// (Beijing time); this stays for pages not converted yet.
pub fn when(t: Timestamp) -> String {
    t.to_string().get(..16).map(|s| s.replace('T', " ")).unwrap_or_default()
}

/// The API and form name of an allowlist scope.
pub fn allow_parts(text: &str) -> Result<(&'static str, String), ApiError> {
    let parsed = crate::services::licences::parse_scope(text)
        .map_err(|e| ApiError::invalid(e.to_string()).keyed("mon-error-pattern", &[("input", text.trim())]))?;
    crate::services::classify::allow_parts_of(parsed)
        .ok_or_else(|| ApiError::invalid("an app has no web pages to allow").keyed("mon-error-pattern-app", &[]))
}

/// Checks an allowlist note (shown on the holder's pages): at most 200 characters, no control or
/// direction-changing characters.
pub fn check_note(note: &str) -> Result<String, ApiError> {
    let note = note.trim();
    if note.chars().count() > 200 {
        return Err(ApiError::invalid("the note must be at most 200 characters").keyed("mon-error-note-long", &[]));
    }
    if !note.is_empty() {
        seal_licensing::offer::check_display_text("note", note)
            .map_err(|e| ApiError::invalid(e.to_string()).keyed("mon-error-note-text", &[]))?;
    }
    Ok(note.to_owned())
}

/// Adds an allowlist entry and recolours at once; returns the entry id and how many hits changed.
pub async fn add_allow(state: &State, owner: PartyId, text: &str, note: &str) -> Result<(i64, usize), ApiError> {
    let (kind, pattern) = allow_parts(text)?;
    let note = check_note(note)?;
    let now = state.now();
    db(state, move |s| {
        let id = allow(s, &owner, kind, &pattern, &note, now)?;
        Ok((id, recolour_now(s, now)))
    })
    .await
}

/// Removes an allowlist entry of `owner` (404 for anyone else's) and recolours at once.
pub async fn remove_allow(state: &State, owner: PartyId, id: i64) -> Result<usize, ApiError> {
    let now = state.now();
    db(state, move |s| {
        if !disallow(s, &owner, id, now)? {
            return Err(ApiError::not_found("allowlist entry"));
        }
        Ok(recolour_now(s, now))
    })
    .await
}

/// Drains the recolouring subscriber. The allowlist change is committed by then, so a failure here is
/// logged rather than answered as a failed change: the next drain applies it.
fn recolour_now(s: &mut SqliteStore, now: Timestamp) -> usize {
    match drain_recolour(s, now) {
        Ok(d) => d.recoloured,
        Err(e) => {
            tracing::error!(error = %e, "recolouring after an allowlist change failed; the next drain retries");
            0
        }
    }
}

/// The fields of a job form or body, as text and lists, before validation.
#[derive(Clone, Debug, Default)]
pub struct JobInput {
    /// A name for people.
    pub name: String,
    /// Start pages.
    pub seeds: Vec<String>,
    /// Sitemaps.
    pub sitemaps: Vec<String>,
    /// Feeds.
    pub feeds: Vec<String>,
    /// Hosts the crawl may visit.
    pub hosts: Vec<String>,
    /// Path prefixes.
    pub path_prefixes: Vec<String>,
    /// Page budget per run.
    pub max_pages: Option<usize>,
    /// Depth budget.
    pub max_depth: Option<u32>,
    /// Re-run interval; `None` runs once.
    pub interval_ms: Option<i64>,
    /// Whether to fetch embedded images.
    pub fetch_images: Option<bool>,
}

/// Creates a job for `user`: an administrator's is active, a rights holder's a pending suspect-site
/// submission, one-off and within [`HOLDER_MAX_PAGES`] pages and [`HOLDER_MAX_DEPTH`] links deep.
pub async fn create_job(state: &State, user: &User, input: JobInput) -> Result<JobRow, ApiError> {
    let holder = user.role != Role::Admin;
    let (default_pages, default_depth) = if holder { (200, 2) } else { (1_000, 3) };
    let spec = JobSpec {
        seeds: input.seeds,
        sitemaps: input.sitemaps,
        feeds: input.feeds,
        hosts: input.hosts,
        path_prefixes: input.path_prefixes,
        max_pages: input.max_pages.unwrap_or(default_pages),
        max_depth: input.max_depth.unwrap_or(default_depth),
        fetch_images: input.fetch_images.unwrap_or(true),
    };
    if holder {
        if input.interval_ms.is_some() {
            return Err(ApiError::invalid(
                "interval: a suspect site is checked once; an administrator schedules repeats",
            )
            .keyed("mon-error-suspect-once", &[]));
        }
        if spec.max_pages > HOLDER_MAX_PAGES || spec.max_depth > HOLDER_MAX_DEPTH {
            return Err(ApiError::invalid(format!(
                "a suspect site is checked with at most {HOLDER_MAX_PAGES} pages and depth {HOLDER_MAX_DEPTH}"
            ))
            .keyed(
                "mon-error-suspect-budget",
                &[("pages", &HOLDER_MAX_PAGES.to_string()), ("depth", &HOLDER_MAX_DEPTH.to_string())],
            ));
        }
    }
    let name = input.name.trim();
    if !name.is_empty() {
        seal_licensing::offer::check_display_text("name", name)
            .map_err(|e| ApiError::invalid(e.to_string()).keyed("mon-error-name-text", &[]))?;
    }
    let actor = actor_of(user);
    let now = state.now();
    let (name, interval) = (input.name, input.interval_ms);
    db(state, move |s| jobs::create(s, &actor, &name, spec, interval, now).map_err(job_error)).await
}

/// A job service error, with words for pages by the field it names.
fn job_error(e: jobs::JobError) -> ApiError {
    let jobs::JobError::Invalid { field, reason } = &e else { return e.into() };
    let key = match *field {
        "seeds" => "mon-error-job-seeds",
        "sitemaps" => "mon-error-job-sitemaps",
        "feeds" => "mon-error-job-feeds",
        "max_pages" => "mon-error-job-max-pages",
        "max_depth" => "mon-error-job-max-depth",
        "hosts" => "mon-error-job-hosts",
        "path_prefixes" => "mon-error-job-path-prefixes",
        "name" => "mon-error-job-name",
        "interval" => "mon-error-job-interval",
        _ => return e.into(),
    };
    let reason = reason.clone();
    ApiError::from(e).keyed(key, &[("reason", &reason)])
}

/// The jobs actor of a user.
pub fn actor_of(user: &User) -> Actor {
    if user.role == Role::Admin {
        Actor::Admin
    } else {
        Actor::Holder(user.id.clone())
    }
}

/// Deletes a job (administrators only; checked by the caller). A running job is refused: pausing it
/// first lets the crawler finish the page in hand rather than find its job gone.
pub async fn delete_job(state: &State, id: String) -> Result<(), ApiError> {
    db(state, move |s| {
        let job = s.job(&id)?.ok_or_else(|| ApiError::not_found("monitoring job"))?;
        if job.running {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the job is running: pause it and delete it when the run has ended",
            )
            .keyed("mon-error-job-running", &[]));
        }
        s.delete_job(&id)?;
        Ok(())
    })
    .await
}

/// Applies an administrator's decision (`approve`, `pause`, `reject`).
pub async fn decide_job(state: &State, id: String, decision: &str) -> Result<JobRow, ApiError> {
    let decision = Decision::parse(decision.trim()).ok_or_else(|| {
        ApiError::invalid("decision must be approve, pause or reject").keyed("mon-error-decision", &[])
    })?;
    let now = state.now();
    db(state, move |s| Ok(jobs::decide(s, &id, decision, now)?)).await
}

/// A textarea or list field: one entry per line (or separated by spaces; URLs hold none).
fn lines(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// A whole number typed into `field`, whose error says so under `key`.
fn number<T: std::str::FromStr>(field: &str, key: &'static str, text: &str) -> Result<Option<T>, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| ApiError::invalid(format!("{field} must be a whole number")).keyed(key, &[]))
}

/// An interval in hours as typed: empty or `once` runs once; otherwise hours, fractions allowed.
fn interval_hours(text: &str) -> Result<Option<i64>, ApiError> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("once") {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h <= 24.0 * 366.0 => Ok(Some((h * 3_600_000.0).round() as i64)),
        _ => Err(ApiError::invalid("interval: hours (e.g. 24 or 0.5), or once").keyed("mon-error-interval", &[])),
    }
}

/// A job row for tables.
pub struct JobView {
    id: String,
    name: String,
    submitted_by: String,
    status: String,
    status_label: String,
    running: bool,
    interval: String,
    next_run: String,
    last_run: String,
    counts: (i64, i64, i64),
    targets: String,
    /// Why the last run failed.
    last_error: Option<String>,
}

/// A job's state in words; a state this version does not know is shown as stored.
fn status_label(l: Lang, status: &str) -> String {
    let key = match status {
        "pending" => "mon-job-status-pending",
        "active" => "mon-job-status-active",
        "paused" => "mon-job-status-paused",
        "rejected" => "mon-job-status-rejected",
        other => return other.to_owned(),
    };
    l.t(key)
}

/// How often a job runs, in words.
pub fn interval_words(l: Lang, interval_ms: Option<i64>) -> String {
    match interval_ms {
        None => l.t("mon-job-once"),
        Some(ms) if ms % 3_600_000 == 0 => l.n("mon-job-every-hours", ms / 3_600_000),
        Some(ms) => l.n("mon-job-every-minutes", ms / 60_000),
    }
}

fn job_view(l: Lang, j: JobRow) -> JobView {
    let targets = match jobs::spec_of(&j) {
        Ok(spec) => {
            let all: Vec<String> = spec.seeds.iter().chain(&spec.sitemaps).chain(&spec.feeds).cloned().collect();
            let more = all.len().saturating_sub(3);
            let mut shown = all.into_iter().take(3).collect::<Vec<_>>().join(" ");
            if more > 0 {
                shown.push_str(&format!(" (+{more})"));
            }
            let budget = l.t2(
                "mon-job-budget",
                ("pages", &l.int(i64::try_from(spec.max_pages).unwrap_or(i64::MAX))),
                ("depth", &spec.max_depth),
            );
            format!("{shown} · {budget}")
        }
        Err(_) => "?".into(),
    };
    JobView {
        status_label: status_label(l, &j.status),
        submitted_by: j.submitted_by.map(|p| p.to_string()).unwrap_or_else(|| l.t("role-admin")),
        interval: interval_words(l, j.interval_ms),
        next_run: if j.status == "active" {
            j.next_run_at.map(|t| l.time(t)).unwrap_or_default()
        } else {
            String::new()
        },
        last_run: match (j.last_started, j.last_finished) {
            (_, Some(f)) => l.time(f),
            (Some(s), None) => format!("{} …", l.time(s)),
            (None, None) => String::new(),
        },
        counts: j.last_counts,
        last_error: j.last_error,
        running: j.running,
        targets,
        status: j.status,
        name: j.name,
        id: j.id,
    }
}

/// A hit row for the dashboard.
pub struct HitView {
    id: i64,
    colour: String,
    page_href: Option<String>,
    page_url: String,
    title: String,
    work: String,
    work_title: String,
    owner: String,
    kind: String,
    image_href: Option<String>,
    image_url: String,
    copy: String,
    score: String,
    first_seen: String,
    last_seen: String,
    reason: String,
}

/// A colour tab: its label, link, count and whether it is the one shown.
pub struct Tab {
    label: String,
    href: String,
    count: i64,
    active: bool,
    class: &'static str,
}

#[derive(askama::Template)]
#[template(path = "hits.html")]
struct HitsPage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    admin: bool,
    hits: Vec<HitView>,
    tabs: Vec<Tab>,
    works: Vec<(String, String)>,
    work: String,
    domain: String,
    colour: String,
    kind: String,
    older: Option<String>,
    newest: Option<String>,
}

/// A link to the hits page with these filters.
fn hits_href(work: &str, domain: &str, colour: &str, kind: &str, before: Option<i64>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("work", work), ("domain", domain), ("colour", colour), ("kind", kind)] {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    if let Some(b) = before {
        q.append_pair("before", &b.to_string());
    }
    let q = q.finish();
    if q.is_empty() {
        "/dashboard/hits".into()
    } else {
        format!("/dashboard/hits?{q}")
    }
}

async fn hits_page(state: State, req: HttpRequest, q: web::Query<HitQuery>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Admin]).await.map_err(ApiError::page)?;
    let admin = user.role == Role::Admin;
    let (filter, limit) = q.filter(&user).map_err(ApiError::page)?;
    let owner = user.id.clone();
    let f = filter.clone();
    let (rows, next, counts, titles, patterns, works, names) = db(&state, move |s| {
        let (rows, next) = hit_page(s, &f, limit)?;
        // The tabs count every colour under the other filters, so each tab says what it holds.
        let all = HitFilter { colour: None, before: None, ..f.clone() };
        let count = |c: &str| s.count_hits(&HitFilter { colour: Some(c.into()), ..all.clone() });
        let counts = (count("black")?, count("white")?);
        let mut titles = HashMap::new();
        let mut names = HashMap::new();
        for h in &rows {
            if !titles.contains_key(&h.work) {
                let t = s.work(&h.work)?.map(|w| w.title).unwrap_or_default();
                titles.insert(h.work.clone(), t);
            }
            if admin && !names.contains_key(&h.owner) {
                let n = s.user(&h.owner)?.map(|u| u.name).unwrap_or_default();
                names.insert(h.owner.clone(), n);
            }
        }
        let patterns = allow_patterns(s, &rows)?;
        let works = if admin { Vec::new() } else { s.works_of(&owner, "", 500)? };
        Ok((rows, next, counts, titles, patterns, works, names))
    })
    .await
    .map_err(ApiError::page)?;
    let l = super::lang_of(&req);
    let text = |v: &Option<String>| given(v).unwrap_or_default().to_owned();
    let (work, kind) = (text(&q.work), text(&q.kind));
    let domain = filter.domain.clone().unwrap_or_default();
    let colour = filter.colour.clone().unwrap_or_default();
    let tab = |label: &str, c: &str, count, class| Tab {
        label: l.t(label),
        href: hits_href(&work, &domain, c, &kind, None),
        count,
        active: colour == c,
        class,
    };
    let tabs = vec![
        tab("mon-tab-all", "", counts.0 + counts.1, ""),
        tab("mon-tab-black", "black", counts.0, "black"),
        tab("mon-tab-white", "white", counts.1, "white"),
    ];
    let hits = rows
        .into_iter()
        .map(|h| HitView {
            id: h.id,
            reason: reason_in(l, &h, &patterns, admin),
            page_href: safe_href(&h.page_url),
            work_title: titles.get(&h.work).cloned().unwrap_or_default(),
            work: h.work.to_string(),
            owner: match names.get(&h.owner) {
                Some(n) if !n.is_empty() => format!("{n} ({})", h.owner),
                _ => h.owner.to_string(),
            },
            image_href: h.image_url.as_deref().and_then(safe_href),
            image_url: h.image_url.unwrap_or_default(),
            score: format!("{:.0}%", (h.score * 100.0).clamp(0.0, 100.0)),
            first_seen: l.time(h.first_seen),
            last_seen: l.time(h.last_seen),
            copy: copy_words(l, &h.copy),
            colour: h.colour,
            page_url: h.page_url,
            title: h.title,
            kind: h.kind,
        })
        .collect();
    csrf_page(&req, &state, |csrf| HitsPage {
        l,
        older: next.map(|n| hits_href(&work, &domain, &colour, &kind, Some(n))),
        newest: filter.before.map(|_| hits_href(&work, &domain, &colour, &kind, None)),
        works: works.into_iter().map(|w| (w.id.to_string(), w.title)).collect(),
        user,
        csrf,
        admin,
        hits,
        tabs,
        work,
        domain,
        colour,
        kind,
    })
}

#[derive(askama::Template)]
#[template(path = "allowlist.html")]
struct AllowlistPage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    entries: Vec<(i64, String, String, String, String)>,
    notice: Option<String>,
    error: Option<String>,
    pattern: String,
    note: String,
}

#[derive(Debug, Deserialize)]
struct AllowlistQuery {
    recoloured: Option<u64>,
    removed: Option<u64>,
}

fn entry_row(l: Lang, e: AllowEntry) -> (i64, String, String, String, String) {
    let kind = l.t(match e.kind.as_str() {
        "domain" => "mon-allow-kind-domain",
        "wechat_account" => "co-place-wechat",
        "weibo_account" => "co-place-weibo",
        _ => "mon-allow-kind-prefix",
    });
    (e.id, kind, e.pattern, e.note, l.time(e.created_at))
}

async fn allowlist_view(
    state: &State,
    req: &HttpRequest,
    user: User,
    notice: Option<String>,
    error: Option<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let owner = user.id.clone();
    let entries = db(state, move |s| Ok(s.allowlist(&owner)?)).await.map_err(ApiError::page)?;
    let failed = error.is_some();
    let (error, pattern, note) = match error {
        Some((e, p, n)) => (Some(e), p, n),
        None => (None, String::new(), String::new()),
    };
    let l = super::lang_of(req);
    let mut resp = csrf_page(req, state, |csrf| AllowlistPage {
        l,
        entries: entries.into_iter().map(|e| entry_row(l, e)).collect(),
        user,
        csrf,
        notice,
        error,
        pattern,
        note,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

async fn allowlist_page(
    state: State,
    req: HttpRequest,
    q: web::Query<AllowlistQuery>,
) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await.map_err(ApiError::page)?;
    // Only numbers travel in the redirect, so the query string cannot put words on the page.
    let l = super::lang_of(&req);
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let notice = match (q.recoloured, q.removed) {
        (Some(n), None) => Some(l.n("mon-allow-added", count(n))),
        (Some(n), Some(_)) => Some(l.n("mon-allow-removed", count(n))),
        _ => None,
    };
    allowlist_view(&state, &req, user, notice, None).await
}

#[derive(Debug, Deserialize)]
struct AllowForm {
    csrf: String,
    pattern: String,
    #[serde(default)]
    note: String,
}

async fn allowlist_add(state: State, req: HttpRequest, form: web::Form<AllowForm>) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let f = form.into_inner();
    match add_allow(&state, user.id.clone(), &f.pattern, &f.note).await {
        Ok((_, n)) => Ok(see_other(&format!("/dashboard/allowlist?recoloured={n}"))),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let words = error_words(super::lang_of(&req), &e);
            allowlist_view(&state, &req, user, None, Some((words, f.pattern, f.note))).await
        }
        Err(e) => Err(e.page()),
    }
}

async fn allowlist_remove(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let id = path.parse::<i64>().map_err(|_| ApiError::not_found("allowlist entry").page())?;
    let n = remove_allow(&state, user.id, id).await.map_err(ApiError::page)?;
    Ok(see_other(&format!("/dashboard/allowlist?removed=1&recoloured={n}")))
}

/// What a job form held, to show it again after an error.
#[derive(Debug, Default, Deserialize)]
struct JobForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    seeds: String,
    #[serde(default)]
    sitemaps: String,
    #[serde(default)]
    feeds: String,
    #[serde(default)]
    hosts: String,
    #[serde(default)]
    path_prefixes: String,
    #[serde(default)]
    max_pages: String,
    #[serde(default)]
    max_depth: String,
    #[serde(default)]
    interval: String,
}

impl JobForm {
    fn input(&self) -> Result<JobInput, ApiError> {
        Ok(JobInput {
            name: self.name.clone(),
            seeds: lines(&self.seeds),
            sitemaps: lines(&self.sitemaps),
            feeds: lines(&self.feeds),
            hosts: lines(&self.hosts),
            path_prefixes: lines(&self.path_prefixes),
            max_pages: number("max pages", "mon-error-max-pages-number", &self.max_pages)?,
            max_depth: number("max depth", "mon-error-max-depth-number", &self.max_depth)?,
            interval_ms: interval_hours(&self.interval)?,
            fetch_images: None,
        })
    }
}

#[derive(askama::Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    admin: bool,
    jobs: Vec<JobView>,
    error: Option<String>,
    form: JobForm,
}

async fn jobs_view(
    state: &State,
    req: &HttpRequest,
    user: User,
    error: Option<String>,
    form: JobForm,
) -> Result<HttpResponse, ApiError> {
    let actor = actor_of(&user);
    let rows = db(state, move |s| Ok(jobs::list(s, &actor)?)).await.map_err(ApiError::page)?;
    let failed = error.is_some();
    let l = super::lang_of(req);
    let mut resp = csrf_page(req, state, |csrf| JobsPage {
        l,
        admin: user.role == Role::Admin,
        jobs: rows.into_iter().map(|j| job_view(l, j)).collect(),
        user,
        csrf,
        error,
        form,
    })?;
    if failed {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

async fn holder_jobs_page(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await.map_err(ApiError::page)?;
    jobs_view(&state, &req, user, None, JobForm::default()).await
}

async fn admin_jobs_page(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Admin]).await.map_err(ApiError::page)?;
    let form = JobForm { max_pages: "1000".into(), max_depth: "3".into(), interval: "24".into(), ..JobForm::default() };
    jobs_view(&state, &req, user, None, form).await
}

/// The job form of either page: a holder's suspect site, or an administrator's job.
async fn submit_job(state: State, req: HttpRequest, form: web::Form<JobForm>) -> Result<HttpResponse, ApiError> {
    let roles = if req.path().starts_with("/admin/") { &[Role::Admin] } else { &[Role::Holder] };
    let user = form_user(&state, &req, &form.csrf, roles).await?;
    let form = form.into_inner();
    let back = if user.role == Role::Admin { "/admin/jobs" } else { "/dashboard/jobs" };
    let created = match form.input() {
        Ok(input) => create_job(&state, &user, input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Ok(see_other(back)),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let words = error_words(super::lang_of(&req), &e);
            jobs_view(&state, &req, user, Some(words), form).await
        }
        Err(e) => Err(e.page()),
    }
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    csrf: String,
    decision: String,
}

async fn admin_decide(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, ApiError> {
    form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    decide_job(&state, path.into_inner(), &form.decision).await.map_err(ApiError::page)?;
    Ok(see_other("/admin/jobs"))
}

async fn admin_delete(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    delete_job(&state, path.into_inner()).await.map_err(ApiError::page)?;
    Ok(see_other("/admin/jobs"))
}

/// The monitoring page routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard/hits", web::get().to(hits_page))
        .route("/dashboard/allowlist", web::get().to(allowlist_page))
        .route("/dashboard/allowlist", web::post().to(allowlist_add))
        .route("/dashboard/allowlist/{id}/remove", web::post().to(allowlist_remove))
        .route("/dashboard/jobs", web::get().to(holder_jobs_page))
        .route("/dashboard/jobs", web::post().to(submit_job))
        .route("/admin/jobs", web::get().to(admin_jobs_page))
        .route("/admin/jobs", web::post().to(submit_job))
        .route("/admin/jobs/{id}/decision", web::post().to(admin_decide))
        .route("/admin/jobs/{id}/delete", web::post().to(admin_delete));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(safe_href("https://a.example/x?y=1").as_deref(), Some("https://a.example/x?y=1"));
        assert!(safe_href("javascript:alert(1)").is_none());
        assert!(safe_href("data:text/html,hi").is_none());
        assert!(safe_href("not a url").is_none());
    }

    #[test]
    fn typed_values_parse_or_say_why() {
        assert_eq!(parse_domain("https://News.Example.com/a/b").ok().as_deref(), Some("news.example.com"));
        assert!(parse_domain("a b").is_err());
        assert_eq!(interval_hours("once").ok(), Some(None));
        assert_eq!(interval_hours("0.5").ok(), Some(Some(1_800_000)));
        assert!(interval_hours("-1").is_err() && interval_hours("NaN").is_err());
        assert_eq!(lines(" https://a.example/\r\nhttps://b.example/ "), ["https://a.example/", "https://b.example/"]);
        assert_eq!(interval_words(Lang::Zh, Some(86_400_000)), "每 24 小时");
        assert_eq!(interval_words(Lang::En, Some(3_600_000)), "every hour");
        assert_eq!(interval_words(Lang::En, Some(1_800_000)), "every 30 minutes");
    }
}
