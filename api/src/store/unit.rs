//! Units of work: one transaction per use case, however many store methods it calls.
//!
//! Every write method of the store runs inside [`begin`]'s guard. Called on its own, the guard is a
//! `BEGIN IMMEDIATE … COMMIT` transaction (the write lock is taken up front, so no lock upgrade can
//! deadlock). Called inside a use case's unit ([`SqliteStore::atomically`]), the same guard becomes a
//! savepoint of the outer transaction: the method's own all-or-nothing holds (a refused purchase rolls
//! back to its savepoint), and nothing is durable until the whole use case commits. So fulfilment
//! commits the licence, the checkout's end, the buyer's mail and the domain event together, or none.

use super::{SqliteStore, StoreError};
use rusqlite::Connection;
use std::ops::Deref;

/// An open transaction or savepoint; rolled back when dropped without [`Unit::commit`].
pub(crate) struct Unit<'c> {
    conn: &'c Connection,
    nested: bool,
    open: bool,
}

/// Starts a unit on `conn`: a transaction at top level, a savepoint inside one.
pub(crate) fn begin(conn: &Connection) -> rusqlite::Result<Unit<'_>> {
    let nested = !conn.is_autocommit();
    conn.execute_batch(if nested { "SAVEPOINT seal_unit" } else { "BEGIN IMMEDIATE" })?;
    Ok(Unit { conn, nested, open: true })
}

impl Unit<'_> {
    /// Commits (or releases the savepoint). On failure everything of the unit is rolled back.
    pub(crate) fn commit(mut self) -> rusqlite::Result<()> {
        let result = self.conn.execute_batch(if self.nested { "RELEASE seal_unit" } else { "COMMIT" });
        // A failed COMMIT leaves the transaction open; the drop below rolls it back.
        self.open = result.is_err();
        result
    }
}

impl Drop for Unit<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing better can be done with a failed rollback than to report the original error.
            let _ = self.conn.execute_batch(if self.nested {
                "ROLLBACK TO seal_unit; RELEASE seal_unit"
            } else {
                "ROLLBACK"
            });
        }
    }
}

impl Deref for Unit<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl SqliteStore {
    /// Runs a use case as one transaction: every store write inside `f` commits together when `f`
    /// returns `Ok`, and none does when it returns `Err` (or panics).
    pub fn atomically<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut SqliteStore) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.units == 0 && !self.conn.is_autocommit() {
            // A transaction left open by a panic in an earlier unit (the store lives on behind a mutex
            // that may have been poisoned): it must not become the outer transaction of this one.
            self.conn.execute_batch("ROLLBACK").map_err(StoreError::from)?;
        }
        let nested = !self.conn.is_autocommit();
        self.conn
            .execute_batch(if nested { "SAVEPOINT seal_unit" } else { "BEGIN IMMEDIATE" })
            .map_err(StoreError::from)?;
        self.units += 1;
        let result = f(self);
        self.units -= 1;
        let end = match &result {
            Ok(_) if nested => "RELEASE seal_unit",
            Ok(_) => "COMMIT",
            Err(_) if nested => "ROLLBACK TO seal_unit; RELEASE seal_unit",
            Err(_) => "ROLLBACK",
        };
        if let Err(e) = self.conn.execute_batch(end) {
            if !nested && !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            return Err(StoreError::from(e).into());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap_or(-1)
    }

    #[test]
    fn nested_units_are_savepoints_of_the_outer_one() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE t (x INTEGER)")?;
        let outer = begin(&conn)?;
        outer.execute("INSERT INTO t VALUES (1)", [])?;
        {
            let inner = begin(&conn)?;
            inner.execute("INSERT INTO t VALUES (2)", [])?;
            // Dropped without commit: only the inner insert is undone.
        }
        let kept = begin(&conn)?;
        kept.execute("INSERT INTO t VALUES (3)", [])?;
        kept.commit()?;
        assert_eq!(count(&conn), 2);
        drop(outer);
        assert_eq!(count(&conn), 0, "the outer rollback takes the released savepoint with it");
        assert!(conn.is_autocommit());
        let alone = begin(&conn)?;
        alone.execute("INSERT INTO t VALUES (4)", [])?;
        alone.commit()?;
        assert_eq!(count(&conn), 1);
        Ok(())
    }
}
