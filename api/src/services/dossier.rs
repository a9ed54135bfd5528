//! A case as a document: the JSON view pages and the API show, and the dossier ZIP a reviewer hands to
//! a mediator, an arbitrator or a court.
//!
//! **The dossier holds everything needed to check the case without trusting us**: the WACZ captures
//! with their RFC 3161 tokens and log proofs, the work's signed registration certificate (JSON, and
//! the PDF when a font is installed) with its token, the offer and licence records, all
//! correspondence, a timeline PDF, and the public keys (TSA chain, platform JWK, log verifier key,
//! evidence key). `manifest.json` lists every file with its SHA-256 and size, and `SHA256SUMS` says
//! the same in the format `sha256sum -c` checks.

use crate::content::ContentStore;
use crate::domain::Sha256Hex;
use crate::pdf::PdfFont;
use crate::services::cases::{self, beijing, money_text, multiplier_text, CaseError};
use crate::services::notary::Notary;
use crate::store::cases::CaseRow;
use crate::store::prelude::*;
use crate::store::SqliteStore;
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;

/// A case for pages, the API and the dossier: its facts, hits, captures and timeline.
pub fn case_document(s: &SqliteStore, c: &CaseRow) -> Result<Value, CaseError> {
    let work = s.work(&c.work)?;
    let mut hits = Vec::new();
    for id in s.case_hits(&c.id)? {
        if let Some(h) = s.hit(id)? {
            hits.push(json!({
                "id": h.id, "page_url": h.page_url, "image_url": h.image_url, "title": h.title, "kind": h.kind,
                "copy": h.copy, "score": h.score, "colour": h.colour,
                "evidence": serde_json::from_str::<Value>(&h.evidence).unwrap_or(Value::Null),
                "first_seen": h.first_seen.to_string(), "last_seen": h.last_seen.to_string(),
                "triage": s.triage(h.id)?.map(|v| v.as_str()),
            }));
        }
    }
    let captures: Vec<Value> = s
        .captures_of(Some(&c.id), None)?
        .into_iter()
        .map(|k| {
            json!({
                "id": k.id, "url": k.url, "hit": k.hit, "wacz_sha256": k.wacz_sha256,
                "datapackage_sha256": k.datapackage_sha256, "bytes": k.bytes, "log_index": k.leaf,
                "captured_at": k.created_at.to_string(), "summary": k.summary,
            })
        })
        .collect();
    let timeline: Vec<Value> = s
        .case_events(&c.id)?
        .into_iter()
        .map(|e| {
            json!({"at": beijing(e.at), "at_utc": e.at.to_string(), "actor": e.actor, "kind": e.kind, "note": e.note, "data": e.data})
        })
        .collect();
    let fee = c.fee_minor.map(|m| money_text(m, c.currency.as_deref().unwrap_or("CNY")));
    Ok(json!({
        "id": c.id,
        "holder": c.holder.as_str(),
        "holder_name": s.holder_name(&c.holder)?,
        "work": c.work.as_str(),
        "work_title": work.as_ref().map(|w| w.title.clone()).unwrap_or_default(),
        "domain": c.domain,
        "state": c.status.state.as_str(),
        "state_label": c.status.state.label(),
        "track": c.status.track.map(|t| t.label()),
        "deadline": c.status.deadline.map(|d| d.to_string()),
        "deadline_beijing": c.status.deadline.map(beijing),
        "licence": c.status.licence.as_ref().map(|l| l.as_str()),
        "offer": c.offer.as_ref().map(|o| o.as_str()),
        "multiplier": multiplier_text(c.multiplier_bps),
        "multiplier_bps": c.multiplier_bps,
        "fee": fee,
        "fee_minor": c.fee_minor,
        "currency": c.currency,
        "contact_email": c.contact_email,
        "contact_source": c.contact_source,
        "opened_by": c.opened_by,
        "created_at": c.created_at.to_string(),
        "updated_at": c.updated_at.to_string(),
        "settled_at": c.settled_at.map(|t| t.to_string()),
        "hits": hits,
        "captures": captures,
        "timeline": timeline,
    }))
}

/// What the dossier needs besides the store.
pub struct DossierKit<'a> {
    /// Content files (the WACZ captures).
    pub content: &'a ContentStore,
    /// Certificates, log proofs, keys.
    pub notary: &'a Notary,
    /// The evidence key, PEM.
    pub evidence_pem: &'a str,
    /// For the PDFs; without one the dossier says so and carries the JSON forms only.
    pub font: Option<&'a PdfFont>,
}

/// Builds the dossier ZIP of a case the actor may see (`holder` None: an administrator).
pub fn dossier(
    s: &mut SqliteStore,
    kit: &DossierKit<'_>,
    id: &str,
    holder: Option<&PartyId>,
    now: Timestamp,
) -> Result<Vec<u8>, CaseError> {
    let c = cases::load(s, id, holder)?;
    let internal = |e: &dyn std::fmt::Display| CaseError::Internal(e.to_string());
    let doc = case_document(s, &c)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let pretty = |v: &Value| format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()).into_bytes();
    files.push(("case.json".into(), pretty(&doc)));

    for k in s.captures_of(Some(&c.id), None)? {
        let hash = Sha256Hex::parse(&k.wacz_sha256).ok_or_else(|| internal(&"a capture's hash is not SHA-256"))?;
        let wacz = kit.content.get(&hash).map_err(|e| internal(&e))?;
        files.push((format!("evidence/{}.wacz", k.id), wacz));
        files.push((format!("evidence/{}.wacz.tsr", k.id), k.tsr.clone()));
        let proof = match k.leaf {
            Some(leaf) => kit.notary.log_block(s, leaf, now).map_err(|e| internal(&e))?,
            None => Value::Null,
        };
        let about = json!({"capture": k.id, "url": k.url, "captured_at": k.created_at.to_string(),
            "wacz_sha256": k.wacz_sha256, "datapackage_sha256": k.datapackage_sha256, "summary": k.summary, "log": proof});
        files.push((format!("evidence/{}.json", k.id), pretty(&about)));
    }

    let certificate = kit.notary.certificate(s, kit.content, &c.work, now).map_err(|e| internal(&e))?;
    files.push(("registration/certificate.json".into(), pretty(&certificate)));
    if let Some(registration) = s.registration(c.work.as_str())? {
        files.push(("registration/timestamp.tsr".into(), registration.tsr));
    }
    if let Some(font) = kit.font {
        let pdf = crate::pdf::certificate_pdf(&certificate["certificate"], font).map_err(|e| internal(&e))?;
        files.push(("registration/certificate.pdf".into(), pdf));
        files.push(("timeline.pdf".into(), crate::pdf::timeline_pdf(&doc, font).map_err(|e| internal(&e))?));
    }

    if let Some(offer) = cases::case_offer(s, &c)? {
        files.push(("offer.json".into(), pretty(&serde_json::to_value(&offer).map_err(|e| internal(&e))?)));
    }
    if let Some(licence) = c.status.licence.as_ref().and_then(|l| s.licence(l).transpose()).transpose()? {
        let proof = match s.log_leaf_for("licence", licence.id.as_str())? {
            Some(leaf) => kit.notary.log_block(s, leaf.index, now).map_err(|e| internal(&e))?,
            None => Value::Null,
        };
        let record = json!({"licence": serde_json::to_value(&licence).map_err(|e| internal(&e))?, "log": proof});
        files.push(("licence.json".into(), pretty(&record)));
    }
    files.push(("correspondence.txt".into(), correspondence(&doc).into_bytes()));

    let bundle = crate::services::notary::key_bundle(kit.notary);
    files.push(("keys/tsa.pem".into(), bundle["tsa_pem"].as_str().unwrap_or_default().as_bytes().to_vec()));
    files.push(("keys/platform.jwk".into(), pretty(&bundle["platform_jwk"])));
    files.push((
        "keys/log.vkey".into(),
        format!("{}\n", bundle["log_verifier_key"].as_str().unwrap_or_default()).into_bytes(),
    ));
    files.push(("keys/evidence.pem".into(), kit.evidence_pem.as_bytes().to_vec()));

    let listed: Vec<Value> = files
        .iter()
        .map(|(name, bytes)| json!({"path": name, "sha256": hex::encode(Sha256::digest(bytes)), "bytes": bytes.len()}))
        .collect();
    let sums: String = listed
        .iter()
        .map(|f| format!("{}  {}\n", f["sha256"].as_str().unwrap_or_default(), f["path"].as_str().unwrap_or_default()))
        .collect();
    let manifest = json!({
        "type": "copyright-seal/case-dossier",
        "case": c.id,
        "generated_at": now.to_string(),
        "pdf": kit.font.is_some(),
        "files": listed,
    });
    files.push(("manifest.json".into(), pretty(&manifest)));
    files.push(("SHA256SUMS".into(), sums.into_bytes()));
    zip_files(&files).map_err(|e| internal(&e))
}

/// Every message of a case in order: mails the platform sent, and what the holder, the reviewers and
/// the infringer wrote.
fn correspondence(doc: &Value) -> String {
    let mut out = format!("案件往来 Correspondence of case {}\n\n", doc["id"].as_str().unwrap_or_default());
    for e in doc["timeline"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let kind = e["kind"].as_str().unwrap_or_default();
        let note = e["note"].as_str().unwrap_or_default();
        let body = e["data"]["body"].as_str();
        if kind != "mail" && note.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "── {} · {} · {}\n",
            e["at"].as_str().unwrap_or_default(),
            kind,
            e["actor"].as_str().unwrap_or_default()
        ));
        if let Some(to) = e["data"]["to"].as_str() {
            out.push_str(&format!("To: {to}\nSubject: {note}\n\n{}\n", body.unwrap_or_default()));
        } else {
            out.push_str(&format!("{note}\n"));
        }
        out.push('\n');
    }
    out
}

fn zip_files(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
