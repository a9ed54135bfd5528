//! Migration 11 and its queries: organisation members, invitations and weekly-summary subscriptions.
//!
//! A rights holder's own account is its organisation's first owner without a row; `members` holds the
//! people it invited (and the holder's own subscription to the weekly summary, as an owner row). A user
//! belongs to at most one organisation. An invitation is a single-use token stored as SHA-256.

use super::sqlite::corrupt;
use super::{SqliteStore, StoreError};
use crate::domain::team::OrgRole;
use rusqlite::{params, OptionalExtension};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;

/// Members, invitations (schema version 11).
pub(super) const MIGRATION_11: &str = r#"
CREATE TABLE members (
    org TEXT NOT NULL REFERENCES holders(id),
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'analyst', 'finance')),
    weekly_summary INTEGER NOT NULL DEFAULT 0 CHECK (weekly_summary IN (0, 1)),
    last_summary_at INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, user_id)
) STRICT;

CREATE TABLE invites (
    token_hash TEXT PRIMARY KEY,
    org TEXT NOT NULL REFERENCES holders(id),
    email TEXT NOT NULL COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'analyst', 'finance')),
    invited_by TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER
) STRICT;
CREATE INDEX invites_by_org ON invites(org, created_at);
"#;

/// A member of an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The organisation (its rights holder id).
    pub org: PartyId,
    /// The member's account.
    pub user: PartyId,
    /// What they may do.
    pub role: OrgRole,
    /// Whether they receive the weekly summary.
    pub weekly_summary: bool,
    /// When the last weekly summary went to them.
    pub last_summary_at: Option<Timestamp>,
}

/// An invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    /// SHA-256 of the emailed token.
    pub token_hash: String,
    /// The inviting organisation.
    pub org: PartyId,
    /// Who is invited.
    pub email: String,
    /// With which role.
    pub role: OrgRole,
    /// Who invited.
    pub invited_by: PartyId,
    /// Sent.
    pub created_at: Timestamp,
    /// Not valid from then on.
    pub expires_at: Timestamp,
    /// When it was taken up.
    pub accepted_at: Option<Timestamp>,
}

/// Members and invitations.
pub trait Teams {
    /// The organisation a user belongs to, if any.
    fn membership(&self, user: &PartyId) -> Result<Option<Member>, StoreError>;
    /// An organisation's members (its own account is not listed unless it subscribed to summaries).
    fn members_of(&self, org: &PartyId) -> Result<Vec<Member>, StoreError>;
    /// Adds a member, or changes the role and subscription of one (a user is in one organisation:
    /// another organisation's member is refused with a conflict).
    fn put_member(&mut self, member: &Member, now: Timestamp) -> Result<(), StoreError>;
    /// Removes a member of `org`; returns whether there was one.
    fn remove_member(&mut self, org: &PartyId, user: &PartyId) -> Result<bool, StoreError>;
    /// Withdraws an invitation of `org` not yet taken up; returns whether there was one.
    fn revoke_invite(&mut self, org: &PartyId, token_hash: &str) -> Result<bool, StoreError>;
    /// Stores an invitation.
    fn put_invite(&mut self, invite: &Invite) -> Result<(), StoreError>;
    /// An invitation by its token's hash.
    fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError>;
    /// An organisation's invitations not taken up, newest first.
    fn open_invites(&self, org: &PartyId, now: Timestamp) -> Result<Vec<Invite>, StoreError>;
    /// Takes an invitation up once: marks it and makes `user` a member, in one transaction. Refused
    /// when it was taken up, has expired, or the user is in another organisation.
    fn accept_invite(&mut self, token_hash: &str, user: &PartyId, now: Timestamp) -> Result<Member, StoreError>;
    /// Members subscribed to the weekly summary whose last one is older than `before` (or never sent).
    fn summary_due(&self, before: Timestamp) -> Result<Vec<Member>, StoreError>;
    /// Records that a summary went to `user`.
    fn summary_sent(&mut self, user: &PartyId, at: Timestamp) -> Result<(), StoreError>;
}

fn member_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Member, StoreError>> {
    let (org, user, role): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
    let (weekly, last): (i64, Option<i64>) = (r.get(3)?, r.get(4)?);
    Ok((|| {
        Ok(Member {
            org: PartyId::new(org).map_err(|e| corrupt("members", e))?,
            user: PartyId::new(user).map_err(|e| corrupt("members", e))?,
            role: OrgRole::parse(&role).ok_or_else(|| corrupt("members", role))?,
            weekly_summary: weekly == 1,
            last_summary_at: last.map(Timestamp::from_unix_ms),
        })
    })())
}

const MEMBER_SELECT: &str = "SELECT org, user_id, role, weekly_summary, last_summary_at FROM members";

fn invite_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Invite, StoreError>> {
    let (hash, org, email, role, by): (String, String, String, String, String) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    let (created, expires, accepted): (i64, i64, Option<i64>) = (r.get(5)?, r.get(6)?, r.get(7)?);
    Ok((|| {
        Ok(Invite {
            token_hash: hash,
            org: PartyId::new(org).map_err(|e| corrupt("invites", e))?,
            email,
            role: OrgRole::parse(&role).ok_or_else(|| corrupt("invites", role))?,
            invited_by: PartyId::new(by).map_err(|e| corrupt("invites", e))?,
            created_at: Timestamp::from_unix_ms(created),
            expires_at: Timestamp::from_unix_ms(expires),
            accepted_at: accepted.map(Timestamp::from_unix_ms),
        })
    })())
}

const INVITE_SELECT: &str =
    "SELECT token_hash, org, email, role, invited_by, created_at, expires_at, accepted_at FROM invites";

fn put_member_on(conn: &rusqlite::Connection, m: &Member, now: Timestamp) -> Result<(), StoreError> {
    if let Some(other) = conn
        .prepare_cached("SELECT org FROM members WHERE user_id = ?1")?
        .query_row([m.user.as_str()], |r| r.get::<_, String>(0))
        .optional()?
    {
        if other != m.org.as_str() {
            return Err(StoreError::Conflict("this account already belongs to another organisation".into()));
        }
    }
    conn.prepare_cached(
        "INSERT INTO members (org, user_id, role, weekly_summary, last_summary_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (org, user_id) DO UPDATE SET role = excluded.role, weekly_summary = excluded.weekly_summary",
    )?
    .execute(params![
        m.org.as_str(),
        m.user.as_str(),
        m.role.as_str(),
        i64::from(m.weekly_summary),
        m.last_summary_at.map(Timestamp::unix_ms),
        now.unix_ms()
    ])?;
    Ok(())
}

impl Teams for SqliteStore {
    fn membership(&self, user: &PartyId) -> Result<Option<Member>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("{MEMBER_SELECT} WHERE user_id = ?1"))?;
        stmt.query_row([user.as_str()], member_row).optional()?.transpose()
    }

    fn members_of(&self, org: &PartyId) -> Result<Vec<Member>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached(&format!("{MEMBER_SELECT} WHERE org = ?1 ORDER BY created_at, user_id"))?;
        let rows = stmt.query_map([org.as_str()], member_row)?;
        rows.map(|r| r?).collect()
    }

    fn put_member(&mut self, member: &Member, now: Timestamp) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        put_member_on(&tx, member, now)?;
        tx.commit()?;
        Ok(())
    }

    fn remove_member(&mut self, org: &PartyId, user: &PartyId) -> Result<bool, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let n =
            tx.execute("DELETE FROM members WHERE org = ?1 AND user_id = ?2", params![org.as_str(), user.as_str()])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn put_invite(&mut self, i: &Invite) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        tx.prepare_cached(
            "INSERT INTO invites (token_hash, org, email, role, invited_by, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            i.token_hash,
            i.org.as_str(),
            i.email,
            i.role.as_str(),
            i.invited_by.as_str(),
            i.created_at.unix_ms(),
            i.expires_at.unix_ms()
        ])?;
        tx.commit()?;
        Ok(())
    }

    fn revoke_invite(&mut self, org: &PartyId, token_hash: &str) -> Result<bool, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let n = tx.execute(
            "DELETE FROM invites WHERE org = ?1 AND token_hash = ?2 AND accepted_at IS NULL",
            params![org.as_str(), token_hash],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!("{INVITE_SELECT} WHERE token_hash = ?1"))?;
        stmt.query_row([token_hash], invite_row).optional()?.transpose()
    }

    fn open_invites(&self, org: &PartyId, now: Timestamp) -> Result<Vec<Invite>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{INVITE_SELECT} WHERE org = ?1 AND accepted_at IS NULL AND expires_at > ?2 ORDER BY created_at DESC LIMIT 100"
        ))?;
        let rows = stmt.query_map(params![org.as_str(), now.unix_ms()], invite_row)?;
        rows.map(|r| r?).collect()
    }

    fn accept_invite(&mut self, token_hash: &str, user: &PartyId, now: Timestamp) -> Result<Member, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let n = tx
            .prepare_cached(
                "UPDATE invites SET accepted_at = ?2 WHERE token_hash = ?1 AND accepted_at IS NULL AND expires_at > ?2",
            )?
            .execute(params![token_hash, now.unix_ms()])?;
        if n == 0 {
            return Err(StoreError::Conflict("this invitation was already used or has expired".into()));
        }
        let invite = tx
            .prepare_cached(&format!("{INVITE_SELECT} WHERE token_hash = ?1"))?
            .query_row([token_hash], invite_row)??;
        let member = Member {
            org: invite.org,
            user: user.clone(),
            role: invite.role,
            weekly_summary: false,
            last_summary_at: None,
        };
        put_member_on(&tx, &member, now)?;
        tx.commit()?;
        Ok(member)
    }

    fn summary_due(&self, before: Timestamp) -> Result<Vec<Member>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{MEMBER_SELECT} WHERE weekly_summary = 1 AND (last_summary_at IS NULL OR last_summary_at < ?1) ORDER BY user_id"
        ))?;
        let rows = stmt.query_map([before.unix_ms()], member_row)?;
        rows.map(|r| r?).collect()
    }

    fn summary_sent(&mut self, user: &PartyId, at: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE members SET last_summary_at = ?2 WHERE user_id = ?1")?
            .execute(params![user.as_str(), at.unix_ms()])?;
        Ok(())
    }
}
