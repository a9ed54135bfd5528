//! The dashboards' full lists: a rights holder's works, the licences a holder granted or a licensee
//! holds, and their invoices. Each is one page per screen with search, sorting (newest first unless the
//! visitor picks another), a status filter where there is one, keyset pagination that reaches the last
//! row of any number of them, and a CSV export of everything the current search matches.
//!
//! The three lists share one template (`list.html`): a table on desktops that turns into cards on
//! phones, each cell labelled by its column.

use super::auth::require;
use super::error::ApiError;
use super::{db, render, State};
use crate::i18n::Lang;
use crate::store::listing::{ListCursor, ListPage, ListQuery, ListSort, Side, SortKey};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::Deserialize;

/// Rows per page.
const PAGE: usize = 50;
/// The most rows one CSV export holds.
const CSV_MAX: usize = 100_000;

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// Search words.
    #[serde(default)]
    q: String,
    /// `newest` (default), `oldest` or `title`.
    #[serde(default)]
    sort: String,
    /// A status filter (licences).
    #[serde(default)]
    status: String,
    /// Where this page starts (the previous page's `next`).
    #[serde(default)]
    after: String,
    /// How many rows came before this page, for "101–150 of 3,000".
    #[serde(default)]
    at: usize,
}

/// A cell of the table: its text and, if it is a link, where to.
pub struct Cell {
    text: String,
    href: Option<String>,
    /// Right-aligned numbers.
    num: bool,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell { text: text.into(), href: None, num: false }
}

fn link(text: impl Into<String>, href: impl Into<String>) -> Cell {
    Cell { text: text.into(), href: Some(href.into()), num: false }
}

fn num(text: impl Into<String>) -> Cell {
    Cell { text: text.into(), href: None, num: true }
}

#[derive(askama::Template)]
#[template(path = "list.html")]
struct ListPageView {
    l: Lang,
    user: User,
    /// `works`, `licences` or `invoices`: the page's path under `/dashboard/`.
    kind: &'static str,
    title: String,
    intro: String,
    q: String,
    sort: &'static str,
    status: String,
    /// Status filter choices (value, words); empty when the list has none.
    statuses: Vec<(String, String)>,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    /// "51–100 of 3,000".
    showing: String,
    /// The next page's query string, if there is one.
    next: Option<String>,
    /// The CSV export's query string (also the first page's).
    csv: String,
    /// Whether this is a later page (the pager then leads back to the first).
    paged: bool,
    empty: String,
}

fn encode_cursor(c: &ListCursor) -> String {
    let key = match &c.key {
        SortKey::Time(t) => serde_json::json!(t),
        SortKey::Text(s) => serde_json::json!(s),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::json!([key, c.id]).to_string())
}

/// A cursor from the URL; anything that does not decode starts from the first page.
fn decode_cursor(s: &str) -> Option<ListCursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let id = v.get(1)?.as_str()?.to_owned();
    let key = match v.get(0)? {
        serde_json::Value::Number(n) => SortKey::Time(n.as_i64()?),
        serde_json::Value::String(s) => SortKey::Text(s.clone()),
        _ => return None,
    };
    Some(ListCursor { key, id })
}

fn query_of(p: &ListParams, limit: usize) -> ListQuery {
    ListQuery {
        text: p.q.chars().take(200).collect(),
        status: p.status.clone(),
        sort: ListSort::parse(&p.sort),
        after: decode_cursor(&p.after),
        limit,
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The query string of the same list with another cursor.
fn query_string(p: &ListParams, after: Option<(&str, usize)>) -> String {
    let mut qs = format!("q={}&sort={}&status={}", encode(&p.q), ListSort::parse(&p.sort).as_str(), encode(&p.status));
    if let Some((cursor, at)) = after {
        qs += &format!("&after={cursor}&at={at}");
    }
    qs
}

/// Who sees which list: works are the holder's (and their organisation's owners'); licences and
/// invoices are also the licensee's own.
async fn viewer(state: &State, req: &HttpRequest, holders_only: bool) -> Result<User, ApiError> {
    let roles: &[Role] = if holders_only { &[Role::Holder] } else { &[Role::Holder, Role::Licensee, Role::Developer] };
    require(state, req, roles).await.map_err(ApiError::page)
}

fn csv_response(name: &str, headers: &[&str], rows: impl Iterator<Item = Vec<String>>) -> HttpResponse {
    // A byte-order mark, so Excel opens the Chinese titles as UTF-8.
    let mut body = String::from("\u{feff}");
    body += &headers.join(",");
    body += "\r\n";
    for row in rows {
        body += &row.iter().map(|f| super::analysis::csv_field(f)).collect::<Vec<_>>().join(",");
        body += "\r\n";
    }
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
        .body(body)
}

fn showing(l: Lang, at: usize, shown: usize, total: u64) -> String {
    if shown == 0 {
        return String::new();
    }
    l.args(
        "page-showing",
        &[
            ("from", l.int(i64::try_from(at + 1).unwrap_or(i64::MAX)).into()),
            ("to", l.int(i64::try_from(at + shown).unwrap_or(i64::MAX)).into()),
            ("total", l.int(i64::try_from(total).unwrap_or(i64::MAX)).into()),
        ],
    )
}

#[allow(clippy::too_many_arguments)]
fn list_page<T>(
    req: &HttpRequest,
    user: User,
    kind: &'static str,
    p: &ListParams,
    page: &ListPage<T>,
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    statuses: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let l = super::lang_of(req);
    let next = page.next.as_ref().map(|c| query_string(p, Some((&encode_cursor(c), p.at + page.items.len()))));
    render(&ListPageView {
        title: l.t(&format!("list-{kind}-title")),
        intro: l.t(&format!("list-{kind}-intro")),
        empty: if p.q.is_empty() && p.status.is_empty() {
            l.t(&format!("list-{kind}-empty"))
        } else {
            l.t("list-no-match")
        },
        showing: showing(l, p.at, page.items.len(), page.total),
        csv: query_string(p, None),
        paged: !p.after.is_empty(),
        sort: ListSort::parse(&p.sort).as_str(),
        q: p.q.clone(),
        status: p.status.clone(),
        l,
        user,
        kind,
        statuses,
        headers,
        rows,
        next,
    })
}

/// A page of the holder's works.
pub(crate) async fn works(state: State, req: HttpRequest, p: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let user = viewer(&state, &req, true).await?;
    let (owner, q) = (user.id.to_string(), query_of(&p, PAGE));
    let page = db(&state, move |s| Ok(s.list_works(&owner, &q)?)).await.map_err(ApiError::page)?;
    let l = super::lang_of(&req);
    let headers =
        ["list-col-title", "list-col-author", "list-col-registered", "list-col-links"].map(|k| l.t(k)).to_vec();
    let rows = page
        .items
        .iter()
        .map(|w| {
            vec![
                link(w.title.clone(), format!("/w/{}", w.id)),
                cell(w.author.clone()),
                cell(l.time(w.registered_at)),
                link(l.t("list-usage"), format!("/dashboard/works/{}/usage", w.id)),
            ]
        })
        .collect();
    list_page(&req, user, "works", &p, &page, headers, rows, Vec::new())
}

async fn works_csv(state: State, req: HttpRequest, p: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let user = viewer(&state, &req, true).await?;
    let (owner, q) = (user.id.to_string(), ListQuery { after: None, ..query_of(&p, CSV_MAX) });
    let page = db(&state, move |s| Ok(s.list_works(&owner, &q)?)).await?;
    let base = state.config.public_url.clone();
    Ok(csv_response(
        "works",
        &["id", "title", "author", "registered_at", "source_url", "seal_page"],
        page.items.into_iter().map(|w| {
            vec![
                w.id.to_string(),
                w.title,
                w.author,
                w.registered_at.to_string(),
                w.source_url,
                format!("{base}/w/{}", w.id),
            ]
        }),
    ))
}

fn licence_statuses(l: Lang) -> Vec<(String, String)> {
    use seal_licensing::licence::LicenceStatus as S;
    [S::Free, S::Held, S::Frozen, S::Settled, S::Refunded]
        .into_iter()
        .map(|s| {
            let code = serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            (code, l.licence_status(s))
        })
        .collect()
}

/// Licences the viewer granted (a holder) or holds (anyone else).
fn side_of(user: &User) -> Side {
    if user.role == Role::Holder {
        Side::Granted
    } else {
        Side::Held
    }
}

async fn licences(state: State, req: HttpRequest, p: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let user = viewer(&state, &req, false).await?;
    let side = side_of(&user);
    let (party, q) = (user.id.to_string(), query_of(&p, PAGE));
    let page = db(&state, move |s| {
        let page = s.list_licences(&party, side, &q)?;
        // The other party's name: the licensee's is on the licence; a holder's is looked up.
        let names = page
            .items
            .iter()
            .map(|(lic, _)| match side {
                Side::Granted => Ok(lic.licensee_name.clone()),
                Side::Held => s.holder_name(&lic.holder),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((page, names))
    })
    .await
    .map_err(ApiError::page)?;
    let (page, names) = page;
    let l = super::lang_of(&req);
    let party_col = if side == Side::Granted { "list-col-licensee" } else { "list-col-holder" };
    let headers = [
        "list-col-work",
        party_col,
        "list-col-scope",
        "list-col-price",
        "list-col-status",
        "list-col-date",
        "list-col-documents",
    ]
    .map(|k| l.t(k))
    .to_vec();
    let rows = page
        .items
        .iter()
        .zip(names)
        .map(|((lic, title), name)| {
            let price = if lic.price.amount.minor() == 0 {
                l.t("free")
            } else {
                l.money(lic.price.amount.minor(), lic.price.currency.code())
            };
            let docs = if lic.invoice.is_some() {
                link(l.t("list-invoice-pdf"), format!("/dashboard/invoices/{}.pdf", lic.id))
            } else if state.font.is_some() {
                link(l.t("list-letter"), format!("/dashboard/licences/{}/letter.pdf", lic.id))
            } else {
                link(l.t("list-letter"), format!("/dashboard/licences/{}/letter.jws", lic.id))
            };
            vec![
                link(title.clone(), format!("/w/{}", lic.work)),
                cell(name),
                cell(l.scope(&lic.scope)),
                num(price),
                cell(l.licence_status(lic.status)),
                cell(l.time(lic.created_at)),
                docs,
            ]
        })
        .collect();
    list_page(&req, user, "licences", &p, &page, headers, rows, licence_statuses(l))
}

async fn licences_csv(state: State, req: HttpRequest, p: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let user = viewer(&state, &req, false).await?;
    let side = side_of(&user);
    let (party, q) = (user.id.to_string(), ListQuery { after: None, ..query_of(&p, CSV_MAX) });
    let page = db(&state, move |s| Ok(s.list_licences(&party, side, &q)?)).await?;
    Ok(csv_response(
        "licences",
        &[
            "id",
            "work",
            "work_title",
            "holder",
            "licensee",
            "scope",
            "currency",
            "price",
            "status",
            "created_at",
            "hold_until",
        ],
        page.items.into_iter().map(|(lic, title)| {
            vec![
                lic.id.to_string(),
                lic.work.to_string(),
                title,
                lic.holder.to_string(),
                lic.licensee_name.clone(),
                lic.scope.describe(),
                lic.price.currency.code().to_owned(),
                lic.price.currency.format_minor(lic.price.amount.minor()),
                serde_json::to_value(lic.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                lic.created_at.to_string(),
                lic.hold_until.to_string(),
            ]
        }),
    ))
}

async fn invoices(state: State, req: HttpRequest, p: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let user = viewer(&state, &req, false).await?;
    let (party, q) = (user.id.to_string(), query_of(&p, PAGE));
    let page = db(&state, move |s| Ok(s.list_invoices(&party, &q)?)).await.map_err(ApiError::page)?;
    let l = super::lang_of(&req);
    let headers = [
        "list-col-number",
        "list-col-work",
        "list-col-billed-to",
        "list-col-amount",
        "list-col-issued",
        "list-col-documents",
    ]
    .map(|k| l.t(k))
    .to_vec();
    let pdf = state.font.is_some();
    let rows = page
        .items
        .iter()
        .map(|(inv, title, work)| {
            vec![
                cell(inv.number.to_string()),
                link(title.clone(), format!("/w/{work}")),
                cell(inv.licensee_name.clone()),
                num(l.money(inv.total.minor(), inv.currency.code())),
                cell(l.time(inv.issued_at)),
                if pdf {
                    link(l.t("list-invoice-pdf"), format!("/dashboard/invoices/{}.pdf", inv.licence))
                } else {
                    cell("")
                },
            ]
        })
        .collect();
    list_page(&req, user, "invoices", &p, &page, headers, rows, Vec::new())
}

async fn invoices_csv(state: State, req: HttpRequest, p: web::Query<ListParams>) -> Result<HttpResponse, ApiError> {
    let user = viewer(&state, &req, false).await?;
    let (party, q) = (user.id.to_string(), ListQuery { after: None, ..query_of(&p, CSV_MAX) });
    let page = db(&state, move |s| Ok(s.list_invoices(&party, &q)?)).await?;
    Ok(csv_response(
        "invoices",
        &["number", "licence", "work_title", "billed_to", "currency", "total", "issued_at"],
        page.items.into_iter().map(|(inv, title, _)| {
            vec![
                inv.number.to_string(),
                inv.licence.to_string(),
                title,
                inv.licensee_name.clone(),
                inv.currency.code().to_owned(),
                inv.currency.format_minor(inv.total.minor()),
                inv.issued_at.to_string(),
            ]
        }),
    ))
}

/// The list routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // `/dashboard/works` itself is routed with the registration form's POST (`setup::configure`).
    cfg.route("/dashboard/works.csv", web::get().to(works_csv))
        .route("/dashboard/licences", web::get().to(licences))
        .route("/dashboard/licences.csv", web::get().to(licences_csv))
        .route("/dashboard/invoices", web::get().to(invoices))
        .route("/dashboard/invoices.csv", web::get().to(invoices_csv));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_survive_the_url() {
        for key in [SortKey::Time(1_764_000_000_000), SortKey::Text("标题 & \"quotes\" ~ 1".into())] {
            let c = ListCursor { key, id: "w-1~2".into() };
            assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        }
        assert_eq!(decode_cursor("not base64!"), None);
        assert_eq!(decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[true,1]")), None);
    }
}
