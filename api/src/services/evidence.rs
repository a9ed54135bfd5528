//! Evidence of an infringing page, as cases and `seal capture` take it: the page and what it loads,
//! fetched through the guarded fetcher, archived as a WACZ signed with the platform's evidence key
//! (`seal_crawler::evidence`), time-stamped by the built-in TSA over the WACZ manifest's hash, and
//! appended to the transparency log as an `evidence` leaf.
//!
//! **Two halves, so no lock is held over the network.** [`take`] does the network and the signing and
//! touches no store; [`file`] writes the WACZ into the content store and the capture row, its log leaf,
//! its case timeline entry and its domain event in one unit. The command line, the scheduler (for
//! every page of every open case) and the "capture now" buttons all run these two, so a capture made by
//! hand is the same evidence a case makes.
//!
//! **Contacts.** The invitation to settle goes to an address the page itself publishes (`mailto:`
//! links first, then addresses in its text), else one the site's contact, about or home page
//! publishes; a case without one takes the first capture's. The holder or the reviewer may enter
//! another before approval.

use crate::content::ContentStore;
use crate::services::notary::Notary;
use crate::store::cases::CaptureRow;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_crawler::evidence::{self, CaptureLimits, EvidenceSigner, Wacz};
use seal_crawler::fetch::Fetcher;
use seal_licensing::certificate::canonical_json;
use seal_licensing::ids::PartyId;
use seal_licensing::tsa::StampRequest;
use seal_licensing::Timestamp;
use serde_json::{json, Value};
use url::Url;

/// Failed captures of one case page before the scheduler stops trying it.
pub const MAX_ATTEMPTS: i64 = 3;

/// Why evidence could not be taken or filed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The address is not one we capture.
    #[error("{0:?} is not an http(s) address")]
    BadUrl(String),
    /// Fetching or packaging failed.
    #[error(transparent)]
    Capture(#[from] evidence::CaptureError),
    /// The time-stamp failed.
    #[error("time-stamp: {0}")]
    Stamp(#[from] crate::services::notary::NotaryError),
    /// The rendering thread failed.
    #[error("screenshot: {0}")]
    Screenshot(String),
    /// The content store failed.
    #[error("content store: {0}")]
    Content(#[from] std::io::Error),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A capture taken and signed, not yet filed.
pub struct Taken {
    /// The page asked for.
    pub url: String,
    /// The signed WACZ.
    pub wacz: Wacz,
    /// The built-in TSA's response over the manifest's SHA-256.
    pub tsr: Vec<u8>,
    /// What was captured, for pages and the dossier.
    pub summary: Value,
    /// Email addresses the page (or else its site) publishes, best first.
    pub contacts: Vec<String>,
    /// Where they were found: `page URL` or `site URL`.
    pub contact_source: Option<String>,
}

/// Parses a capture address: http or https only.
pub fn parse_url(text: &str) -> Result<Url, EvidenceError> {
    match Url::parse(text.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        _ => Err(EvidenceError::BadUrl(text.to_owned())),
    }
}

/// Captures `url` and everything it loads, packages and signs it, and time-stamps the manifest.
pub async fn take(
    fetcher: &Fetcher,
    signer: &EvidenceSigner,
    notary: &Notary,
    url: &Url,
    now: impl Fn() -> Timestamp,
) -> Result<Taken, EvidenceError> {
    let mut capture = evidence::capture(fetcher, url, &CaptureLimits::default(), || now().unix_ms()).await?;
    // A rendering from the archive, when Chromium is installed (never from the live site).
    if let Some(chromium) = super::screenshot::chromium() {
        let taken_ms = now().unix_ms();
        let (back, png) = tokio::task::spawn_blocking(move || {
            let png = super::screenshot::render(&chromium, &capture);
            (capture, png)
        })
        .await
        .map_err(|e| EvidenceError::Screenshot(e.to_string()))?;
        capture = back;
        match png {
            Ok(png) => capture.screenshot = Some(evidence::Screenshot { png, taken_ms }),
            Err(why) => tracing::warn!(url = %url, error = %why, "no screenshot of the capture"),
        }
    }
    let wacz = evidence::package(&capture, signer, now().unix_ms())?;
    let request = StampRequest { imprint: wacz.datapackage_sha256, nonce: None, cert_req: true, policy: None };
    let tsr = notary.stamp_request(&request, now())?;
    let (contacts, contact_source) = match contacts_in(&capture.page.body) {
        found if !found.is_empty() => (found, Some(format!("page {}", capture.page.url))),
        _ => site_contacts(fetcher, &capture.page.url).await,
    };
    let summary = json!({
        "requested_url": capture.requested_url.as_str(),
        "page_url": capture.page.url.as_str(),
        "status": capture.page.status,
        "http_version": capture.page.http_version,
        "remote_addr": capture.page.remote_addr.map(|a| a.to_string()),
        "fetched_at": Timestamp::from_unix_ms(capture.page.fetched_ms).to_string(),
        "title": capture.title,
        "redirects": capture.redirects.iter().map(|r| json!({"url": r.url.as_str(), "status": r.status})).collect::<Vec<_>>(),
        "resources": capture.resources.len(),
        "failures": capture.failures.iter().map(|f| json!({"url": f.url.as_str(), "reason": f.reason.to_string()})).collect::<Vec<_>>(),
        "bytes": wacz.bytes.len(),
        "contacts": contacts,
        "contact_source": contact_source,
        "screenshot_bytes": capture.screenshot.as_ref().map(|s| s.png.len()),
        "created": wacz.created,
    });
    Ok(Taken { url: url.to_string(), wacz, tsr, summary, contacts, contact_source })
}

/// Pages of a site that usually name its editors, looked at when the infringing page names nobody.
const CONTACT_PATHS: [&str; 3] = ["/contact", "/about", "/"];

/// Addresses found on the site's contact, about or home page (the first that names one), fetched
/// through the same guard; nothing when none does.
async fn site_contacts(fetcher: &Fetcher, page: &Url) -> (Vec<String>, Option<String>) {
    for path in CONTACT_PATHS {
        let Ok(u) = page.join(path) else { continue };
        if u == *page {
            continue;
        }
        match fetcher.get(&u, 512 * 1024).await {
            Ok(f) if (200..300).contains(&f.status) => {
                let found = contacts_in(&f.body);
                if !found.is_empty() {
                    return (found, Some(format!("site {u}")));
                }
            }
            _ => {}
        }
    }
    (Vec::new(), None)
}

/// The evidence key's public half as PEM (SubjectPublicKeyInfo): what a WACZ's `publicKey` must equal
/// for the capture to be the platform's.
pub fn public_pem(signer: &EvidenceSigner) -> Result<String, EvidenceError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(signer.public_key_der()?);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    Ok(format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n")))
}

/// The exact bytes of a capture's log leaf: which page, which archive, when, for whom.
pub fn evidence_leaf(c: &CaptureRow) -> Vec<u8> {
    canonical_json(&json!({
        "type": "evidence",
        "capture": c.id,
        "url": c.url,
        "wacz_sha256": c.wacz_sha256,
        "datapackage_sha256": c.datapackage_sha256,
        "owner": c.owner.as_ref().map(PartyId::as_str),
        "captured_at": c.created_at.to_string(),
    }))
    .into_bytes()
}

/// Files a capture: the WACZ into the content store, then the row, its log leaf, the case's timeline
/// entry (and contact address when the case has none) and `evidence.captured`, in one unit.
pub fn file(
    s: &mut SqliteStore,
    content: &ContentStore,
    taken: &Taken,
    owner: Option<&PartyId>,
    case_id: Option<&str>,
    hit: Option<i64>,
    now: Timestamp,
) -> Result<CaptureRow, EvidenceError> {
    let sha = content.put(&taken.wacz.bytes)?;
    let mut row = CaptureRow {
        id: crate::services::tokens::short_id("cap", 12),
        owner: owner.cloned(),
        case_id: case_id.map(str::to_owned),
        hit,
        url: taken.url.clone(),
        wacz_sha256: sha.as_str().to_owned(),
        datapackage_sha256: hex::encode(taken.wacz.datapackage_sha256),
        bytes: i64::try_from(taken.wacz.bytes.len()).unwrap_or(i64::MAX),
        tsr: taken.tsr.clone(),
        leaf: None,
        summary: taken.summary.clone(),
        created_at: now,
    };
    s.atomically(|s| -> Result<(), EvidenceError> {
        row.leaf = Some(s.log_append("evidence", &row.id, &evidence_leaf(&row), now)?);
        s.insert_capture(&row)?;
        if let Some(case_id) = case_id {
            let data = json!({"capture": row.id, "wacz_sha256": row.wacz_sha256, "leaf": row.leaf});
            s.add_case_event(case_id, "platform", "captured", &row.url, &data, now)?;
            if let (Some(mut c), Some(contact)) = (s.case(case_id)?, taken.contacts.first()) {
                if c.contact_email.is_none() {
                    c.contact_email = Some(contact.clone());
                    c.contact_source = taken.contact_source.clone();
                    s.update_case(&c)?;
                }
            }
        }
        let payload = json!({"url": row.url, "case": case_id, "hit": hit, "leaf": row.leaf});
        s.record_event("evidence.captured", &row.id, &payload, now)?;
        Ok(())
    })?;
    Ok(row)
}

/// The captured page's text as the engine reads a crawled page (so a hit's page spans index into it):
/// the archived response for `page_url` in the WACZ, decoded and extracted with the monitor's
/// settings. None when the archive holds no such response or it is not text.
pub fn archived_page_text(wacz: &[u8], page_url: &str, monitor: &crate::monitor::Monitor) -> Option<String> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(wacz)).ok()?;
    let mut warc = Vec::new();
    zip.by_name("archive/data.warc.gz").ok()?.take(64 << 20).read_to_end(&mut warc).ok()?;
    let mut reader = seal_crawler::warc::WarcReader::new(warc.as_slice(), Default::default()).ok()?;
    while let Some(record) = reader.next_record() {
        let Ok(record) = record else { continue };
        if record.warc_type() != Some("response") || record.target_uri() != Some(page_url) {
            continue;
        }
        let payload = record.payload().ok()??;
        let extracted = monitor.extract_page(&payload.body, payload.content_type.as_deref()).ok()?;
        return Some(extracted.text);
    }
    None
}

/// Email addresses a page publishes: `mailto:` links first, then addresses in its text, each once,
/// at most five. Only what parses as an address is kept.
pub fn contacts_in(html: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(html);
    let mut found: Vec<String> = Vec::new();
    let mut push = |candidate: &str| {
        let candidate = candidate.trim_matches(|c: char| c == '.' || c == '-');
        let lower = candidate.to_ascii_lowercase();
        let domain_ok = lower.rsplit_once('@').is_some_and(|(_, d)| {
            // `logo@2x.png` is an image name, not an address.
            let file_ext = ["png", "jpg", "jpeg", "gif", "webp", "svg", "css", "js"];
            d.contains('.')
                && d.rsplit('.').next().is_some_and(|tld| {
                    tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()) && !file_ext.contains(&tld)
                })
        });
        if domain_ok && lower.parse::<lettre::Address>().is_ok() && !found.contains(&lower) && found.len() < 5 {
            found.push(lower);
        }
    };
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("mailto:") {
        let start = from + at + "mailto:".len();
        let end = lower[start..].find(['"', '\'', '?', '>', ' ', '<']).map_or(lower.len(), |e| start + e);
        push(&text[start..end]);
        from = end;
    }
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let host = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    for (at, _) in text.match_indices('@') {
        let start = text[..at].rfind(|c: char| !local(c)).map_or(0, |i| i + 1);
        let end = text[at + 1..].find(|c: char| !host(c)).map_or(text.len(), |i| at + 1 + i);
        if start < at && end > at + 1 {
            push(&text[start..end]);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_prefer_mailto_and_skip_what_is_not_an_address() {
        let html = br#"<p>Write to news@example.cn or <a href="mailto:Legal@Example.CN?subject=hi">legal</a>.
            Images: logo@2x.png, user@localhost, a@b.c</p>"#;
        assert_eq!(contacts_in(html), ["legal@example.cn", "news@example.cn"]);
        assert!(contacts_in(b"no address here").is_empty());
    }

    #[test]
    fn only_web_addresses_are_captured() {
        assert!(parse_url("https://example.cn/a").is_ok());
        assert!(parse_url("file:///etc/passwd").is_err());
        assert!(parse_url("javascript:alert(1)").is_err());
    }
}
