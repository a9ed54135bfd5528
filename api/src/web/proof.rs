//! Proof over HTTP: the transparency log (checkpoint, inclusion and consistency proofs, entries), the
//! built-in RFC 3161 TSA, the platform's public keys, each work's certificate (JSON, PDF, timestamp
//! token) and the public `/verify` page where the certificates' QR codes lead.
//!
//! Everything here is public by design: a certificate is only worth what a stranger can check, and
//! the facts in it are the ones every work's seal already shows. Nothing here changes records except
//! that asking for a certificate or checkpoint may notarise a pending registration or sign a new
//! checkpoint, which the scheduler would do a moment later anyway.

use super::error::ApiError;
use super::{db, render, State};
use crate::services::notary::NotaryError;
use crate::store::prelude::*;
use actix_multipart::form::bytes::Bytes as MultipartBytes;
use actix_multipart::form::{MultipartForm, MultipartFormConfig};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use seal_licensing::certificate::{self, Newer, Verdict};
use seal_licensing::ids::WorkId;
use seal_licensing::merkle::Hash;
use serde::Deserialize;
use serde_json::{json, Value};

/// The routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/log/checkpoint", web::get().to(checkpoint))
        .route("/api/v1/log/proof/inclusion", web::get().to(inclusion))
        .route("/api/v1/log/proof/consistency", web::get().to(consistency))
        .route("/api/v1/log/entries/{index}", web::get().to(entry))
        .route("/api/v1/keys", web::get().to(keys))
        .route("/api/v1/tsa", web::post().to(tsa_stamp))
        .route("/api/v1/tsa/certificate", web::get().to(tsa_pem))
        .route("/works/{id}/certificate.json", web::get().to(certificate_json))
        .route("/works/{id}/certificate.pdf", web::get().to(certificate_pdf))
        .route("/works/{id}/timestamp.tsr", web::get().to(timestamp_tsr))
        .service(
            web::resource("/verify")
                .app_data(MultipartFormConfig::default().total_limit(13 * 1024 * 1024).memory_limit(13 * 1024 * 1024))
                .route(web::get().to(verify_page))
                .route(web::post().to(verify_upload)),
        );
}

impl From<NotaryError> for ApiError {
    fn from(e: NotaryError) -> Self {
        match e {
            NotaryError::NotFound(what) => ApiError::not_found(what),
            NotaryError::Unprovable(why) => ApiError::new(actix_web::http::StatusCode::CONFLICT, "unprovable", why),
            NotaryError::Store(crate::store::StoreError::OutOfRange(why)) => ApiError::invalid(why),
            e => ApiError::internal(e),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn wants_json(req: &HttpRequest, format: Option<&str>) -> bool {
    format == Some("json")
        || req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"))
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

/// The newest signed checkpoint: the C2SP note as text, or with `?format=json` (or `Accept:
/// application/json`) the note with its size, root and RFC 3161 token.
async fn checkpoint(state: State, req: HttpRequest, q: web::Query<FormatQuery>) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let st = state.clone();
    let c = db(&state, move |s| Ok(st.notary.checkpoint(s, now)?)).await?;
    if wants_json(&req, q.format.as_deref()) {
        return Ok(HttpResponse::Ok().json(json!({
            "origin": c.origin, "tree_size": c.size, "root_hash": b64(&c.root),
            "checkpoint": c.note, "timestamp": b64(&c.tsr), "signed_at": c.at.to_string(),
        })));
    }
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(c.note))
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: Option<u64>,
    work: Option<String>,
    size: Option<u64>,
}

/// `?index=N` or `?work=ID`, and optionally `&size=M` (default: the newest checkpoint's size).
async fn inclusion(state: State, q: web::Query<InclusionQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let now = state.now();
    let st = state.clone();
    let body = db(&state, move |s| {
        let index = match (q.index, &q.work) {
            (Some(i), None) => i,
            (None, Some(work)) => {
                s.registration(work)?.ok_or_else(|| ApiError::not_found(format!("registration of {work}")))?.leaf
            }
            _ => return Err(ApiError::invalid("give either index or work")),
        };
        let checkpoint = st.notary.checkpoint(s, now)?;
        let size = q.size.unwrap_or(checkpoint.size);
        if index >= size {
            return Err(ApiError::invalid(format!("entry {index} is not in a tree of {size} entries")));
        }
        let leaf = s.log_leaf(index)?.ok_or_else(|| ApiError::not_found(format!("log entry {index}")))?;
        let proof = s.log_inclusion(index, size)?;
        let note = s.checkpoint_of_size(size)?.map(|c| c.note);
        Ok(json!({
            "index": index, "tree_size": size,
            "leaf_hash": b64(&seal_licensing::merkle::leaf_hash(&leaf.data)),
            "proof": proof.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "checkpoint": note,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// `?from=N[&to=M]` (default: the newest checkpoint). The answer is also what `seal verify
/// --checkpoint FILE` reads: the newer checkpoint with the proof from the old size.
async fn consistency(state: State, q: web::Query<ConsistencyQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let now = state.now();
    let st = state.clone();
    let body = db(&state, move |s| {
        let checkpoint = st.notary.checkpoint(s, now)?;
        let to = q.to.unwrap_or(checkpoint.size);
        if q.from == 0 || q.from > to {
            return Err(ApiError::invalid(format!("no consistency proof from {} to {to}: need 0 < from ≤ to", q.from)));
        }
        let proof = s.log_consistency(q.from, to)?;
        let note = s.checkpoint_of_size(to)?.map(|c| c.note);
        Ok(json!({
            "from": q.from, "to": to,
            "proof": proof.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "checkpoint": note,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// One log entry: its kind, subject, exact bytes (as text: every leaf is canonical JSON) and hash.
async fn entry(state: State, path: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let index = path.into_inner();
    let leaf = db(&state, move |s| Ok(s.log_leaf(index)?)).await?;
    let leaf = leaf.ok_or_else(|| ApiError::not_found(format!("log entry {index}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "index": leaf.index, "kind": leaf.kind, "subject": leaf.subject,
        "leaf": String::from_utf8_lossy(&leaf.data),
        "leaf_hash": b64(&seal_licensing::merkle::leaf_hash(&leaf.data)),
        "appended_at": leaf.at.to_string(),
    })))
}

/// The public keys a verifier needs (also written by `seal keys export --dir`).
async fn keys(state: State) -> HttpResponse {
    let mut bundle = crate::services::notary::key_bundle(&state.notary);
    bundle["evidence_pem"] = json!(crate::services::evidence::public_pem(&state.evidence).unwrap_or_default());
    HttpResponse::Ok().json(bundle)
}

async fn tsa_pem(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"tsa.pem\""))
        .body(state.notary.tsa().chain_pem())
}

/// RFC 3161 over HTTP (§3.4): a DER `TimeStampReq` in, a DER `TimeStampResp` out. A request the TSA
/// refuses (another hash than SHA-256, bad DER) gets a response with status rejection, as the RFC says.
async fn tsa_stamp(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/timestamp-query") {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send a DER TimeStampReq as application/timestamp-query",
        ));
    }
    if body.len() > 4096 {
        return Err(ApiError::invalid("a timestamp request is at most 4 KB"));
    }
    let reply = match seal_licensing::tsa::parse_request(&body) {
        Ok(request) => state.notary.stamp_request(&request, state.now())?,
        Err(e) => e.to_response(),
    };
    Ok(HttpResponse::Ok().content_type("application/timestamp-reply").body(reply))
}

fn work_id(text: String) -> Result<WorkId, ApiError> {
    WorkId::new(text).map_err(|_| ApiError::not_found("work"))
}

async fn certificate_doc(state: &State, work: WorkId) -> Result<Value, ApiError> {
    let now = state.now();
    let st = state.clone();
    db(state, move |s| Ok(st.notary.certificate(s, &st.content, &work, now)?)).await
}

async fn certificate_json(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let doc = certificate_doc(&state, work_id(path.into_inner())?).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"certificate.json\""))
        .body(format!("{}\n", serde_json::to_string_pretty(&doc).map_err(ApiError::internal)?)))
}

async fn certificate_pdf(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let font = super::pdf_font(&state)?;
    let doc = certificate_doc(&state, work_id(path.into_inner())?).await?;
    let pdf = web::block(move || crate::pdf::certificate_pdf(&doc["certificate"], &font))
        .await?
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"certificate.pdf\""))
        .body(pdf))
}

async fn timestamp_tsr(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let work = work_id(path.into_inner())?;
    let now = state.now();
    let st = state.clone();
    let tsr = db(&state, move |s| Ok(st.notary.ensure_registration(s, &st.content, &work, now)?.tsr)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/timestamp-reply")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"timestamp.tsr\""))
        .body(tsr))
}

/// A check as the page shows it: the keys of its name and of its outcome in words, and the
/// verifier's own report.
struct CheckRow {
    ok: bool,
    /// The key of the check's name.
    label: &'static str,
    /// The key of the outcome in words, for pages in a language the verifier does not report in.
    summary: &'static str,
    /// What the verifier found, in English (key ids, times, hashes).
    detail: String,
}

/// The catalogue keys of a check code's name and of its outcome (passed or failed).
pub fn check_keys(code: &str, ok: bool) -> (&'static str, &'static str) {
    let (label, passed, failed) = match code {
        "signature" => ("proof-check-signature", "proof-ok-signature", "proof-bad-signature"),
        "content" => ("proof-check-content", "proof-ok-content", "proof-bad-content"),
        "timestamp" => ("proof-check-timestamp", "proof-ok-timestamp", "proof-bad-timestamp"),
        "external_timestamp" => {
            ("proof-check-external_timestamp", "proof-ok-external_timestamp", "proof-bad-external_timestamp")
        }
        "log_leaf" => ("proof-check-log_leaf", "proof-ok-log_leaf", "proof-bad-log_leaf"),
        "checkpoint" => ("proof-check-checkpoint", "proof-ok-checkpoint", "proof-bad-checkpoint"),
        "checkpoint_timestamp" => {
            ("proof-check-checkpoint_timestamp", "proof-ok-checkpoint_timestamp", "proof-bad-checkpoint_timestamp")
        }
        "inclusion" => ("proof-check-inclusion", "proof-ok-inclusion", "proof-bad-inclusion"),
        "consistency" => ("proof-check-consistency", "proof-ok-consistency", "proof-bad-consistency"),
        _ => ("proof-check-other", "proof-ok-other", "proof-bad-other"),
    };
    (label, if ok { passed } else { failed })
}

/// A check code's name for `seal verify`: the command line has no language setting and its output is a
/// fixed contract, so it prints the Chinese and English names together ("内容哈希 Content hash").
pub fn check_label(code: &str) -> String {
    let (key, _) = check_keys(code, true);
    format!("{} {}", crate::i18n::Lang::Zh.t(key), crate::i18n::Lang::En.t(key))
}

#[derive(askama::Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    /// The page language.
    l: crate::i18n::Lang,
    verdict: Option<VerdictView>,
    /// Why nothing could be checked: the words, and the verifier's English detail if any.
    error: Option<(String, Option<String>)>,
    work: Option<String>,
}

struct VerdictView {
    ok: bool,
    kind: &'static str,
    subject: String,
    failed: i64,
    checks: Vec<CheckRow>,
}

fn view(v: &Verdict) -> VerdictView {
    VerdictView {
        ok: v.ok(),
        kind: v.kind,
        subject: v.subject.clone(),
        failed: v.checks.iter().filter(|c| !c.ok).count().try_into().unwrap_or(i64::MAX),
        checks: v
            .checks
            .iter()
            .map(|c| {
                let (label, summary) = check_keys(c.code, c.ok);
                CheckRow { ok: c.ok, label, summary, detail: c.detail.clone() }
            })
            .collect(),
    }
}

#[derive(Deserialize)]
struct VerifyQuery {
    work: Option<String>,
}

/// `/verify`: the form, or with `?work=ID` the checks of that work's certificate as issued now.
async fn verify_page(state: State, req: HttpRequest, q: web::Query<VerifyQuery>) -> Result<HttpResponse, ApiError> {
    let Some(work) = q.into_inner().work else {
        return render(&VerifyPage { l: super::lang_of(&req), verdict: None, error: None, work: None });
    };
    let id = work_id(work.clone()).map_err(ApiError::page)?;
    let doc = certificate_doc(&state, id).await.map_err(ApiError::page)?;
    let trust = state.notary.trust();
    let verdict = certificate::verify_certificate(&doc, &trust, None, None);
    let subject = doc["certificate"]["work"]["title"].as_str().unwrap_or_default().to_owned();
    let verdict = Verdict { kind: "certificate", subject, checks: verdict };
    render(&VerifyPage { l: super::lang_of(&req), verdict: Some(view(&verdict)), error: None, work: Some(work) })
}

/// The files a visitor drops on `/verify`.
#[derive(Debug, MultipartForm)]
pub struct VerifyUpload {
    /// A certificate (JSON) or an authorization letter (JWS).
    #[multipart(limit = "1MB")]
    pub document: Option<MultipartBytes>,
    /// The work's file.
    #[multipart(limit = "12MB")]
    pub file: Option<MultipartBytes>,
    /// A newer checkpoint with its consistency proof (the JSON of `/api/v1/log/proof/consistency`).
    #[multipart(limit = "64KB")]
    pub checkpoint: Option<MultipartBytes>,
}

/// Reads a newer checkpoint file: the consistency JSON (`checkpoint` and `proof`).
pub fn parse_newer(bytes: &[u8]) -> Result<Newer, String> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|_| "the newer checkpoint must be the JSON of /api/v1/log/proof/consistency".to_owned())?;
    let note = doc["checkpoint"].as_str().ok_or("the newer checkpoint file has no signed checkpoint")?.to_owned();
    let proof = doc["proof"]
        .as_array()
        .ok_or("the newer checkpoint file has no proof")?
        .iter()
        .map(|h| {
            let bytes = h.as_str().and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok());
            bytes.and_then(|b| Hash::try_from(b).ok()).ok_or_else(|| "a proof hash is not base64 SHA-256".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Newer { note, proof })
}

async fn verify_upload(
    state: State,
    req: HttpRequest,
    form: MultipartForm<VerifyUpload>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let lang = super::lang_of(&req);
    let refuse = |key: &str, detail: Option<String>| {
        render(&VerifyPage { l: lang, verdict: None, error: Some((lang.t(key), detail)), work: None })
    };
    let nonempty = |b: Option<MultipartBytes>| b.map(|b| b.data.to_vec()).filter(|d| !d.is_empty());
    let (document, file, newer) = (nonempty(form.document), nonempty(form.file), nonempty(form.checkpoint));
    let newer = match newer.as_deref().map(parse_newer).transpose() {
        Ok(n) => n,
        Err(e) => return refuse("proof-error-newer", Some(e)),
    };
    let trust = state.notary.trust();
    let outcome = match (document, file) {
        (Some(doc), file) => certificate::verify_document(&doc, file.as_deref(), newer.as_ref(), &trust)
            .map_err(|e| ("proof-error-document", Some(e))),
        (None, Some(file)) => {
            // A work file alone: find its registration, then check the certificate we issue for it.
            let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file));
            let found = db(&state, move |s| Ok(s.work_with_content_hash(&hash)?)).await.map_err(ApiError::page)?;
            match found {
                Some(work) => {
                    let doc = certificate_doc(&state, work_id(work)?).await.map_err(ApiError::page)?;
                    let subject = doc["certificate"]["work"]["title"].as_str().unwrap_or_default().to_owned();
                    let checks = certificate::verify_certificate(&doc, &trust, Some(&file), newer.as_ref());
                    Ok(Verdict { kind: "certificate", subject, checks })
                }
                None => Err(("proof-error-not-registered", None)),
            }
        }
        (None, None) => Err(("proof-error-no-file", None)),
    };
    match outcome {
        Ok(v) => render(&VerifyPage { l: lang, verdict: Some(view(&v)), error: None, work: None }),
        Err((key, detail)) => refuse(key, detail),
    }
}
