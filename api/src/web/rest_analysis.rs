//! REST v1 for analysts and media users: `GET /api/v1/search`, `GET /api/v1/reports/usage` (the report,
//! and every use in the range streamed as JSON or CSV), `GET /api/v1/reports/summary` (the weekly
//! summary), and the team: `GET /api/v1/members`, `POST /api/v1/members` (an invitation),
//! `DELETE /api/v1/members/{id}`. Documented in the OpenAPI document with the rest of v1.

use super::analysis::{export, run_search, ReportParams, SearchParams};
use super::auth::{check_csrf, require, require_for_record};
use super::error::ApiError;
use super::rest::ErrorBody;
use super::{db, State};
use crate::domain::team::OrgRole;
use crate::services::reports;
use crate::store::platform::Role;
use crate::store::prelude::*;
use crate::store::usage::UsageScope;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::PartyId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One search result.
#[derive(Serialize, ToSchema)]
pub struct SearchHitDto {
    /// The hit's id (`/api/v1/hits/{id}`).
    hit: i64,
    url: String,
    title: String,
    domain: String,
    work: String,
    work_title: String,
    /// The imported file's base name, or null.
    file: Option<String>,
    /// `text` or `image`.
    kind: String,
    copy: String,
    score: f64,
    /// `white` or `black`.
    colour: String,
    first_seen: String,
    last_seen: String,
    /// Page text around the match.
    snippet: String,
    /// Matched spans in `snippet`, as `[start, end]` byte offsets.
    marks: Vec<[usize; 2]>,
    /// The copied passage of the work (text hits).
    passage: Option<String>,
}

/// Search results with facet counts over every match.
#[derive(Serialize, ToSchema)]
pub struct SearchResultsDto {
    total: usize,
    results: Vec<SearchHitDto>,
    /// `domain`, `work`, `colour`, `month` → value → count (the top 20 values of each).
    #[schema(value_type = Object)]
    facets: serde_json::Value,
}

/// Full-text search over your organisation's hits and the pages they are on (administrators: every
/// organisation's, or one with `holder`). Malformed queries answer 400 `bad_query`.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResultsDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn search(state: State, req: HttpRequest, q: web::Query<SearchParams>) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let (results, shown) = run_search(&state, &u, &q).await?;
    let facets: serde_json::Map<String, serde_json::Value> = results
        .facets
        .iter()
        .map(|(name, values)| {
            let map: serde_json::Map<String, serde_json::Value> =
                values.iter().map(|(k, n)| (k.clone(), serde_json::json!(n))).collect();
            ((*name).to_owned(), serde_json::Value::Object(map))
        })
        .collect();
    let when = |ms: i64| seal_licensing::Timestamp::from_unix_ms(ms).to_string();
    let results_dto = shown
        .into_iter()
        .map(|s| {
            let f = s.found;
            SearchHitDto {
                hit: f.hit,
                url: f.url,
                title: f.title,
                domain: f.domain,
                work: f.work,
                work_title: s.work_title,
                file: f.file,
                kind: f.kind,
                copy: f.copy,
                score: f.score,
                colour: f.colour,
                first_seen: when(f.first_seen),
                last_seen: when(f.last_seen),
                marks: f.snippet.marks.iter().map(|&(a, b)| [a, b]).collect(),
                snippet: f.snippet.text,
                passage: s.passage,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(SearchResultsDto {
        total: results.total,
        results: results_dto,
        facets: serde_json::Value::Object(facets),
    }))
}

/// The usage report of a date range: uses over time (white and black per day, week or month), top
/// domains, licensed share, most used works, new and recurring sites, text versus image. `format=json`
/// (default) answers `{"report": {...}, "uses": [...]}` with every use in the range; `format=csv`
/// answers the uses as CSV. Both stream, so any number of rows can be exported.
#[utoipa::path(get, path = "/api/v1/reports/usage", tag = "reports", params(ReportParams),
    responses((status = 200, description = "JSON or CSV, streamed"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn usage(state: State, req: HttpRequest, q: web::Query<ReportParams>) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder, Role::Admin]).await?;
    let (from, to, bucket) = q.range(state.now())?;
    let owner = q.owner(&u)?;
    let csv = match q.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => return Err(ApiError::invalid(format!("format must be json or csv, not {other:?}"))),
    };
    let scope = UsageScope { owner, work: None, from, to };
    let report = if csv {
        None
    } else {
        let s2 = scope.clone();
        Some(db(&state, move |s| Ok(reports::usage_report(s, &s2, bucket)?)).await?)
    };
    Ok(export(&state, scope, csv, report))
}

/// The weekly summary of your organisation: the last seven days, and the week before for comparison
/// (what subscribed members receive by email).
#[utoipa::path(get, path = "/api/v1/reports/summary", tag = "reports",
    responses((status = 200, description = "The summary"), (status = 403, body = ErrorBody)))]
async fn summary(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder]).await?;
    let now = state.now();
    let s = db(&state, move |s| Ok(reports::weekly_summary(s, &u.id, now)?)).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// A member of your organisation.
#[derive(Serialize, ToSchema)]
pub struct MemberDto {
    id: String,
    name: String,
    email: String,
    /// `owner`, `analyst` or `finance` (the organisation's own account is an owner).
    role: String,
    weekly_summary: bool,
}

/// Your organisation's members (owners only).
#[utoipa::path(get, path = "/api/v1/members", tag = "team",
    responses((status = 200, body = [MemberDto]), (status = 403, body = ErrorBody)))]
async fn members(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let u = require(&state, &req, &[Role::Holder]).await?;
    let rows = db(&state, move |s| super::team::members_view(s, &u.id)).await?;
    let out: Vec<MemberDto> = rows
        .into_iter()
        .map(|m| MemberDto {
            id: m.id,
            name: m.name,
            email: m.email,
            role: m.role_code.to_owned(),
            weekly_summary: m.weekly,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// An invitation to send.
#[derive(Deserialize, ToSchema)]
pub struct NewInvite {
    email: String,
    /// `owner`, `analyst` or `finance`.
    role: String,
}

/// An invitation sent (its link goes only to the invited address).
#[derive(Serialize, ToSchema)]
pub struct InviteDto {
    email: String,
    role: String,
    expires_at: String,
}

/// Invites someone into your organisation by email (owners only).
#[utoipa::path(post, path = "/api/v1/members", tag = "team", request_body = NewInvite,
    responses((status = 201, body = InviteDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn invite(state: State, req: HttpRequest, body: web::Json<NewInvite>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let org = require(&state, &req, &[Role::Holder]).await?;
    let me = org.person().clone();
    let role = OrgRole::parse(&body.role).ok_or_else(|| ApiError::invalid("role must be owner, analyst or finance"))?;
    super::team::invites_allowed(&state, &org.id)?;
    let (email, url, now) = (body.email.clone(), state.config.public_url.clone(), state.now());
    let i = db(&state, move |s| Ok(crate::services::team::invite(s, &org.id, &me, &email, role, &url, now)?)).await?;
    Ok(HttpResponse::Created().json(InviteDto {
        email: i.email,
        role: i.role.as_str().into(),
        expires_at: i.expires_at.to_string(),
    }))
}

/// Removes a member from your organisation (owners only). Another organisation's member answers 404.
#[utoipa::path(delete, path = "/api/v1/members/{id}", tag = "team",
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, None)?;
    let org = require_for_record(&state, &req, &[Role::Holder], "member").await?;
    let target = PartyId::new(path.into_inner()).map_err(|_| ApiError::not_found("member"))?;
    if db(&state, move |s| Ok(s.remove_member(&org.id, &target)?)).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("member"))
    }
}

/// The OpenAPI paths and schemas of this module, merged into the v1 document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(search, usage, summary, members, invite, remove),
    components(schemas(SearchHitDto, SearchResultsDto, MemberDto, NewInvite, InviteDto))
)]
pub struct AnalysisDoc;

/// The routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/search", web::get().to(search))
        .route("/api/v1/reports/usage", web::get().to(usage))
        .route("/api/v1/reports/summary", web::get().to(summary))
        .route("/api/v1/members", web::get().to(members))
        .route("/api/v1/members", web::post().to(invite))
        .route("/api/v1/members/{id}", web::delete().to(remove));
}
