//! Subscribers of the domain-event outbox that keep monitoring consistent with the records.
//!
//! Each subscriber keeps its own cursor (`event_cursors`) and moves it in the same transaction as its
//! effect, so every event is acted on exactly once however often the drain runs or crashes. The
//! server drains after every change and on a timer; the command line drains at the start and end of
//! its runs, so a licence granted by `seal licences grant` recolours hits before the next listing.
//!
//! - `recolour`: `licence.granted` and `licence.ended` re-judge the hits of that work;
//!   `allowlist.changed` and `channel.verified` the hits of that rights holder. A licence whose
//!   validity window closes produces no event at the moment it closes, so [`sweep_lapsed`] re-judges
//!   white-by-licence hits on every drain.

use super::pipeline::recolour;
use crate::store::monitoring::{HitFilter, Reason};
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::Timestamp;

/// The recolouring subscriber's name (its cursor row).
pub const RECOLOUR: &str = "recolour";

/// What a drain did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Events read.
    pub events: usize,
    /// Hits whose colour or reason changed.
    pub recoloured: usize,
}

fn payload_field(payload: &str, field: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    v.get(field)?.as_str().map(str::to_owned)
}

/// Applies every event after the recolouring cursor, a few hundred per transaction.
pub fn drain_recolour(store: &mut SqliteStore, now: Timestamp) -> Result<Drained, StoreError> {
    let mut drained = Drained::default();
    loop {
        let cursor = store.event_cursor(RECOLOUR)?;
        let events = store.events_after(cursor, 256)?;
        let Some(last) = events.last().map(|e| e.id) else { break };
        let changed = store.atomically(|s| -> Result<usize, StoreError> {
            let mut changed = 0;
            for event in &events {
                match event.kind.as_str() {
                    "licence.granted" | "licence.ended" => {
                        if let Some(work) = payload_field(&event.payload, "work").and_then(|w| WorkId::new(w).ok()) {
                            changed += recolour(s, Some(&work), None, now)?;
                        }
                    }
                    "allowlist.changed" | "channel.verified" => {
                        if let Some(owner) = payload_field(&event.payload, "owner").and_then(|o| PartyId::new(o).ok()) {
                            changed += recolour(s, None, Some(&owner), now)?;
                        }
                    }
                    _ => {}
                }
            }
            s.set_event_cursor(RECOLOUR, last)?;
            Ok(changed)
        })?;
        drained.events += events.len();
        drained.recoloured += changed;
    }
    drained.recoloured += sweep_lapsed(store, now)?;
    Ok(drained)
}

/// Re-judges hits that are white because of a licence, so one that ended (its window closed, or it
/// was refunded) turns them black, or another reason takes over.
pub fn sweep_lapsed(store: &mut SqliteStore, now: Timestamp) -> Result<usize, StoreError> {
    let mut works: Vec<WorkId> = Vec::new();
    let mut filter = HitFilter { colour: Some("white".into()), ..HitFilter::default() };
    loop {
        let page = store.hits(&filter, 500)?;
        let Some(last) = page.last().map(|h| h.id) else { break };
        for hit in page.into_iter().filter(|h| h.reason == Reason::Licence) {
            if !works.contains(&hit.work) {
                works.push(hit.work);
            }
        }
        filter.before = Some(last);
    }
    let mut changed = 0;
    for work in works {
        let lapsed = store.licences_of_work(&work)?.iter().any(|l| l.valid_until.is_some_and(|end| end <= now));
        if lapsed {
            changed += store.atomically(|s| recolour(s, Some(&work), None, now))?;
        }
    }
    Ok(changed)
}

/// Adds an allowlist entry for `owner` and records `allowlist.changed` in the same transaction.
pub fn allow(
    store: &mut SqliteStore,
    owner: &PartyId,
    kind: &str,
    pattern: &str,
    note: &str,
    now: Timestamp,
) -> Result<i64, StoreError> {
    store.atomically(|s| {
        let id = s.add_allow(owner, kind, pattern, note, now)?;
        let payload = serde_json::json!({"owner": owner.as_str(), "added": id, "kind": kind, "pattern": pattern});
        s.record_event("allowlist.changed", owner.as_str(), &payload, now)?;
        Ok(id)
    })
}

/// Removes an allowlist entry of `owner` (an id of another holder's entry changes nothing) and records
/// `allowlist.changed`.
pub fn disallow(store: &mut SqliteStore, owner: &PartyId, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    store.atomically(|s| {
        let removed = s.remove_allow(owner, id)?;
        if removed {
            let payload = serde_json::json!({"owner": owner.as_str(), "removed": id});
            s.record_event("allowlist.changed", owner.as_str(), &payload, now)?;
        }
        Ok(removed)
    })
}
