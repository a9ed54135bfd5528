//! Migration 12 and its queries: the transparency log, its signed checkpoints, registration records and
//! timestamps from external authorities.
//!
//! - `log_leaves`: one row per leaf, its index the row id, holding the exact bytes that were hashed
//!   (so anyone handed the leaf can recompute its hash) and what it is about (`kind`, `subject`).
//! - `log_nodes`: the complete subtree hashes of `seal_licensing::merkle`'s storage model, keyed by
//!   `(level, idx)` in a `WITHOUT ROWID` table. An append writes the leaf's node and on average one
//!   parent, always at the right edge of the B-tree, so appends cost the same at 10M leaves as at ten;
//!   a root or proof reads O(log² n) rows. Rows are never updated: the log is append-only by
//!   construction, and a `BEFORE UPDATE`/`BEFORE DELETE` trigger refuses any attempt.
//! - `log_checkpoints`: each signed checkpoint (C2SP signed note) with the RFC 3161 response that
//!   timestamps it, so history cannot be rewritten quietly after a checkpoint was published.
//! - `registrations`: a work's proof record (its log leaf, ISCC codes, our TSA's response).
//! - `timestamps`: responses of external TSAs, next to ours.

use super::sqlite::corrupt;
use super::{SqliteStore, StoreError};
use crate::store::unit::begin;
use rusqlite::{params, Connection, OptionalExtension};
use seal_licensing::merkle::{self, Hash, NodeStore, Stored};
use seal_licensing::Timestamp;
use std::cell::RefCell;

/// The log, checkpoints, registrations and external timestamps (schema version 12).
pub(super) const MIGRATION_12: &str = r#"
CREATE TABLE log_leaves (
    idx INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    data BLOB NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX log_leaves_by_subject ON log_leaves(kind, subject);

CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER log_leaves_append_only_u BEFORE UPDATE ON log_leaves BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_leaves_append_only_d BEFORE DELETE ON log_leaves BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_nodes_append_only_u BEFORE UPDATE ON log_nodes BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_nodes_append_only_d BEFORE DELETE ON log_nodes BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;

CREATE TABLE log_checkpoints (
    size INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    tsr BLOB NOT NULL,
    at INTEGER NOT NULL
) STRICT;

CREATE TABLE registrations (
    work TEXT PRIMARY KEY REFERENCES works(id),
    leaf INTEGER NOT NULL UNIQUE REFERENCES log_leaves(idx),
    iscc TEXT NOT NULL,
    tsr BLOB NOT NULL,
    stamped_at INTEGER NOT NULL
) STRICT;

CREATE TABLE timestamps (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    authority TEXT NOT NULL,
    tsr BLOB,
    error TEXT,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX timestamps_by_subject ON timestamps(subject, id);

CREATE INDEX work_contents_by_sha256 ON work_contents(sha256);
ALTER TABLE work_contents ADD COLUMN source_sha256 TEXT CHECK (source_sha256 IS NULL OR length(source_sha256) = 64);
CREATE INDEX work_contents_by_source ON work_contents(source_sha256) WHERE source_sha256 IS NOT NULL;
"#;

/// A leaf of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLeaf {
    /// Its position (0-based).
    pub index: u64,
    /// What it records: `registration`, `licence`, `evidence`.
    pub kind: String,
    /// The record's id (a work, a licence, a capture).
    pub subject: String,
    /// The exact bytes whose leaf hash is in the tree.
    pub data: Vec<u8>,
    /// When it was appended.
    pub at: Timestamp,
}

/// A signed checkpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size it commits to.
    pub size: u64,
    /// The log's origin line.
    pub origin: String,
    /// The root hash.
    pub root: Hash,
    /// The signed note (C2SP), text.
    pub note: String,
    /// The RFC 3161 response over SHA-256 of `note`.
    pub tsr: Vec<u8>,
    /// When it was signed.
    pub at: Timestamp,
}

/// A work's registration record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The work id.
    pub work: String,
    /// Its leaf in the log.
    pub leaf: u64,
    /// The ISCC codes, as a JSON object.
    pub iscc: serde_json::Value,
    /// Our TSA's response over the content hash.
    pub tsr: Vec<u8>,
    /// The time the TSA put in it.
    pub stamped_at: Timestamp,
}

/// A response from an external TSA, or the reason there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalStamp {
    /// The authority's URL.
    pub authority: String,
    /// The response, when the request succeeded.
    pub tsr: Option<Vec<u8>>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was asked.
    pub at: Timestamp,
}

/// The transparency log and proof records.
pub trait Proofs {
    /// The number of leaves.
    fn log_size(&self) -> Result<u64, StoreError>;
    /// Appends a leaf and returns its index. Inside a unit, it commits with the rest of the unit.
    fn log_append(&mut self, kind: &str, subject: &str, data: &[u8], now: Timestamp) -> Result<u64, StoreError>;
    /// A leaf by index.
    fn log_leaf(&self, index: u64) -> Result<Option<LogLeaf>, StoreError>;
    /// The first leaf of a kind about a subject.
    fn log_leaf_for(&self, kind: &str, subject: &str) -> Result<Option<LogLeaf>, StoreError>;
    /// The root hash of the first `size` leaves (`size` ≤ the log's size).
    fn log_root(&self, size: u64) -> Result<Hash, StoreError>;
    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    fn log_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError>;
    /// The consistency proof from `old_size` to `size`.
    fn log_consistency(&self, old_size: u64, size: u64) -> Result<Vec<Hash>, StoreError>;
    /// The newest checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The origin of the first checkpoint, which names the log for good.
    fn first_checkpoint_origin(&self) -> Result<Option<String>, StoreError>;
    /// The checkpoint of exactly this size.
    fn checkpoint_of_size(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// Stores a checkpoint; false when one of that size exists already (it is not replaced).
    fn put_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError>;
    /// Stores a registration record; false when the work has one already.
    fn put_registration(&mut self, registration: &Registration) -> Result<bool, StoreError>;
    /// A work's registration record.
    fn registration(&self, work: &str) -> Result<Option<Registration>, StoreError>;
    /// Registrations whose log leaf is at least `from`, in log order, at most `limit`: the queue an
    /// external TSA works through with a cursor.
    fn registrations_from_leaf(&self, from: u64, limit: usize) -> Result<Vec<Registration>, StoreError>;
    /// Every registration as (work, leaf, stamped_at), for rendering seals.
    fn registration_summaries(&self) -> Result<Vec<(String, u64, Timestamp)>, StoreError>;
    /// Works with content and no registration record yet (registered before migration 12, or whose
    /// notarisation has not run), oldest first, after the row `after`: (row, work id).
    fn works_without_registration(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError>;
    /// A work holding content with this SHA-256 (hex), any owner's: the oldest.
    fn work_with_content_hash(&self, sha256: &str) -> Result<Option<String>, StoreError>;
    /// Records an external TSA's answer.
    fn put_external_stamp(&mut self, subject: &str, stamp: &ExternalStamp) -> Result<(), StoreError>;
    /// External answers about a subject, oldest first.
    fn external_stamps(&self, subject: &str) -> Result<Vec<ExternalStamp>, StoreError>;
}

/// `log_nodes` seen through `merkle::NodeStore`, whose methods cannot fail: the first SQLite error is
/// kept and the operation reports it afterwards ([`Nodes::finish`]), so an unreadable row can never
/// pass for an absent one.
struct Nodes<'c> {
    conn: &'c Connection,
    error: RefCell<Option<rusqlite::Error>>,
}

impl<'c> Nodes<'c> {
    fn new(conn: &'c Connection) -> Nodes<'c> {
        Nodes { conn, error: RefCell::new(None) }
    }

    fn keep(&self, e: rusqlite::Error) {
        self.error.borrow_mut().get_or_insert(e);
    }

    fn finish<T>(self, value: Option<T>, what: &str) -> Result<T, StoreError> {
        if let Some(e) = self.error.into_inner() {
            return Err(e.into());
        }
        value.ok_or_else(|| corrupt("log_nodes", format!("{what}: a node is missing")))
    }
}

impl NodeStore for Nodes<'_> {
    fn node(&self, level: u32, index: u64) -> Option<Hash> {
        let row: rusqlite::Result<Option<Vec<u8>>> = self
            .conn
            .prepare_cached("SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2")
            .and_then(|mut s| s.query_row(params![level, index_sql(index)], |r| r.get(0)).optional());
        match row {
            Ok(Some(bytes)) => bytes.try_into().ok(),
            Ok(None) => None,
            Err(e) => {
                self.keep(e);
                None
            }
        }
    }

    fn put_node(&mut self, level: u32, index: u64, hash: Hash) {
        let done = self
            .conn
            .prepare_cached("INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![level, index_sql(index), &hash[..]]));
        if let Err(e) = done {
            self.keep(e);
        }
    }
}

/// SQLite integers are signed; a log never reaches 2^63 leaves.
fn index_sql(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

fn hash_of(table: &'static str, bytes: Vec<u8>) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| corrupt(table, "a hash is not 32 bytes"))
}

fn leaf_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogLeaf> {
    Ok(LogLeaf {
        index: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
        kind: r.get(1)?,
        subject: r.get(2)?,
        data: r.get(3)?,
        at: Timestamp::from_unix_ms(r.get(4)?),
    })
}

/// A `log_checkpoints` row as selected: size, origin, root, note, tsr, at.
type CheckpointRow = (i64, String, Vec<u8>, String, Vec<u8>, i64);

fn checkpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_checkpoint(row: CheckpointRow) -> Result<StoredCheckpoint, StoreError> {
    let (size, origin, root, note, tsr, at) = row;
    Ok(StoredCheckpoint {
        size: u64::try_from(size).map_err(|e| corrupt("log_checkpoints", e))?,
        origin,
        root: hash_of("log_checkpoints", root)?,
        note,
        tsr,
        at: Timestamp::from_unix_ms(at),
    })
}

const CHECKPOINT_COLUMNS: &str = "size, origin, root, note, tsr, at";

impl SqliteStore {
    fn checked_size(&self, size: u64) -> Result<(), StoreError> {
        let have = self.log_size()?;
        if size > have {
            return Err(StoreError::OutOfRange(format!("the log has {have} leaves, not {size}")));
        }
        Ok(())
    }
}

impl Proofs for SqliteStore {
    fn log_size(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves", [], |r| r.get(0))?;
        u64::try_from(n).map_err(|e| corrupt("log_leaves", e))
    }

    fn log_append(&mut self, kind: &str, subject: &str, data: &[u8], now: Timestamp) -> Result<u64, StoreError> {
        let tx = begin(&self.conn)?;
        let size = self.log_size()?;
        tx.prepare_cached("INSERT INTO log_leaves (idx, kind, subject, data, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![index_sql(size), kind, subject, data, now.unix_ms()])?;
        let mut nodes = Nodes::new(&tx);
        merkle::append(&mut nodes, size, merkle::leaf_hash(data));
        nodes.finish(Some(()), "append")?;
        tx.commit()?;
        Ok(size)
    }

    fn log_leaf(&self, index: u64) -> Result<Option<LogLeaf>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT idx, kind, subject, data, at FROM log_leaves WHERE idx = ?1")?
            .query_row([index_sql(index)], leaf_row)
            .optional()?)
    }

    fn log_leaf_for(&self, kind: &str, subject: &str) -> Result<Option<LogLeaf>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT idx, kind, subject, data, at FROM log_leaves WHERE kind = ?1 AND subject = ?2 ORDER BY idx LIMIT 1",
            )?
            .query_row(params![kind, subject], leaf_row)
            .optional()?)
    }

    fn log_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.checked_size(size)?;
        let nodes = Nodes::new(&self.conn);
        let root = merkle::stored_root(&nodes, size);
        nodes.finish(root, "root")
    }

    fn log_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.checked_size(size)?;
        if index >= size {
            return Err(StoreError::OutOfRange(format!("leaf {index} is not in a tree of {size} leaves")));
        }
        let nodes = Nodes::new(&self.conn);
        let proof = merkle::inclusion_proof_in(&Stored(&nodes), size, index);
        nodes.finish(proof, "inclusion proof")
    }

    fn log_consistency(&self, old_size: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.checked_size(size)?;
        if old_size > size {
            return Err(StoreError::OutOfRange(format!("a tree of {old_size} leaves cannot become one of {size}")));
        }
        let nodes = Nodes::new(&self.conn);
        let proof = merkle::consistency_proof_in(&Stored(&nodes), size, old_size);
        nodes.finish(proof, "consistency proof")
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM log_checkpoints ORDER BY size DESC LIMIT 1");
        self.conn.query_row(&sql, [], checkpoint_row).optional()?.map(to_checkpoint).transpose()
    }

    fn first_checkpoint_origin(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT origin FROM log_checkpoints ORDER BY size LIMIT 1", [], |r| r.get(0))
            .optional()?)
    }

    fn checkpoint_of_size(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM log_checkpoints WHERE size = ?1");
        self.conn.query_row(&sql, [index_sql(size)], checkpoint_row).optional()?.map(to_checkpoint).transpose()
    }

    fn put_checkpoint(&mut self, c: &StoredCheckpoint) -> Result<bool, StoreError> {
        let tx = begin(&self.conn)?;
        let n = tx.execute(
            "INSERT INTO log_checkpoints (size, origin, root, note, tsr, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (size) DO NOTHING",
            params![index_sql(c.size), c.origin, &c.root[..], c.note, c.tsr, c.at.unix_ms()],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    fn put_registration(&mut self, r: &Registration) -> Result<bool, StoreError> {
        let tx = begin(&self.conn)?;
        let n = tx.execute(
            "INSERT INTO registrations (work, leaf, iscc, tsr, stamped_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (work) DO NOTHING",
            params![r.work, index_sql(r.leaf), r.iscc.to_string(), r.tsr, r.stamped_at.unix_ms()],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    fn registration(&self, work: &str) -> Result<Option<Registration>, StoreError> {
        let row: Option<RegistrationRow> = self
            .conn
            .prepare_cached("SELECT work, leaf, iscc, tsr, stamped_at FROM registrations WHERE work = ?1")?
            .query_row([work], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .optional()?;
        row.map(registration_of).transpose()
    }

    fn registrations_from_leaf(&self, from: u64, limit: usize) -> Result<Vec<Registration>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT work, leaf, iscc, tsr, stamped_at FROM registrations WHERE leaf >= ?1 ORDER BY leaf LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![i64::try_from(from).unwrap_or(i64::MAX), i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(registration_of(row?)?);
        }
        Ok(out)
    }

    fn registration_summaries(&self) -> Result<Vec<(String, u64, Timestamp)>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT work, leaf, stamped_at FROM registrations")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0), Timestamp::from_unix_ms(r.get(2)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn works_without_registration(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT w.rowid, w.id FROM works w
             WHERE w.rowid > ?1
               AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.work = w.id)
               AND EXISTS (SELECT 1 FROM work_contents c WHERE c.work = w.id)
             ORDER BY w.rowid LIMIT ?2",
        )?;
        let rows =
            stmt.query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn work_with_content_hash(&self, sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT work FROM (SELECT work, engine_id FROM work_contents WHERE sha256 = ?1
                 UNION ALL SELECT work, engine_id FROM work_contents WHERE source_sha256 = ?1)
                 ORDER BY engine_id LIMIT 1",
            )?
            .query_row([sha256], |r| r.get(0))
            .optional()?)
    }

    fn put_external_stamp(&mut self, subject: &str, s: &ExternalStamp) -> Result<(), StoreError> {
        let tx = begin(&self.conn)?;
        tx.execute(
            "INSERT INTO timestamps (subject, authority, tsr, error, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![subject, s.authority, s.tsr, s.error, s.at.unix_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn external_stamps(&self, subject: &str) -> Result<Vec<ExternalStamp>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT authority, tsr, error, at FROM timestamps WHERE subject = ?1 ORDER BY id")?;
        let rows = stmt.query_map([subject], |r| {
            Ok(ExternalStamp {
                authority: r.get(0)?,
                tsr: r.get(1)?,
                error: r.get(2)?,
                at: Timestamp::from_unix_ms(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A `registrations` row as read by the queries above.
type RegistrationRow = (String, i64, String, Vec<u8>, i64);

fn registration_of((work, leaf, iscc, tsr, at): RegistrationRow) -> Result<Registration, StoreError> {
    Ok(Registration {
        work,
        leaf: u64::try_from(leaf).map_err(|e| corrupt("registrations", e))?,
        iscc: serde_json::from_str(&iscc).map_err(|e| corrupt("registrations", e))?,
        tsr,
        stamped_at: Timestamp::from_unix_ms(at),
    })
}
