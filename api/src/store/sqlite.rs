//! The SQLite backend: WAL journal with `synchronous=FULL` (a commit is durable when it returns), STRICT
//! tables, money as INTEGER minor units, and versioned migrations run on open.
//!
//! The database repeats the domain's most important rules as constraints, so a bug in the Rust code
//! cannot write them wrongly either: transfers are append-only (triggers), a pending transfer is
//! resolved at most once (a unique index on `pending_id`), balances and amounts are non-negative
//! (CHECKs), and an invoice number must be the series' last number plus one (a trigger), so series have
//! no gaps.
//!
//! Domain records that are read whole (holders, works, offers, licences' offer snapshots) are kept as a
//! JSON `doc` column beside the columns queries and constraints need.

use super::{HolderTotals, Repository, SettleOptions, SettlementReport, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use seal_licensing::book::{self, BookStore, Outcome, Payout, PurchaseCommand};
use seal_licensing::ids::{ChannelId, LicenceId, OfferId, OperationId, PartyId, TransferId, WorkId};
use seal_licensing::invoice::Invoice;
use seal_licensing::ledger::{
    self, Account, AccountId, Balances, LedgerStore, PendingState, Transfer, TransferAction, TransferRequest,
};
use seal_licensing::licence::{Licence, LicenceStatus, ObjectionKind, Resolution};
use seal_licensing::memory::Snapshot;
use seal_licensing::money::{Amount, Currency};
use seal_licensing::offer::{Channel, Offer, RightsHolder, Work};
use seal_licensing::Timestamp;
use std::path::Path;

/// Versioned migrations, applied in order, each in its own transaction. Never edit a released one:
/// add a new version.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, MIGRATION_1),
    (2, super::platform::MIGRATION_2),
    (3, super::platform::MIGRATION_3),
    (4, super::platform::MIGRATION_4),
    (5, super::platform::MIGRATION_5),
    (6, super::contents::MIGRATION_6),
    (7, super::platform::MIGRATION_7),
    (8, super::monitoring::MIGRATION_8),
    (9, super::monitoring::MIGRATION_9),
    (10, super::usage::MIGRATION_10),
    (11, super::team::MIGRATION_11),
    (12, super::proof::MIGRATION_12),
    (13, super::cases::MIGRATION_13),
    (14, super::platform::MIGRATION_14),
    (15, super::listing::MIGRATION_15),
    (16, super::notifications::MIGRATION_16),
    (17, super::monitoring::MIGRATION_17),
    (18, super::platform::MIGRATION_18),
];

const MIGRATION_1: &str = r#"
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    debits_pending INTEGER NOT NULL CHECK (debits_pending >= 0),
    debits_posted INTEGER NOT NULL CHECK (debits_posted >= 0),
    credits_pending INTEGER NOT NULL CHECK (credits_pending >= 0),
    credits_posted INTEGER NOT NULL CHECK (credits_posted >= 0)
) STRICT;

CREATE TABLE transfers (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('posted', 'pending', 'post', 'void')),
    debit TEXT NOT NULL REFERENCES accounts(id),
    credit TEXT NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    pending_id TEXT REFERENCES transfers(id),
    requested_amount INTEGER CHECK (requested_amount IS NULL OR requested_amount > 0),
    reference TEXT NOT NULL,
    ts INTEGER NOT NULL,
    CHECK ((kind IN ('post', 'void')) = (pending_id IS NOT NULL)),
    CHECK (debit <> credit)
) STRICT;
CREATE UNIQUE INDEX transfers_resolve_once ON transfers(pending_id) WHERE pending_id IS NOT NULL;
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
    BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
    BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;

CREATE TABLE pending (
    id TEXT PRIMARY KEY REFERENCES transfers(id),
    state TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    resolved_by TEXT REFERENCES transfers(id),
    posted_amount INTEGER CHECK (posted_amount IS NULL OR posted_amount > 0),
    CHECK ((state = 'pending') = (resolved_by IS NULL))
) STRICT;

CREATE TABLE holders (id TEXT PRIMARY KEY, doc TEXT NOT NULL) STRICT;
CREATE TABLE channels (id TEXT PRIMARY KEY, owner TEXT NOT NULL REFERENCES holders(id), doc TEXT NOT NULL) STRICT;
CREATE TABLE works (id TEXT PRIMARY KEY, owner TEXT NOT NULL REFERENCES holders(id), doc TEXT NOT NULL) STRICT;
CREATE TABLE offers (id TEXT PRIMARY KEY, assigner TEXT NOT NULL REFERENCES holders(id), doc TEXT NOT NULL) STRICT;

CREATE TABLE licences (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('free', 'held', 'frozen', 'settled', 'refunded')),
    holder TEXT NOT NULL REFERENCES holders(id),
    licensee TEXT NOT NULL,
    work TEXT NOT NULL REFERENCES works(id),
    currency TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    net_minor INTEGER NOT NULL CHECK (net_minor >= 0 AND net_minor <= price_minor),
    hold_until INTEGER NOT NULL,
    payout TEXT,
    doc TEXT NOT NULL,
    CHECK (payout IS NULL OR status = 'settled')
) STRICT;
CREATE INDEX licences_due ON licences(hold_until, id) WHERE status = 'held';
CREATE INDEX licences_unpaid ON licences(holder, currency, id) WHERE status = 'settled' AND payout IS NULL;
CREATE TRIGGER licences_paid_once BEFORE UPDATE OF payout ON licences
    WHEN OLD.payout IS NOT NULL AND NEW.payout IS NOT OLD.payout
    BEGIN SELECT RAISE(ABORT, 'a licence is paid out at most once'); END;
CREATE TRIGGER licences_final BEFORE UPDATE OF status ON licences
    WHEN OLD.status IN ('settled', 'refunded', 'free') AND NEW.status <> OLD.status
    BEGIN SELECT RAISE(ABORT, 'settled, refunded and free are final'); END;

CREATE TABLE invoices (
    series TEXT NOT NULL,
    number INTEGER NOT NULL CHECK (number > 0),
    licence TEXT NOT NULL UNIQUE REFERENCES licences(id),
    currency TEXT NOT NULL,
    total_minor INTEGER NOT NULL CHECK (total_minor >= 0),
    issued_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (series, number)
) STRICT;
CREATE TRIGGER invoices_gapless BEFORE INSERT ON invoices
    WHEN NEW.number <> COALESCE((SELECT MAX(number) FROM invoices WHERE series = NEW.series), 0) + 1
    BEGIN SELECT RAISE(ABORT, 'invoice numbers must not have gaps'); END;

CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    holder TEXT NOT NULL REFERENCES holders(id),
    currency TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
) STRICT;
CREATE INDEX payouts_by_holder ON payouts(holder, currency);

CREATE TABLE operations (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL) STRICT;
"#;

/// The SQLite store.
pub struct SqliteStore {
    pub(super) conn: Connection,
    /// Use-case units open on this connection ([`SqliteStore::atomically`]).
    pub(super) units: u32,
}

pub(super) fn corrupt(table: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt { table, detail: detail.to_string() }
}

pub(super) fn to_doc<T: serde::Serialize>(v: &T) -> String {
    // Serialising our own plain data types cannot fail (no maps with non-string keys, no floats).
    serde_json::to_string(v).unwrap_or_else(|e| unreachable!("serialising a domain record: {e}"))
}

pub(super) fn from_doc<T: serde::de::DeserializeOwned>(table: &'static str, doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| corrupt(table, e))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(corrupt("pragma", format!("journal_mode is {mode}, not wal")));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;")?;
        // Neither changes what is durable, only where a transaction's working set lives. Batch
        // registration takes a savepoint per work, whose statement journal SQLite otherwise writes to
        // a temporary file on disk; and a batch of 1,000 works touches more index pages than the
        // default 2 MB page cache holds, so pages spilled to the WAL mid-transaction and were read
        // back. Profiling `cargo bench --bench monitor` with its data on tmpfs (so that the disk does
        // not hide CPU costs) put those two at about a quarter of an import's samples.
        conn.execute_batch("PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;")?;
        let mut store = SqliteStore { conn, units: 0 };
        store.migrate()?;
        Ok(store)
    }

    /// Opens `DIR/seal.db`.
    pub fn open_in(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        Self::open(&data_dir.join("seal.db"))
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?)
    }

    /// The journal mode and `synchronous` level in force on this connection (`("wal", 2)` = WAL, FULL).
    pub fn durability(&self) -> Result<(String, i64), StoreError> {
        let mode: String = self.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let sync: i64 = self.conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        Ok((mode, sync))
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it reports "ok".
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let result: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(corrupt("database", result))
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL) STRICT;",
        )?;
        let current = self.schema_version()?;
        let supported = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > supported {
            return Err(StoreError::TooNew { found: current, supported });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            let tx = super::unit::begin(&self.conn)?;
            // Re-check inside the write lock: another process may have migrated meanwhile.
            let now_version: i64 =
                tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
            if now_version >= *version {
                continue;
            }
            tx.execute_batch(sql)?;
            let applied = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?1, ?2)",
                params![version, applied],
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Runs `f` in one IMMEDIATE transaction (the write lock is taken up front, so no deadlock-prone
    /// lock upgrade), committing on `Ok` and rolling back on `Err`.
    fn write<T>(&mut self, f: impl FnOnce(&mut Sql<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let value = f(&mut Sql(&tx))?;
        tx.commit()?;
        Ok(value)
    }

    fn read(&self) -> Sql<'_> {
        Sql(&self.conn)
    }
}

impl Repository for SqliteStore {
    fn register_holder(&mut self, holder: &RightsHolder) -> Result<(), StoreError> {
        self.write(|s| Ok(book::register_holder(s, holder)?))
    }

    fn register_channel(&mut self, channel: &Channel) -> Result<(), StoreError> {
        self.write(|s| Ok(book::register_channel(s, channel)?))
    }

    fn register_work(&mut self, work: &Work) -> Result<(), StoreError> {
        self.write(|s| Ok(book::register_work(s, work)?))
    }

    fn publish_offer(&mut self, offer: &Offer) -> Result<(), StoreError> {
        self.write(|s| Ok(book::publish_offer(s, offer)?))
    }
    fn withdraw_offer(&mut self, id: &OfferId, assigner: &PartyId, now: Timestamp) -> Result<Offer, StoreError> {
        self.write(|s| Ok(book::withdraw_offer(s, id, assigner, now)?))
    }

    fn purchase(&mut self, cmd: &PurchaseCommand, now: Timestamp) -> Result<Outcome<Licence>, StoreError> {
        self.write(|s| Ok(book::purchase(s, cmd, now)?))
    }

    fn purchase_batch(
        &mut self,
        cmds: &[PurchaseCommand],
        now: Timestamp,
    ) -> Result<Vec<Result<Outcome<Licence>, StoreError>>, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let mut results = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            // A nested unit is a savepoint: a refused purchase rolls back alone when it is dropped.
            let sp = super::unit::begin(&tx)?;
            let r = book::purchase(&mut Sql(&sp), cmd, now).map_err(StoreError::from);
            if r.is_ok() {
                sp.commit()?;
            }
            results.push(r);
        }
        tx.commit()?;
        Ok(results)
    }

    fn object(
        &mut self,
        op: &OperationId,
        licence: &LicenceId,
        kind: ObjectionKind,
        now: Timestamp,
    ) -> Result<Outcome<Licence>, StoreError> {
        self.write(|s| {
            let outcome = book::object(s, op, licence, kind, now)?;
            if !outcome.replayed {
                // The rights holder hears of it (`services::notifications`): the event commits with the
                // objection, whichever path raised it.
                let l = &outcome.value;
                let payload = serde_json::json!({
                    "holder": l.holder.as_str(), "licence": l.id.as_str(), "work": l.work.as_str(), "kind": kind,
                });
                super::contents::insert_event(s.0, "licence.objected", l.id.as_str(), &payload, now)?;
            }
            Ok(outcome)
        })
    }

    fn resolve(
        &mut self,
        op: &OperationId,
        licence: &LicenceId,
        resolution: Resolution,
        now: Timestamp,
    ) -> Result<Outcome<Licence>, StoreError> {
        self.write(|s| Ok(book::resolve(s, op, licence, resolution, now)?))
    }

    fn settle(&mut self, now: Timestamp, options: SettleOptions) -> Result<SettlementReport, StoreError> {
        let mut report = SettlementReport::default();
        let batch = options.batch.clamp(1, 10_000);
        loop {
            // Each batch is one transaction: every licence's postings and invoice commit together, and
            // a crash loses at most the batch in flight, which the next run settles again.
            let settled = self.write(|s| {
                let due = s.due_licences(now, batch)?;
                let mut done = Vec::with_capacity(due.len());
                for id in due {
                    if let Some(invoice) = book::settle_licence(s, &id, now)? {
                        let licence = s.licence(&id)?.ok_or_else(|| corrupt("licences", "vanished"))?;
                        done.push((invoice, licence));
                    }
                }
                Ok(done)
            })?;
            if settled.is_empty() {
                break;
            }
            for (invoice, l) in settled {
                let t =
                    report.by_holder.entry((l.holder.clone(), l.price.currency)).or_insert_with(HolderTotals::default);
                t.licences += 1;
                t.gross_minor += l.price.amount.minor();
                t.net_minor += l.split.net.minor();
                t.fees_minor += l.price.amount.minor() - l.split.net.minor();
                report.invoices.push(invoice.number);
            }
        }
        if options.payouts {
            for (holder, currency) in self.read().unpaid_holders()? {
                while let Some(p) = self.write(|s| Ok(book::pay_out(s, &holder, currency, now)?))? {
                    let t = report.by_holder.entry((holder.clone(), currency)).or_insert_with(HolderTotals::default);
                    t.payouts += 1;
                    t.paid_out_minor += p.amount.minor();
                    report.payouts.push(p);
                }
            }
        }
        Ok(report)
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM accounts ORDER BY id",
        )?;
        let rows = stmt.query_map([], account_row)?;
        rows.map(|r| r.map_err(StoreError::from).and_then(|x| x)).collect()
    }

    fn licence(&self, id: &LicenceId) -> Result<Option<Licence>, StoreError> {
        Ok(self.read().licence(id)?)
    }

    fn work(&self, id: &WorkId) -> Result<Option<Work>, StoreError> {
        Ok(self.read().work(id)?)
    }

    fn holder(&self, id: &PartyId) -> Result<Option<RightsHolder>, StoreError> {
        Ok(self.read().holder(id)?)
    }

    fn invoice_for(&self, licence: &LicenceId) -> Result<Option<Invoice>, StoreError> {
        let doc: Option<String> = self
            .conn
            .query_row("SELECT doc FROM invoices WHERE licence = ?1", [licence.as_str()], |r| r.get(0))
            .optional()?;
        doc.map(|d| from_doc("invoices", &d)).transpose()
    }

    fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut s = Snapshot::default();
        for a in self.accounts()? {
            s.accounts.insert(a.id.clone(), a);
        }
        let sql = Sql(&self.conn);
        let mut stmt = self.conn.prepare(&format!("{TRANSFER_SELECT} ORDER BY seq"))?;
        for t in stmt.query_map([], transfer_row)? {
            let t = t??;
            s.transfers.insert(t.id().clone(), t);
        }
        let mut stmt = self.conn.prepare("SELECT id FROM pending")?;
        for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let id = TransferId::new(id?).map_err(|e| corrupt("pending", e))?;
            if let Some(state) = sql.pending_state(&id)? {
                s.pending.insert(id, state);
            }
        }
        macro_rules! docs {
            ($table:literal, $map:expr, $key:expr) => {{
                let mut stmt = self.conn.prepare(concat!("SELECT doc FROM ", $table))?;
                for doc in stmt.query_map([], |r| r.get::<_, String>(0))? {
                    let v = from_doc($table, &doc?)?;
                    $map.insert($key(&v), v);
                }
            }};
        }
        docs!("holders", s.holders, |h: &RightsHolder| h.id.clone());
        docs!("works", s.works, |w: &Work| w.id.clone());
        docs!("channels", s.channels, |c: &Channel| c.id.clone());
        docs!("offers", s.offers, |o: &Offer| o.id.clone());
        docs!("licences", s.licences, |l: &Licence| l.id.clone());
        docs!("invoices", s.invoices, |i: &Invoice| (i.number.series.clone(), i.number.number));
        docs!("payouts", s.payouts, |p: &Payout| p.id.clone());
        let mut stmt = self.conn.prepare("SELECT id, fingerprint FROM operations")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (id, fp) = row?;
            s.operations.insert(OperationId::new(id).map_err(|e| corrupt("operations", e))?, fp);
        }
        Ok(s)
    }
}

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Account, StoreError>> {
    let id: String = r.get(0)?;
    let balances = Balances {
        debits_pending: r.get(1)?,
        debits_posted: r.get(2)?,
        credits_pending: r.get(3)?,
        credits_posted: r.get(4)?,
    };
    Ok(AccountId::parse(&id).map(|id| Account { id, balances }).map_err(|e| corrupt("accounts", e)))
}

const TRANSFER_SELECT: &str =
    "SELECT id, kind, debit, credit, amount, currency, pending_id, requested_amount, reference, ts FROM transfers";

fn transfer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Transfer, StoreError>> {
    let (id, kind, debit, credit): (String, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    let (amount, currency, pending_id): (i64, String, Option<String>) = (r.get(4)?, r.get(5)?, r.get(6)?);
    let (requested, reference, ts): (Option<i64>, String, i64) = (r.get(7)?, r.get(8)?, r.get(9)?);
    Ok((|| {
        let c = |e: &dyn std::fmt::Display| corrupt("transfers", e.to_string());
        let debit = AccountId::parse(&debit).map_err(|e| c(&e))?;
        let credit = AccountId::parse(&credit).map_err(|e| c(&e))?;
        let currency = Currency::parse(&currency).map_err(|e| c(&e))?;
        let pending = || -> Result<TransferId, StoreError> {
            TransferId::new(pending_id.clone().unwrap_or_default()).map_err(|e| c(&e))
        };
        let action = match kind.as_str() {
            "posted" => {
                TransferAction::Posted { debit: debit.clone(), credit: credit.clone(), amount_minor: amount, currency }
            }
            "pending" => {
                TransferAction::Pending { debit: debit.clone(), credit: credit.clone(), amount_minor: amount, currency }
            }
            "post" => TransferAction::Post { pending_id: pending()?, amount_minor: requested },
            "void" => TransferAction::Void { pending_id: pending()? },
            other => return Err(c(&other)),
        };
        Ok(Transfer {
            request: TransferRequest { id: TransferId::new(id).map_err(|e| c(&e))?, action, reference },
            debit,
            credit,
            amount: Amount::new(amount).map_err(|e| c(&e))?,
            timestamp: Timestamp::from_unix_ms(ts),
        })
    })())
}

/// A connection or transaction seen as a [`BookStore`]. Statements are cached per connection, which is
/// what makes the purchase path fast.
pub(super) struct Sql<'c>(pub(super) &'c Connection);

fn se(e: impl std::error::Error + Send + Sync + 'static) -> ledger::StoreError {
    ledger::StoreError::new(e)
}

impl Sql<'_> {
    fn doc<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        table: &'static str,
        key: &str,
    ) -> Result<Option<T>, ledger::StoreError> {
        let doc: Option<String> =
            self.0.prepare_cached(sql).map_err(se)?.query_row([key], |r| r.get(0)).optional().map_err(se)?;
        doc.map(|d| from_doc(table, &d).map_err(se)).transpose()
    }

    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> Result<(), ledger::StoreError> {
        self.0.prepare_cached(sql).map_err(se)?.execute(params).map_err(se)?;
        Ok(())
    }
}

impl LedgerStore for Sql<'_> {
    fn account(&self, id: &AccountId) -> Result<Option<Account>, ledger::StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM accounts WHERE id = ?1",
            )
            .map_err(se)?;
        let row = stmt.query_row([id.to_string()], account_row).optional().map_err(se)?;
        row.transpose().map_err(se)
    }

    fn put_account(&mut self, a: &Account) -> Result<(), ledger::StoreError> {
        let b = a.balances;
        self.exec(
            "INSERT INTO accounts (id, currency, debits_pending, debits_posted, credits_pending, credits_posted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET debits_pending = ?3, debits_posted = ?4, credits_pending = ?5, credits_posted = ?6",
            params![a.id.to_string(), a.id.currency.code(), b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted],
        )
    }

    fn transfer(&self, id: &TransferId) -> Result<Option<Transfer>, ledger::StoreError> {
        let mut stmt = self.0.prepare_cached(&format!("{TRANSFER_SELECT} WHERE id = ?1")).map_err(se)?;
        let row = stmt.query_row([id.as_str()], transfer_row).optional().map_err(se)?;
        row.transpose().map_err(se)
    }

    fn insert_transfer(&mut self, t: &Transfer) -> Result<(), ledger::StoreError> {
        let (kind, pending_id, requested) = match &t.request.action {
            TransferAction::Posted { .. } => ("posted", None, None),
            TransferAction::Pending { .. } => ("pending", None, None),
            TransferAction::Post { pending_id, amount_minor } => ("post", Some(pending_id.as_str()), *amount_minor),
            TransferAction::Void { pending_id } => ("void", Some(pending_id.as_str()), None),
        };
        self.exec(
            "INSERT INTO transfers (id, kind, debit, credit, amount, currency, pending_id, requested_amount, reference, ts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                t.id().as_str(),
                kind,
                t.debit.to_string(),
                t.credit.to_string(),
                t.amount.minor(),
                t.currency().code(),
                pending_id,
                requested,
                t.request.reference,
                t.timestamp.unix_ms()
            ],
        )
    }

    fn pending_state(&self, id: &TransferId) -> Result<Option<PendingState>, ledger::StoreError> {
        let mut stmt =
            self.0.prepare_cached("SELECT state, resolved_by, posted_amount FROM pending WHERE id = ?1").map_err(se)?;
        let row: Option<(String, Option<String>, Option<i64>)> =
            stmt.query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional().map_err(se)?;
        let Some((state, by, amount)) = row else {
            return Ok(None);
        };
        let bad = || se(corrupt("pending", format!("{id}: {state}")));
        let by = || by.clone().and_then(|b| TransferId::new(b).ok()).ok_or_else(bad);
        Ok(Some(match state.as_str() {
            "pending" => PendingState::Pending,
            "posted" => {
                PendingState::Posted { by: by()?, amount: amount.and_then(|a| Amount::new(a).ok()).ok_or_else(bad)? }
            }
            "voided" => PendingState::Voided { by: by()? },
            _ => return Err(bad()),
        }))
    }

    fn put_pending_state(&mut self, id: &TransferId, state: &PendingState) -> Result<(), ledger::StoreError> {
        let (name, by, amount) = match state {
            PendingState::Pending => ("pending", None, None),
            PendingState::Posted { by, amount } => ("posted", Some(by.as_str()), Some(amount.minor())),
            PendingState::Voided { by } => ("voided", Some(by.as_str()), None),
        };
        self.exec(
            "INSERT INTO pending (id, state, resolved_by, posted_amount) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET state = ?2, resolved_by = ?3, posted_amount = ?4",
            params![id.as_str(), name, by, amount],
        )
    }
}

impl BookStore for Sql<'_> {
    fn holder(&self, id: &PartyId) -> Result<Option<RightsHolder>, ledger::StoreError> {
        self.doc("SELECT doc FROM holders WHERE id = ?1", "holders", id.as_str())
    }
    fn put_holder(&mut self, h: &RightsHolder) -> Result<(), ledger::StoreError> {
        self.exec(
            "INSERT INTO holders (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET doc = ?2",
            params![h.id.as_str(), to_doc(h)],
        )
    }
    fn work(&self, id: &WorkId) -> Result<Option<Work>, ledger::StoreError> {
        self.doc("SELECT doc FROM works WHERE id = ?1", "works", id.as_str())
    }
    fn put_work(&mut self, w: &Work) -> Result<(), ledger::StoreError> {
        self.exec(
            "INSERT INTO works (id, owner, doc) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET doc = ?3",
            params![w.id.as_str(), w.owner.as_str(), to_doc(w)],
        )
    }
    fn channel(&self, id: &ChannelId) -> Result<Option<Channel>, ledger::StoreError> {
        self.doc("SELECT doc FROM channels WHERE id = ?1", "channels", id.as_str())
    }
    fn put_channel(&mut self, c: &Channel) -> Result<(), ledger::StoreError> {
        self.exec(
            "INSERT INTO channels (id, owner, doc) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET doc = ?3",
            params![c.id.as_str(), c.owner.as_str(), to_doc(c)],
        )
    }
    fn offer(&self, id: &OfferId) -> Result<Option<Offer>, ledger::StoreError> {
        self.doc("SELECT doc FROM offers WHERE id = ?1", "offers", id.as_str())
    }
    fn put_offer(&mut self, o: &Offer) -> Result<(), ledger::StoreError> {
        self.exec(
            "INSERT INTO offers (id, assigner, doc) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET doc = ?3",
            params![o.id.as_str(), o.assigner.as_str(), to_doc(o)],
        )
    }
    fn licence(&self, id: &LicenceId) -> Result<Option<Licence>, ledger::StoreError> {
        self.doc("SELECT doc FROM licences WHERE id = ?1", "licences", id.as_str())
    }
    fn put_licence(&mut self, l: &Licence) -> Result<(), ledger::StoreError> {
        self.exec(
            "INSERT INTO licences (id, status, holder, licensee, work, currency, price_minor, net_minor, hold_until, payout, doc, created_at, site)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (id) DO UPDATE SET status = ?2, payout = ?10, doc = ?11",
            params![
                l.id.as_str(),
                l.status.as_str(),
                l.holder.as_str(),
                l.licensee.as_str(),
                l.work.as_str(),
                l.price.currency.code(),
                l.price.amount.minor(),
                l.split.net.minor(),
                l.hold_until.unix_ms(),
                l.payout.as_ref().map(|p| p.as_str()),
                to_doc(l),
                l.created_at.unix_ms(),
                l.scope.key()
            ],
        )
    }
    fn due_licences(&self, now: Timestamp, limit: usize) -> Result<Vec<LicenceId>, ledger::StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT id FROM licences WHERE status = 'held' AND hold_until <= ?1 ORDER BY hold_until, id LIMIT ?2",
            )
            .map_err(se)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![now.unix_ms(), limit], |r| r.get::<_, String>(0)).map_err(se)?;
        rows.map(|r| r.map_err(se).and_then(|id| LicenceId::new(id).map_err(se))).collect()
    }
    fn last_invoice_number(&self, series: &str) -> Result<u64, ledger::StoreError> {
        let mut stmt =
            self.0.prepare_cached("SELECT COALESCE(MAX(number), 0) FROM invoices WHERE series = ?1").map_err(se)?;
        let n: i64 = stmt.query_row([series], |r| r.get(0)).map_err(se)?;
        u64::try_from(n).map_err(se)
    }
    fn insert_invoice(&mut self, i: &Invoice) -> Result<(), ledger::StoreError> {
        let number = i64::try_from(i.number.number).map_err(se)?;
        self.exec(
            "INSERT INTO invoices (series, number, licence, currency, total_minor, issued_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![i.number.series, number, i.licence.as_str(), i.currency.code(), i.total.minor(), i.issued_at.unix_ms(), to_doc(i)],
        )
    }
    fn unpaid_holders(&self) -> Result<Vec<(PartyId, Currency)>, ledger::StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT DISTINCT holder, currency FROM licences WHERE status = 'settled' AND payout IS NULL ORDER BY 1, 2")
            .map_err(se)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(se)?;
        rows.map(|r| {
            let (h, c) = r.map_err(se)?;
            Ok((PartyId::new(h).map_err(se)?, Currency::parse(&c).map_err(se)?))
        })
        .collect()
    }
    fn unpaid_licences(
        &self,
        holder: &PartyId,
        currency: Currency,
        limit: usize,
    ) -> Result<Vec<Licence>, ledger::StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT doc FROM licences WHERE status = 'settled' AND payout IS NULL AND holder = ?1 AND currency = ?2
                 ORDER BY id LIMIT ?3",
            )
            .map_err(se)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            stmt.query_map(params![holder.as_str(), currency.code(), limit], |r| r.get::<_, String>(0)).map_err(se)?;
        rows.map(|r| from_doc("licences", &r.map_err(se)?).map_err(se)).collect()
    }
    fn payout_count(&self, holder: &PartyId, currency: Currency) -> Result<u64, ledger::StoreError> {
        let mut stmt =
            self.0.prepare_cached("SELECT COUNT(*) FROM payouts WHERE holder = ?1 AND currency = ?2").map_err(se)?;
        let n: i64 = stmt.query_row(params![holder.as_str(), currency.code()], |r| r.get(0)).map_err(se)?;
        u64::try_from(n).map_err(se)
    }
    fn insert_payout(&mut self, p: &Payout) -> Result<(), ledger::StoreError> {
        self.exec(
            "INSERT INTO payouts (id, holder, currency, amount_minor, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                p.id.as_str(),
                p.holder.as_str(),
                p.currency.code(),
                p.amount.minor(),
                p.created_at.unix_ms(),
                to_doc(p)
            ],
        )
    }
    fn operation(&self, id: &OperationId) -> Result<Option<String>, ledger::StoreError> {
        let mut stmt = self.0.prepare_cached("SELECT fingerprint FROM operations WHERE id = ?1").map_err(se)?;
        stmt.query_row([id.as_str()], |r| r.get(0)).optional().map_err(se)
    }
    fn put_operation(&mut self, id: &OperationId, fingerprint: &str) -> Result<(), ledger::StoreError> {
        self.exec("INSERT INTO operations (id, fingerprint) VALUES (?1, ?2)", params![id.as_str(), fingerprint])
    }
}

/// Counts licences per status, for summaries.
pub fn status_counts(store: &SqliteStore) -> Result<Vec<(LicenceStatus, i64)>, StoreError> {
    let mut stmt = store.conn.prepare("SELECT status, COUNT(*) FROM licences GROUP BY status ORDER BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (s, n) = row?;
        let status = match s.as_str() {
            "free" => LicenceStatus::Free,
            "held" => LicenceStatus::Held,
            "frozen" => LicenceStatus::Frozen,
            "settled" => LicenceStatus::Settled,
            "refunded" => LicenceStatus::Refunded,
            other => return Err(corrupt("licences", other)),
        };
        out.push((status, n));
    }
    Ok(out)
}
