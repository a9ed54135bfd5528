//! Registering works, the one way: every path (dashboard form, REST, first view, `seal works import`,
//! `seal demo --works`) calls [`register_work`], [`register_batch`] or [`register_batch_with_ids`], so
//! validation, idempotency, storage and fingerprinting cannot drift apart between them. The demo world's
//! fixed works, registered as records first, get their content through [`attach_content`], which keeps
//! the same order.
//!
//! Order, for crash safety: (1) fingerprint every item, so anything the engine refuses is refused before
//! a record exists; (2) the content files, made durable with one flush per batch; (3) one SQLite
//! transaction per batch with the works, their content rows and engine ids and a `work.registered`
//! event each; (4) the indexes and their log, fsynced once per batch. A crash after (2) leaves only
//! unreferenced files; a crash after (3) leaves committed works the indexes lack, which
//! [`Monitor::open`] re-fingerprints from the content store. Nothing is ever committed that the
//! monitor could not rebuild.
//!
//! Idempotency is by content hash per rights holder: if any item of a new work is already registered
//! by the same owner, the call answers that work with `new: false` and writes nothing.
//!
//! Every batch ends with [`Monitor::maybe_checkpoint`]; a bulk import first calls
//! [`Monitor::defer_checkpoints`] so that snapshots are written once at its end instead.

use crate::content::ContentStore;
use crate::domain::{ContentKind, Sha256Hex};
use crate::monitor::{Monitor, MonitorError, Prepared};
use crate::store::contents::NewContent;
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::{ChannelId, PartyId, WorkId};
use seal_licensing::offer::Work;
use seal_licensing::Timestamp;
use std::collections::HashMap;

/// The longest title, author or source URL, in characters (the REST schema's limit).
pub const MAX_FIELD_CHARS: usize = 500;

/// One content item of a work to register.
#[derive(Clone, Debug)]
pub struct NewItem {
    /// What the bytes are.
    pub kind: ContentKind,
    /// The bytes: plain text (UTF-8 or another charset), an HTML page, or an image file.
    pub bytes: Vec<u8>,
    /// The base name of the file it came from, if any.
    pub file: Option<String>,
    /// The file as submitted, when `bytes` were derived from it (a `.txt` whose first line became the
    /// title): stored beside the content, and what the registration's timestamp covers, so the
    /// submitter's own file verifies with `openssl ts -verify -data FILE`.
    pub source: Option<Vec<u8>>,
}

/// A work to register.
#[derive(Clone, Debug)]
pub struct NewWork {
    /// The rights holder (must exist).
    pub owner: PartyId,
    /// The channel it was published on (must be the owner's), whose default offers then apply.
    pub channel: Option<ChannelId>,
    /// Title.
    pub title: String,
    /// Author as they are to be named.
    pub author: String,
    /// Where the original is published (`http://` or `https://`). `None` when there is no public
    /// address (an imported file): the work then records no source URL (the content hash names it).
    /// names the registered content without inventing a location.
    pub source_url: Option<String>,
    /// Its content: text, HTML, images, or several (at least one).
    pub items: Vec<NewItem>,
}

/// The outcome of registering one work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    /// The work (the existing one when `new` is false).
    pub work: WorkId,
    /// False when the same content was already registered by the same owner.
    pub new: bool,
}

/// Why a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The input is not acceptable; the message is for the user.
    #[error("{0}")]
    Invalid(String),
    /// An item could not be fingerprinted (not text, undecodable or too plain an image, …).
    #[error("{file}: {error}")]
    Unreadable {
        /// The item's file name, or `item N`.
        file: String,
        /// The engine's reason.
        error: MonitorError,
    },
    /// The records store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The content store failed.
    #[error("content store: {0}")]
    Content(#[from] std::io::Error),
    /// The indexes failed after the records were committed (the next open repairs them).
    #[error(transparent)]
    Monitor(#[from] MonitorError),
}

/// A new work id: `wk-` and 9 random bytes, as the web layer makes them.
pub fn new_work_id() -> Result<WorkId, RegistrationError> {
    WorkId::new(super::tokens::short_id("wk", 9)).map_err(|e| RegistrationError::Invalid(e.to_string()))
}

/// Registers one work: see the module docs. The same as a batch of one.
pub fn register_work(
    store: &mut SqliteStore,
    content: &ContentStore,
    monitor: &mut Monitor,
    input: NewWork,
    now: Timestamp,
) -> Result<Registered, RegistrationError> {
    register_batch(store, content, monitor, vec![input], now)?
        .pop()
        .unwrap_or_else(|| Err(RegistrationError::Invalid("nothing registered".into())))
}

struct Pending {
    slot: usize,
    work: Work,
    items: Vec<(NewContent, Prepared)>,
}

/// Registers many works with one content flush, one SQLite transaction and one log fsync (bulk
/// import: batches of about 1,000). Each work succeeds or fails on its own; the outer `Err` means the
/// batch's shared steps failed (nothing of it was committed, or the commit happened and the indexes
/// could not be updated, which the next [`Monitor::open`] repairs).
pub fn register_batch(
    store: &mut SqliteStore,
    content: &ContentStore,
    monitor: &mut Monitor,
    inputs: Vec<NewWork>,
    now: Timestamp,
) -> Result<Vec<Result<Registered, RegistrationError>>, RegistrationError> {
    register(store, content, monitor, inputs.into_iter().map(|w| (None, w)).collect(), now)
}

/// [`register_batch`] for works whose ids are chosen by the caller (the demo's `bulk-{n}` works, which
/// load tests address by id) instead of drawn at random. An id that is already taken fails that work
/// alone; the same content again answers the existing work, as always.
pub fn register_batch_with_ids(
    store: &mut SqliteStore,
    content: &ContentStore,
    monitor: &mut Monitor,
    inputs: Vec<(WorkId, NewWork)>,
    now: Timestamp,
) -> Result<Vec<Result<Registered, RegistrationError>>, RegistrationError> {
    register(store, content, monitor, inputs.into_iter().map(|(id, w)| (Some(id), w)).collect(), now)
}

fn register(
    store: &mut SqliteStore,
    content: &ContentStore,
    monitor: &mut Monitor,
    inputs: Vec<(Option<WorkId>, NewWork)>,
    now: Timestamp,
) -> Result<Vec<Result<Registered, RegistrationError>>, RegistrationError> {
    let mut results: Vec<Option<Result<Registered, RegistrationError>>> = Vec::with_capacity(inputs.len());
    let mut pending: Vec<Pending> = Vec::new();
    let mut bytes: Vec<Vec<u8>> = Vec::new();
    // Content of this batch by (owner, hash) -> the slot of the work that carries it.
    let mut in_batch: HashMap<(PartyId, Sha256Hex), usize> = HashMap::new();
    let mut duplicates: Vec<(usize, usize)> = Vec::new();
    for (slot, (preset, input)) in inputs.into_iter().enumerate() {
        results.push(None);
        let hashes: Vec<Sha256Hex> = input.items.iter().map(|i| Sha256Hex::of(&i.bytes)).collect();
        if let Some(first) = hashes.iter().find_map(|h| in_batch.get(&(input.owner.clone(), h.clone()))) {
            duplicates.push((slot, *first));
            continue;
        }
        match store.work_with_content(&input.owner, &hashes) {
            Ok(Some(work)) => {
                results[slot] = Some(Ok(Registered { work, new: false }));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                results[slot] = Some(Err(e.into()));
                continue;
            }
        }
        match prepare(monitor, preset, input, &hashes, now) {
            Ok((work, items, item_bytes)) => {
                for hash in &hashes {
                    in_batch.insert((work.owner.clone(), hash.clone()), slot);
                }
                bytes.extend(item_bytes);
                pending.push(Pending { slot, work, items });
            }
            Err(e) => results[slot] = Some(Err(e)),
        }
    }

    if !pending.is_empty() {
        let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
        content.put_many(&refs)?;
        drop(bytes);
        let rows: Vec<(Work, Vec<NewContent>)> =
            pending.iter().map(|p| (p.work.clone(), p.items.iter().map(|(c, _)| c.clone()).collect())).collect();
        let committed = store.register_works_with_contents(&rows, now)?;
        let mut to_index = Vec::new();
        for (p, outcome) in pending.into_iter().zip(committed) {
            match outcome {
                Ok(engine_ids) => {
                    results[p.slot] = Some(Ok(Registered { work: p.work.id.clone(), new: true }));
                    for (id, (row, prepared)) in engine_ids.into_iter().zip(p.items) {
                        to_index.push((id, row.kind, row.sha256, prepared));
                    }
                }
                Err(e) => results[p.slot] = Some(Err(e.into())),
            }
        }
        monitor.add(&to_index)?;
        monitor.maybe_checkpoint()?;
    }

    for (slot, first) in duplicates {
        let answer = match &results[first] {
            Some(Ok(r)) => Ok(Registered { work: r.work.clone(), new: false }),
            _ => Err(RegistrationError::Invalid("the same content failed earlier in this batch".into())),
        };
        results[slot] = Some(answer);
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(RegistrationError::Invalid("not processed".into()))))
        .collect())
}

type PreparedWork = (Work, Vec<(NewContent, Prepared)>, Vec<Vec<u8>>);

/// Validates a work the way the web form does and fingerprints its items.
fn prepare(
    monitor: &Monitor,
    preset: Option<WorkId>,
    input: NewWork,
    hashes: &[Sha256Hex],
    now: Timestamp,
) -> Result<PreparedWork, RegistrationError> {
    let invalid = |m: &str| RegistrationError::Invalid(m.to_owned());
    let Some(first) = hashes.first() else {
        return Err(invalid("a work needs its content (text, a page or an image)"));
    };
    if input.items.iter().any(|i| i.bytes.is_empty()) {
        return Err(invalid("an item of the work is empty"));
    }
    let source_url = match &input.source_url {
        Some(url) => {
            let url = url.trim();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("the source URL must start with http:// or https://"));
            }
            url.to_owned()
        }
        None => String::new(),
    };
    if [&input.title, &input.author, &source_url].iter().any(|t| t.trim().chars().count() > MAX_FIELD_CHARS) {
        return Err(invalid("title, author and source URL take at most 500 characters each"));
    }
    let work = Work {
        id: match preset {
            Some(id) => id,
            None => new_work_id()?,
        },
        owner: input.owner,
        title: input.title.trim().to_owned(),
        author: input.author.trim().to_owned(),
        source_url,
        channel: input.channel,
        content_sha256: first.as_str().to_owned(),
        published_at: now,
        registered_at: now,
    };
    work.validate().map_err(|e| RegistrationError::Invalid(e.to_string()))?;
    let (items, item_bytes) = prepare_items(monitor, input.items, hashes)?;
    Ok((work, items, item_bytes))
}

type PreparedItems = (Vec<(NewContent, Prepared)>, Vec<Vec<u8>>);

/// Fingerprints items (refusing any the engine cannot read) and splits off their bytes.
fn prepare_items(
    monitor: &Monitor,
    input: Vec<NewItem>,
    hashes: &[Sha256Hex],
) -> Result<PreparedItems, RegistrationError> {
    let mut items = Vec::with_capacity(input.len());
    let mut item_bytes = Vec::with_capacity(input.len());
    for (n, (item, hash)) in input.into_iter().zip(hashes).enumerate() {
        let prepared = monitor.prepare(item.kind, &item.bytes).map_err(|error| RegistrationError::Unreadable {
            file: item.file.clone().unwrap_or_else(|| format!("item {}", n + 1)),
            error,
        })?;
        let source = item.source.filter(|s| Sha256Hex::of(s) != *hash);
        items.push((
            NewContent {
                sha256: hash.clone(),
                kind: item.kind,
                file: item.file,
                source_sha256: source.as_ref().map(|s| Sha256Hex::of(s)),
            },
            prepared,
        ));
        item_bytes.push(item.bytes);
        item_bytes.extend(source);
    }
    Ok((items, item_bytes))
}

/// Gives an existing work that was registered without content (through
/// [`crate::store::Repository::register_work`], as the demo world is) its content items, in the order of
/// [`register_batch`]: fingerprint, content durable, one SQLite transaction with the content rows, engine
/// ids and a `work.registered` event, then the indexes and their log. The first item must be what the
/// work's `content_sha256` names. Idempotent: returns `false` and changes nothing when the work already
/// holds exactly these items.
pub fn attach_content(
    store: &mut SqliteStore,
    content: &ContentStore,
    monitor: &mut Monitor,
    work: &WorkId,
    items: Vec<NewItem>,
    now: Timestamp,
) -> Result<bool, RegistrationError> {
    if items.is_empty() || items.iter().any(|i| i.bytes.is_empty()) {
        return Err(RegistrationError::Invalid("a work needs its content, and no item may be empty".into()));
    }
    let hashes: Vec<Sha256Hex> = items.iter().map(|i| Sha256Hex::of(&i.bytes)).collect();
    let (prepared, bytes) = prepare_items(monitor, items, &hashes)?;
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    // Files already stored are not written again, so attaching twice costs no flush.
    content.put_many(&refs)?;
    let rows: Vec<NewContent> = prepared.iter().map(|(c, _)| c.clone()).collect();
    let Some(engine_ids) = store.attach_contents(work, &rows, now)? else {
        return Ok(false);
    };
    let to_index: Vec<_> =
        engine_ids.into_iter().zip(prepared).map(|(id, (row, p))| (id, row.kind, row.sha256, p)).collect();
    monitor.add(&to_index)?;
    monitor.maybe_checkpoint()?;
    Ok(true)
}
