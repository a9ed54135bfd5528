//! Server-rendered pages: the home page, the rights holder's and the licensee's dashboards, a
//! channel's three-step setup page and the administrator's console. Templates are askama files under
//! `api/templates/`, compiled into the binary; charts are SVG drawn on the server ([`super::svg`]).

use super::auth::{csrf_page, csrf_token, current_user, form_user, require, CsrfForm};
use super::error::ApiError;
use super::seal::embed_code;
use super::setup::owned_channel;
use super::{db, render, see_other, svg, State};
use crate::domain::team::OrgRole;
use crate::services::seal::{offer_rules, price_label};
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

fn money(minor: i64, currency: &str) -> String {
    Currency::parse(currency)
        .map_or_else(|_| format!("{minor} {currency}"), |c| format!("{} {currency}", c.format_minor(minor)))
}

fn status_label(s: LicenceStatus) -> &'static str {
    match s {
        LicenceStatus::Free => "免费 free",
        LicenceStatus::Held => "托管中 in escrow",
        LicenceStatus::Frozen => "冻结 objection open",
        LicenceStatus::Settled => "已结算 settled",
        LicenceStatus::Refunded => "已退款 refunded",
    }
}

/// A licence row for tables.
pub struct LicenceRow {
    id: String,
    held: bool,
    invoiced: bool,
    work: String,
    party: String,
    scope: String,
    price: String,
    status: &'static str,
    created: String,
}

fn licence_rows(ls: &[Licence], show_licensee: bool) -> Vec<LicenceRow> {
    ls.iter()
        .map(|l| LicenceRow {
            id: l.id.to_string(),
            held: l.status == LicenceStatus::Held,
            invoiced: l.invoice.is_some(),
            work: l.work.to_string(),
            party: if show_licensee { l.licensee_name.clone() } else { l.holder.to_string() },
            scope: l.scope.describe(),
            price: if l.price.amount.minor() == 0 {
                "免费 Free".into()
            } else {
                money(l.price.amount.minor(), l.price.currency.code())
            },
            status: status_label(l.status),
            created: l.created_at.to_string()[..10].to_owned(),
        })
        .collect()
}

fn earnings_rows(earnings: &[Earnings]) -> Vec<(String, String, String, String, i64)> {
    earnings
        .iter()
        .map(|e| {
            (
                e.currency.clone(),
                money(e.held_minor, &e.currency),
                money(e.settled_minor, &e.currency),
                money(e.paid_out_minor, &e.currency),
                e.licences,
            )
        })
        .collect()
}

#[derive(askama::Template)]
#[template(path = "earnings.html")]
struct EarningsPage {
    user: User,
    csrf: String,
    earnings: Vec<(String, String, String, String, i64)>,
    invoices: Vec<(String, String, String)>,
    licence_chart: String,
    revenue_chart: String,
    pdf: bool,
}

/// The organisation's money: earnings by stage, charts and invoices (owners and finance members).
async fn earnings_page(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await.map_err(ApiError::page)?;
    let (csrf, _) = csrf_token(&req, state.config.secure_cookies);
    let (id, now) = (user.id.clone(), state.now());
    let (earnings, invoices, points) =
        db(&state, move |s| Ok((s.earnings(&id)?, s.invoices_of(&id, 50)?, s.licences_per_day(Some(&id), now, 30)?)))
            .await
            .map_err(ApiError::page)?;
    let (licence_chart, revenue_chart) = charts(&points);
    render(&EarningsPage {
        user,
        csrf,
        earnings: earnings_rows(&earnings),
        invoices: invoice_rows(&invoices),
        licence_chart,
        revenue_chart,
        pdf: state.font.is_some(),
    })
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    user: Option<User>,
    csrf: String,
}

async fn home(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = current_user(&state, &req).await?;
    csrf_page(&req, &state, |csrf| HomePage { user, csrf })
}

#[derive(askama::Template)]
#[template(path = "holder.html")]
struct HolderPage {
    user: User,
    csrf: String,
    channels: Vec<(Channel, bool)>,
    works: Vec<Work>,
    offers: Vec<(Offer, String)>,
    licences: Vec<LicenceRow>,
    earnings: Vec<(String, String, String, String, i64)>,
    invoices: Vec<(String, String, String)>,
    licence_chart: String,
    revenue_chart: String,
}

#[derive(askama::Template)]
#[template(path = "licensee.html")]
struct LicenseePage {
    user: User,
    csrf: String,
    licences: Vec<LicenceRow>,
    invoices: Vec<(String, String, String)>,
    pdf: bool,
}

fn invoice_rows(invoices: &[Invoice]) -> Vec<(String, String, String)> {
    invoices
        .iter()
        .map(|i| (i.number.to_string(), i.licence.to_string(), i.issued_at.to_string()[..10].to_owned()))
        .collect()
}

fn charts(points: &[DayPoint]) -> (String, String) {
    let labels: Vec<String> = points
        .iter()
        .map(|p| {
            seal_licensing::Timestamp::from_unix_ms(p.day * seal_licensing::time::MS_PER_DAY).to_string()[5..10]
                .to_owned()
        })
        .collect();
    let counts: Vec<i64> = points.iter().map(|p| p.licences).collect();
    let gross: Vec<i64> = points.iter().map(|p| p.gross_minor / 100).collect();
    (
        svg::bar_chart("每日授权 Licences per day (30 days)", &labels, &counts, ""),
        svg::bar_chart("每日收入 Revenue per day, major units (30 days)", &labels, &gross, ""),
    )
}

async fn dashboard(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut user = match current_user(&state, &req).await? {
        Some(u) => u,
        None => return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/sign-in")).finish()),
    };
    // A member of an organisation starts where their role works: owners on the organisation's
    // dashboard, analysts on its reports, finance on its earnings.
    if matches!(user.role, Role::Licensee | Role::Developer) {
        let id = user.id.clone();
        if let Some((m, org_name)) = super::auth::membership(&state, id).await? {
            match m.role {
                OrgRole::Owner => user = super::auth::acting_for(user, &m, org_name),
                OrgRole::Analyst => return Ok(see_other("/dashboard/reports")),
                OrgRole::Finance => return Ok(see_other("/dashboard/earnings")),
            }
        }
    }
    let (csrf, set) = csrf_token(&req, state.config.secure_cookies);
    let now = state.now();
    let mut resp = match user.role {
        Role::Admin => return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin")).finish()),
        Role::Holder => {
            let id = user.id.clone();
            let (channels, works, offers, licences, earnings, invoices, points) = db(&state, move |s| {
                let channels = s.channels_of(&id, "", 100)?;
                let claims: Vec<bool> = channels
                    .iter()
                    .map(|c| s.claim(&c.id).map(|k| k.is_some_and(|k| k.verified_at.is_some())))
                    .collect::<Result<_, _>>()?;
                Ok((
                    channels.into_iter().zip(claims).collect::<Vec<_>>(),
                    s.works_of(&id, "", 100)?,
                    s.offers_of(&id, "", 100)?,
                    s.licences_granted(&id, "", 100)?,
                    s.earnings(&id)?,
                    s.invoices_of(&id, 20)?,
                    s.licences_per_day(Some(&id), now, 30)?,
                ))
            })
            .await?;
            let (licence_chart, revenue_chart) = charts(&points);
            render(&HolderPage {
                csrf,
                channels,
                works,
                offers: offers
                    .into_iter()
                    .map(|o| {
                        let p = price_label(&o);
                        (o, p)
                    })
                    .collect(),
                licences: licence_rows(&licences, true),
                earnings: earnings_rows(&earnings),
                invoices: invoice_rows(&invoices),
                licence_chart,
                revenue_chart,
                user,
            })?
        }
        Role::Licensee | Role::Developer => {
            let id = user.id.clone();
            let (licences, invoices) =
                db(&state, move |s| Ok((s.licences_held(&id, "", 200)?, s.invoices_of(&id, 50)?))).await?;
            render(&LicenseePage {
                user,
                csrf,
                licences: licence_rows(&licences, false),
                invoices: invoice_rows(&invoices),
                pdf: state.font.is_some(),
            })?
        }
    };
    if let Some(c) = set {
        let _ = resp.add_cookie(&c);
    }
    Ok(resp)
}

#[derive(askama::Template)]
#[template(path = "channel.html")]
struct ChannelPage {
    csrf: String,
    channel: Channel,
    claim: Option<ChannelClaim>,
    meta_tag: String,
    file_url: String,
    offers: Vec<(Offer, String, Vec<String>)>,
    embed: String,
    msg: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChannelQuery {
    msg: Option<String>,
}

async fn channel_page(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<ChannelQuery>,
) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await.map_err(ApiError::page)?;
    let channel = owned_channel(&state, &user.id, &path).await.map_err(ApiError::page)?;
    let (cid, owner) = (channel.id.clone(), user.id.clone());
    let (claim, offers) = db(&state, move |s| {
        let mut offers = s.offers_of(&owner, "", 500)?;
        offers.retain(|o| matches!(&o.target, seal_licensing::offer::OfferTarget::Channel(c) if *c == cid));
        Ok((s.claim(&cid)?, offers))
    })
    .await?;
    let token = claim.as_ref().map(|c| c.token.clone()).unwrap_or_default();
    let msg = match q.msg.as_deref() {
        Some("review") => Some("已提交人工审核：请把验证码放进账号简介，审核员会尽快确认。 Sent for review: put the token in the account's profile; a reviewer will confirm it.".to_owned()),
        Some("unreachable") => Some("验证未通过：无法访问该网站的首页或验证文件。 Not verified yet: neither the home page nor the verification file could be fetched.".to_owned()),
        Some("no_token") => Some("验证未通过：首页 <head> 中没有含验证码的 meta 标签，验证文件也不含验证码。 Not verified yet: the home page has no verification meta tag with the token in its <head>, and the verification file does not hold it.".to_owned()),
        _ => None,
    };
    csrf_page(&req, &state, |csrf| ChannelPage {
        csrf,
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
                let p = price_label(&o);
                let r = offer_rules(&o);
                (o, p, r)
            })
            .collect(),
        channel,
        claim,
        msg,
    })
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

async fn object(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let user = form_user(&state, &req, &form.csrf, &[Role::Licensee, Role::Developer]).await?;
    let l = visible_licence(&state, &user, path.into_inner()).await.map_err(ApiError::page)?;
    if l.licensee != user.id {
        return Err(ApiError::not_found("licence").page());
    }
    let now = state.now();
    let op = seal_licensing::ids::OperationId::new(format!("object/{}", l.id))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    db(&state, move |s| Ok(s.object(&op, &l.id, seal_licensing::licence::ObjectionKind::RefundRequest, now)?))
        .await
        .map_err(ApiError::page)?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/dashboard#licences")).finish())
}

#[derive(Debug, Deserialize)]
struct ResolveForm {
    csrf: String,
    action: String,
}

async fn resolve_objection(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ResolveForm>,
) -> Result<HttpResponse, ApiError> {
    form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
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
    let font = state.font.clone().ok_or_else(|| {
        ApiError::new(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "no_font", "no CJK font installed for PDFs")
    })?;
    let l = visible_licence(&state, &user, path.into_inner()).await?;
    let invoice = db(&state, move |s| Ok(s.invoice_for(&l.id)?)).await?;
    let invoice = invoice.ok_or_else(|| ApiError::not_found("invoice (issued at settlement)"))?;
    let pdf = crate::pdf::invoice_pdf(&invoice.to_json(), &font).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"invoice.pdf\""))
        .body(pdf))
}

#[derive(askama::Template)]
#[template(path = "admin.html")]
struct AdminPage {
    user: User,
    csrf: String,
    payouts: Vec<(String, String, String, usize, String)>,
    runs: Vec<(String, String, i64, i64)>,
    counts: Vec<(String, i64)>,
    frozen: Vec<LicenceRow>,
    pending_claims: Vec<(String, String, String, String)>,
    report: Option<String>,
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
        Ok((
            counts,
            s.licences_with_status(LicenceStatus::Frozen, 100)?,
            s.pending_claims(100)?,
            s.licences_per_day(None, now, 30)?,
            s.recent_payouts(50)?,
            s.settlement_runs(20)?,
        ))
    })
    .await?;
    csrf_page(&req, &state, |csrf| AdminPage {
        user,
        csrf,
        counts: counts.into_iter().map(|(s, n)| (status_label(s).to_owned(), n)).collect(),
        frozen: licence_rows(&frozen, true),
        pending_claims: claims
            .into_iter()
            .map(|(c, k)| (c.id.to_string(), c.kind.as_str().to_owned(), c.handle, k.token))
            .collect(),
        report: (q.report.as_deref() == Some("settled"))
            .then(|| runs.first().map(|r| format!("结算完成 Settled: {} licences, {} payouts", r.licences, r.payouts)))
            .flatten(),
        runs: runs
            .iter()
            .map(|r| (r.at.to_string()[..16].replace('T', " "), r.started_by.clone(), r.licences, r.payouts))
            .collect(),
        payouts: payouts
            .iter()
            .map(|p| {
                (
                    p.id.to_string(),
                    p.holder.to_string(),
                    money(p.amount.minor(), p.currency.code()),
                    p.licences.len(),
                    p.created_at.to_string()[..16].replace('T', " "),
                )
            })
            .collect(),
        licence_chart: charts(&points).0,
    })
}

async fn run_settlement(state: State, req: HttpRequest, form: web::Form<CsrfForm>) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let admin = form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    let run = db(&state, move |s| Ok(s.settle_and_record(admin.id.as_str(), now)?)).await.map_err(ApiError::page)?;
    tracing::info!(licences = run.licences, payouts = run.payouts, "settlement run from the admin console");
    // The page shows the newest recorded run; the redirect carries only a code, never text.
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin?report=settled")).finish())
}

async fn approve_claim(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    form_user(&state, &req, &form.csrf, &[Role::Admin]).await?;
    let id =
        seal_licensing::ids::ChannelId::new(path.into_inner()).map_err(|_| ApiError::not_found("channel").page())?;
    let now = state.now();
    db(&state, move |s| Ok(s.verify_claim(&id, "review", now)?)).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/admin")).finish())
}

/// The page routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/dashboard", web::get().to(dashboard))
        .route("/dashboard/earnings", web::get().to(earnings_page))
        .route("/dashboard/channels/{id}", web::get().to(channel_page))
        .route("/dashboard/licences/{id}/letter.jws", web::get().to(licence_letter))
        .route("/dashboard/licences/{id}/object", web::post().to(object))
        .route("/dashboard/invoices/{licence}.pdf", web::get().to(invoice_pdf))
        .route("/admin/licences/{id}/resolve", web::post().to(resolve_objection))
        .route("/admin", web::get().to(admin))
        .route("/admin/settle", web::post().to(run_settlement))
        .route("/admin/claims/{id}/approve", web::post().to(approve_claim));
}
