//! The demo world with its content: [`load`] seeds the records (`store::demo`) and then gives each
//! demo work its body as a stored, fingerprinted text item, so `seal serve --demo` and `seal demo` show
//! matching on the works the README names (`rh-a-w0`, …). [`bulk_works`] makes the `bulk-{n}` works of
//! `seal demo --works N`, registered with content through [`register_batch_with_ids`].
//!
//! The demo's fixed works are registered as records first (the store's seed cannot reach the content
//! store or the monitor), then their content is attached with [`attach_content`]; both steps are
//! idempotent, so loading the demo on every start changes nothing after the first.
//!
//! [`register_batch_with_ids`]: super::registration::register_batch_with_ids

use super::registration::{attach_content, NewItem, NewWork, RegistrationError};
use crate::content::ContentStore;
use crate::domain::{ContentKind, Sha256Hex};
use crate::monitor::Monitor;
use crate::store::demo::{self, DemoWorld};
use crate::store::{Repository, SqliteStore};
use seal_licensing::ids::WorkId;
use seal_licensing::Timestamp;

/// What [`load`] did.
#[derive(Clone, Debug)]
pub struct DemoLoad {
    /// The seeded world (offers and works to buy).
    pub world: DemoWorld,
    /// Demo works whose content was attached by this call (0 on every load after the first).
    pub attached: usize,
    /// Demo works left without content because an older version registered them with another body
    /// (their `content_sha256` names that body, which no longer exists to store).
    pub stale: Vec<WorkId>,
}

/// Seeds the demo world and attaches each demo work's body as its text item. Idempotent.
pub fn load(
    store: &mut SqliteStore,
    content: &ContentStore,
    monitor: &mut Monitor,
    now: Timestamp,
) -> Result<DemoLoad, RegistrationError> {
    let world = demo::seed(store, now)?;
    let mut attached = 0;
    let mut stale = Vec::new();
    for (id, body) in demo::work_bodies() {
        // A data directory seeded by an earlier version holds these ids with a hash of a shorter body;
        // refusing to start over it would be worse than leaving those works unmatched.
        let registered_with = store.work(&id)?.map(|w| w.content_sha256);
        if registered_with.as_deref() != Some(Sha256Hex::of(body.as_bytes()).as_str()) {
            stale.push(id);
            continue;
        }
        let item = NewItem { kind: ContentKind::Text, bytes: body.into_bytes(), file: None };
        if attach_content(store, content, monitor, &id, vec![item], now)? {
            attached += 1;
        }
    }
    Ok(DemoLoad { world, attached, stale })
}

/// Bulk works `from..to` (ids `bulk-{n}`), each with its generated news item as its one text item,
/// ready for [`register_batch_with_ids`](super::registration::register_batch_with_ids).
pub fn bulk_works(from: u64, to: u64) -> Vec<(WorkId, NewWork)> {
    (from..to)
        .map(|n| {
            let (id, owner, channel, title, source_url, body) = demo::bulk_work(n);
            let author = format!("作者 {owner}");
            let items = vec![NewItem { kind: ContentKind::Text, bytes: body.into_bytes(), file: None }];
            (id, NewWork { owner, channel: Some(channel), title, author, source_url: Some(source_url), items })
        })
        .collect()
}
