//! Migration 16 and its queries: what a rights holder's people are told about (sales, objections,
//! settlements, payouts, new unlicensed copies), shown on `/dashboard/notifications` and mailed once.
//!
//! A notification belongs to a rights holder (an organisation), not to one person: every member whose
//! role covers its kind sees the same row, so "read" is per organisation. `UNIQUE(kind, subject_id,
//! holder)` makes a notification impossible to record twice for the same thing, whatever a subscriber
//! does on a replay; the subscriber also moves its cursor in the transaction that adds the row.
//! `args` is JSON the page and the mail format in the reader's language, so a stored row never holds
//! words of one language.

use super::sqlite::corrupt;
use super::{SqliteStore, StoreError};
use rusqlite::{params, OptionalExtension};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;

/// Notifications (schema version 16).
pub(super) const MIGRATION_16: &str = r#"
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    args TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER,
    UNIQUE (kind, subject_id, holder)
) STRICT;
CREATE INDEX notifications_by_holder ON notifications(holder, id DESC);
-- The `notify` subscriber starts at the events of today: a database that had sales before this
-- version does not mail its holders about every one of them at once.
INSERT INTO event_cursors (subscriber, last_event) SELECT 'notify', COALESCE(MAX(id), 0) FROM events;
"#;

/// A notification about to be recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    /// The rights holder it is for.
    pub holder: PartyId,
    /// `sale`, `objection`, `settlement`, `payout` or `black_hits`.
    pub kind: &'static str,
    /// What it is about (a licence, a payout, a settlement run, a day): with `kind` and `holder`, unique.
    pub subject_id: String,
    /// The values the words are formatted with.
    pub args: serde_json::Value,
    /// Where the page links to (a path of this site).
    pub link: String,
    /// When it happened.
    pub created_at: Timestamp,
}

/// A stored notification.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// Row id: newest is highest (keyset paging follows it downwards).
    pub id: i64,
    /// The rights holder it is for.
    pub holder: PartyId,
    /// Its kind.
    pub kind: String,
    /// What it is about.
    pub subject_id: String,
    /// The values the words are formatted with.
    pub args: serde_json::Value,
    /// Where the page links to.
    pub link: String,
    /// When it happened.
    pub created_at: Timestamp,
    /// When someone of the organisation marked it read.
    pub read_at: Option<Timestamp>,
}

/// The notifications of rights holders.
pub trait Notifications {
    /// Records a notification; `None` when one for the same `(kind, subject_id, holder)` exists, which
    /// is then left as it was.
    fn add(&mut self, n: &NewNotification) -> Result<Option<i64>, StoreError>;
    /// The notification of `holder` for `(kind, subject_id)`, if there is one.
    fn notification(&self, holder: &PartyId, kind: &str, subject_id: &str) -> Result<Option<Notification>, StoreError>;
    /// Replaces a notification's values and makes it unread again (a day's count of new copies grew).
    fn update_args(&mut self, id: i64, args: &serde_json::Value) -> Result<(), StoreError>;
    /// A page of `holder`'s notifications of these kinds, newest first, older than `before_id` if given.
    fn list_for(
        &self,
        holder: &PartyId,
        kinds: &[&str],
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError>;
    /// How many of `holder`'s notifications of these kinds are unread.
    fn unread_count(&self, holder: &PartyId, kinds: &[&str]) -> Result<i64, StoreError>;
    /// Marks every unread notification of `holder` of these kinds read; returns how many.
    fn mark_all_read(&mut self, holder: &PartyId, kinds: &[&str], now: Timestamp) -> Result<usize, StoreError>;
}

const SELECT: &str = "SELECT id, holder, kind, subject_id, args, link, created_at, read_at FROM notifications";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Notification, StoreError>> {
    let (id, holder, kind, subject_id): (i64, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    let (args, link, created, read): (String, String, i64, Option<i64>) = (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
    Ok((|| {
        Ok(Notification {
            id,
            holder: PartyId::new(holder).map_err(|e| corrupt("notifications", e))?,
            kind,
            subject_id,
            args: serde_json::from_str(&args).map_err(|e| corrupt("notifications", e))?,
            link,
            created_at: Timestamp::from_unix_ms(created),
            read_at: read.map(Timestamp::from_unix_ms),
        })
    })())
}

/// `holder = ?1 AND kind IN (?2, …)`, with its parameters; no kinds matches nothing.
fn scope(holder: &PartyId, kinds: &[&str]) -> (String, Vec<String>) {
    let mut values = vec![holder.as_str().to_owned()];
    if kinds.is_empty() {
        return ("holder = ?1 AND 0".into(), values);
    }
    let marks: Vec<String> = (0..kinds.len()).map(|i| format!("?{}", i + 2)).collect();
    values.extend(kinds.iter().map(|k| (*k).to_owned()));
    (format!("holder = ?1 AND kind IN ({})", marks.join(", ")), values)
}

impl Notifications for SqliteStore {
    fn add(&mut self, n: &NewNotification) -> Result<Option<i64>, StoreError> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO notifications (holder, kind, subject_id, args, link, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (kind, subject_id, holder) DO NOTHING",
            )?
            .execute(params![
                n.holder.as_str(),
                n.kind,
                n.subject_id,
                n.args.to_string(),
                n.link,
                n.created_at.unix_ms()
            ])?;
        Ok((inserted == 1).then(|| self.conn.last_insert_rowid()))
    }

    fn notification(&self, holder: &PartyId, kind: &str, subject_id: &str) -> Result<Option<Notification>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("{SELECT} WHERE holder = ?1 AND kind = ?2 AND subject_id = ?3"))?;
        stmt.query_row(params![holder.as_str(), kind, subject_id], row).optional()?.transpose()
    }

    fn update_args(&mut self, id: i64, args: &serde_json::Value) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE notifications SET args = ?2, read_at = NULL WHERE id = ?1")?
            .execute(params![id, args.to_string()])?;
        Ok(())
    }

    fn list_for(
        &self,
        holder: &PartyId,
        kinds: &[&str],
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let (clause, mut values) = scope(holder, kinds);
        let before = match before_id {
            Some(b) => {
                values.push(b.to_string());
                format!(" AND id < CAST(?{} AS INTEGER)", values.len())
            }
            None => String::new(),
        };
        let limit = super::platform::page_limit(limit);
        let sql = format!("{SELECT} WHERE {clause}{before} ORDER BY id DESC LIMIT {limit}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(values.iter()), row)?;
        rows.map(|r| r?).collect()
    }

    fn unread_count(&self, holder: &PartyId, kinds: &[&str]) -> Result<i64, StoreError> {
        let (clause, values) = scope(holder, kinds);
        let sql = format!("SELECT COUNT(*) FROM notifications WHERE {clause} AND read_at IS NULL");
        Ok(self.conn.prepare_cached(&sql)?.query_row(rusqlite::params_from_iter(values.iter()), |r| r.get(0))?)
    }

    fn mark_all_read(&mut self, holder: &PartyId, kinds: &[&str], now: Timestamp) -> Result<usize, StoreError> {
        let (clause, mut values) = scope(holder, kinds);
        values.push(now.unix_ms().to_string());
        let sql = format!(
            "UPDATE notifications SET read_at = CAST(?{} AS INTEGER) WHERE {clause} AND read_at IS NULL",
            values.len()
        );
        Ok(self.conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(values.iter()))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open_in(dir.path()).expect("a store");
        (dir, store)
    }

    fn new(holder: &str, subject: &str, at: i64) -> NewNotification {
        NewNotification {
            holder: PartyId::new(holder).expect("id"),
            kind: "sale",
            subject_id: subject.into(),
            args: serde_json::json!({"title": subject}),
            link: "/dashboard/licences".into(),
            created_at: Timestamp::from_unix_ms(at),
        }
    }

    #[test]
    fn a_notification_is_recorded_once_and_pages_newest_first() -> Result<(), StoreError> {
        let (_dir, mut s) = store();
        let a = PartyId::new("rh-a").expect("id");
        for i in 0..5 {
            assert!(s.add(&new("rh-a", &format!("lic-{i}"), i))?.is_some());
        }
        assert_eq!(s.add(&new("rh-a", "lic-3", 99))?, None, "the same subject twice is refused");
        assert!(s.add(&new("rh-b", "lic-3", 99))?.is_some(), "another holder has its own");
        let first = s.list_for(&a, &["sale"], None, 2)?;
        assert_eq!(first.iter().map(|n| n.subject_id.as_str()).collect::<Vec<_>>(), ["lic-4", "lic-3"]);
        let next = s.list_for(&a, &["sale"], first.last().map(|n| n.id), 10)?;
        assert_eq!(next.iter().map(|n| n.subject_id.as_str()).collect::<Vec<_>>(), ["lic-2", "lic-1", "lic-0"]);
        assert!(s.list_for(&a, &["payout"], None, 10)?.is_empty(), "kinds filter");
        assert!(s.list_for(&a, &[], None, 10)?.is_empty());
        assert_eq!(s.unread_count(&a, &["sale", "payout"])?, 5);
        assert_eq!(s.mark_all_read(&a, &["sale"], Timestamp::from_unix_ms(7))?, 5);
        assert_eq!(s.unread_count(&a, &["sale"])?, 0);
        assert_eq!(s.unread_count(&PartyId::new("rh-b").expect("id"), &["sale"])?, 1, "only rh-a's were read");
        let one = s.notification(&a, "sale", "lic-1")?.expect("stored");
        assert_eq!(one.read_at, Some(Timestamp::from_unix_ms(7)));
        s.update_args(one.id, &serde_json::json!({"n": 2}))?;
        let again = s.notification(&a, "sale", "lic-1")?.expect("stored");
        assert_eq!((again.read_at, again.args["n"].as_i64()), (None, Some(2)));
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Whatever is added in whatever order (replays included), a holder has one notification per
        /// kind and subject, and `add` says truly whether it recorded one.
        #[test]
        fn a_notification_is_never_duplicated(adds in proptest::collection::vec((0u8..3, 0usize..2, 0u8..4), 1..60)) {
            let (_dir, mut s) = store();
            let mut distinct = std::collections::BTreeSet::new();
            for (at, (h, k, subject)) in adds.into_iter().enumerate() {
                let n = NewNotification {
                    kind: ["sale", "payout"][k],
                    ..new(&format!("rh-{h}"), &format!("s{subject}"), at as i64)
                };
                let added = s.add(&n).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
                proptest::prop_assert_eq!(added.is_some(), distinct.insert((h, k, subject)));
            }
            let mut stored = 0;
            for h in 0..3 {
                let holder = PartyId::new(format!("rh-{h}")).expect("id");
                let rows = s.list_for(&holder, &["sale", "payout"], None, 500)
                    .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
                let keys: std::collections::BTreeSet<_> = rows.iter().map(|n| (n.kind.clone(), n.subject_id.clone())).collect();
                proptest::prop_assert_eq!(keys.len(), rows.len());
                stored += rows.len();
            }
            proptest::prop_assert_eq!(stored, distinct.len());
        }
    }
}
