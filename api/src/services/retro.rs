//! Retroactive matching: when a work is registered, the pages already seen are checked against it
//! without fetching them again.
//!
//! A subscriber of the event outbox (`retro`): for every `work.registered` event it reads the work's
//! text items from the content store, searches the page index ([`PageStore`]) for pages that copy
//! them, and stores each as a hit (source `retro`), classified like any other, in one transaction with
//! its cursor. Evidence spans are in the work's characters (`[null, null, work_start, work_end]`):
//! page text is not kept, only its fingerprints. Images are not matched retroactively (page images are
//! not kept).

use super::classify::Classifier;
use crate::content::ContentStore;
use crate::domain::{ContentKind, Sha256Hex};
use crate::monitor::pages::PageStore;
use crate::store::monitoring::{NewHit, PageDone};
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_engine::text::{self, ExtractConfig, RetroConfig};
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::Timestamp;

/// The subscriber's name (its cursor row).
pub const RETRO: &str = "retro";

/// Why retroactive matching stopped.
#[derive(Debug, thiserror::Error)]
pub enum RetroError {
    /// The records store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The content store.
    #[error("content: {0}")]
    Content(#[from] std::io::Error),
}

/// Applies every `work.registered` event after the subscriber's cursor; returns the hits stored.
pub fn drain_retro(
    store: &mut SqliteStore,
    content: &ContentStore,
    pages: &PageStore,
    now: Timestamp,
) -> Result<usize, RetroError> {
    let mut found = 0;
    if pages.is_empty() {
        // Nothing seen yet: no event can find anything, so skip them all at once (a bulk import of a
        // million works must not read each one back for nothing).
        let latest = store.latest_event_id()?;
        if latest > store.event_cursor(RETRO)? {
            store.set_event_cursor(RETRO, latest)?;
        }
        return Ok(0);
    }
    loop {
        let cursor = store.event_cursor(RETRO)?;
        let events = store.events_after(cursor, 64)?;
        let Some(last) = events.last().map(|e| e.id) else { break };
        let mut done = Vec::new();
        let mut classifier = Classifier::new();
        for event in events.iter().filter(|e| e.kind == "work.registered") {
            let Ok(payload) = serde_json::from_str::<serde_json::Value>(&event.payload) else { continue };
            let (Some(work), Some(owner)) = (
                payload["work"].as_str().and_then(|w| WorkId::new(w).ok()),
                payload["owner"].as_str().and_then(|o| PartyId::new(o).ok()),
            ) else {
                continue;
            };
            for item in payload["contents"].as_array().into_iter().flatten() {
                let kind = item["kind"].as_str().and_then(ContentKind::parse);
                let sha = item["sha256"].as_str().and_then(Sha256Hex::parse);
                let (Some(kind @ (ContentKind::Text | ContentKind::Html)), Some(sha)) = (kind, sha) else { continue };
                let bytes = match content.get(&sha) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                };
                let engine_kind =
                    if kind == ContentKind::Html { text::ContentKind::Html } else { text::ContentKind::PlainText };
                let Ok(extracted) = text::extract(&bytes, engine_kind, &ExtractConfig::default()) else { continue };
                let hits = pages
                    .index()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .find_work(&extracted.text, &RetroConfig::default());
                let file = item["file"].as_str().map(str::to_owned);
                for hit in hits {
                    let Ok(id) = i64::try_from(hit.page.0) else { continue };
                    let Some((url, title, seen)) = store.page_by_id(id)? else { continue };
                    if done.iter().any(|d: &PageDone| d.url == url && d.hits.iter().any(|h| h.work == work)) {
                        continue;
                    }
                    let reason = classifier.classify(store, &work, &owner, &url, now)?;
                    let spans: Vec<[Option<u32>; 4]> =
                        hit.spans.iter().map(|s| [None, None, Some(s.work.start), Some(s.work.end)]).collect();
                    let new = NewHit {
                        work: work.clone(),
                        owner: owner.clone(),
                        page_url: url.clone(),
                        image_url: None,
                        title: title.clone(),
                        kind: "text",
                        copy: hit.kind.as_str().to_owned(),
                        score: hit.work_coverage,
                        page_coverage: hit.page_coverage,
                        evidence: serde_json::json!({"spans": spans, "matched_words": hit.matched_words}).to_string(),
                        file: file.clone(),
                        reason,
                        source: "retro",
                        seen,
                    };
                    done.push(PageDone { url, title, seen: seen.unix_ms(), hits: vec![new], ..PageDone::default() });
                }
            }
        }
        found += done.iter().map(|d| d.hits.len()).sum::<usize>();
        store.atomically(|s| -> Result<(), StoreError> {
            // Old pages that turn out to copy a newly registered work are new black hits too.
            let stored = s.store_pages(&done)?;
            super::notifications::record_black_hits(s, &stored, now)?;
            s.set_event_cursor(RETRO, last)
        })?;
    }
    Ok(found)
}
