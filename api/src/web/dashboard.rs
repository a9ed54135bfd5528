//! Server-rendered pages: the home page, the rights holder's and the licensee's dashboards, a
//! channel's three-step setup page and the administrator's console. Templates are askama files under
//! `api/templates/`, compiled into the binary; charts are SVG drawn on the server ([`super::svg`]).

use super::auth::{csrf_page, csrf_token, current_user, form_user, require};
use super::error::ApiError;
use super::seal::embed_code;
use super::setup::owned_channel;
use super::{db, render, see_other, svg, State};
use crate::domain::team::OrgRole;
use crate::i18n::Lang;
use crate::store::listing::{ListQuery, Side};
use crate::store::platform::{ChannelClaim, DayPoint, Earnings, Role, User};
use crate::store::prelude::*;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::LicenceId;
use seal_licensing::invoice::Invoice;
use seal_licensing::licence::{Licence, LicenceStatus};
use seal_licensing::money::Currency;
use seal_licensing::offer::{Channel, Offer, Work};
use serde::Deserialize;

/// A licence row for tables, in the page's language.
pub struct LicenceRow {
    id: String,
    held: bool,
    invoiced: bool,
    work: String,
    work_title: String,
    party: String,
    scope: String,
    price: String,
    status: String,
    created: String,
    /// Until when the fee is held (the end of the publicity period), for licences in escrow.
    hold_until: String,
}

/// Rows for `licences`, each with its work's title; `show_licensee` names the licensee, else the holder
/// (`holder_names` in the same order).
fn licence_rows(l: Lang, ls: &[(Licence, String)], show_licensee: bool, holder_names: &[String]) -> Vec<LicenceRow> {
    ls.iter()
        .enumerate()
        .map(|(i, (lic, title))| LicenceRow {
            id: lic.id.to_string(),
            held: lic.status == LicenceStatus::Held,
            invoiced: lic.invoice.is_some(),
            work: lic.work.to_string(),
            work_title: title.clone(),
            party: if show_licensee {
                lic.licensee_name.clone()
            } else {
                holder_names.get(i).cloned().unwrap_or_else(|| lic.holder.to_string())
            },
            scope: l.scope(&lic.scope),
            price: if lic.price.amount.minor() == 0 {
                l.t("free")
            } else {
                l.money(lic.price.amount.minor(), lic.price.currency.code())
            },
            status: l.licence_status(lic.status),
            created: l.time(lic.created_at),
            hold_until: if matches!(lic.status, LicenceStatus::Held | LicenceStatus::Frozen) {
                l.date(lic.hold_until)
            } else {
                String::new()
            },
        })
        .collect()
}

/// Earnings of one currency, explained: what buyers paid, the platform's fee, the net, and where the
/// net stands. Amounts of different currencies are never added together.
pub struct EarningsRow {
    currency: String,
    gross: String,
    fee: String,
    net: String,
    held: String,
    held_until: String,
    settled: String,
    paid_out: String,
    licences: i64,
}

fn earnings_rows(l: Lang, earnings: &[Earnings]) -> Vec<EarningsRow> {
    earnings
        .iter()
        .map(|e| EarningsRow {
            currency: e.currency.clone(),
            gross: l.money(e.gross_minor, &e.currency),
            fee: l.money(e.fee_minor, &e.currency),
            net: l.money(e.gross_minor - e.fee_minor, &e.currency),
            held: l.money(e.held_minor, &e.currency),
            held_until: e.next_release.map(|t| l.date(t)).unwrap_or_default(),
            settled: l.money(e.settled_minor, &e.currency),
            paid_out: l.money(e.paid_out_minor, &e.currency),
            licences: e.licences,
        })
        .collect()
}

/// An invoice row: number, work title, amount, date, and the licence it belongs to (for the PDF).
pub struct InvoiceRow {
    number: String,
    licence: String,
    work_title: String,
    amount: String,
    issued: String,
}

fn invoice_rows(l: Lang, invoices: &[(Invoice, String, String)]) -> Vec<InvoiceRow> {
    invoices
        .iter()
        .map(|(i, title, _)| InvoiceRow {
            number: i.number.to_string(),
            licence: i.licence.to_string(),
            work_title: title.clone(),
            amount: l.money(i.total.minor(), i.currency.code()),
            issued: l.date(i.issued_at),
        })
        .collect()
}

/// The newest rows of a list, for a dashboard's summary panels.
fn newest(limit: usize) -> ListQuery {
    ListQuery { limit, ..ListQuery::default() }
}

#[derive(askama::Template)]
#[template(path = "earnings.html")]
struct EarningsPage {
    /// The page language.
    l: Lang,
    user: User,
    csrf: String,
    earnings: Vec<EarningsRow>,
    invoices: Vec<InvoiceRow>,
    invoice_total: u64,
    licence_chart: String,
    revenue_charts: Vec<String>,
    pdf: bool,
}

/// The organisation's money: earnings by stage, charts and invoices (owners and finance members).
async fn earnings_page(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await.map_err(ApiError::page)?;
    let l = super::lang_of(&req);
    let (csrf, _) = csrf_token(&req, state.config.secure_cookies);
    let (id, now) = (user.id.clone(), state.now());
    let (earnings, invoices, points) = db(&state, move |s| {
        Ok((s.earnings(&id)?, s.list_invoices(id.as_str(), &newest(20))?, s.licences_per_day(Some(&id), now, 30)?))
    })
    .await
    .map_err(ApiError::page)?;
    let (licence_chart, revenue_charts) = charts(l, &points);
    render(&EarningsPage {
        l,
        user,
        csrf,
        earnings: earnings_rows(l, &earnings),
        invoices: invoice_rows(l, &invoices.items),
        invoice_total: invoices.total,
        licence_chart,
        revenue_charts,
        pdf: state.font.is_some(),
    })
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    /// The page language.
    l: Lang,
    user: Option<User>,
    csrf: String,
}

async fn home(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = current_user(&state, &req).await?;
    csrf_page(&req, &state, |csrf| HomePage { l: super::lang_of(&req), user, csrf })
}

#[derive(askama::Template)]
#[template(path = "holder.html")]
struct HolderPage {
    /// The page language.
    l: Lang,
    user: User,
    csrf: String,
    /// Each channel with its verification status (a catalogue key) and kind in words.
    channels: Vec<(Channel, &'static str, String)>,
    /// The newest works, and how many there are.
    works: Vec<Work>,
    work_total: u64,
    /// Offers with their price and terms in words.
    offers: Vec<(Offer, String, Vec<String>)>,
    licences: Vec<LicenceRow>,
    licence_total: u64,
    earnings: Vec<EarningsRow>,
    invoices: Vec<InvoiceRow>,
    invoice_total: u64,
    licence_chart: String,
    revenue_charts: Vec<String>,
    pdf: bool,
    /// The work just registered, for the confirmation.
    registered: Option<Work>,
    /// The platform's public address, for short links.
    base_url: String,
    /// Unread notifications, for the badge (`web::notifications`).
    unread: i64,
    /// A refused channel or registration form: its error beside the form and what was typed.
    forms: HolderForms,
}

/// The holder dashboard's forms as a refused submission left them.
#[derive(Debug, Default)]
pub struct HolderForms {
    /// Why the channel form was refused (in the page's language).
    pub channel_error: Option<String>,
    /// The channel kind chosen.
    pub channel_kind: String,
    /// The handle typed.
    pub channel_handle: String,
    /// Why the registration form was refused (in the page's language).
    pub work_error: Option<String>,
    /// Title, author, channel, source URL and text typed (a chosen file cannot be kept).
    pub work_title: String,
    /// See `work_title`.
    pub work_author: String,
    /// See `work_title`.
    pub work_channel: String,
    /// See `work_title`.
    pub work_source_url: String,
    /// See `work_title`.
    pub work_content: String,
}

#[derive(askama::Template)]
#[template(path = "licensee.html")]
struct LicenseePage {
    /// The page language.
    l: Lang,
    user: User,
    csrf: String,
    licences: Vec<LicenceRow>,
    licence_total: u64,
    invoices: Vec<InvoiceRow>,
    invoice_total: u64,
    pdf: bool,
}

/// The licences and revenue charts of the last 30 days: one revenue chart per currency, since amounts
/// in different currencies cannot share an axis.
fn charts(l: Lang, points: &[DayPoint]) -> (String, Vec<String>) {
    let labels: Vec<String> = points
        .iter()
        .map(|p| {
            let (_, m, d) = seal_licensing::Timestamp::from_unix_ms(p.day * seal_licensing::time::MS_PER_DAY).date();
            format!("{m:02}-{d:02}")
        })
        .collect();
    let counts: Vec<i64> = points.iter().map(|p| p.licences).collect();
    let mut currencies: Vec<&str> =
        points.iter().flat_map(|p| p.gross_by_currency.iter().map(|(c, _)| c.as_str())).collect();
    currencies.sort_unstable();
    currencies.dedup();
    let revenue = currencies
        .iter()
        .map(|cur| {
            let exponent = Currency::parse(cur).map_or(0, |c| u32::from(c.exponent()));
            let scale = 10_i64.pow(exponent);
            let values: Vec<i64> = points
                .iter()
                .map(|p| p.gross_by_currency.iter().find(|(c, _)| c == cur).map_or(0, |(_, v)| v / scale))
                .collect();
            svg::bar_chart(&l.t1("dash-chart-revenue", "currency", cur), &labels, &values, "")
        })
        .collect();
    (svg::bar_chart(&l.t("dash-chart-licences"), &labels, &counts, ""), revenue)
}

#[derive(Debug, Deserialize)]
struct DashboardQuery {
    /// A work just registered (the registration form comes back here to confirm it).
    registered: Option<String>,
}

async fn dashboard(state: State, req: HttpRequest, q: web::Query<DashboardQuery>) -> Result<HttpResponse, ApiError> {
    show_dashboard(&state, &req, q.registered.clone(), HolderForms::default()).await
}

/// The dashboard of the signed-in user; a holder's with `forms` as a refused submission left them
/// (answered 400 then).
pub async fn show_dashboard(
    state: &State,
    req: &HttpRequest,
    registered: Option<String>,
    forms: HolderForms,
) -> Result<HttpResponse, ApiError> {
    let failed = forms.channel_error.is_some() || forms.work_error.is_some();
    let mut user = match current_user(state, req).await? {
        Some(u) => u,
        None => return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/sign-in")).finish()),
    };
    // A member of an organisation starts where their role works: owners on the organisation's
    // dashboard, analysts on its reports, finance on its earnings.
    if matches!(user.role, Role::Licensee | Role::Developer) {
        let id = user.id.clone();
        if let Some((m, org_name)) = super::auth::membership(state, id).await? {
            match m.role {
                OrgRole::Owner => user = super::auth::acting_for(user, &m, org_name),
                OrgRole::Analyst => return Ok(see_other("/dashboard/reports")),
                OrgRole::Finance => return Ok(see_other("/dashboard/earnings")),
            }
        }
    }
    let l = super::lang_of(req);
    let (csrf, set) = csrf_token(req, state.config.secure_cookies);
    let now = state.now();
    let mut resp = match user.role {
        Role::Admin => return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin")).finish()),
        Role::Holder => {
            let id = user.id.clone();
            let just = registered;
            let (channels, works, offers, licences, earnings, invoices, points, registered) = db(state, move |s| {
                let channels = s.channels_of(&id, "", 100)?;
                let claims: Vec<&'static str> = channels
                    .iter()
                    .map(|c| s.claim(&c.id).map(|k| claim_status(k.as_ref())))
                    .collect::<Result<_, _>>()?;
                // Only the holder's own work is confirmed; any other id shows nothing.
                let registered = match just.and_then(|w| seal_licensing::ids::WorkId::new(w).ok()) {
                    Some(w) => s.work(&w)?.filter(|w| w.owner == id),
                    None => None,
                };
                Ok((
                    channels.into_iter().zip(claims).collect::<Vec<_>>(),
                    s.list_works(id.as_str(), &newest(10))?,
                    s.offers_of(&id, "", 100)?,
                    s.list_licences(id.as_str(), Side::Granted, &newest(10))?,
                    s.earnings(&id)?,
                    s.list_invoices(id.as_str(), &newest(5))?,
                    s.licences_per_day(Some(&id), now, 30)?,
                    registered,
                ))
            })
            .await?;
            let (licence_chart, revenue_charts) = charts(l, &points);
            let unread = super::notifications::unread_badge(state, user.id.clone()).await?;
            render(&HolderPage {
                l,
                csrf,
                channels: channels
                    .into_iter()
                    .map(|(c, v)| {
                        let kind = l.channel_kind(c.kind);
                        (c, v, kind)
                    })
                    .collect(),
                work_total: works.total,
                works: works.items,
                offers: offers
                    .into_iter()
                    .map(|o| {
                        let (p, r) = (l.price(&o), l.offer_rules(&o));
                        (o, p, r)
                    })
                    .collect(),
                licence_total: licences.total,
                licences: licence_rows(l, &licences.items, true, &[]),
                earnings: earnings_rows(l, &earnings),
                invoice_total: invoices.total,
                invoices: invoice_rows(l, &invoices.items),
                licence_chart,
                revenue_charts,
                pdf: state.font.is_some(),
                registered,
                base_url: state.config.public_url.clone(),
                unread,
                user,
                forms,
            })?
        }
        Role::Licensee | Role::Developer => {
            let id = user.id.clone();
            let (licences, names, invoices) = db(state, move |s| {
                let licences = s.list_licences(id.as_str(), Side::Held, &newest(50))?;
                let names =
                    licences.items.iter().map(|(lic, _)| s.holder_name(&lic.holder)).collect::<Result<Vec<_>, _>>()?;
                Ok((licences, names, s.list_invoices(id.as_str(), &newest(20))?))
            })
            .await?;
            render(&LicenseePage {
                l,
                user,
                csrf,
                licence_total: licences.total,
                licences: licence_rows(l, &licences.items, false, &names),
                invoice_total: invoices.total,
                invoices: invoice_rows(l, &invoices.items),
                pdf: state.font.is_some(),
            })?
        }
    };
    if let Some(c) = set {
        let _ = resp.add_cookie(&c);
    }
    if failed {
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

#[derive(askama::Template)]
#[template(path = "channel.html")]
struct ChannelPage {
    /// The page language.
    l: Lang,
    csrf: String,
    channel: Channel,
    kind: String,
    claim: Option<ChannelClaim>,
    meta_tag: String,
    file_url: String,
    offers: Vec<(Offer, String, Vec<String>)>,
    embed: String,
    /// The outcome of the last verification attempt, as a message key.
    msg: Option<&'static str>,
    /// Why the last offer form was refused (in the page's language), shown beside the form.
    offer_error: Option<String>,
    /// What the holder typed into the refused offer form.
    kept: OfferKept,
}

/// The offer form's values, shown again after a refusal.
#[derive(Debug, Default)]
pub struct OfferKept {
    /// The preset chosen.
    pub preset: String,
    /// The price typed.
    pub price: String,
    /// The currency chosen.
    pub currency: String,
}

#[derive(Debug, Deserialize)]
struct ChannelQuery {
    msg: Option<String>,
}

/// A channel's verification status as a catalogue key: verified, under review by an administrator
/// (WeChat and Weibo, once the holder asked), or waiting for the holder.
pub fn claim_status(claim: Option<&crate::store::platform::ChannelClaim>) -> &'static str {
    match claim {
        Some(k) if k.verified_at.is_some() => "dash-verified",
        Some(k) if k.method.as_deref() == Some("review") => "dash-under-review",
        _ => "dash-not-verified",
    }
}

async fn channel_page(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<ChannelQuery>,
) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await.map_err(ApiError::page)?;
    show_channel(&state, &req, &user, &path, q.msg.as_deref(), None, OfferKept::default()).await
}

/// The channel's setup page; with `offer_error` (already in the page's language) and the typed
/// values when an offer form was refused (answered 400).
pub async fn show_channel(
    state: &State,
    req: &HttpRequest,
    user: &User,
    id: &str,
    msg: Option<&str>,
    offer_error: Option<String>,
    kept: OfferKept,
) -> Result<HttpResponse, ApiError> {
    let channel = owned_channel(state, &user.id, id).await.map_err(ApiError::page)?;
    let (cid, owner) = (channel.id.clone(), user.id.clone());
    let (claim, offers) = db(state, move |s| {
        let mut offers = s.offers_of(&owner, "", 500)?;
        offers.retain(|o| matches!(&o.target, seal_licensing::offer::OfferTarget::Channel(c) if *c == cid));
        Ok((s.claim(&cid)?, offers))
    })
    .await?;
    let token = claim.as_ref().map(|c| c.token.clone()).unwrap_or_default();
    let msg = match msg {
        Some("review") => Some("dash-verify-review"),
        Some("unreachable") => Some("dash-verify-unreachable"),
        Some("no_token") => Some("dash-verify-no-token"),
        _ => None,
    };
    let l = super::lang_of(req);
    let failed = offer_error.is_some();
    let mut resp = csrf_page(req, state, |csrf| ChannelPage {
        l,
        csrf,
        kind: l.channel_kind(channel.kind),
        meta_tag: format!("<meta name=\"copyright-seal-verification\" content=\"{token}\">"),
        file_url: crate::services::channels::ChannelScope::parse(channel.kind, &channel.handle)
            .ok()
            .and_then(|scope| {
                scope.bases().first().map(|base| crate::services::channels::claim_urls(base).1.to_string())
            })
            .unwrap_or_default(),
        embed: embed_code(&state.config.public_url, Some(channel.id.as_str()), None),
        offers: offers
            .into_iter()
            .map(|o| {
                let (p, r) = (l.price(&o), l.offer_rules(&o));
                (o, p, r)
            })
            .collect(),
        channel,
        claim,
        msg,
        offer_error,
        kept,
    })?;
    if failed {
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

/// A licence the user may see: the licensee's or the rights holder's own, else 404.
async fn visible_licence(state: &State, user: &User, id: String) -> Result<Licence, ApiError> {
    let lid = LicenceId::new(id).map_err(|_| ApiError::not_found("licence"))?;
    let l = db(state, move |s| Ok(s.licence(&lid)?)).await?;
    l.filter(|l| l.licensee == user.id || l.holder == user.id || user.role == Role::Admin)
        .ok_or_else(|| ApiError::not_found("licence"))
}

async fn licence_letter(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Licensee, Role::Developer, Role::Admin]).await?;
    let l = visible_licence(&state, &user, path.into_inner()).await?;
    let now = state.now();
    let st = state.clone();
    let letter = db(&state, move |s| {
        crate::letters::issue_logged_letter(s, &st.key, &st.notary, &l.id, now)
            .map_err(|e| ApiError::invalid(e.to_string()))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/jose")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"authorization-letter.jws\""))
        .body(letter))
}

async fn licence_letter_pdf(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Licensee, Role::Developer, Role::Admin]).await?;
    let l = visible_licence(&state, &user, path.into_inner()).await?;
    super::checkout::letter_pdf_response(&state, super::lang_of(&req), l.id).await
}

/// A money action's form: its CSRF token and the reason the person gives, which is kept with the
/// domain event the action records (a refund, a settlement, an approval is never one careless click).
#[derive(Debug, Deserialize)]
struct ReasonForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

impl ReasonForm {
    /// The reason, trimmed; refused when empty.
    fn reason(&self) -> Result<String, ApiError> {
        let reason: String = self.reason.trim().chars().take(500).collect();
        if reason.is_empty() {
            return Err(ApiError::invalid("give a reason").keyed("error-reason-required", &[]).page());
        }
        Ok(reason)
    }
}

async fn object(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Licensee, Role::Developer]).await?;
    let l = visible_licence(&state, &user, path.into_inner()).await.map_err(ApiError::page)?;
    if l.licensee != user.id {
        return Err(ApiError::not_found("licence").page());
    }
    let reason = form.reason()?;
    let now = state.now();
    let op = seal_licensing::ids::OperationId::new(format!("object/{}", l.id))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let by = user.person().to_string();
    db(&state, move |s| {
        s.atomically(|s| -> Result<_, crate::store::StoreError> {
            let outcome = s.object(&op, &l.id, seal_licensing::licence::ObjectionKind::RefundRequest, now)?;
            if !outcome.replayed {
                let payload = serde_json::json!({"licence": l.id.as_str(), "by": by, "reason": reason});
                s.record_event("licence.refund_requested", l.id.as_str(), &payload, now)?;
            }
            Ok(())
        })?;
        Ok(())
    })
    .await
    .map_err(ApiError::page)?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/dashboard#licences")).finish())
}

#[derive(Debug, Deserialize)]
struct ResolveForm {
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
}

async fn resolve_objection(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ResolveForm>,
) -> Result<HttpResponse, ApiError> {
    let admin = form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    let reason = ReasonForm { csrf: String::new(), reason: form.reason.clone() }.reason()?;
    let resolution = match form.action.as_str() {
        "refund" => seal_licensing::licence::Resolution::Refund,
        "release" => seal_licensing::licence::Resolution::Release,
        _ => return Err(ApiError::invalid("action must be refund or release").page()),
    };
    let id = LicenceId::new(path.into_inner()).map_err(|_| ApiError::not_found("licence").page())?;
    let op = seal_licensing::ids::OperationId::new(format!("resolve/{id}"))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let now = state.now();
    let st = state.clone();
    db(&state, move |s| {
        // The resolution and, for a refund, the `licence.ended` event that recolours its hits commit
        // together.
        let l = s.atomically(|s| -> Result<_, crate::store::StoreError> {
            let outcome = s.resolve(&op, &id, resolution, now)?;
            if !outcome.replayed {
                let payload = serde_json::json!({"licence": id.as_str(), "by": admin.id.as_str(), "action": form.action, "reason": reason});
                s.record_event("licence.objection_resolved", id.as_str(), &payload, now)?;
            }
            if resolution == seal_licensing::licence::Resolution::Refund && !outcome.replayed {
                let payload =
                    serde_json::json!({"licence": id.as_str(), "work": outcome.value.work.as_str(), "why": "refunded"});
                s.record_event("licence.ended", id.as_str(), &payload, now)?;
            }
            Ok(outcome.value)
        })?;
        st.seals.refresh_work(s, &st.config.public_url, &l.work)?;
        Ok(())
    })
    .await
    .map_err(ApiError::page)?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin")).finish())
}

async fn invoice_pdf(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder, Role::Licensee, Role::Developer, Role::Admin]).await?;
    let font = super::pdf_font(&state)?;
    let l = visible_licence(&state, &user, path.into_inner()).await?;
    let invoice = db(&state, move |s| Ok(s.invoice_for(&l.id)?)).await?;
    let invoice = invoice.ok_or_else(|| ApiError::not_found("invoice (issued at settlement)"))?;
    let pdf =
        crate::pdf::invoice_pdf_in(&invoice.to_json(), &font, super::lang_of(&req)).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"invoice.pdf\""))
        .body(pdf))
}

#[derive(askama::Template)]
#[template(path = "admin.html")]
struct AdminPage {
    /// The page language.
    l: Lang,
    user: User,
    csrf: String,
    /// Payout id, holder name, amount, licences, time.
    payouts: Vec<(String, String, String, usize, String)>,
    /// Time, who started it, licences settled, payouts made.
    runs: Vec<(String, String, i64, i64)>,
    counts: Vec<(String, i64)>,
    frozen: Vec<LicenceRow>,
    /// Channel id, kind in words, handle, token.
    pending_claims: Vec<(String, String, String, String)>,
    /// The last settlement run, when the page was reached from one: licences and payouts.
    report: Option<(i64, i64)>,
    licence_chart: String,
}

#[derive(Debug, Deserialize)]
struct AdminQuery {
    report: Option<String>,
}

async fn admin(state: State, req: HttpRequest, q: web::Query<AdminQuery>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Admin]).await.map_err(ApiError::page)?;
    let now = state.now();
    let (counts, frozen, claims, points, payouts, runs) = db(&state, move |s| {
        let counts = crate::store::status_counts(s)?;
        let frozen = s.licences_with_status(LicenceStatus::Frozen, 100)?;
        let titled = frozen
            .into_iter()
            .map(|lic| {
                let title = s.work(&lic.work)?.map(|w| w.title).unwrap_or_default();
                Ok((lic, title))
            })
            .collect::<Result<Vec<_>, crate::store::StoreError>>()?;
        let payouts = s
            .recent_payouts(50)?
            .into_iter()
            .map(|p| {
                let name = s.holder_name(&p.holder)?;
                Ok((p, name))
            })
            .collect::<Result<Vec<_>, crate::store::StoreError>>()?;
        Ok((
            counts,
            titled,
            s.pending_claims(100)?,
            s.licences_per_day(None, now, 30)?,
            payouts,
            s.settlement_runs(20)?,
        ))
    })
    .await?;
    let l = super::lang_of(&req);
    csrf_page(&req, &state, |csrf| AdminPage {
        l,
        user,
        csrf,
        counts: counts.into_iter().map(|(s, n)| (l.licence_status(s), n)).collect(),
        frozen: licence_rows(l, &frozen, true, &[]),
        pending_claims: claims
            .into_iter()
            .map(|(c, k)| (c.id.to_string(), l.channel_kind(c.kind), c.handle, k.token))
            .collect(),
        report: (q.report.as_deref() == Some("settled"))
            .then(|| runs.first().map(|r| (r.licences, r.payouts)))
            .flatten(),
        runs: runs
            .iter()
            .map(|r| {
                let by = if r.started_by == "schedule" { l.t("dash-run-by-schedule") } else { r.started_by.clone() };
                (l.time(r.at), by, r.licences, r.payouts)
            })
            .collect(),
        payouts: payouts
            .iter()
            .map(|(p, name)| {
                let who = if name.is_empty() { p.holder.to_string() } else { name.clone() };
                (
                    p.id.to_string(),
                    who,
                    l.money(p.amount.minor(), p.currency.code()),
                    p.licences.len(),
                    l.time(p.created_at),
                )
            })
            .collect(),
        licence_chart: charts(l, &points).0,
    })
}

async fn run_settlement(state: State, req: HttpRequest, form: web::Form<ReasonForm>) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let admin = form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    let reason = form.reason()?;
    let run = db(&state, move |s| {
        let run = s.settle_and_record(admin.id.as_str(), now)?;
        let payload = serde_json::json!({"by": admin.id.as_str(), "reason": reason, "licences": run.licences, "payouts": run.payouts});
        s.record_event("settlement.run_by_admin", admin.id.as_str(), &payload, now)?;
        Ok(run)
    })
    .await
    .map_err(ApiError::page)?;
    tracing::info!(licences = run.licences, payouts = run.payouts, "settlement run from the admin console");
    // The page shows the newest recorded run; the redirect carries only a code, never text.
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin?report=settled")).finish())
}

async fn approve_claim(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReasonForm>,
) -> Result<HttpResponse, ApiError> {
    let admin = form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    let reason = form.reason()?;
    let id =
        seal_licensing::ids::ChannelId::new(path.into_inner()).map_err(|_| ApiError::not_found("channel").page())?;
    let now = state.now();
    db(&state, move |s| {
        s.atomically(|s| -> Result<_, crate::store::StoreError> {
            s.verify_claim(&id, "review", now)?;
            let payload = serde_json::json!({"channel": id.as_str(), "by": admin.id.as_str(), "reason": reason});
            s.record_event("channel.approved", id.as_str(), &payload, now)?;
            Ok(())
        })?;
        Ok(())
    })
    .await
    .map_err(ApiError::page)?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin")).finish())
}

/// The page routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/dashboard", web::get().to(dashboard))
        .route("/dashboard/earnings", web::get().to(earnings_page))
        .route("/dashboard/channels/{id}", web::get().to(channel_page))
        .route("/dashboard/licences/{id}/letter.jws", web::get().to(licence_letter))
        .route("/dashboard/licences/{id}/letter.pdf", web::get().to(licence_letter_pdf))
        .route("/dashboard/licences/{id}/object", web::post().to(object))
        .route("/dashboard/invoices/{licence}.pdf", web::get().to(invoice_pdf))
        .route("/admin/licences/{id}/resolve", web::post().to(resolve_objection))
        .route("/admin", web::get().to(admin))
        .route("/admin/settle", web::post().to(run_settlement))
        .route("/admin/claims/{id}/approve", web::post().to(approve_claim));
}
