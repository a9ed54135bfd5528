//! Search use cases: keeping the index current, rebuilding it, and answering a search with the works'
//! titles and passages beside each result.
//!
//! The index follows the hits by revision ([`crate::store::usage`]). [`sync`] takes the changes in
//! batches through a fetch function, so the server can read a batch under the store's lock and index it
//! without holding that lock; the command line passes its own store.

use crate::content::ContentStore;
use crate::domain::ContentKind;
use crate::search::{Found, Results, SearchError, SearchIndex};
use crate::store::prelude::*;
use crate::store::usage::IndexedHit;
use crate::store::{SqliteStore, StoreError};
use seal_engine::text;
use seal_licensing::ids::WorkId;

/// Hits read per batch (a revision is never split, so a batch may hold more).
pub const SYNC_BATCH: usize = 2_000;

/// What can go wrong keeping the index.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The records store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The index.
    #[error(transparent)]
    Search(#[from] SearchError),
}

/// Applies every hit change after the index's revision and commits; returns the documents replaced.
/// `fetch(after, limit)` reads changes (see [`Usage::hits_changed`]); `progress` hears each batch.
pub fn sync(
    index: &SearchIndex,
    mut fetch: impl FnMut(i64, usize) -> Result<Vec<IndexedHit>, StoreError>,
    mut progress: impl FnMut(usize),
) -> Result<usize, SyncError> {
    let mut rev = index.rev()?;
    let mut done = 0;
    loop {
        let batch = fetch(rev, SYNC_BATCH)?;
        let Some(last) = batch.last() else { break };
        let last = last.rev;
        index.apply(&batch)?;
        done += batch.len();
        progress(batch.len());
        // Commit per batch: a long rebuild that is interrupted keeps what it did.
        index.commit(last)?;
        rev = last;
    }
    Ok(done)
}

/// Empties the index and rebuilds it from every hit in the store.
pub fn reindex(index: &SearchIndex, store: &SqliteStore, progress: impl FnMut(usize)) -> Result<usize, SyncError> {
    index.clear()?;
    sync(index, |after, limit| store.hits_changed(after, limit), progress)
}

/// A result with what the page shows beside it.
#[derive(Clone, Debug)]
pub struct Shown {
    /// The result.
    pub found: Found,
    /// The work's title.
    pub work_title: String,
    /// The copied passage of the work (text hits whose work text is stored), at most a few hundred
    /// characters.
    pub passage: Option<String>,
    /// Whether the work has an image to show as a thumbnail (image hits).
    pub thumbnail: bool,
}

/// The longest passage shown, in characters.
const PASSAGE_CHARS: usize = 240;

/// Names each result's work and cuts its copied passage from the work's stored text.
pub fn describe(store: &SqliteStore, content: &ContentStore, results: &Results) -> Result<Vec<Shown>, StoreError> {
    let mut out = Vec::with_capacity(results.found.len());
    for found in &results.found {
        let work = WorkId::new(found.work.clone()).ok();
        let record = match &work {
            Some(w) => store.work(w)?,
            None => None,
        };
        let work_title = record.map(|w| w.title).unwrap_or_else(|| found.work.clone());
        let mut passage = None;
        let mut thumbnail = false;
        if let Some(w) = &work {
            let items = store.contents_of(w)?;
            if found.kind == "image" {
                thumbnail = items.iter().any(|i| i.kind == ContentKind::Image);
            } else if let Some(span) = crate::search::evidence_spans(&found.evidence)
                .and_then(|spans| spans.into_iter().find_map(|s| Some((s[2]?, s[3]?)).filter(|(a, b)| a < b)))
            {
                passage = items.iter().filter(|i| i.kind != ContentKind::Image).find_map(|i| {
                    let bytes = content.get(&i.sha256).ok()?;
                    let kind = if i.kind == ContentKind::Html {
                        text::ContentKind::Html
                    } else {
                        text::ContentKind::PlainText
                    };
                    let extracted = text::extract(&bytes, kind, &text::ExtractConfig::default()).ok()?;
                    Some(extracted.text.chars().skip(span.0).take((span.1 - span.0).min(PASSAGE_CHARS)).collect())
                });
            }
        }
        out.push(Shown { found: found.clone(), work_title, passage, thumbnail });
    }
    Ok(out)
}
