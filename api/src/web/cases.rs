//! Rights protection on the web: the holder's cases and settings, triage of hits, evidence captured on
//! demand, the platform's review queue and offline steps, the infringer's settlement page, and the
//! same as REST under `/api/v1`. Handlers only: the use cases are `services::cases`,
//! `services::evidence` and `services::dossier`.
//!
//! **Ownership.** Every case, capture and hit id is loaded through the owner's id (or by an
//! administrator), and another holder's record answers exactly like a missing one. The settlement page
//! is reached only through the random token in the invitation, which the store keeps as a hash.

use super::auth::{check_csrf, csrf_page, current_user, form_user, require, require_for_record};
use super::error::ApiError;
use super::{db, see_other, State};
use crate::i18n::Lang;
use crate::services::cases::{self, beijing_in, money_text, CaseError, Review};
use crate::services::dossier::{self, DossierKit};
use crate::services::evidence;
use crate::store::cases::{CaseRow, CaseStats, Protection, Verdict};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::case::{CaseAction, CaseState, Track};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        use actix_web::http::StatusCode;
        match e {
            CaseError::NotFound(what) => ApiError::not_found(what),
            CaseError::Invalid(m) => ApiError::invalid(m),
            CaseError::Forbidden(m) => ApiError::forbidden(m),
            CaseError::Rule(r) => ApiError::new(StatusCode::CONFLICT, "case_state", r.to_string()),
            CaseError::Store(s) => s.into(),
            CaseError::Checkout(c) => c.into(),
            CaseError::Internal(m) => ApiError::internal(m),
        }
    }
}

impl From<evidence::EvidenceError> for ApiError {
    fn from(e: evidence::EvidenceError) -> Self {
        use evidence::EvidenceError as E;
        match e {
            E::BadUrl(_) => ApiError::invalid(e.to_string()),
            E::Capture(c) => ApiError::new(actix_web::http::StatusCode::BAD_GATEWAY, "capture_failed", c.to_string()),
            E::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

/// Whether the user may act on cases for their organisation: its owner account, or an owner member
/// (analysts triage and read; opening cases and acting on them is the owners').
fn acts_as_owner(u: &User) -> bool {
    u.acting.as_ref().is_none_or(|a| a.role == crate::domain::team::OrgRole::Owner)
}

/// The holder whose cases an actor sees: their own, or every holder's for an administrator (None).
fn scope_of(u: &User) -> Option<PartyId> {
    (u.role != Role::Admin).then(|| u.id.clone())
}

/// Opening cases is the organisation owners' decision; analysts triage.
fn owners_open_cases() -> ApiError {
    ApiError::forbidden("only the organisation's owners open cases").keyed("case-error-owners-open", &[])
}

/// A holder without a verified channel or a confirmed identity asks to open cases.
fn may_not_open() -> ApiError {
    ApiError::forbidden("verify a channel, or ask the platform to confirm your identity, before opening cases")
        .keyed("case-protection-locked", &[])
}

/// Parses a form body with repeated fields (`hit=1&hit=2`), which `web::Form` cannot.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

fn hit_ids(fields: &[(String, String)]) -> Vec<i64> {
    fields.iter().filter(|(k, _)| k == "hit").filter_map(|(_, v)| v.parse().ok()).collect()
}

// ---------------------------------------------------------------------------------------------
// Charts and statistics

/// Statistics as the API gives them and the dashboard draws them.
fn stats_json(st: &CaseStats) -> Value {
    let count = |states: &[&str]| -> i64 {
        st.by_state.iter().filter(|(s, _)| states.contains(&s.as_str())).map(|(_, n)| n).sum()
    };
    let settled = count(&["settled"]);
    let decided = count(&["settled", "expired", "offline", "closed"]);
    let mut days: Vec<f64> = st.settle_ms.iter().map(|ms| *ms as f64 / 86_400_000.0).collect();
    days.sort_by(f64::total_cmp);
    let median = days.get(days.len() / 2).copied();
    json!({
        "by_state": st.by_state.iter().map(|(s, n)| json!({"state": s, "count": n})).collect::<Vec<_>>(),
        "recovered": st.recovered.iter().map(|(c, m)| json!({"currency": c, "minor": m, "text": money_text(*m, c)})).collect::<Vec<_>>(),
        "settled": settled,
        "decided": decided,
        "settlement_rate": if decided > 0 { Some(settled as f64 / decided as f64) } else { None },
        "median_days_to_settle": median,
        "daily": st.daily.iter().map(|(d, o, s)| json!({"day": Timestamp::from_unix_ms(d * 86_400_000).to_string().get(..10), "opened": o, "settled": s})).collect::<Vec<_>>(),
    })
}

fn charts(l: Lang, st: &CaseStats) -> Vec<String> {
    // Short labels under the bars; the tabs and the table carry the full names.
    let order = [
        ("review", l.t("case-chart-review")),
        ("needs_info", l.t("case-chart-needs_info")),
        ("invited", l.t("case-chart-invited")),
        ("settled", l.t("case-chart-settled")),
        ("expired", l.t("case-chart-expired")),
        ("offline", l.t("case-chart-offline")),
        ("closed", l.t("case-chart-closed")),
        ("rejected", l.t("case-chart-rejected")),
        ("withdrawn", l.t("case-chart-withdrawn")),
    ];
    let labels: Vec<String> = order.iter().map(|(_, label)| label.clone()).collect();
    let values: Vec<i64> =
        order.iter().map(|(s, _)| st.by_state.iter().find(|(x, _)| x == s).map_or(0, |(_, n)| *n)).collect();
    let mut out = vec![super::svg::bar_chart(&l.t("case-chart-by-state"), &labels, &values, "")];
    // Every day from the first case to the last (at most the last 60), empty days included.
    if let (Some(first), Some(last)) = (st.daily.first(), st.daily.last()) {
        let from = first.0.max(last.0 - 59);
        let days: Vec<i64> = (from..=last.0).collect();
        let at = |d: i64| st.daily.iter().find(|(x, _, _)| *x == d);
        let labels: Vec<String> = days
            .iter()
            .map(|d| Timestamp::from_unix_ms(d * 86_400_000).to_string().get(5..10).unwrap_or_default().to_owned())
            .collect();
        let settled: Vec<i64> = days.iter().map(|d| at(*d).map_or(0, |x| x.2)).collect();
        let opened: Vec<i64> = days.iter().map(|d| at(*d).map_or(0, |x| x.1)).collect();
        let (settled_name, opened_name) = (l.t("case-chart-settled"), l.t("case-chart-opened"));
        out.push(super::svg::stacked_bars_named(
            &l.t("case-chart-daily"),
            &labels,
            &settled,
            &opened,
            [&settled_name, &opened_name],
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Words for the machine codes of cases. The documents keep the codes (the API's contract); pages
// translate them here, each key written out so the catalogue test sees it.

/// A case state's name (`invited` → 已邀请和解 / Invited to settle).
fn state_label(l: Lang, code: &str) -> String {
    match code {
        "review" => l.t("case-state-review"),
        "needs_info" => l.t("case-state-needs_info"),
        "rejected" => l.t("case-state-rejected"),
        "invited" => l.t("case-state-invited"),
        "settled" => l.t("case-state-settled"),
        "expired" => l.t("case-state-expired"),
        "offline" => l.t("case-state-offline"),
        "closed" => l.t("case-state-closed"),
        "withdrawn" => l.t("case-state-withdrawn"),
        other => other.to_owned(),
    }
}

/// An offline route's name.
fn track_label(l: Lang, track: Track) -> String {
    match track {
        Track::Mediation => l.t("case-track-mediation"),
        Track::Arbitration => l.t("case-track-arbitration"),
        Track::Litigation => l.t("case-track-litigation"),
    }
}

/// What a timeline entry records (its `kind`: an action code, or the platform's own entries).
fn event_label(l: Lang, kind: &str) -> String {
    match kind {
        "opened" => l.t("case-event-opened"),
        "hit_added" => l.t("case-event-hit_added"),
        "contact" => l.t("case-event-contact"),
        "mail" => l.t("case-event-mail"),
        "captured" => l.t("case-event-captured"),
        "approve" => l.t("case-event-approve"),
        "reject" => l.t("case-event-reject"),
        "ask_more" => l.t("case-event-ask_more"),
        "answer" => l.t("case-event-answer"),
        "pay" => l.t("case-event-pay"),
        "claim_licence" => l.t("case-event-claim_licence"),
        "dispute" => l.t("case-event-dispute"),
        "expire" => l.t("case-event-expire"),
        "escalate" => l.t("case-event-escalate"),
        "record_step" => l.t("case-event-record_step"),
        "close" => l.t("case-event-close"),
        "withdraw" => l.t("case-event-withdraw"),
        other => other.to_owned(),
    }
}

/// Who wrote a timeline entry: the platform's own actors by name, people by their account id.
fn actor_label(l: Lang, actor: &str) -> String {
    match actor {
        "platform" => l.t("case-actor-platform"),
        "infringer" => l.t("case-actor-infringer"),
        "auto" => l.t("case-actor-auto"),
        other => other.to_owned(),
    }
}

/// Where the invitation's address came from: `page URL`, `site URL`, `holder` or `reviewer`.
fn contact_source_label(l: Lang, source: &str) -> String {
    let (what, url) = source.split_once(' ').unwrap_or((source, ""));
    match what {
        "page" => l.t1("case-contact-from-page", "url", url),
        "site" => l.t1("case-contact-from-site", "url", url),
        "holder" => l.t("case-contact-from-holder"),
        "reviewer" => l.t("case-contact-from-reviewer"),
        _ => source.to_owned(),
    }
}

/// A hit's kind (`text`, `image`).
fn hit_kind_label(l: Lang, kind: &str) -> String {
    match kind {
        "text" => l.t("case-hit-text"),
        "image" => l.t("case-hit-image"),
        other => other.to_owned(),
    }
}

/// A hit's colour, in the words of the hits pages.
fn colour_label(l: Lang, colour: &str) -> String {
    match colour {
        "white" => l.t("hit-white"),
        "black" => l.t("hit-black"),
        "grey" => l.t("hit-grey"),
        other => other.to_owned(),
    }
}

/// A triage verdict, or a dash for none.
fn triage_label(l: Lang, verdict: Option<&str>) -> String {
    match verdict {
        Some("legal") => l.t("case-triage-legal"),
        Some("illegal") => l.t("case-triage-illegal"),
        Some("unsure") => l.t("case-triage-unsure"),
        Some("not_mine") => l.t("case-triage-not_mine"),
        Some(other) => other.to_owned(),
        None => "—".to_owned(),
    }
}

/// A document's RFC 3339 time as the page's Beijing time; what does not parse is shown as it is.
fn when(l: Lang, v: &Value) -> String {
    match v.as_str() {
        Some(t) => Timestamp::parse(t).map_or_else(|_| t.to_owned(), |ts| l.time(ts)),
        None => String::new(),
    }
}

/// The fee of a case document in the page's way of writing money, or a dash before approval.
fn fee_of(l: Lang, doc: &Value) -> String {
    match doc["fee_minor"].as_i64() {
        Some(minor) => l.money(minor, doc["currency"].as_str().unwrap_or("CNY")),
        None => "—".to_owned(),
    }
}

/// The deadline of a case document in Beijing time, saying so, or a dash.
fn deadline_of(l: Lang, doc: &Value) -> String {
    match doc["deadline"].as_str().and_then(|t| Timestamp::parse(t).ok()) {
        Some(ts) => beijing_in(l, ts),
        None => "—".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The holder's (and the administrator's) list

#[derive(askama::Template)]
#[template(path = "cases.html")]
struct CasesPage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    admin: bool,
    rows: Vec<CaseLine>,
    charts: Vec<String>,
    stats: Value,
    recovered: Vec<String>,
    protection: Protection,
    multiplier: String,
    may_open: bool,
    state: String,
    notice: Option<String>,
    error: Option<String>,
}

struct CaseLine {
    id: String,
    work_title: String,
    holder: String,
    domain: String,
    state: String,
    state_label: String,
    fee: String,
    deadline: String,
    opened: String,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

fn states_of(q: Option<&str>) -> Result<Vec<CaseState>, ApiError> {
    match q.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Vec::new()),
        Some(s) => s
            .split(',')
            .map(|x| {
                CaseState::parse(x).ok_or_else(|| {
                    ApiError::invalid(format!("unknown case state {x:?}")).keyed("case-error-state", &[("state", x)])
                })
            })
            .collect(),
    }
}

async fn list_rows(
    state: &State,
    l: Lang,
    holder: Option<PartyId>,
    states: Vec<CaseState>,
) -> Result<(Vec<CaseLine>, CaseStats), ApiError> {
    db(state, move |s| {
        let rows = s.cases(holder.as_ref(), &states, None, 200)?;
        let mut lines = Vec::new();
        for c in rows {
            lines.push(CaseLine {
                work_title: s.work(&c.work)?.map(|w| w.title).unwrap_or_default(),
                holder: s.holder_name(&c.holder)?,
                fee: c.fee_minor.map(|m| l.money(m, c.currency.as_deref().unwrap_or("CNY"))).unwrap_or_default(),
                deadline: c.status.deadline.map(|d| l.time(d)).unwrap_or_default(),
                opened: l.time(c.created_at),
                state: c.status.state.as_str().to_owned(),
                state_label: state_label(l, c.status.state.as_str()),
                domain: c.domain,
                id: c.id,
            });
        }
        Ok((lines, s.case_stats(holder.as_ref())?))
    })
    .await
}

async fn cases_view(
    state: &State,
    req: &HttpRequest,
    user: User,
    q: &ListQuery,
    error: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let l = super::lang_of(req);
    let admin = user.role == Role::Admin;
    let holder = scope_of(&user);
    let states = states_of(q.state.as_deref()).map_err(ApiError::page)?;
    let (rows, stats) = list_rows(state, l, holder.clone(), states).await.map_err(ApiError::page)?;
    let (protection, may_open) = match holder {
        Some(h) => {
            db(state, move |s| Ok((s.protection(&h)?, cases::may_open(s, &h)?))).await.map_err(ApiError::page)?
        }
        None => (Protection::default(), true),
    };
    // Redirects carry codes; what a query string says never reaches the page as text.
    let notice = q.notice.as_deref().and_then(|n| match n {
        "saved" => Some(l.t("case-notice-saved")),
        "submitted" => Some(l.t("case-notice-submitted")),
        "confirmed" => Some(l.t("case-notice-confirmed")),
        _ => None,
    });
    csrf_page(req, state, |csrf| CasesPage {
        l,
        multiplier: format!("{:.2}", f64::from(protection.multiplier_bps) / 10_000.0),
        charts: charts(l, &stats),
        stats: stats_json(&stats),
        recovered: stats.recovered.iter().map(|(c, m)| l.money(*m, c)).collect(),
        user,
        csrf,
        admin,
        rows,
        protection,
        may_open,
        state: q.state.clone().unwrap_or_default(),
        notice,
        error,
    })
}

async fn cases_page(state: State, req: HttpRequest, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Admin]).await.map_err(ApiError::page)?;
    cases_view(&state, &req, user, &q, None).await
}

#[derive(Deserialize)]
struct ProtectionForm {
    csrf: String,
    #[serde(default)]
    auto: Option<String>,
    multiplier: String,
    deadline_days: String,
}

async fn save_protection(
    state: State,
    req: HttpRequest,
    form: web::Form<ProtectionForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let f = form.into_inner();
    // The service checks the same ranges; they are checked here first so that the page can say why in
    // its own language.
    let parsed = (|| -> Result<Protection, ApiError> {
        let m: f64 = f.multiplier.trim().parse().ok().filter(|m: &f64| (1.0..=10.0).contains(m)).ok_or_else(|| {
            ApiError::invalid("the multiplier must be a number from 1 to 10, such as 3 or 2.5")
                .keyed("case-error-multiplier", &[])
        })?;
        let days: u32 = f.deadline_days.trim().parse().ok().filter(|d| (3..=90).contains(d)).ok_or_else(|| {
            ApiError::invalid("the deadline must be a whole number of days from 3 to 90")
                .keyed("case-error-deadline-days", &[])
        })?;
        Ok(Protection {
            auto: f.auto.is_some(),
            multiplier_bps: (m * 10_000.0).round().clamp(0.0, f64::from(u32::MAX)) as u32,
            deadline_days: days,
            identity_confirmed_at: None,
        })
    })();
    let result = match parsed {
        Ok(p) => {
            let holder = user.id.clone();
            db(&state, move |s| Ok(cases::set_protection(s, &holder, &p)?)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(see_other("/dashboard/cases?notice=saved")),
        Err(e) if e.status.is_client_error() => {
            let (message, _) = e.message_in(super::lang_of(&req));
            cases_view(&state, &req, user, &ListQuery { state: None, notice: None }, Some(message)).await
        }
        Err(e) => Err(e.page()),
    }
}

/// Hits chosen on the hits or search page: submitted as cases, or triaged.
async fn act_on_hits(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let fields = form_fields(&body);
    let user = form_user(&state, &req, field(&fields, "csrf"), &[Role::Holder]).await?;
    let hits = hit_ids(&fields);
    let back = match field(&fields, "back") {
        b if b.starts_with("/dashboard/") && !b.starts_with("//") => b.to_owned(),
        _ => "/dashboard/hits".to_owned(),
    };
    let (holder, actor, now) = (user.id.clone(), user.person().clone(), state.now());
    match field(&fields, "action") {
        "case" => {
            // Opening cases is the owner's decision; analysts triage.
            if !acts_as_owner(&user) {
                return Err(owners_open_cases().page());
            }
            let opened = db(&state, move |s| {
                if !cases::may_open(s, &holder)? {
                    return Err(may_not_open());
                }
                Ok(cases::submit(s, &holder, actor.as_str(), &hits, now)?)
            })
            .await
            .map_err(ApiError::page)?;
            if opened.is_empty() {
                return Err(ApiError::invalid("none of the chosen hits can become a case: they are white, triaged as legal or not yours, or in a case already")
                    .keyed("case-error-no-hits", &[])
                    .page());
            }
            Ok(see_other("/dashboard/cases?notice=submitted"))
        }
        verdict => {
            let verdict = Verdict::parse(verdict).ok_or_else(|| {
                ApiError::invalid("choose legal, illegal, unsure or not_mine").keyed("case-error-verdict", &[]).page()
            })?;
            db(&state, move |s| Ok(cases::triage(s, &holder, &actor, &hits, verdict, now)?))
                .await
                .map_err(ApiError::page)?;
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(see_other(&format!("{back}{sep}triaged={}", verdict.as_str())))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One case

#[derive(askama::Template)]
#[template(path = "case.html")]
struct CasePage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    admin: bool,
    owner: bool,
    doc: Value,
    state: String,
    hits: Vec<Value>,
    captures: Vec<Value>,
    timeline: Vec<Value>,
    work_text: Vec<(bool, String)>,
    /// The infringing page's text from its capture, matched spans marked (empty before a capture).
    page_text: Vec<(bool, String)>,
    /// The page it is from.
    page_url: String,
    /// Image hits: where in the registered image the copy lies (fractions x, y, width, height), and
    /// the copy's address.
    regions: Vec<(f64, f64, f64, f64, String)>,
    offers: Vec<(String, String, String)>,
    flagged: bool,
    /// The routes a reviewer may choose: code and name.
    tracks: Vec<(&'static str, String)>,
    state_label: String,
    fee: String,
    deadline: String,
    /// The offline route taken, by name.
    track: Option<String>,
    /// Where the invitation's address came from, in words.
    contact_source: String,
}

/// The page's words for the codes in the case document's hits, captures and timeline.
impl CasePage {
    fn hit_kind(&self, h: &Value) -> String {
        hit_kind_label(self.l, h["kind"].as_str().unwrap_or_default())
    }

    fn colour(&self, h: &Value) -> String {
        colour_label(self.l, h["colour"].as_str().unwrap_or_default())
    }

    fn triage(&self, h: &Value) -> String {
        triage_label(self.l, h["triage"].as_str())
    }

    fn event(&self, e: &Value) -> String {
        event_label(self.l, e["kind"].as_str().unwrap_or_default())
    }

    fn actor(&self, e: &Value) -> String {
        actor_label(self.l, e["actor"].as_str().unwrap_or_default())
    }

    /// How many of a capture's resources could not be fetched, in words; empty when none.
    fn missing(&self, k: &Value) -> String {
        match k["summary"]["failures"].as_array().map(Vec::len) {
            Some(n) if n > 0 => self.l.n("case-resources-missing", i64::try_from(n).unwrap_or(i64::MAX)),
            _ => String::new(),
        }
    }

    fn when(&self, v: &Value) -> String {
        when(self.l, v)
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// The outline of each image hit on the registered image: the region the engine located, or the
/// whole image when the copy matched whole.
fn image_regions(doc: &Value) -> Vec<(f64, f64, f64, f64, String)> {
    let mut out = Vec::new();
    for hit in doc["hits"].as_array().map(Vec::as_slice).unwrap_or_default() {
        if hit["kind"] != "image" {
            continue;
        }
        let r = &hit["evidence"]["region"];
        let at = |i: usize, default: f64| r[i].as_f64().unwrap_or(default).clamp(0.0, 1.0);
        let (x0, y0, x1, y1) = (at(0, 0.0), at(1, 0.0), at(2, 1.0), at(3, 1.0));
        out.push((x0, y0, (x1 - x0).max(0.01), (y1 - y0).max(0.01), s(&hit["image_url"])));
    }
    out
}

/// The other half of the side by side: the first text hit's page, read from its capture, with that
/// hit's page spans marked. The capture is later than the crawl; if the page changed in between, its
/// spans may fall elsewhere, and spans past the text's end are ignored.
async fn page_side(state: &State, doc: &Value) -> (String, Vec<(bool, String)>) {
    let hits = doc["hits"].as_array().cloned().unwrap_or_default();
    let Some(hit) = hits.into_iter().find(|h| h["kind"] == "text" && h["evidence"]["spans"].is_array()) else {
        return (String::new(), Vec::new());
    };
    let url = s(&hit["page_url"]);
    let capture = doc["captures"].as_array().and_then(|c| {
        c.iter().find(|k| k["url"] == hit["page_url"] || k["summary"]["page_url"] == hit["page_url"]).cloned()
    });
    let Some(capture) = capture else { return (url, Vec::new()) };
    let (st, sha) = (state.clone(), s(&capture["wacz_sha256"]));
    let page = s(&capture["summary"]["page_url"]);
    let text = web::block(move || {
        let hash = crate::domain::Sha256Hex::parse(&sha)?;
        let wacz = st.content.get(&hash).ok()?;
        let monitor = st.monitor.read().unwrap_or_else(|p| p.into_inner());
        evidence::archived_page_text(&wacz, &page, &monitor)
    })
    .await
    .ok()
    .flatten();
    let marked = text.map(|t| highlighted(&t, &json!({"hits": [hit]}), 0)).unwrap_or_default();
    (url, marked)
}

/// Text cut into plain and matched pieces, from the hits' spans, for the side-by-side view: `at` 2
/// marks the work's characters (the spans' third and fourth numbers), 0 the page's.
fn highlighted(text: &str, doc: &Value, at: usize) -> Vec<(bool, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut marked = vec![false; chars.len()];
    for hit in doc["hits"].as_array().map(Vec::as_slice).unwrap_or_default() {
        for span in hit["evidence"]["spans"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let (Some(a), Some(b)) = (span[at].as_u64(), span[at + 1].as_u64()) else { continue };
            for m in marked.iter_mut().take(b as usize).skip(a as usize) {
                *m = true;
            }
        }
    }
    let mut out: Vec<(bool, String)> = Vec::new();
    for (c, m) in chars.into_iter().zip(marked).take(6000) {
        match out.last_mut() {
            Some((lm, t)) if *lm == m => t.push(c),
            _ => out.push((m, c.to_string())),
        }
    }
    out
}

async fn case_view(state: &State, req: &HttpRequest, user: User, id: String) -> Result<HttpResponse, ApiError> {
    let l = super::lang_of(req);
    let admin = user.role == Role::Admin;
    let holder = scope_of(&user);
    let st = state.clone();
    let (doc, work_text, offers, flagged, track) = db(state, move |s| {
        let c = cases::load(s, &id, holder.as_ref())?;
        let doc = dossier::case_document(s, &c)?;
        // The registered text (first text item) as the engine indexed it, for the side-by-side view.
        // Lock order: the store (held here), then the monitor.
        let text = s
            .contents_of(&c.work)?
            .into_iter()
            .find(|r| r.kind != crate::domain::ContentKind::Image)
            .and_then(|r| {
                let bytes = st.content.get(&r.sha256).ok()?;
                st.monitor.read().unwrap_or_else(|p| p.into_inner()).work_text(r.kind, &bytes).ok()
            })
            .unwrap_or_default();
        let work = s.work(&c.work)?;
        let offers = s
            .offers_of(&c.holder, "", 200)?
            .into_iter()
            .filter(|o| work.as_ref().is_some_and(|w| o.covers(w)))
            .map(|o| (o.id.to_string(), l.offer_rules(&o).join(" · "), l.price(&o)))
            .collect::<Vec<_>>();
        Ok((doc, text, offers, cases::flagged(s, &c.work)?, c.status.track))
    })
    .await
    .map_err(ApiError::page)?;
    let work_text = highlighted(&work_text, &doc, 2);
    let (page_url, page_text) = page_side(state, &doc).await;
    let regions = image_regions(&doc);
    let owner = !admin && acts_as_owner(&user);
    csrf_page(req, state, |csrf| CasePage {
        l,
        state_label: state_label(l, doc["state"].as_str().unwrap_or_default()),
        fee: fee_of(l, &doc),
        deadline: deadline_of(l, &doc),
        track: track.map(|t| track_label(l, t)),
        contact_source: doc["contact_source"].as_str().map(|c| contact_source_label(l, c)).unwrap_or_default(),
        state: s(&doc["state"]),
        hits: list(&doc["hits"]),
        captures: list(&doc["captures"]),
        timeline: list(&doc["timeline"]),
        user,
        csrf,
        admin,
        owner,
        doc,
        work_text,
        page_text,
        page_url,
        regions,
        offers,
        flagged,
        tracks: [Track::Mediation, Track::Arbitration, Track::Litigation]
            .into_iter()
            .map(|t| (t.as_str(), track_label(l, t)))
            .collect(),
    })
}

async fn case_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "case").await.map_err(ApiError::page)?;
    case_view(&state, &req, user, path.into_inner()).await
}

/// Every form on the case page posts here with an `action`.
async fn case_action(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let fields = form_fields(&body);
    let user = form_user(&state, &req, field(&fields, "csrf"), &[Role::Holder, Role::Admin]).await?;
    let id = path.into_inner();
    let text = field(&fields, "text").trim().to_owned();
    let action = field(&fields, "action").to_owned();
    let contact = Some(field(&fields, "contact").to_owned());
    let track = field(&fields, "track").to_owned();
    run_action(&state, &user, &id, &action, text, contact, &track).await.map_err(ApiError::page)?;
    let location =
        if user.role == Role::Admin { format!("/admin/cases/{id}") } else { format!("/dashboard/cases/{id}") };
    Ok(see_other(&location))
}

/// One action on a case by a holder (answer, withdraw) or a reviewer (approve, reject, ask, escalate,
/// step, close, capture).
async fn run_action(
    state: &State,
    user: &User,
    id: &str,
    action: &str,
    text: String,
    contact: Option<String>,
    track: &str,
) -> Result<Value, ApiError> {
    let (now, url) = (state.now(), state.config.public_url.clone());
    let id = id.to_owned();
    // `what` is also the selector of the keyed messages (`case-error-write`, `case-error-too-long`).
    let need_text = |what: &str| -> Result<String, ApiError> {
        if text.is_empty() {
            Err(ApiError::invalid(format!("write the {what}")).keyed("case-error-write", &[("what", what)]))
        } else if text.chars().count() > 4000 {
            Err(ApiError::invalid(format!("the {what} is longer than 4000 characters"))
                .keyed("case-error-too-long", &[("what", what)]))
        } else {
            Ok(text.clone())
        }
    };
    // Addresses are checked by the service too; here first, so that the page can say it in its words.
    let check_address = |address: &str| -> Result<(), ApiError> {
        match address.trim().parse::<lettre::Address>() {
            Ok(_) => Ok(()),
            Err(_) => Err(ApiError::invalid(format!("{address:?} is not an email address"))
                .keyed("case-error-email", &[("address", address)])),
        }
    };
    if action == "capture" {
        let holder = scope_of(user);
        let case_id = id.clone();
        let c = db(state, move |s| Ok(cases::load(s, &case_id, holder.as_ref())?)).await?;
        capture_case(state, &c).await?;
        return Ok(json!({"captured": true}));
    }
    let c: CaseRow = if user.role == Role::Admin {
        let reviewer = user.id.clone();
        let decision = match action {
            "approve" => {
                if let Some(address) = contact.as_deref().filter(|a| !a.trim().is_empty()) {
                    check_address(address)?;
                }
                Some(Review::Approve { contact })
            }
            "reject" => Some(Review::Reject(need_text("reason")?)),
            "ask" => Some(Review::AskMore(need_text("question")?)),
            _ => None,
        };
        match decision {
            Some(d) => db(state, move |s| Ok(cases::review(s, &url, &id, &reviewer, d, now)?)).await?,
            None => {
                let act = match action {
                    "escalate" => CaseAction::Escalate {
                        track: Track::parse(track).ok_or_else(|| {
                            ApiError::invalid("choose mediation, arbitration or litigation")
                                .keyed("case-error-track", &[])
                        })?,
                    },
                    "step" => CaseAction::RecordStep { note: need_text("step")? },
                    "close" => CaseAction::Close { outcome: need_text("outcome")? },
                    _ => {
                        return Err(ApiError::invalid(format!("unknown action {action:?}"))
                            .keyed("case-error-action", &[("action", action)]))
                    }
                };
                db(state, move |s| Ok(cases::offline_action(s, &id, &reviewer, act, now)?)).await?
            }
        }
    } else {
        if !acts_as_owner(user) {
            return Err(
                ApiError::forbidden("only the organisation's owners act on cases").keyed("case-error-owners-act", &[])
            );
        }
        let (holder, actor) = (user.id.clone(), user.person().clone());
        if action == "contact" {
            let email = need_text("address")?;
            check_address(&email)?;
            let c = db(state, move |s| Ok(cases::set_contact(s, &id, &holder, &actor, &email, now)?)).await?;
            return Ok(json!({"id": c.id, "state": c.status.state.as_str(), "contact_email": c.contact_email}));
        }
        let act = match action {
            "answer" => CaseAction::Answer { text: need_text("answer")? },
            "withdraw" => CaseAction::Withdraw,
            _ => {
                return Err(ApiError::forbidden("only the platform can do that").keyed("case-error-platform-only", &[]))
            }
        };
        db(state, move |s| Ok(cases::holder_action(s, &id, &holder, &actor, act, now)?)).await?
    };
    Ok(json!({"id": c.id, "state": c.status.state.as_str()}))
}

/// Captures every page of a case now (the scheduler does it too; a reviewer may want it again).
async fn capture_case(state: &State, c: &CaseRow) -> Result<usize, ApiError> {
    let case_id = c.id.clone();
    let pages = db(state, move |s| {
        let mut pages: Vec<(i64, String)> = Vec::new();
        for hit in s.case_hits(&case_id)? {
            if let Some(h) = s.hit(hit)? {
                if !pages.iter().any(|(_, u)| *u == h.page_url) {
                    pages.push((hit, h.page_url));
                }
            }
        }
        Ok(pages)
    })
    .await?;
    for (hit, url) in &pages {
        capture_allowed(state, &c.holder)?;
        capture_one(state, url, Some(&c.holder), Some(&c.id), Some(*hit)).await?;
    }
    Ok(pages.len())
}

/// Captures a holder may ask for by hand in an hour: each fetches up to 50 MiB from someone's site
/// and adds a log entry forever, so a loop must not turn the platform into a hammer.
const CAPTURES_PER_HOUR: u32 = 30;

fn capture_allowed(state: &State, holder: &PartyId) -> Result<(), ApiError> {
    let now = state.now().unix_ms();
    if state.limiter.allow(&format!("capture:{holder}"), now, CAPTURES_PER_HOUR, 3_600_000) {
        Ok(())
    } else {
        Err(super::auth::throttled())
    }
}

/// Takes a capture (no lock held over the network) and files it.
async fn capture_one(
    state: &State,
    url: &str,
    owner: Option<&PartyId>,
    case_id: Option<&str>,
    hit: Option<i64>,
) -> Result<crate::store::cases::CaptureRow, ApiError> {
    let u = evidence::parse_url(url)?;
    let st = state.clone();
    let taken = evidence::take(&state.fetcher, &state.evidence, &state.notary, &u, move || st.now()).await?;
    let (owner, case_id, now, st) = (owner.cloned(), case_id.map(str::to_owned), state.now(), state.clone());
    db(state, move |s| Ok(evidence::file(s, &st.content, &taken, owner.as_ref(), case_id.as_deref(), hit, now)?)).await
}

async fn dossier_zip(state: &State, user: &User, id: String) -> Result<HttpResponse, ApiError> {
    let holder = scope_of(user);
    let st = state.clone();
    let now = state.now();
    let name =
        format!("dossier-{}.zip", id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>());
    let bytes = db(state, move |s| {
        let pem = evidence::public_pem(&st.evidence)?;
        let kit = DossierKit { content: &st.content, notary: &st.notary, evidence_pem: &pem, font: st.font.as_ref() };
        Ok(dossier::dossier(s, &kit, &id, holder.as_ref(), now)?)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}

async fn dossier_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "case").await.map_err(ApiError::page)?;
    dossier_zip(&state, &user, path.into_inner()).await.map_err(ApiError::page)
}

async fn wacz_of(state: &State, id: String, owner: Option<PartyId>) -> Result<HttpResponse, ApiError> {
    let id = id.trim_end_matches(".wacz").to_owned();
    let st = state.clone();
    let bytes: Vec<u8> = db(state, move |s| {
        let k = s
            .capture(&id)?
            .filter(|k| owner.is_none() || k.owner == owner)
            .ok_or_else(|| ApiError::not_found("capture"))?;
        let hash = crate::domain::Sha256Hex::parse(&k.wacz_sha256).ok_or_else(|| ApiError::internal("bad hash"))?;
        st.content.get(&hash).map_err(ApiError::internal)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/wacz+zip")
        .insert_header((header::CONTENT_DISPOSITION, "attachment"))
        .body(bytes))
}

async fn capture_download(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "capture").await?;
    wacz_of(&state, path.into_inner(), scope_of(&user)).await
}

async fn capture_hit_page(
    state: State,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    capture_hit(&state, &user, path.into_inner()).await.map_err(ApiError::page)?;
    Ok(see_other("/dashboard/hits?captured=1"))
}

async fn capture_hit(state: &State, user: &User, hit: i64) -> Result<crate::store::cases::CaptureRow, ApiError> {
    let owner = user.id.clone();
    let h = db(state, move |s| Ok(s.hit(hit)?.filter(|h| h.owner == owner)))
        .await?
        .ok_or_else(|| ApiError::not_found("hit"))?;
    capture_allowed(state, &h.owner)?;
    capture_one(state, &h.page_url, Some(&h.owner), None, Some(hit)).await
}

// ---------------------------------------------------------------------------------------------
// The platform's review queue

async fn admin_cases(state: State, req: HttpRequest, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Admin]).await.map_err(ApiError::page)?;
    let q = ListQuery { state: q.state.clone().or_else(|| Some("review".into())), notice: q.notice.clone() };
    cases_view(&state, &req, user, &q, None).await
}

async fn admin_case(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Admin], "case").await.map_err(ApiError::page)?;
    case_view(&state, &req, user, path.into_inner()).await
}

#[derive(Deserialize)]
struct IdentityForm {
    csrf: String,
    holder: String,
}

async fn confirm_identity_page(
    state: State,
    req: HttpRequest,
    form: web::Form<IdentityForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    confirm_identity(&state, &user, form.holder.trim()).await.map_err(ApiError::page)?;
    Ok(see_other("/admin/cases?notice=confirmed"))
}

async fn confirm_identity(state: &State, admin: &User, holder: &str) -> Result<(), ApiError> {
    let holder = PartyId::new(holder.to_owned()).map_err(|_| ApiError::not_found("rights holder"))?;
    let (by, now) = (admin.id.clone(), state.now());
    db(state, move |s| {
        if !s.user(&holder)?.is_some_and(|u| u.role == Role::Holder) {
            return Err(ApiError::not_found("rights holder"));
        }
        Ok(s.confirm_identity(&holder, &by, now)?)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The infringer's settlement page

#[derive(askama::Template)]
#[template(path = "settle.html")]
struct SettlePage {
    /// The page language.
    l: crate::i18n::Lang,
    csrf: String,
    token: String,
    hits: Vec<Value>,
    captures: Vec<Value>,
    doc: Value,
    state: String,
    /// The offer the fee derives from, in one line: its id, terms and price.
    offer_line: Option<String>,
    /// The offer's price the fee derives from, or a dash.
    offer_price: String,
    fee: String,
    deadline: String,
    sent: Option<String>,
    error: Option<String>,
}

impl SettlePage {
    fn when(&self, v: &Value) -> String {
        when(self.l, v)
    }
}

async fn settle_view(
    state: &State,
    req: &HttpRequest,
    token: String,
    sent: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let (t, l) = (token.clone(), super::lang_of(req));
    let shown = db(state, move |s| settle_doc(s, l, &cases::by_token(s, &t)?)).await.map_err(ApiError::page)?;
    render_settle(state, req, token, shown, sent, error)
}

/// The settlement page's case document and offer (id, terms, price).
type Shown = (Value, Option<(String, String, String)>);

/// What the infringer sees of a case: the evidence and the terms, not the holder's internal notes or
/// contact trail.
fn settle_doc(s: &crate::store::SqliteStore, l: Lang, c: &CaseRow) -> Result<Shown, ApiError> {
    let offer = cases::case_offer(s, c)?.map(|o| (o.id.to_string(), l.offer_rules(&o).join(" · "), l.price(&o)));
    let mut doc = dossier::case_document(s, c)?;
    doc["timeline"] = Value::Array(Vec::new());
    doc["contact_email"] = Value::Null;
    Ok((doc, offer))
}

fn render_settle(
    state: &State,
    req: &HttpRequest,
    token: String,
    (doc, offer): Shown,
    sent: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let l = super::lang_of(req);
    csrf_page(req, state, |csrf| SettlePage {
        l,
        offer_price: offer.as_ref().map_or_else(|| "—".to_owned(), |(_, _, price)| price.clone()),
        offer_line: offer
            .as_ref()
            .map(|(id, rules, price)| l.t2("case-settle-offer", ("id", id), ("terms", &format!("{rules} · {price}")))),
        fee: fee_of(l, &doc),
        deadline: deadline_of(l, &doc),
        state: s(&doc["state"]),
        hits: list(&doc["hits"]),
        captures: list(&doc["captures"]),
        csrf,
        token,
        doc,
        sent,
        error,
    })
}

async fn settle_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    settle_view(&state, &req, path.into_inner(), None, None).await
}

async fn settle_evidence(state: State, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (token, capture) = path.into_inner();
    let owner = db(&state, move |s| {
        let c = cases::by_token(s, &token)?;
        let k = capture.trim_end_matches(".wacz").to_owned();
        Ok(s.capture(&k)?.filter(|k| k.case_id.as_deref() == Some(c.id.as_str())).map(|k| (k.id, k.owner)))
    })
    .await
    .map_err(ApiError::page)?;
    let (id, owner) = owner.ok_or_else(|| ApiError::not_found("capture").page())?;
    wacz_of(&state, id, owner).await
}

async fn settle_post(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let fields = form_fields(&body);
    check_csrf(&req, Some(field(&fields, "csrf"))).map_err(ApiError::page)?;
    let token = path.into_inner();
    let text = field(&fields, "text").trim().to_owned();
    let now = state.now();
    let action = field(&fields, "action");
    let l = super::lang_of(&req);
    if matches!(action, "licence" | "dispute") {
        if text.is_empty() || text.chars().count() > 4000 {
            return settle_view(&state, &req, token, None, Some(l.t("case-settle-text-length"))).await;
        }
        let act = if action == "licence" {
            CaseAction::ClaimLicence { reference: text }
        } else {
            CaseAction::Dispute { statement: text }
        };
        // The case goes back to review and the link stops working (a new approval mails a new one),
        // so the answer is shown here rather than behind a redirect to the link.
        let sent = if action == "licence" { l.t("case-settle-sent-licence") } else { l.t("case-settle-sent-dispute") };
        let t = token.clone();
        let shown = db(&state, move |s| {
            let c = cases::respond(s, &t, act, now)?;
            settle_doc(s, l, &c)
        })
        .await
        .map_err(ApiError::page)?;
        return render_settle(&state, &req, token, shown, Some(sent), None);
    }
    if action != "pay" {
        return Err(ApiError::invalid("unknown action").keyed("case-error-action", &[("action", action)]).page());
    }
    let email = field(&fields, "email").trim().to_owned();
    let name = field(&fields, "name").trim().to_owned();
    let (buyer, confirm_by_email) = match current_user(&state, &req).await? {
        Some(u) => (u, false),
        None => {
            if !super::checkout::guest_allowed(&state, &req, &email) {
                return Err(super::auth::throttled().page());
            }
            match super::checkout::guest(&state, &email, &name).await {
                // An account from an earlier guest purchase: its owner confirms by email first.
                Ok(found) => found,
                Err(e) if e.status.is_client_error() => {
                    return settle_view(&state, &req, token, None, Some(e.message_in(l).0)).await
                }
                Err(e) => return Err(e.page()),
            }
        }
    };
    let buyer_name = if name.is_empty() { buyer.name.clone() } else { name };
    let st = state.clone();
    let opened = db(&state, move |s| {
        Ok(cases::open_settlement(&st.checkout_context(), s, &token, buyer, buyer_name, confirm_by_email, now)?)
    })
    .await;
    match opened {
        Ok((checkout, payment)) => Ok(see_other(&payment.unwrap_or_else(|| format!("/checkout/{}", checkout.id)))),
        Err(e) => Err(e.page()),
    }
}

// ---------------------------------------------------------------------------------------------
// REST

/// Hits to submit as cases.
#[derive(Deserialize, ToSchema)]
pub struct SubmitCases {
    /// Hit ids (black hits of yours).
    hits: Vec<i64>,
}

/// A triage verdict on hits.
#[derive(Deserialize, ToSchema)]
pub struct TriageBody {
    /// Hit ids.
    hits: Vec<i64>,
    /// `legal`, `illegal`, `unsure` or `not_mine`.
    verdict: String,
}

/// An action on a case.
#[derive(Deserialize, ToSchema)]
pub struct CaseActionBody {
    /// Holders: `answer`, `withdraw`, `contact` (the invitation's address, in `text`). Reviewers: `approve`, `reject`, `ask`, `escalate`, `step`, `close`,
    /// `capture`.
    action: String,
    /// The answer, reason, question, step or outcome.
    #[serde(default)]
    text: String,
    /// Approve: the address to invite (else the one found on the page).
    #[serde(default)]
    contact: Option<String>,
    /// Escalate: `mediation`, `arbitration` or `litigation`.
    #[serde(default)]
    track: String,
}

/// Automatic protection settings.
#[derive(Deserialize, ToSchema)]
pub struct ProtectionBody {
    /// Submit new black hits as cases automatically.
    auto: bool,
    /// The retroactive fee's multiplier in basis points (10000 = 1×, at most 100000).
    multiplier_bps: u32,
    /// Days to settle (3–90).
    deadline_days: u32,
}

#[derive(Deserialize, utoipa::IntoParams)]
struct CaseListQuery {
    /// Comma-separated states.
    #[serde(default)]
    state: Option<String>,
    /// Cases opened before this time (RFC 3339), for the next page.
    #[serde(default)]
    before: Option<String>,
}

/// Your cases (administrators: everyone's), newest first, 100 a page.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseListQuery),
    responses((status = 200, description = "`{cases: [case], next}`"), (status = 401, body = super::rest::ErrorBody)))]
async fn api_list(state: State, req: HttpRequest, q: web::Query<CaseListQuery>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let states = states_of(q.state.as_deref())?;
    let before = match q.before.as_deref() {
        Some(b) => Some(Timestamp::parse(b).map_err(|_| ApiError::invalid("before must be an RFC 3339 time"))?),
        None => None,
    };
    let holder = scope_of(&user);
    let (docs, next) = db(&state, move |s| {
        let rows = s.cases(holder.as_ref(), &states, before, 100)?;
        let next = (rows.len() == 100).then(|| rows.last().map(|c| c.created_at.to_string())).flatten();
        let mut docs = Vec::new();
        for c in rows {
            let mut d = dossier::case_document(s, &c)?;
            if let Some(o) = d.as_object_mut() {
                o.remove("timeline");
            }
            docs.push(d);
        }
        Ok((docs, next))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({"cases": docs, "next": next})))
}

/// Case statistics: counts by state, amounts recovered, settlement rate, median days to settle, and
/// cases opened and settled per day.
#[utoipa::path(get, path = "/api/v1/cases/stats", tag = "cases",
    responses((status = 200, description = "statistics"), (status = 401, body = super::rest::ErrorBody)))]
async fn api_stats(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let holder = scope_of(&user);
    let st = db(&state, move |s| Ok(s.case_stats(holder.as_ref())?)).await?;
    Ok(HttpResponse::Ok().json(stats_json(&st)))
}

/// One case with its hits, captures and timeline.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    responses((status = 200, description = "the case"), (status = 404, body = super::rest::ErrorBody)))]
async fn api_case(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "case").await?;
    let (holder, id) = (scope_of(&user), path.into_inner());
    let doc = db(&state, move |s| {
        let c = cases::load(s, &id, holder.as_ref())?;
        Ok(dossier::case_document(s, &c)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(doc))
}

/// Submits black hits as cases (grouped per work and site). Needs a verified channel or a confirmed
/// identity.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = SubmitCases,
    responses((status = 201, description = "`{cases: [id]}`"), (status = 403, body = super::rest::ErrorBody)))]
async fn api_submit(state: State, req: HttpRequest, body: web::Json<SubmitCases>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let user = require(&state, &req, &[Role::Holder]).await?;
    if !acts_as_owner(&user) {
        return Err(owners_open_cases());
    }
    let (holder, actor, now, hits) = (user.id.clone(), user.person().clone(), state.now(), body.into_inner().hits);
    let opened = db(&state, move |s| Ok(cases::submit(s, &holder, actor.as_str(), &hits, now)?)).await?;
    Ok(HttpResponse::Created().json(json!({"cases": opened})))
}

/// Acts on a case (see the body's `action`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases", request_body = CaseActionBody,
    responses((status = 200, description = "`{id, state}`"), (status = 409, body = super::rest::ErrorBody)))]
async fn api_action(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<CaseActionBody>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "case").await?;
    let b = body.into_inner();
    let out =
        run_action(&state, &user, &path.into_inner(), &b.action, b.text.trim().to_owned(), b.contact, &b.track).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The case dossier: a ZIP of the WACZ captures, tokens, certificate, log proofs, offer and licence
/// records, correspondence and a timeline PDF, with `manifest.json` and `SHA256SUMS`.
#[utoipa::path(get, path = "/api/v1/cases/{id}/dossier", tag = "cases",
    responses((status = 200, content_type = "application/zip", description = "the dossier"), (status = 404, body = super::rest::ErrorBody)))]
async fn api_dossier(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "case").await?;
    dossier_zip(&state, &user, path.into_inner()).await
}

/// Marks hits legal (they move to the allowlist), illegal, unsure, or not your work (a negative
/// example: that page and work never open a case again).
#[utoipa::path(post, path = "/api/v1/hits/triage", tag = "cases", request_body = TriageBody,
    responses((status = 200, description = "`{triaged: n}`"), (status = 404, body = super::rest::ErrorBody)))]
async fn api_triage(state: State, req: HttpRequest, body: web::Json<TriageBody>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let user = require(&state, &req, &[Role::Holder]).await?;
    let b = body.into_inner();
    let verdict = Verdict::parse(&b.verdict)
        .ok_or_else(|| ApiError::invalid("verdict must be legal, illegal, unsure or not_mine"))?;
    let (holder, actor, now) = (user.id.clone(), user.person().clone(), state.now());
    let n = db(&state, move |s| Ok(cases::triage(s, &holder, &actor, &b.hits, verdict, now)?)).await?;
    Ok(HttpResponse::Ok().json(json!({"triaged": n})))
}

/// Captures a hit's page now as signed, time-stamped evidence (WACZ).
#[utoipa::path(post, path = "/api/v1/hits/{id}/capture", tag = "cases",
    responses((status = 201, description = "the capture"), (status = 404, body = super::rest::ErrorBody), (status = 502, body = super::rest::ErrorBody)))]
async fn api_capture(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let user = require_for_record(&state, &req, &[Role::Holder], "hit").await?;
    let hit = path.parse::<i64>().map_err(|_| ApiError::not_found("hit"))?;
    let k = capture_hit(&state, &user, hit).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": k.id, "url": k.url, "wacz_sha256": k.wacz_sha256, "datapackage_sha256": k.datapackage_sha256,
        "log_index": k.leaf, "download": format!("/api/v1/captures/{}.wacz", k.id), "summary": k.summary,
    })))
}

/// A capture's WACZ file.
#[utoipa::path(get, path = "/api/v1/captures/{id}", tag = "cases",
    responses((status = 200, content_type = "application/wacz+zip", description = "the WACZ"), (status = 404, body = super::rest::ErrorBody)))]
async fn api_capture_file(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require_for_record(&state, &req, &[Role::Holder, Role::Admin], "capture").await?;
    wacz_of(&state, path.into_inner(), scope_of(&user)).await
}

/// Your automatic protection settings.
#[utoipa::path(get, path = "/api/v1/protection", tag = "cases",
    responses((status = 200, description = "`{auto, multiplier_bps, deadline_days, may_open_cases}`")))]
async fn api_protection(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await?;
    let h = user.id.clone();
    let (p, may) = db(&state, move |s| Ok((s.protection(&h)?, cases::may_open(s, &h)?))).await?;
    Ok(HttpResponse::Ok().json(json!({
        "auto": p.auto, "multiplier_bps": p.multiplier_bps, "deadline_days": p.deadline_days,
        "identity_confirmed": p.identity_confirmed_at.is_some(), "may_open_cases": may,
    })))
}

/// Sets your automatic protection settings.
#[utoipa::path(put, path = "/api/v1/protection", tag = "cases", request_body = ProtectionBody,
    responses((status = 204), (status = 400, body = super::rest::ErrorBody)))]
async fn api_set_protection(
    state: State,
    req: HttpRequest,
    body: web::Json<ProtectionBody>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let user = require(&state, &req, &[Role::Holder]).await?;
    let b = body.into_inner();
    let p = Protection {
        auto: b.auto,
        multiplier_bps: b.multiplier_bps,
        deadline_days: b.deadline_days,
        identity_confirmed_at: None,
    };
    let h = user.id.clone();
    db(&state, move |s| Ok(cases::set_protection(s, &h, &p)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Confirms a rights holder's identity (administrators), so they may open cases without a verified
/// channel.
#[utoipa::path(post, path = "/api/v1/holders/{id}/identity", tag = "cases",
    responses((status = 204), (status = 404, body = super::rest::ErrorBody)))]
async fn api_confirm_identity(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let user = require(&state, &req, &[Role::Admin]).await?;
    confirm_identity(&state, &user, &path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The OpenAPI paths and schemas of this module, merged into the v1 document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        api_list,
        api_stats,
        api_case,
        api_submit,
        api_action,
        api_dossier,
        api_triage,
        api_capture,
        api_capture_file,
        api_protection,
        api_set_protection,
        api_confirm_identity
    ),
    components(schemas(SubmitCases, TriageBody, CaseActionBody, ProtectionBody))
)]
pub struct CasesDoc;

/// The routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard/cases", web::get().to(cases_page))
        .route("/dashboard/cases/protection", web::post().to(save_protection))
        .route("/dashboard/cases/{id}", web::get().to(case_page))
        .route("/dashboard/cases/{id}", web::post().to(case_action))
        .route("/dashboard/cases/{id}/dossier.zip", web::get().to(dossier_page))
        .route("/dashboard/hits/selection", web::post().to(act_on_hits))
        .route("/dashboard/hits/{id}/capture", web::post().to(capture_hit_page))
        .route("/dashboard/captures/{id}", web::get().to(capture_download))
        .route("/admin/cases", web::get().to(admin_cases))
        .route("/admin/cases/identity", web::post().to(confirm_identity_page))
        .route("/admin/cases/{id}", web::get().to(admin_case))
        .route("/admin/cases/{id}", web::post().to(case_action))
        .route("/settle/{token}", web::get().to(settle_page))
        .route("/settle/{token}", web::post().to(settle_post))
        .route("/settle/{token}/evidence/{capture}", web::get().to(settle_evidence))
        .route("/api/v1/cases", web::get().to(api_list))
        .route("/api/v1/cases", web::post().to(api_submit))
        .route("/api/v1/cases/stats", web::get().to(api_stats))
        .route("/api/v1/cases/{id}", web::get().to(api_case))
        .route("/api/v1/cases/{id}/actions", web::post().to(api_action))
        .route("/api/v1/cases/{id}/dossier", web::get().to(api_dossier))
        .route("/api/v1/hits/triage", web::post().to(api_triage))
        .route("/api/v1/hits/{id}/capture", web::post().to(api_capture))
        .route("/api/v1/captures/{id}", web::get().to(api_capture_file))
        .route("/api/v1/protection", web::get().to(api_protection))
        .route("/api/v1/protection", web::put().to(api_set_protection))
        .route("/api/v1/holders/{id}/identity", web::post().to(api_confirm_identity));
}
