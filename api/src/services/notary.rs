//! Proof of registration: the subscriber that gives every registered work its ISCC codes, a trusted
//! timestamp and a transparency-log leaf, the log's signed and timestamped checkpoints, and the signed
//! certificate built from all of them.
//!
//! **Why a subscriber.** Every registration path (dashboard, REST, first view, `seal works import`,
//! automatic inclusion, the demo) ends in the one transaction that writes the work with its
//! `work.registered` event. The notary reacts to that event: it reads the content back, computes the
//! ISCC codes (`seal_engine::iscc`), asks the built-in TSA for a token over the content hash
//! (`seal_licensing::tsa`), then appends the leaf and writes the registration record in one
//! transaction together with its cursor, so each event is notarised exactly once however often the
//! drain runs or crashes. `licence.granted` events append licence leaves the same way. The server drains
//! after every change and on its timer; the command line drains before it reads proofs.
//!
//! **Checkpoints.** A checkpoint is signed on demand when the log has grown past the newest one (the
//! API, a certificate, the scheduler's tick), with the platform's Ed25519 key as a C2SP signed note
//! under the log's origin, and timestamped by the TSA over the SHA-256 of the note's bytes. The origin
//! is fixed by the first checkpoint, so a later change of public URL cannot fork the log's name.

use crate::content::ContentStore;
use crate::domain::ContentKind;
use crate::keys::{self, KeyError};
use crate::store::prelude::*;
use crate::store::proof::{Registration, StoredCheckpoint};
use crate::store::{SqliteStore, StoreError};
use seal_licensing::certificate::{self, RegistrationFacts, CERTIFICATE_TYPE};
use seal_licensing::ids::{LicenceId, WorkId};
use seal_licensing::letter::PlatformKey;
use seal_licensing::merkle::Hash;
use seal_licensing::note::{self, Checkpoint};
use seal_licensing::tsa::{self, Authority, StampRequest};
use seal_licensing::Timestamp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The notary's cursor over the event outbox.
pub const NOTARY: &str = "notary";

/// The name certificates and the TSA give the issuer.
pub const ISSUER: &str = "Copyright Seal";

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NotaryError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be loaded or created.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The content store failed.
    #[error("content store: {0}")]
    Content(#[from] std::io::Error),
    /// The TSA failed.
    #[error("timestamp authority: {0}")]
    Tsa(#[from] tsa::TsaError),
    /// Signing a note failed.
    #[error("checkpoint: {0}")]
    Note(#[from] note::NoteError),
    /// No such record.
    #[error("{0}")]
    NotFound(String),
    /// A record cannot be notarised (a work without content).
    #[error("{0}")]
    Unprovable(String),
}

/// The platform's proof keys and the log's name.
pub struct Notary {
    key: PlatformKey,
    tsa: Authority,
    origin: String,
    public_url: String,
}

/// The log origin for a public URL: its host and port, then `/log` (C2SP: a schema-less URL).
pub fn origin_for(public_url: &str) -> String {
    let host = public_url.split("://").nth(1).unwrap_or(public_url);
    let host = host.split('/').next().unwrap_or(host);
    let host: String = host.chars().filter(|c| !c.is_whitespace() && *c != '+').collect();
    format!("{}/log", if host.is_empty() { "localhost" } else { &host })
}

impl Notary {
    /// Loads (creating on first use) the platform key and the TSA under `DATA/keys`, and takes the
    /// log's origin from its first checkpoint, or from `public_url` for a new log.
    pub fn open(data_dir: &Path, public_url: &str, store: &SqliteStore, now: Timestamp) -> Result<Notary, NotaryError> {
        let key = keys::load_or_create(data_dir)?;
        let tsa = keys::load_or_create_tsa(data_dir, now)?;
        let origin = match store.first_checkpoint_origin()? {
            Some(origin) => origin,
            None => origin_for(public_url),
        };
        Ok(Notary { key, tsa, origin, public_url: public_url.trim_end_matches('/').to_owned() })
    }

    /// The log's origin line (also the checkpoint signer's name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The built-in TSA.
    pub fn tsa(&self) -> &Authority {
        &self.tsa
    }

    /// The C2SP verifier key of the log (`name+hash+key`).
    pub fn log_verifier_key(&self) -> String {
        // The origin was checked when the first checkpoint was signed; a name that cannot be a key name
        // has no verifier key, and then no checkpoint was ever signed either.
        note::verifier_key(&self.origin, self.key.public().verifying_key()).unwrap_or_default()
    }

    /// What a verifier trusts, from this notary's own keys.
    pub fn trust(&self) -> certificate::Trust {
        certificate::Trust {
            platform: self.key.public(),
            log_name: self.origin.clone(),
            log_key: *self.key.public().verifying_key(),
            tsa_anchors: vec![self.tsa.root_der().to_vec()],
        }
    }

    /// The public verification page.
    pub fn verify_page_url(&self) -> String {
        format!("{}/verify", self.public_url)
    }

    /// The public verification page of a work.
    pub fn verify_url(&self, work: &str) -> String {
        format!("{}/verify?work={work}", self.public_url)
    }

    fn stamp(&self, imprint: Hash, now: Timestamp) -> Result<Vec<u8>, NotaryError> {
        self.stamp_request(&StampRequest { imprint, nonce: None, cert_req: true, policy: None }, now)
    }

    /// Answers an RFC 3161 request with the built-in TSA (the public `/api/v1/tsa` endpoint).
    pub fn stamp_request(&self, request: &StampRequest, now: Timestamp) -> Result<Vec<u8>, NotaryError> {
        let mut serial = [0_u8; 8];
        getrandom::fill(&mut serial).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(self.tsa.stamp(request, u64::from_be_bytes(serial) >> 1, now, None)?)
    }

    /// Notarises every pending event: registrations and licences. Returns the works registered (whose
    /// seals now change), and how many entries were appended in all.
    pub fn drain(
        &self,
        store: &mut SqliteStore,
        content: &ContentStore,
        now: Timestamp,
    ) -> Result<(Vec<WorkId>, usize), NotaryError> {
        let mut works = Vec::new();
        let mut recorded = 0;
        loop {
            let cursor = store.event_cursor(NOTARY)?;
            let events = store.events_after(cursor, 64)?;
            let Some(last) = events.last().map(|e| e.id) else { break };
            // Content is read and hashed outside the transaction; only the appends run inside it.
            let mut work = Vec::new();
            for event in &events {
                match event.kind.as_str() {
                    "work.registered" => {
                        if let Ok(id) = WorkId::new(event.subject.clone()) {
                            if store.registration(id.as_str())?.is_none() {
                                match self.prepare_registration(store, content, &id, now) {
                                    Ok(p) => work.push(Pending::Work(Box::new(p))),
                                    // A work whose content vanished cannot be notarised; the others go on.
                                    Err(NotaryError::Unprovable(why)) => tracing::warn!(work = %id, "{why}"),
                                    Err(e) => return Err(e),
                                }
                            }
                        }
                    }
                    "licence.granted" => {
                        if let Ok(id) = LicenceId::new(event.subject.clone()) {
                            if let Some(leaf) = self.licence_leaf(store, &id)? {
                                work.push(Pending::Licence(id, leaf));
                            }
                        }
                    }
                    _ => {}
                }
            }
            recorded += store.atomically(|s| -> Result<usize, NotaryError> {
                let mut n = 0;
                for p in &work {
                    n += usize::from(apply(s, p, now)?);
                }
                s.set_event_cursor(NOTARY, last)?;
                Ok(n)
            })?;
            works.extend(work.iter().filter_map(|p| match p {
                Pending::Work(w) => WorkId::new(w.facts.work.clone()).ok(),
                Pending::Licence(..) => None,
            }));
        }
        Ok((works, recorded))
    }

    /// Notarises works registered before proofs existed (or whose events were passed by), a batch at a
    /// time, each work once (one that cannot be notarised is passed, not retried); returns the works
    /// registered. It scans every work, so it runs once when a server or command opens the data, not on
    /// every tick: new registrations arrive through [`Notary::drain`].
    pub fn backfill(
        &self,
        store: &mut SqliteStore,
        content: &ContentStore,
        now: Timestamp,
    ) -> Result<Vec<WorkId>, NotaryError> {
        let mut done = Vec::new();
        let mut after = 0;
        loop {
            let rows = store.works_without_registration(after, 64)?;
            let Some(last) = rows.last().map(|(row, _)| *row) else { return Ok(done) };
            after = last;
            let mut pending = Vec::new();
            for id in rows.iter().filter_map(|(_, id)| WorkId::new(id.clone()).ok()) {
                match self.prepare_registration(store, content, &id, now) {
                    Ok(p) => pending.push(Pending::Work(Box::new(p))),
                    Err(NotaryError::Unprovable(why)) => tracing::warn!(work = %id, "{why}"),
                    Err(e) => return Err(e),
                }
            }
            store.atomically(|s| -> Result<(), NotaryError> {
                for p in &pending {
                    apply(s, p, now)?;
                }
                Ok(())
            })?;
            done.extend(pending.iter().filter_map(|p| match p {
                Pending::Work(w) => WorkId::new(w.facts.work.clone()).ok(),
                Pending::Licence(..) => None,
            }));
        }
    }

    /// Notarises one work now if it has no record yet (a certificate asked for before the drain ran).
    pub fn ensure_registration(
        &self,
        store: &mut SqliteStore,
        content: &ContentStore,
        work: &WorkId,
        now: Timestamp,
    ) -> Result<Registration, NotaryError> {
        if let Some(r) = store.registration(work.as_str())? {
            return Ok(r);
        }
        let p = Pending::Work(Box::new(self.prepare_registration(store, content, work, now)?));
        store.atomically(|s| apply(s, &p, now).map(|_| ()))?;
        store.registration(work.as_str())?.ok_or_else(|| NotaryError::NotFound(format!("registration of {work}")))
    }

    fn prepare_registration(
        &self,
        store: &SqliteStore,
        content: &ContentStore,
        id: &WorkId,
        now: Timestamp,
    ) -> Result<PendingWork, NotaryError> {
        let work = store.work(id)?.ok_or_else(|| NotaryError::NotFound(format!("work {id}")))?;
        let rows = store.contents_of(id)?;
        if rows.is_empty() {
            return Err(NotaryError::Unprovable(format!("work {id} has no content to notarise")));
        }
        // The primary item is the one the work's content hash names (the first registered).
        let primary = rows.iter().find(|r| r.sha256.as_str() == work.content_sha256).unwrap_or(&rows[0]);
        let bytes = match content.get(&primary.sha256) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(NotaryError::Unprovable(format!("work {id}: its content file is missing")))
            }
            Err(e) => return Err(e.into()),
        };
        // The timestamp covers the file as submitted (a `.txt` before its first line became the title),
        // so the submitter's own file verifies with stock OpenSSL; Data and Instance codes describe it too.
        let stamped = primary.source_sha256.clone().unwrap_or_else(|| primary.sha256.clone());
        let file_bytes = match &primary.source_sha256 {
            Some(source) => content.get(source).unwrap_or_else(|_| bytes.clone()),
            None => bytes.clone(),
        };
        let iscc = iscc_codes(&work.title, primary.kind, &bytes, &file_bytes);
        let mut items = Vec::with_capacity(rows.len());
        items.push(item_json(primary, bytes.len(), file_bytes.len()));
        for row in rows.iter().filter(|r| r.sha256 != primary.sha256) {
            let size = |h: &crate::domain::Sha256Hex| {
                let len = std::fs::metadata(content.path(h)).map(|m| m.len()).unwrap_or(0);
                usize::try_from(len).unwrap_or(usize::MAX)
            };
            let file_len = row.source_sha256.as_ref().map_or(0, size);
            items.push(item_json(row, size(&row.sha256), file_len));
        }
        let facts = RegistrationFacts {
            work: work.id.as_str().to_owned(),
            owner: work.owner.as_str().to_owned(),
            title: work.title.clone(),
            author: work.author.clone(),
            content_sha256: stamped.as_str().to_owned(),
            items: items.iter().filter_map(|i| i["sha256"].as_str().map(str::to_owned)).collect(),
            iscc: iscc["iscc"].as_str().unwrap_or_default().to_owned(),
            registered_at: work.registered_at.to_string(),
        };
        let imprint: Hash = hex_hash(stamped.as_str())
            .ok_or_else(|| NotaryError::Unprovable(format!("work {id}: its content hash is not SHA-256")))?;
        let tsr = self.stamp(imprint, now)?;
        Ok(PendingWork { facts, iscc: json!({"codes": iscc, "items": items, "sha256": stamped.as_str()}), tsr })
    }

    fn licence_leaf(&self, store: &SqliteStore, id: &LicenceId) -> Result<Option<Vec<u8>>, NotaryError> {
        let Some(l) = store.licence(id)? else { return Ok(None) };
        let Some(work) = store.work(&l.work)? else { return Ok(None) };
        Ok(Some(licence_leaf(&l, &work)))
    }

    /// Drains, refreshes the seals of works just registered and signs a checkpoint if the log grew:
    /// what the server's scheduler and the command line run. Returns the works registered.
    pub fn run(
        &self,
        store: &mut SqliteStore,
        content: &ContentStore,
        seals: Option<(&crate::services::seal::SealCache, &str)>,
        now: Timestamp,
    ) -> Result<usize, NotaryError> {
        let (works, appended) = self.drain(store, content, now)?;
        if let Some((cache, base)) = seals {
            for w in &works {
                cache.refresh_work(store, base, w)?;
            }
        }
        if appended > 0 || !works.is_empty() {
            self.checkpoint(store, now)?;
        }
        Ok(works.len())
    }

    /// The newest checkpoint, signing and timestamping a new one first if the log has grown.
    pub fn checkpoint(&self, store: &mut SqliteStore, now: Timestamp) -> Result<StoredCheckpoint, NotaryError> {
        let size = store.log_size()?;
        if let Some(c) = store.latest_checkpoint()? {
            if c.size >= size {
                return Ok(c);
            }
        }
        let root = store.log_root(size)?;
        let text = Checkpoint { origin: self.origin.clone(), size, root }.to_text();
        let note = note::sign(&text, &self.origin, self.key.signing_key())?;
        let tsr = self.stamp(Sha256::digest(note.as_bytes()).into(), now)?;
        let checkpoint = StoredCheckpoint { size, origin: self.origin.clone(), root, note, tsr, at: now };
        store.put_checkpoint(&checkpoint)?;
        // Another process may have signed the same size first; theirs is the one published.
        Ok(store.checkpoint_of_size(size)?.unwrap_or(checkpoint))
    }

    /// The `log` block of a document: the leaf's inclusion proof against the newest checkpoint.
    pub fn log_block(&self, store: &mut SqliteStore, leaf: u64, now: Timestamp) -> Result<Value, NotaryError> {
        let checkpoint = self.checkpoint(store, now)?;
        let data = store.log_leaf(leaf)?.ok_or_else(|| NotaryError::NotFound(format!("log entry {leaf}")))?;
        let proof = store.log_inclusion(leaf, checkpoint.size)?;
        Ok(json!({
            "origin": checkpoint.origin,
            "index": leaf,
            "tree_size": checkpoint.size,
            "leaf": String::from_utf8_lossy(&data.data),
            "leaf_hash": b64(&seal_licensing::merkle::leaf_hash(&data.data)),
            "root_hash": b64(&checkpoint.root),
            "checkpoint": checkpoint.note,
            "checkpoint_timestamp": b64(&checkpoint.tsr),
            "inclusion_proof": proof.iter().map(|h| b64(h)).collect::<Vec<_>>(),
        }))
    }

    /// The signed registration certificate of a work (notarising it first if needed).
    pub fn certificate(
        &self,
        store: &mut SqliteStore,
        content: &ContentStore,
        work_id: &WorkId,
        now: Timestamp,
    ) -> Result<Value, NotaryError> {
        let work = store.work(work_id)?.ok_or_else(|| NotaryError::NotFound(format!("work {work_id}")))?;
        let registration = self.ensure_registration(store, content, work_id, now)?;
        let holder = store.holder(&work.owner)?;
        let info = tsa::inspect(&registration.tsr)?;
        let external: Vec<Value> = store
            .external_stamps(work_id.as_str())?
            .into_iter()
            .filter_map(|s| {
                let tsr = s.tsr?;
                let time = tsa::inspect(&tsr).map(|i| i.time.to_string()).unwrap_or_default();
                Some(json!({"authority": s.authority, "time": time, "token": b64(&tsr)}))
            })
            .collect();
        let codes = &registration.iscc["codes"];
        let body = json!({
            "type": CERTIFICATE_TYPE,
            "version": 1,
            "issuer": {"name": ISSUER, "base_url": self.public_url, "key_id": self.key.public().kid()},
            "work": {
                "id": work.id.as_str(),
                "title": work.title,
                "author": work.author,
                "owner": {"id": work.owner.as_str(), "name": holder.map(|h| h.name).unwrap_or_default()},
                "source_url": if work.source_url.is_empty() { Value::Null } else { Value::String(work.source_url.clone()) },
                "published_at": work.published_at.to_string(),
                "registered_at": work.registered_at.to_string(),
            },
            "time_zone": {"name": "Asia/Shanghai", "offset_minutes": 480},
            "content": {"sha256": registration.iscc["sha256"], "items": registration.iscc["items"]},
            "iscc": codes,
            "timestamp": {
                "authority": info.tsa_name,
                "time": info.time.to_string(),
                "serial": info.serial,
                "hash_algorithm": "SHA-256",
                "token": b64(&registration.tsr),
            },
            "external_timestamps": external,
            "log": self.log_block(store, registration.leaf, now)?,
            "verify_url": self.verify_url(work.id.as_str()),
            "issued_at": now.to_string(),
        });
        Ok(certificate::sign_document(&self.key, body))
    }
}

/// The public keys a verifier needs: the platform key (JWK), the log's C2SP verifier key and the TSA's
/// certificate chain (PEM). `seal keys export --dir` writes the same three as files.
pub fn key_bundle(notary: &Notary) -> Value {
    json!({
        "platform_jwk": notary.key.public().to_jwk(),
        "log_origin": notary.origin,
        "log_verifier_key": notary.log_verifier_key(),
        "tsa_pem": notary.tsa.chain_pem(),
    })
}

struct PendingWork {
    facts: RegistrationFacts,
    iscc: Value,
    tsr: Vec<u8>,
}

enum Pending {
    Work(Box<PendingWork>),
    Licence(LicenceId, Vec<u8>),
}

/// Appends one pending record inside the caller's unit; false when it was recorded already.
fn apply(s: &mut SqliteStore, p: &Pending, now: Timestamp) -> Result<bool, NotaryError> {
    match p {
        Pending::Work(w) => {
            if s.registration(&w.facts.work)?.is_some() {
                return Ok(false);
            }
            let leaf = certificate::registration_leaf(&w.facts);
            let index = s.log_append("registration", &w.facts.work, &leaf, now)?;
            let stamped_at = tsa::inspect(&w.tsr)?.time;
            s.put_registration(&Registration {
                work: w.facts.work.clone(),
                leaf: index,
                iscc: w.iscc.clone(),
                tsr: w.tsr.clone(),
                stamped_at,
            })?;
            Ok(true)
        }
        Pending::Licence(id, leaf) => {
            if s.log_leaf_for("licence", id.as_str())?.is_some() {
                return Ok(false);
            }
            s.log_append("licence", id.as_str(), leaf, now)?;
            Ok(true)
        }
    }
}

/// The exact bytes of a licence's log leaf: who may use which content, from when to when.
pub fn licence_leaf(l: &seal_licensing::licence::Licence, work: &seal_licensing::offer::Work) -> Vec<u8> {
    certificate::canonical_json(&json!({
        "type": "licence",
        "licence": l.id.as_str(),
        "work": work.id.as_str(),
        "content_sha256": work.content_sha256,
        "licensor": work.owner.as_str(),
        "licensee": l.licensee.as_str(),
        "valid_from": l.valid_from.to_string(),
        "valid_until": l.valid_until.map(|t| t.to_string()),
        "granted_at": l.created_at.to_string(),
    }))
    .into_bytes()
}

/// A content item as the certificate lists it: the registered content, and the file it was derived
/// from when they differ.
fn item_json(row: &crate::store::contents::ContentRow, bytes: usize, file_bytes: usize) -> Value {
    let mut item = json!({"kind": row.kind.as_str(), "file": row.file, "sha256": row.sha256.as_str(), "bytes": bytes});
    if let Some(source) = &row.source_sha256 {
        item["file_sha256"] = json!(source.as_str());
        item["file_bytes"] = json!(file_bytes);
    }
    item
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hex_hash(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
}

/// The ISCC codes of a work: Meta from its title, Content from its text or image, Data and Instance
/// from the primary item's bytes, combined into the ISCC-CODE. When the engine cannot read the content
/// (an image it cannot decode, a page without text) the Content-Code is left out of the combination,
/// which the standard allows; when even that fails, the codes are null and the certificate says so.
pub fn iscc_codes(title: &str, kind: ContentKind, bytes: &[u8], file: &[u8]) -> Value {
    use seal_engine::iscc::{codes_for, ContentInput};
    let text;
    let luma;
    let content = match kind {
        ContentKind::Text | ContentKind::Html => {
            let engine_kind = if kind == ContentKind::Html {
                seal_engine::text::ContentKind::Html
            } else {
                seal_engine::text::ContentKind::PlainText
            };
            text = seal_engine::text::extract(bytes, engine_kind, &seal_engine::text::ExtractConfig::default()).ok();
            text.as_ref().map(|e| ContentInput::Text(&e.text))
        }
        ContentKind::Image => {
            // 32×32 is all the Image-Code looks at, so a draft decode at 64 px on the short side is plenty.
            luma = seal_engine::image::decode_luma(bytes, &seal_engine::image::DecodeLimits::default(), 64).ok();
            luma.as_ref().map(|d| ContentInput::from(&d.luma))
        }
    };
    let codes = codes_for(title, "", content, file).or_else(|_| codes_for(title, "", None, file));
    match codes {
        Ok(c) => json!({
            "iscc": c.iscc, "meta": c.meta, "content": c.content, "data": c.data, "instance": c.instance,
            "datahash": c.datahash,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "ISCC codes");
            json!({"iscc": null, "meta": null, "content": null, "data": null, "instance": null})
        }
    }
}
