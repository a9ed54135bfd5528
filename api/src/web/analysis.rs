//! Analysts' and media users' pages: search over hits (`/dashboard/search`), usage reports with charts
//! (`/dashboard/reports`), a work's usage timeline (`/dashboard/works/{id}/usage`), and the parsing and
//! streaming that the REST endpoints in `rest.rs` share with them.
//!
//! Scope: a rights holder (or a member acting for one, see [`crate::domain::team`]) sees only their
//! organisation's hits; administrators see every organisation's. Crawled titles, URLs and page text
//! are escaped by askama; only http(s) URLs become links.

use super::auth::{csrf_token, form_user, require, require_for_record};
use super::error::ApiError;
use super::monitoring::{copy_words, error_words, safe_href};
use super::{db, render, see_other, svg, State};
use crate::i18n::Lang;
use crate::search::{SearchError, SearchQuery, Sort};
use crate::services::reports::{self, Bucket, ReportError, UsageReport};
use crate::services::search::{describe, Shown};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use crate::store::usage::{Split, UsageScope};
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::time::MS_PER_DAY;
use seal_licensing::Timestamp;
use serde::Deserialize;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Search parameters, from a page's query string or the API's.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text: words, `"phrases"`, `AND` / `OR` / `NOT`, `+must` / `-mustnot`, `title:word`.
    #[serde(default)]
    pub q: String,
    /// Only this work.
    pub work: Option<String>,
    /// Only pages on this host.
    pub domain: Option<String>,
    /// `white` or `black`.
    pub colour: Option<String>,
    /// `text` or `image`.
    pub kind: Option<String>,
    /// Seen on or after this date (`YYYY-MM-DD`, or RFC 3339).
    pub from: Option<String>,
    /// Seen on or before this date (`YYYY-MM-DD`, inclusive) or before this instant (RFC 3339).
    pub to: Option<String>,
    /// `relevance` (default) or `date` (newest first).
    pub sort: Option<String>,
    /// Results per page, 1 to 100 (default 20).
    pub limit: Option<usize>,
    /// Results to skip (at most 10,000).
    pub offset: Option<usize>,
    /// Administrators only: one organisation.
    pub holder: Option<String>,
}

/// A date or an instant. A bare date as an end bound means the whole day.
pub fn parse_when(text: &str, end: bool) -> Result<Option<Timestamp>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() == 10 {
        let t = Timestamp::parse(&format!("{text}T00:00:00Z")).map_err(|_| {
            ApiError::invalid(format!("{text:?} is not a date (YYYY-MM-DD)")).keyed("an-error-date", &[("input", text)])
        })?;
        return Ok(Some(if end { t.saturating_add_ms(MS_PER_DAY) } else { t }));
    }
    Timestamp::parse(text)
        .map(Some)
        .map_err(|e| ApiError::invalid(e.to_string()).keyed("an-error-date", &[("input", text)]))
}

fn one_of(what: &str, value: &Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
        Some(v) => Err(ApiError::invalid(format!("{what} must be one of {allowed:?}, not {v:?}"))
            .keyed("an-error-choice", &[("field", what), ("allowed", &allowed.join(", ")), ("value", v)])),
    }
}

impl SearchParams {
    /// The index query for `user`: an organisation's own hits, or (administrators) any or one holder's.
    pub fn query(&self, user: &User) -> Result<SearchQuery, ApiError> {
        let holder = if user.role == Role::Admin {
            self.holder.clone().filter(|h| !h.is_empty())
        } else {
            Some(user.id.to_string())
        };
        let from = self.from.as_deref().map(|f| parse_when(f, false)).transpose()?.flatten();
        let to = self.to.as_deref().map(|t| parse_when(t, true)).transpose()?.flatten();
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err(ApiError::invalid("`from` must be before `to`").keyed("an-error-range-order", &[]));
            }
        }
        let limit = self.limit.unwrap_or(20);
        if !(1..=crate::search::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit must be 1 to 100").keyed("an-error-limit", &[]));
        }
        Ok(SearchQuery {
            text: self.q.clone(),
            holder,
            work: self.work.clone().filter(|w| !w.is_empty()),
            domain: self.domain.as_deref().map(|d| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty()),
            colour: one_of("colour", &self.colour, &["white", "black"])?,
            kind: one_of("kind", &self.kind, &["text", "image"])?,
            from: from.map(Timestamp::unix_ms),
            to: to.map(Timestamp::unix_ms),
            sort: match one_of("sort", &self.sort, &["relevance", "date"])?.as_deref() {
                Some("date") => Sort::Date,
                _ => Sort::Relevance,
            },
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::BadQuery(why) => {
                ApiError::invalid(why.clone()).with_code("bad_query").keyed("an-error-bad-query", &[("why", &why)])
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Invalid(why) => ApiError::invalid(why),
            ReportError::Store(s) => s.into(),
        }
    }
}

/// Runs a search for `user` and names each result's work (store work on the blocking pool).
pub async fn run_search(
    state: &State,
    user: &User,
    params: &SearchParams,
) -> Result<(crate::search::Results, Vec<Shown>), ApiError> {
    let query = params.query(user)?;
    let st = state.clone();
    let results = web::block(move || st.search.search(&query)).await??;
    let r = results.clone();
    let st = state.clone();
    let shown = db(state, move |s| Ok(describe(s, &st.content, &r)?)).await?;
    Ok((results, shown))
}

/// A piece of snippet text, marked or not.
pub struct Piece {
    /// The text.
    pub text: String,
    /// Whether it matched.
    pub marked: bool,
}

fn pieces(snippet: &crate::search::Snippet) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(a, b) in &snippet.marks {
        let (Some(before), Some(marked)) = (snippet.text.get(at..a), snippet.text.get(a..b)) else { break };
        out.push(Piece { text: before.to_owned(), marked: false });
        out.push(Piece { text: marked.to_owned(), marked: true });
        at = b;
    }
    out.push(Piece { text: snippet.text.get(at..).unwrap_or_default().to_owned(), marked: false });
    out
}

/// One search result as the page shows it.
pub struct ResultView {
    hit: i64,
    colour: String,
    title: String,
    url: String,
    href: Option<String>,
    domain: String,
    work: String,
    work_title: String,
    file: String,
    kind: String,
    copy: String,
    score: String,
    first_seen: String,
    last_seen: String,
    snippet: Vec<Piece>,
    passage: Option<String>,
    thumbnail: bool,
}

/// A facet value as a sidebar link.
pub struct FacetLink {
    label: String,
    count: u64,
    href: String,
    active: bool,
}

#[derive(askama::Template)]
#[template(path = "search.html")]
struct SearchPage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    admin: bool,
    q: String,
    work: String,
    domain: String,
    colour: String,
    kind: String,
    from: String,
    to: String,
    by_date: bool,
    total: i64,
    results: Vec<ResultView>,
    facets: Vec<(&'static str, Vec<FacetLink>)>,
    error: Option<String>,
    newer: Option<String>,
    older: Option<String>,
}

/// A query string from pairs, empty values left out.
fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

async fn search_page(state: State, req: HttpRequest, q: web::Query<SearchParams>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Admin]).await.map_err(ApiError::page)?;
    let (csrf, _) = csrf_token(&req, state.config.secure_cookies);
    let p = q.into_inner();
    let field = |v: &Option<String>| v.clone().unwrap_or_default();
    let (work, domain, colour, kind, from, to) =
        (field(&p.work), field(&p.domain), field(&p.colour), field(&p.kind), field(&p.from), field(&p.to));
    let by_date = p.sort.as_deref() == Some("date");
    let base: Vec<(&str, &str)> = vec![
        ("q", &p.q),
        ("work", &work),
        ("domain", &domain),
        ("colour", &colour),
        ("kind", &kind),
        ("from", &from),
        ("to", &to),
        ("sort", if by_date { "date" } else { "" }),
    ];
    let l = super::lang_of(&req);
    let (outcome, error) = match run_search(&state, &user, &p).await {
        Ok(r) => (Some(r), None),
        Err(e) if e.status.is_client_error() => (None, Some(error_words(l, &e))),
        Err(e) => return Err(e.page()),
    };
    let mut page = SearchPage {
        l,
        admin: user.role == Role::Admin,
        user,
        csrf,
        q: p.q.clone(),
        work: work.clone(),
        domain: domain.clone(),
        colour: colour.clone(),
        kind: kind.clone(),
        from: from.clone(),
        to: to.clone(),
        by_date,
        total: 0,
        results: Vec::new(),
        facets: Vec::new(),
        error,
        newer: None,
        older: None,
    };
    if let Some((results, shown)) = outcome {
        page.total = i64::try_from(results.total).unwrap_or(i64::MAX);
        let offset = p.offset.unwrap_or(0);
        let limit = p.limit.unwrap_or(20);
        let page_link = |o: usize| {
            let o = o.to_string();
            let mut pairs = base.clone();
            pairs.push(("offset", &o));
            format!("/dashboard/search?{}", query_string(&pairs))
        };
        page.newer = (offset > 0).then(|| page_link(offset.saturating_sub(limit)));
        page.older = (offset + limit < results.total.min(crate::search::MAX_OFFSET)).then(|| page_link(offset + limit));
        for (name, filter, current) in [
            ("colour", "colour", &colour),
            ("domain", "domain", &domain),
            ("work", "work", &work),
            ("month", "", &String::new()),
        ] {
            let links = results.facets.get(name).cloned().unwrap_or_default();
            let links = links
                .into_iter()
                .map(|(value, count)| {
                    let active = !filter.is_empty() && current == &value;
                    let href = if filter.is_empty() {
                        // A month narrows the date range to it.
                        let (f, t) = month_range(&value);
                        let mut pairs: Vec<(&str, &str)> =
                            base.iter().filter(|(k, _)| *k != "from" && *k != "to").copied().collect();
                        pairs.push(("from", &f));
                        pairs.push(("to", &t));
                        format!("/dashboard/search?{}", query_string(&pairs))
                    } else {
                        let mut pairs: Vec<(&str, &str)> = base.iter().filter(|(k, _)| *k != filter).copied().collect();
                        if !active {
                            pairs.push((filter, &value));
                        }
                        format!("/dashboard/search?{}", query_string(&pairs))
                    };
                    let label = match value.as_str() {
                        "white" => l.t("hit-white"),
                        "black" => l.t("hit-black"),
                        _ => {
                            shown.iter().find(|s| s.found.work == value).map_or(value.clone(), |s| s.work_title.clone())
                        }
                    };
                    FacetLink { label, count, href, active }
                })
                .collect();
            page.facets.push((name, links));
        }
        page.results = shown.into_iter().map(|s| result_view(l, s)).collect();
    }
    let status =
        if page.error.is_some() { actix_web::http::StatusCode::BAD_REQUEST } else { actix_web::http::StatusCode::OK };
    let mut resp = render(&page)?;
    *resp.status_mut() = status;
    Ok(resp)
}

/// `YYYY-MM` → the first and last day of that month, as form dates.
fn month_range(month: &str) -> (String, String) {
    let parsed = month.split_once('-').and_then(|(y, m)| Some((y.parse::<i64>().ok()?, m.parse::<u32>().ok()?)));
    let Some((y, m)) = parsed else { return (String::new(), String::new()) };
    let start = Timestamp::from_date(y, m, 1);
    let next = if m == 12 { Timestamp::from_date(y + 1, 1, 1) } else { Timestamp::from_date(y, m + 1, 1) };
    match (start, next) {
        (Some(s), Some(n)) => {
            (s.to_string()[..10].to_owned(), n.saturating_add_ms(-MS_PER_DAY).to_string()[..10].to_owned())
        }
        _ => (String::new(), String::new()),
    }
}

fn result_view(l: Lang, s: Shown) -> ResultView {
    let f = s.found;
    ResultView {
        hit: f.hit,
        href: safe_href(&f.url),
        title: if f.title.is_empty() { f.url.clone() } else { f.title.clone() },
        url: f.url,
        colour: f.colour,
        domain: f.domain,
        work: f.work,
        work_title: s.work_title,
        file: f.file.unwrap_or_default(),
        kind: f.kind,
        copy: copy_words(l, &f.copy),
        score: format!("{:.2}", f.score),
        first_seen: l.time(Timestamp::from_unix_ms(f.first_seen)),
        last_seen: l.time(Timestamp::from_unix_ms(f.last_seen)),
        snippet: pieces(&f.snippet),
        passage: s.passage,
        thumbnail: s.thumbnail,
    }
}

/// The first image of a work, for search results: its owner (or a member acting for it) and
/// administrators only; another organisation's work answers 404.
async fn thumbnail(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "work").await?;
    let work = WorkId::new(path.into_inner()).map_err(|_| ApiError::not_found("work"))?;
    let st = state.clone();
    let bytes = db(&state, move |s| {
        let owned = s.work(&work)?.filter(|w| user.role == Role::Admin || w.owner == user.id);
        if owned.is_none() {
            return Err(ApiError::not_found("work"));
        }
        let item = s.contents_of(&work)?.into_iter().find(|i| i.kind == crate::domain::ContentKind::Image);
        let item = item.ok_or_else(|| ApiError::not_found("image"))?;
        st.content.get(&item.sha256).map_err(ApiError::internal)
    })
    .await?;
    let kind = match bytes.get(..4) {
        Some([0xFF, 0xD8, ..]) => "image/jpeg",
        Some([0x89, b'P', b'N', b'G']) => "image/png",
        Some([b'G', b'I', b'F', _]) => "image/gif",
        Some([b'R', b'I', b'F', b'F']) => "image/webp",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .insert_header(("content-security-policy", "default-src 'none'; sandbox"))
        .body(bytes))
}

/// The range and bucket of a report, from a query string.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Start date (`YYYY-MM-DD`) or instant; default 30 days before `to`.
    pub from: Option<String>,
    /// End date (inclusive) or instant (exclusive); default now.
    pub to: Option<String>,
    /// `day` (default), `week` or `month`.
    pub bucket: Option<String>,
    /// API only: `json` (default: the report, then every use in the range, streamed) or `csv` (every
    /// use in the range, streamed).
    pub format: Option<String>,
    /// Administrators only: one organisation (default every one).
    pub holder: Option<String>,
}

impl ReportParams {
    /// The range and bucket, checked.
    pub fn range(&self, now: Timestamp) -> Result<(Timestamp, Timestamp, Bucket), ApiError> {
        let to = self.to.as_deref().map(|t| parse_when(t, true)).transpose()?.flatten().unwrap_or(now);
        let from = self
            .from
            .as_deref()
            .map(|f| parse_when(f, false))
            .transpose()?
            .flatten()
            .unwrap_or_else(|| to.saturating_add_ms(-30 * MS_PER_DAY));
        let bucket = match self.bucket.as_deref().filter(|b| !b.is_empty()) {
            None => Bucket::Day,
            Some(b) => Bucket::parse(b)
                .ok_or_else(|| ApiError::invalid("bucket must be day, week or month").keyed("an-error-bucket", &[]))?,
        };
        if from >= to {
            return Err(ApiError::invalid("`from` must be before `to`").keyed("an-error-range-order", &[]));
        }
        // With the order checked, what the service still refuses is a range too long for the bucket.
        reports::check_range(from, to, bucket)
            .map_err(|e| ApiError::from(e).keyed("an-error-report-span", &[("bucket", bucket.as_str())]))?;
        Ok((from, to, bucket))
    }

    /// Whose report: the organisation, or for administrators every one or the one asked for.
    pub fn owner(&self, user: &User) -> Result<Option<PartyId>, ApiError> {
        if user.role != Role::Admin {
            return Ok(Some(user.id.clone()));
        }
        match self.holder.as_deref().filter(|h| !h.is_empty()) {
            None => Ok(None),
            Some(h) => PartyId::new(h)
                .map(Some)
                .map_err(|_| ApiError::invalid("not a holder id").keyed("an-error-holder", &[])),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    from: String,
    to: String,
    bucket: &'static str,
    report: UsageReport,
    series_chart: String,
    share_chart: String,
    domains_chart: String,
    works_chart: String,
    new_sites_chart: String,
    recurring_sites_chart: String,
    kinds_chart: String,
    export_query: String,
    subscribed: Option<bool>,
    error: Option<String>,
}

fn rows(splits: &[Split]) -> Vec<(String, i64, i64)> {
    splits.iter().map(|s| (s.key.clone(), s.white, s.black)).collect()
}

/// The report's charts in `l`: uses over time, share, top domains, top works, new and recurring sites,
/// kinds.
fn report_charts(l: Lang, r: &UsageReport) -> [String; 7] {
    let labels: Vec<String> = r.series.iter().map(|p| p.label[5..].to_owned()).collect();
    let white: Vec<i64> = r.series.iter().map(|p| p.white).collect();
    let black: Vec<i64> = r.series.iter().map(|p| p.black).collect();
    let series_title = l.t(match r.bucket {
        Bucket::Day => "an-chart-new-uses-day",
        Bucket::Week => "an-chart-new-uses-week",
        Bucket::Month => "an-chart-new-uses-month",
    });
    let kind_label = |k: &str| l.t(if k == "image" { "mon-kind-image" } else { "mon-kind-text" });
    let (licensed, unlicensed) = (l.t("an-chart-licensed"), l.t("an-chart-unlicensed"));
    [
        svg::stacked_bars(l, &series_title, &labels, &white, &black),
        svg::share_bar(
            &l.t("an-chart-share"),
            &[(&licensed, r.share.white, svg::LICENSED), (&unlicensed, r.share.black, svg::UNLICENSED)],
        ),
        svg::hbars(l, &l.t("an-chart-top-domains"), &rows(&r.top_domains)),
        svg::hbars(
            l,
            &l.t("an-chart-top-works"),
            &r.top_works.iter().map(|w| (w.title.clone(), w.white, w.black)).collect::<Vec<_>>(),
        ),
        svg::hbars(l, &l.n("an-chart-new-sites", r.sites.new_count), &rows(&r.sites.new)),
        svg::hbars(l, &l.n("an-chart-recurring-sites", r.sites.recurring_count), &rows(&r.sites.recurring)),
        svg::hbars(
            l,
            &l.t("an-chart-kinds"),
            &r.kinds.iter().map(|k| (kind_label(&k.key), k.white, k.black)).collect::<Vec<_>>(),
        ),
    ]
}

async fn reports_page(state: State, req: HttpRequest, q: web::Query<ReportParams>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Admin]).await.map_err(ApiError::page)?;
    let (csrf, _) = csrf_token(&req, state.config.secure_cookies);
    let now = state.now();
    let l = super::lang_of(&req);
    let (range, error) = match q.range(now) {
        Ok(r) => (r, None),
        Err(e) => ((now.saturating_add_ms(-30 * MS_PER_DAY), now, Bucket::Day), Some(error_words(l, &e))),
    };
    let owner = q.owner(&user).map_err(ApiError::page)?;
    let (from, to, bucket) = range;
    let me = user.person().clone();
    let o = owner.clone();
    let (report, subscribed) = db(&state, move |s| {
        let report = reports::usage_report(s, &UsageScope { owner: o.clone(), work: None, from, to }, bucket)?;
        let subscribed = match &o {
            Some(org) => Some(s.membership(&me)?.is_some_and(|m| &m.org == org && m.weekly_summary)),
            None => None,
        };
        Ok((report, subscribed))
    })
    .await
    .map_err(ApiError::page)?;
    let [series_chart, share_chart, domains_chart, works_chart, new_sites_chart, recurring_sites_chart, kinds_chart] =
        report_charts(l, &report);
    let day = |t: Timestamp| t.to_string()[..10].to_owned();
    let last_day = day(to.saturating_add_ms(-1));
    let export_query = query_string(&[("from", &day(from)), ("to", &last_day), ("bucket", bucket.as_str())]);
    let failed = error.is_some();
    let mut resp = render(&ReportsPage {
        l,
        user,
        csrf,
        from: day(from),
        to: last_day,
        bucket: bucket.as_str(),
        report,
        series_chart,
        share_chart,
        domains_chart,
        works_chart,
        new_sites_chart,
        recurring_sites_chart,
        kinds_chart,
        export_query,
        subscribed,
        error,
    })?;
    if failed {
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

#[derive(Debug, Deserialize)]
struct SummaryForm {
    csrf: String,
    #[serde(default)]
    on: String,
}

/// Subscribes the signed-in member (or the organisation's own account) to the weekly summary, or ends
/// the subscription.
async fn summary_toggle(
    state: State,
    req: HttpRequest,
    form: web::Form<SummaryForm>,
) -> Result<HttpResponse, ApiError> {
    let org = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let me = org.person().clone();
    let on = form.on == "1";
    let now = state.now();
    db(&state, move |s| Ok(crate::services::team::set_weekly_summary(s, &org.id, &me, on, now)?))
        .await
        .map_err(ApiError::page)?;
    Ok(see_other("/dashboard/reports"))
}

/// One hit of a work, for its usage page.
struct UseRow {
    colour: String,
    title: String,
    url: String,
    href: Option<String>,
    kind: String,
    first_seen: String,
    last_seen: String,
}

#[derive(askama::Template)]
#[template(path = "work_usage.html")]
struct WorkUsagePage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    work: String,
    title: String,
    total: i64,
    chart: String,
    domains_chart: String,
    uses: Vec<UseRow>,
}

/// Where a work was found, with a timeline: its owner (or a member acting for it) and administrators.
async fn work_usage(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "work").await.map_err(ApiError::page)?;
    let (csrf, _) = csrf_token(&req, state.config.secure_cookies);
    let work = WorkId::new(path.into_inner()).map_err(|_| ApiError::not_found("work").page())?;
    let now = state.now();
    let u = user.clone();
    let (record, hits, total, report) = db(&state, move |s| {
        let record = s.work(&work)?.filter(|w| u.role == Role::Admin || w.owner == u.id);
        let Some(record) = record else { return Err(ApiError::not_found("work")) };
        let filter = crate::store::monitoring::HitFilter { work: Some(work.clone()), ..Default::default() };
        let (hits, total) = (s.hits(&filter, 200)?, s.count_hits(&filter)?);
        // The timeline runs from the first sighting (at most ten years back) to now, by a bucket that
        // keeps it to a readable number of bars.
        let mut scope = UsageScope {
            owner: Some(record.owner.clone()),
            work: Some(work),
            from: now.saturating_add_ms(-3_650 * MS_PER_DAY),
            to: now.saturating_add_ms(1),
        };
        let first = s.usage_by_day(&scope)?.first().map_or(now, |p| Timestamp::from_unix_ms(p.day * MS_PER_DAY));
        let span_days = (now.unix_ms() - first.unix_ms()) / MS_PER_DAY;
        let bucket = match span_days {
            ..=60 => Bucket::Day,
            61..=730 => Bucket::Week,
            _ => Bucket::Month,
        };
        scope.from = first.min(now.saturating_add_ms(-7 * MS_PER_DAY));
        let report = reports::usage_report(s, &scope, bucket)?;
        Ok((record, hits, total, report))
    })
    .await
    .map_err(ApiError::page)?;
    let l = super::lang_of(&req);
    let [chart, _, domains_chart, ..] = report_charts(l, &report);
    render(&WorkUsagePage {
        l,
        csrf,
        work: record.id.to_string(),
        title: record.title.clone(),
        total,
        chart,
        domains_chart,
        uses: hits
            .into_iter()
            .map(|h| UseRow {
                href: safe_href(&h.page_url),
                title: if h.title.is_empty() { h.page_url.clone() } else { h.title },
                url: h.page_url,
                colour: h.colour,
                kind: h.kind,
                first_seen: l.time(h.first_seen),
                last_seen: l.time(h.last_seen),
            })
            .collect(),
        user,
    })
}

/// A body fed by a channel: an export's rows, written by a thread as the client reads.
pub struct Streamed {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
}

impl MessageBody for Streamed {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(Ok))
    }
}

/// Rows per store read of an export: each read takes the store's lock briefly.
const EXPORT_PAGE: usize = 2_000;

/// A CSV field: quoted when needed, and a leading `=`, `+`, `-`, `@` defused so a spreadsheet does
/// not run a crawled title as a formula.
/// One CSV field, quoted when needed and defused when it starts like a spreadsheet formula (shared
/// by every CSV export).
pub(crate) fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

const CSV_HEADER: &str =
    "id,work,owner,page_url,image_url,domain,title,kind,copy,score,colour,reason,first_seen,last_seen,file\r\n";

fn csv_row(h: &crate::store::monitoring::HitRow) -> String {
    let fields = [
        h.id.to_string(),
        h.work.to_string(),
        h.owner.to_string(),
        h.page_url.clone(),
        h.image_url.clone().unwrap_or_default(),
        h.domain.clone(),
        h.title.clone(),
        h.kind.clone(),
        h.copy.clone(),
        format!("{:.4}", h.score),
        h.colour.clone(),
        h.reason.as_str().to_owned(),
        h.first_seen.to_string(),
        h.last_seen.to_string(),
        h.file.clone().unwrap_or_default(),
    ];
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn json_row(h: &crate::store::monitoring::HitRow) -> serde_json::Value {
    serde_json::json!({
        "id": h.id, "work": h.work.as_str(), "owner": h.owner.as_str(), "page_url": h.page_url,
        "image_url": h.image_url, "domain": h.domain, "title": h.title, "kind": h.kind, "copy": h.copy,
        "score": h.score, "colour": h.colour, "reason": h.reason.as_str(),
        "first_seen": h.first_seen.to_string(), "last_seen": h.last_seen.to_string(), "file": h.file,
    })
}

/// Streams every use in the scope: CSV rows, or a JSON object with the report first and then the uses.
/// A thread reads the store a page at a time and stops when the client goes away.
pub fn export(state: &State, scope: UsageScope, csv: bool, report: Option<UsageReport>) -> HttpResponse {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let st = state.clone();
    let started = std::thread::Builder::new().name("seal-export".into()).spawn(move || {
        let head = if csv {
            CSV_HEADER.to_owned()
        } else {
            let report = serde_json::to_string(&report).unwrap_or_else(|_| "null".into());
            format!("{{\"report\":{report},\"uses\":[")
        };
        if tx.blocking_send(Bytes::from(head)).is_err() {
            return;
        }
        let mut after = 0;
        let mut first = true;
        loop {
            let page = {
                let store = st.store.lock().unwrap_or_else(|p| p.into_inner());
                store.hits_in_range(&scope, after, EXPORT_PAGE)
            };
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    // Cut the body short so the client sees an incomplete document, not a clean end.
                    tracing::warn!(error = %e, "export");
                    return;
                }
            };
            let Some(last) = page.last() else { break };
            after = last.id;
            let mut chunk = String::with_capacity(page.len() * 300);
            for h in &page {
                if csv {
                    chunk.push_str(&csv_row(h));
                } else {
                    if !first {
                        chunk.push(',');
                    }
                    first = false;
                    chunk.push_str(&json_row(h).to_string());
                }
            }
            if tx.blocking_send(Bytes::from(chunk)).is_err() {
                return;
            }
        }
        if !csv {
            let _ = tx.blocking_send(Bytes::from_static(b"]}"));
        }
    });
    if let Err(e) = started {
        return actix_web::ResponseError::error_response(&ApiError::internal(e));
    }
    let (kind, name) = if csv { ("text/csv; charset=utf-8", "usage.csv") } else { ("application/json", "usage.json") };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(Streamed { rx })
}

/// The routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard/search", web::get().to(search_page))
        .route("/dashboard/search/thumb/{work}", web::get().to(thumbnail))
        .route("/dashboard/reports", web::get().to(reports_page))
        .route("/dashboard/reports/summary", web::post().to(summary_toggle))
        .route("/dashboard/works/{id}/usage", web::get().to(work_usage));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
    }

    #[test]
    fn dates_and_months() {
        let end = parse_when("2026-11-30", true).ok().flatten().map(|t| t.to_string());
        assert_eq!(end.as_deref(), Some("2026-12-01T00:00:00.000Z"));
        assert!(parse_when("30/11/2026", false).is_err());
        assert_eq!(month_range("2026-02"), ("2026-02-01".into(), "2026-02-28".into()));
        assert_eq!(month_range("junk"), (String::new(), String::new()));
    }

    #[test]
    fn snippet_pieces_alternate() {
        let s = crate::search::Snippet { text: "ab洪水cd".into(), marks: vec![(2, 8)] };
        let p = pieces(&s);
        assert_eq!(
            p.iter().map(|p| (p.text.as_str(), p.marked)).collect::<Vec<_>>(),
            [("ab", false), ("洪水", true), ("cd", false)]
        );
    }
}
