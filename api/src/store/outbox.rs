//! The mail outbox (schema version 3) behind the narrow [`Outbox`] trait: a message is written in the
//! same unit of work as the change that causes it, and a sender (`services::outbox`) drains it with
//! retries, so no mail is lost when the SMTP server is down. A PostgreSQL backend implements the same
//! trait; the SQL here is plain.

use super::{SqliteStore, StoreError};
use crate::domain::Mail;
use rusqlite::params;
use seal_licensing::Timestamp;

/// The outbox's storage: queue, read what is due, and record each attempt.
pub trait Outbox {
    /// Queues an email.
    fn enqueue_mail(&mut self, mail: &Mail, now: Timestamp) -> Result<(), StoreError>;
    /// Unsent mail due at `now`, oldest first, with its id and attempt count.
    fn due_mail(&self, now: Timestamp, limit: usize) -> Result<Vec<(i64, u32, Mail)>, StoreError>;
    /// Marks a mail sent.
    fn mail_sent(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError>;
    /// Records a failed attempt and when to try again.
    fn mail_failed(&mut self, id: i64, error: &str, retry_at: Timestamp) -> Result<(), StoreError>;
    /// Mail still waiting to be sent.
    fn unsent_mail(&self) -> Result<i64, StoreError>;
}

impl Outbox for SqliteStore {
    /// Queues an email.
    fn enqueue_mail(&mut self, mail: &Mail, now: Timestamp) -> Result<(), StoreError> {
        let (name, bytes) = mail.attachment.clone().map_or((None, None), |(n, b)| (Some(n), Some(b)));
        self.conn.execute(
            "INSERT INTO outbox (to_addr, subject, body, attachment_name, attachment, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![mail.to, mail.subject, mail.body, name, bytes, now.unix_ms()],
        )?;
        Ok(())
    }

    /// Unsent mail due at `now`, oldest first, with its attempt count.
    fn due_mail(&self, now: Timestamp, limit: usize) -> Result<Vec<(i64, u32, Mail)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, attempts, to_addr, subject, body, attachment_name, attachment FROM outbox
             WHERE sent_at IS NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now.unix_ms(), super::platform::page_limit(limit)], |r| {
            let name: Option<String> = r.get(5)?;
            let bytes: Option<Vec<u8>> = r.get(6)?;
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, u32>(1)?,
                Mail { to: r.get(2)?, subject: r.get(3)?, body: r.get(4)?, attachment: name.zip(bytes) },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks a mail sent.
    fn mail_sent(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1 WHERE id = ?1",
            params![id, now.unix_ms()],
        )?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    fn mail_failed(&mut self, id: i64, error: &str, retry_at: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
            params![id, error, retry_at.unix_ms()],
        )?;
        Ok(())
    }

    /// Mail still waiting to be sent.
    fn unsent_mail(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL", [], |r| r.get(0))?)
    }
}
