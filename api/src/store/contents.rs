//! Migration 6 and its queries: what each registered work contains (`work_contents`), the engine id each
//! content item is fingerprinted under, and the transactional outbox of domain events (`events`).
//!
//! Registering a work writes the work, its content rows, their engine ids and a `work.registered` event in
//! one transaction, so an event is published exactly when the registration happened and a content row
//! never exists without its work. Engine ids come from a counter row (`id_counters`), not from
//! `MAX(engine_id) + 1`, so an id freed by a removal is never handed out again: a stale index entry can
//! never be mistaken for a new work. The SQL uses only what PostgreSQL also has (no SQLite-only
//! functions), so a second backend can mirror it (`BIGSERIAL` for `events.id`).

use super::sqlite::{corrupt, from_doc, Sql};
use super::{SqliteStore, StoreError};
use crate::domain::{ContentKind, EngineId, Sha256Hex};
use rusqlite::{params, OptionalExtension};
use seal_licensing::book;
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::offer::Work;
use seal_licensing::Timestamp;

/// Work contents, engine ids and the event outbox (schema version 6).
pub(super) const MIGRATION_6: &str = r#"
CREATE TABLE id_counters (name TEXT PRIMARY KEY, next INTEGER NOT NULL CHECK (next > 0)) STRICT;
INSERT INTO id_counters (name, next) VALUES ('engine_id', 1);

CREATE TABLE work_contents (
    work TEXT NOT NULL REFERENCES works(id),
    owner TEXT NOT NULL REFERENCES holders(id),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    kind TEXT NOT NULL CHECK (kind IN ('text', 'html', 'image')),
    file TEXT,
    engine_id INTEGER NOT NULL UNIQUE CHECK (engine_id > 0),
    PRIMARY KEY (work, sha256)
) STRICT;
CREATE UNIQUE INDEX work_contents_owner_sha ON work_contents(owner, sha256);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    at INTEGER NOT NULL,
    published_at INTEGER
) STRICT;
CREATE INDEX events_unpublished ON events(id) WHERE published_at IS NULL;
"#;

/// One content item of a work about to be registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewContent {
    /// Hash of the bytes (already durable in the content store).
    pub sha256: Sha256Hex,
    /// What the bytes are.
    pub kind: ContentKind,
    /// The imported file's base name, if the item came from a file.
    pub file: Option<String>,
    /// Hash of the file as submitted, when the content was derived from it (also in the content store).
    pub source_sha256: Option<Sha256Hex>,
}

/// One stored content item, as the monitor needs it to map a hit back or to re-fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentRow {
    /// The engine id the item is fingerprinted under.
    pub engine_id: EngineId,
    /// Its work.
    pub work: WorkId,
    /// The work's rights holder.
    pub owner: PartyId,
    /// Hash of the bytes in the content store.
    pub sha256: Sha256Hex,
    /// What the bytes are.
    pub kind: ContentKind,
    /// The imported file's base name.
    pub file: Option<String>,
    /// Hash of the file as submitted, when the content was derived from it.
    pub source_sha256: Option<Sha256Hex>,
}

/// A stored domain event of the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Position in the outbox (increasing).
    pub id: i64,
    /// `work.registered`, …
    pub kind: String,
    /// The record it is about (a work id).
    pub subject: String,
    /// JSON payload.
    pub payload: String,
    /// When it happened.
    pub at: Timestamp,
}

fn content_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ContentRow, StoreError>> {
    let (engine_id, work, owner): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
    let (sha256, kind, file): (String, String, Option<String>) = (r.get(3)?, r.get(4)?, r.get(5)?);
    let source: Option<String> = r.get(6)?;
    Ok((|| {
        let c = |what: &str| corrupt("work_contents", format!("{what} of engine id {engine_id}"));
        Ok(ContentRow {
            engine_id: EngineId::from_stored(engine_id).ok_or_else(|| c("engine id"))?,
            work: WorkId::new(work).map_err(|_| c("work"))?,
            owner: PartyId::new(owner).map_err(|_| c("owner"))?,
            sha256: Sha256Hex::parse(&sha256).ok_or_else(|| c("sha256"))?,
            kind: ContentKind::parse(&kind).ok_or_else(|| c("kind"))?,
            file,
            source_sha256: match source {
                Some(s) => Some(Sha256Hex::parse(&s).ok_or_else(|| c("source sha256"))?),
                None => None,
            },
        })
    })())
}

const CONTENT_SELECT: &str = "SELECT engine_id, work, owner, sha256, kind, file, source_sha256 FROM work_contents";

/// What registered works contain, their engine ids, and the domain-event outbox.
pub trait Contents {
    /// The work of `owner` that already holds one of these content hashes, if any: registration is
    /// idempotent by content per rights holder.
    fn work_with_content(&self, owner: &PartyId, hashes: &[Sha256Hex]) -> Result<Option<WorkId>, StoreError>;
    /// Registers works with their contents in ONE transaction: per work the work record, one
    /// `work_contents` row per item with a freshly allocated engine id, and a `work.registered` event.
    /// Each work is all-or-nothing on its own (a savepoint), so one refused work does not affect the
    /// others; the outer `Err` means the commit failed and nothing was stored. Returns, per work, the
    /// engine ids given to its items (in item order) or why it was refused.
    fn register_works_with_contents(
        &mut self,
        works: &[(Work, Vec<NewContent>)],
        now: Timestamp,
    ) -> Result<Vec<Result<Vec<EngineId>, StoreError>>, StoreError>;
    /// Gives an already registered work that has no content yet (one registered through
    /// [`crate::store::Repository::register_work`], like the demo world's) its content rows, engine ids and
    /// a `work.registered` event, in one transaction: the event is written here because the work gained
    /// what makes it matchable only now, and a subscriber needs the same payload as for any other
    /// registration. The first item's hash must be the work's `content_sha256`. Idempotent: `Ok(None)`
    /// when the work already holds exactly these items; a work holding other content is a conflict.
    fn attach_contents(
        &mut self,
        work: &WorkId,
        items: &[NewContent],
        now: Timestamp,
    ) -> Result<Option<Vec<EngineId>>, StoreError>;
    /// Every stored content item, in engine-id order (what the monitor checks its indexes against).
    fn content_rows(&self) -> Result<Vec<ContentRow>, StoreError>;
    /// One work's content items, in registration order.
    fn contents_of(&self, work: &WorkId) -> Result<Vec<ContentRow>, StoreError>;
    /// Every stored engine id with its kind: the cheap form of [`Self::content_rows`] for start-up.
    fn engine_ids(&self) -> Result<Vec<(EngineId, ContentKind)>, StoreError>;
    /// The content item fingerprinted under `engine_id`, with its work's title.
    fn content_by_engine_id(&self, engine_id: EngineId) -> Result<Option<(ContentRow, String)>, StoreError>;
    /// Works and content items stored: `(works with contents, content rows)`.
    fn content_counts(&self) -> Result<(i64, i64), StoreError>;
    /// The oldest events not yet published, at most `limit`.
    fn unpublished_events(&self, limit: usize) -> Result<Vec<Event>, StoreError>;
    /// Writes a domain event into the outbox. Call it inside the use case's unit
    /// ([`SqliteStore::atomically`]) so the event commits exactly when the change does.
    fn record_event(
        &mut self,
        kind: &str,
        subject: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Marks an event published (once; a second call changes nothing).
    fn mark_event_published(&mut self, id: i64, at: Timestamp) -> Result<(), StoreError>;
}

impl Contents for SqliteStore {
    fn work_with_content(&self, owner: &PartyId, hashes: &[Sha256Hex]) -> Result<Option<WorkId>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT work FROM work_contents WHERE owner = ?1 AND sha256 = ?2")?;
        for hash in hashes {
            let work: Option<String> =
                stmt.query_row(params![owner.as_str(), hash.as_str()], |r| r.get(0)).optional()?;
            if let Some(work) = work {
                return WorkId::new(work).map(Some).map_err(|e| corrupt("work_contents", e));
            }
        }
        Ok(None)
    }

    fn register_works_with_contents(
        &mut self,
        works: &[(Work, Vec<NewContent>)],
        now: Timestamp,
    ) -> Result<Vec<Result<Vec<EngineId>, StoreError>>, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let mut results = Vec::with_capacity(works.len());
        for (work, items) in works {
            // A nested unit is a savepoint: a refused work rolls back alone when it is dropped.
            let sp = super::unit::begin(&tx)?;
            let result = insert_one(&sp, work, items, now);
            if result.is_ok() {
                sp.commit()?;
            }
            results.push(result);
        }
        tx.commit()?;
        Ok(results)
    }

    fn attach_contents(
        &mut self,
        work: &WorkId,
        items: &[NewContent],
        now: Timestamp,
    ) -> Result<Option<Vec<EngineId>>, StoreError> {
        let first =
            items.first().ok_or_else(|| StoreError::Conflict("a work needs at least one content item".into()))?;
        let tx = super::unit::begin(&self.conn)?;
        let doc: Option<String> = tx
            .prepare_cached("SELECT doc FROM works WHERE id = ?1")?
            .query_row([work.as_str()], |r| r.get(0))
            .optional()?;
        let doc = doc.ok_or_else(|| StoreError::Conflict(format!("there is no work {work}")))?;
        let stored: Work = from_doc("works", &doc)?;
        if stored.content_sha256 != first.sha256.as_str() {
            return Err(StoreError::Conflict(format!(
                "work {work} was registered with content {}, not {}",
                stored.content_sha256, first.sha256
            )));
        }
        let mut held: Vec<String> = tx
            .prepare_cached("SELECT sha256 FROM work_contents WHERE work = ?1")?
            .query_map([work.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !held.is_empty() {
            let mut wanted: Vec<String> = items.iter().map(|i| i.sha256.as_str().to_owned()).collect();
            held.sort_unstable();
            wanted.sort_unstable();
            wanted.dedup();
            return if held == wanted {
                Ok(None)
            } else {
                Err(StoreError::Conflict(format!("work {work} already holds other content")))
            };
        }
        let ids = insert_contents(&tx, &stored, items, now)?;
        tx.commit()?;
        Ok(Some(ids))
    }

    fn content_rows(&self) -> Result<Vec<ContentRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!("{CONTENT_SELECT} ORDER BY engine_id"))?;
        let rows = stmt.query_map([], content_row)?;
        rows.map(|r| r?).collect()
    }

    fn contents_of(&self, work: &WorkId) -> Result<Vec<ContentRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("{CONTENT_SELECT} WHERE work = ?1 ORDER BY engine_id"))?;
        let rows = stmt.query_map([work.as_str()], content_row)?;
        rows.map(|r| r?).collect()
    }

    fn engine_ids(&self) -> Result<Vec<(EngineId, ContentKind)>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT engine_id, kind FROM work_contents")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|r| {
            let (id, kind) = r?;
            let bad = || corrupt("work_contents", format!("engine id {id}"));
            Ok((EngineId::from_stored(id).ok_or_else(bad)?, ContentKind::parse(&kind).ok_or_else(bad)?))
        })
        .collect()
    }

    fn content_by_engine_id(&self, engine_id: EngineId) -> Result<Option<(ContentRow, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("{CONTENT_SELECT} WHERE engine_id = ?1"))?;
        let row = stmt.query_row([engine_id.stored()], content_row).optional()?;
        let Some(row) = row.transpose()? else { return Ok(None) };
        let doc: Option<String> = self
            .conn
            .prepare_cached("SELECT doc FROM works WHERE id = ?1")?
            .query_row([row.work.as_str()], |r| r.get(0))
            .optional()?;
        let work: Work = from_doc("works", &doc.ok_or_else(|| corrupt("work_contents", "work vanished"))?)?;
        Ok(Some((row, work.title)))
    }

    fn content_counts(&self) -> Result<(i64, i64), StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(DISTINCT work), COUNT(*) FROM work_contents", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?)
    }

    fn unpublished_events(&self, limit: usize) -> Result<Vec<Event>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, subject, payload, at FROM events WHERE published_at IS NULL ORDER BY id LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], event_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record_event(
        &mut self,
        kind: &str,
        subject: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        insert_event(&self.conn, kind, subject, payload, now)
    }

    fn mark_event_published(&mut self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE events SET published_at = ?2 WHERE id = ?1 AND published_at IS NULL",
            params![id, at.unix_ms()],
        )?;
        Ok(())
    }
}

fn insert_one(
    conn: &rusqlite::Connection,
    work: &Work,
    items: &[NewContent],
    now: Timestamp,
) -> Result<Vec<EngineId>, StoreError> {
    if items.is_empty() {
        return Err(StoreError::Conflict("a work needs at least one content item".into()));
    }
    book::register_work(&mut Sql(conn), work)?;
    insert_contents(conn, work, items, now)
}

/// The content rows, engine ids and `work.registered` event of a work that is already stored.
fn insert_contents(
    conn: &rusqlite::Connection,
    work: &Work,
    items: &[NewContent],
    now: Timestamp,
) -> Result<Vec<EngineId>, StoreError> {
    let count = i64::try_from(items.len()).map_err(|_| StoreError::Conflict("too many items".into()))?;
    let first: i64 =
        conn.prepare_cached("SELECT next FROM id_counters WHERE name = 'engine_id'")?.query_row([], |r| r.get(0))?;
    conn.prepare_cached("UPDATE id_counters SET next = next + ?1 WHERE name = 'engine_id'")?.execute([count])?;
    let mut ids = Vec::with_capacity(items.len());
    let mut payload_items = Vec::with_capacity(items.len());
    let mut insert = conn.prepare_cached(
        "INSERT INTO work_contents (work, owner, sha256, kind, file, engine_id, source_sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (n, item) in items.iter().enumerate() {
        let stored = first + n as i64;
        let id = EngineId::from_stored(stored).ok_or_else(|| corrupt("id_counters", stored))?;
        insert
            .execute(params![
                work.id.as_str(),
                work.owner.as_str(),
                item.sha256.as_str(),
                item.kind.as_str(),
                item.file,
                stored,
                item.source_sha256.as_ref().map(Sha256Hex::as_str)
            ])
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::Conflict(format!("content {} is already registered by this owner", item.sha256))
                }
                e => StoreError::Sqlite(e),
            })?;
        ids.push(id);
        payload_items.push(serde_json::json!({
            "sha256": item.sha256.as_str(),
            "kind": item.kind.as_str(),
            "file": item.file,
            "engine_id": stored,
        }));
    }
    let payload =
        serde_json::json!({"work": work.id.as_str(), "owner": work.owner.as_str(), "contents": payload_items});
    insert_event(conn, "work.registered", work.id.as_str(), &payload, now)?;
    Ok(ids)
}

pub(super) fn insert_event(
    conn: &rusqlite::Connection,
    kind: &str,
    subject: &str,
    payload: &serde_json::Value,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO events (kind, subject, payload, at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![kind, subject, payload.to_string(), now.unix_ms()])?;
    Ok(())
}

/// An `events` row selected as `id, kind, subject, payload, at`.
pub(super) fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        kind: r.get(1)?,
        subject: r.get(2)?,
        payload: r.get(3)?,
        at: Timestamp::from_unix_ms(r.get(4)?),
    })
}
