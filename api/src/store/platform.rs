//! Platform records beside the licensing domain: user accounts and sessions, channel ownership claims,
//! checkout sessions and received webhook events, plus the listing queries the dashboards, the REST API
//! and the seal cache need (the licensing [`Repository`](super::Repository) only reads single records).
//!
//! Listings are keyset-paginated: a page is `LIMIT n` rows with `id > cursor`, so a cursor stays valid
//! while rows are added, and no page costs more than its own rows.

use super::sqlite::{corrupt, from_doc, to_doc};
use super::{SqliteStore, StoreError};
use crate::domain::PaymentStatus;
use rusqlite::{params, OptionalExtension};
use seal_licensing::ids::{ChannelId, LicenceId, OfferId, PartyId, WorkId};
use seal_licensing::invoice::Invoice;
use seal_licensing::licence::{Licence, UseScope};
use seal_licensing::offer::{Channel, Offer, Work};
use seal_licensing::Timestamp;
use serde::{Deserialize, Serialize};

/// Platform tables (schema version 2).
pub(super) const MIGRATION_2: &str = r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('holder', 'licensee', 'admin', 'developer')),
    password_hash TEXT,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE channel_claims (
    channel TEXT PRIMARY KEY REFERENCES channels(id),
    token TEXT NOT NULL,
    verified_at INTEGER,
    method TEXT
) STRICT;

CREATE TABLE checkouts (
    id TEXT PRIMARY KEY,
    work TEXT NOT NULL REFERENCES works(id),
    offer TEXT NOT NULL REFERENCES offers(id),
    buyer TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('open', 'licensed', 'declined', 'failed')),
    licence TEXT REFERENCES licences(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    CHECK ((status = 'licensed') = (licence IS NOT NULL))
) STRICT;
CREATE INDEX checkouts_by_buyer ON checkouts(buyer, id);
-- A checkout ends once: licensed, declined and failed are final.
CREATE TRIGGER checkouts_final BEFORE UPDATE OF status ON checkouts
    WHEN OLD.status <> 'open' AND NEW.status <> OLD.status
    BEGIN SELECT RAISE(ABORT, 'a checkout ends once'); END;

-- The built-in sandbox payment provider's own records (a real provider keeps these on its side).
CREATE TABLE sandbox_payments (
    id TEXT PRIMARY KEY,
    checkout TEXT NOT NULL UNIQUE REFERENCES checkouts(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'declined')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE TRIGGER sandbox_payments_final BEFORE UPDATE OF status ON sandbox_payments
    WHEN OLD.status <> 'pending' AND NEW.status <> OLD.status
    BEGIN SELECT RAISE(ABORT, 'a payment ends once'); END;

CREATE TABLE webhook_events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL) STRICT;

CREATE INDEX licences_by_holder ON licences(holder, id);
CREATE INDEX licences_by_licensee ON licences(licensee, id);
CREATE INDEX licences_by_work ON licences(work, id);
CREATE INDEX works_by_owner ON works(owner, id);
CREATE INDEX offers_by_assigner ON offers(assigner, id);
CREATE INDEX channels_by_owner ON channels(owner, id);
"#;

/// The mail outbox (schema version 3): a message is written in the same store as the change that
/// causes it, and a sender drains it with retries, so no mail is lost when the SMTP server is down.
pub(super) const MIGRATION_3: &str = r#"
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    attachment_name TEXT,
    attachment BLOB,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL;
"#;

/// Password resets (schema version 4): single-use tokens, stored as SHA-256, with an expiry.
pub(super) const MIGRATION_4: &str = r#"
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) STRICT;
"#;

/// Settlement runs (schema version 5): what each pass did and who started it, for the admin console.
pub(super) const MIGRATION_5: &str = r#"
CREATE TABLE settlement_runs (
    id INTEGER PRIMARY KEY,
    started_by TEXT NOT NULL,
    at INTEGER NOT NULL,
    licences INTEGER NOT NULL CHECK (licences >= 0),
    payouts INTEGER NOT NULL CHECK (payouts >= 0),
    paid_out_minor INTEGER NOT NULL CHECK (paid_out_minor >= 0)
) STRICT;
"#;

/// The time zone each person chose (schema version 18), as minutes east of UTC; none means Beijing.
pub(super) const MIGRATION_18: &str = r#"
CREATE TABLE user_zone (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN -720 AND 840)
) STRICT;
"#;

/// Per-user preferences (schema version 14): the interface language.
pub(super) const MIGRATION_14: &str = r#"
CREATE TABLE user_prefs (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    lang TEXT NOT NULL CHECK (lang IN ('zh-CN', 'en'))
) STRICT;
"#;

/// Columns the reports read (schema version 7), kept beside the licence document by `put_licence` so
/// that no query reaches into the JSON: `json_extract` is SQLite's own, and a PostgreSQL backend must
/// answer the same reports with plain columns. Existing rows are filled from their documents once.
pub(super) const MIGRATION_7: &str = r#"
ALTER TABLE licences ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE licences ADD COLUMN site TEXT;
UPDATE licences SET
    created_at = json_extract(doc, '$.created_at'),
    site = COALESCE(json_extract(doc, '$.scope.domain'), json_extract(doc, '$.scope.url_prefix'));
CREATE INDEX licences_by_created ON licences(created_at) WHERE status <> 'refunded';
"#;

/// One recorded settlement pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRun {
    /// Who started it: `schedule` or an administrator's id.
    pub started_by: String,
    /// When.
    pub at: Timestamp,
    /// Licences settled.
    pub licences: i64,
    /// Payouts made.
    pub payouts: i64,
    /// Sum paid out, minor units across currencies (for a glance; per currency is in the ledger).
    pub paid_out_minor: i64,
}

pub use crate::domain::Mail;

/// What a user may do. A rights holder is also a party in the licensing domain under the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A media user: owns channels, works and offers, earns money.
    Holder,
    /// Takes licences (also every guest buyer).
    Licensee,
    /// Reviews cases and runs settlement.
    Admin,
    /// Uses the REST API.
    Developer,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Holder => "holder",
            Role::Licensee => "licensee",
            Role::Admin => "admin",
            Role::Developer => "developer",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "holder" => Role::Holder,
            "licensee" => Role::Licensee,
            "admin" => Role::Admin,
            "developer" => Role::Developer,
            _ => return None,
        })
    }
}

/// A user account. Guests who buy with only an email address get an account without a password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Party id (also the rights holder or licensee id in the licensing domain).
    pub id: PartyId,
    /// Sign-in address, unique regardless of letter case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// PHC-format argon2id hash; `None` for guests, who cannot sign in.
    pub password_hash: Option<String>,
    /// Sign-up time.
    pub created_at: Timestamp,
    /// Set when a member acts for an organisation (the user then carries the organisation's id and the
    /// holder role): the member's own account and role there. Never stored.
    pub acting: Option<crate::domain::team::Acting>,
}

impl User {
    /// The person signed in: the member's own account when acting for an organisation, else this user.
    pub fn person(&self) -> &PartyId {
        self.acting.as_ref().map_or(&self.id, |a| &a.member)
    }
}

/// A channel's ownership claim: the token to publish, and when and how it was proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelClaim {
    /// The channel.
    pub channel: ChannelId,
    /// The token the owner publishes in a meta tag or a well-known file.
    pub token: String,
    /// When ownership was proven.
    pub verified_at: Option<Timestamp>,
    /// How: `meta`, `file` or `review`.
    pub method: Option<String>,
}

/// Where a checkout session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// Waiting for payment.
    Open,
    /// Paid (or free) and the licence granted.
    Licensed,
    /// The buyer declined at the payment page.
    Declined,
    /// The payment could not become a licence (for example the offer closed meanwhile).
    Failed,
}

impl CheckoutStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutStatus::Open => "open",
            CheckoutStatus::Licensed => "licensed",
            CheckoutStatus::Declined => "declined",
            CheckoutStatus::Failed => "failed",
        }
    }
}

/// A checkout session: one buyer taking one licence under one offer for one work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    /// Unguessable id; knowing it is what lets a guest see the result and download the letter.
    pub id: String,
    /// The work.
    pub work: WorkId,
    /// The offer.
    pub offer: OfferId,
    /// The buyer's account.
    pub buyer: PartyId,
    /// The buyer's name as it goes on the letter.
    pub buyer_name: String,
    /// The buyer's email address.
    pub email: String,
    /// Where the licence will apply.
    pub scope: UseScope,
    /// Price in minor units at the time the session opened.
    pub amount_minor: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Status.
    pub status: CheckoutStatus,
    /// Payment provider name (`sandbox`, or `free` for free offers).
    pub provider: String,
    /// The provider's payment reference, once paid.
    pub provider_ref: Option<String>,
    /// The granted licence.
    pub licence: Option<LicenceId>,
    /// The id the licence will get, chosen at random when the checkout opens. Independent of the
    /// checkout id, so a letter (which names the licence) reveals nothing that opens the receipt;
    /// fixed in advance, so every fulfilment attempt buys under the same id and at most one licence
    /// results. Empty for checkouts opened before it existed (they use `lic-` + the checkout id).
    #[serde(default)]
    pub licence_id: String,
    /// SHA-256 of the token mailed to the buyer's address when a guest checkout names an existing
    /// account's email: until the owner of the address follows the link, the checkout neither takes
    /// a payment nor grants a licence, so nobody can attach purchases to someone else's account.
    #[serde(default)]
    pub confirm_hash: Option<String>,
    /// The rights-protection case this checkout settles, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// The settlement multiplier over the offer price (basis points), for a case's checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_bps: Option<u32>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Opened.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

/// Money of one rights holder in one currency, by stage.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Earnings {
    /// ISO 4217 currency.
    pub currency: String,
    /// Net amounts still in escrow (publicity period running or objection open).
    pub held_minor: i64,
    /// Net amounts settled and not yet paid out.
    pub settled_minor: i64,
    /// Net amounts paid out.
    pub paid_out_minor: i64,
    /// Licences counted.
    pub licences: i64,
    /// What buyers paid for the licences not refunded (the gross).
    pub gross_minor: i64,
    /// The platform's fee out of the gross; gross − fee is the holder's net, which the three stages
    /// above divide.
    pub fee_minor: i64,
    /// When the earliest amount in escrow is released (its publicity period ends), if any is held.
    pub next_release: Option<Timestamp>,
}

/// Licences and revenue of one day (UTC), for charts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayPoint {
    /// Days since the Unix epoch.
    pub day: i64,
    /// Licences granted that day.
    pub licences: i64,
    /// Sums of prices by currency (minor units), since amounts in different currencies do not add.
    pub gross_by_currency: Vec<(String, i64)>,
}

/// Per-work licence aggregates the seal shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkLicences {
    /// Licences not refunded.
    pub count: i64,
    /// Distinct licensed sites (domains or URL prefixes), at most ten.
    pub sites: Vec<String>,
}

/// A payment at the sandbox provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxPayment {
    /// Payment id.
    pub id: String,
    /// The checkout it pays.
    pub checkout: String,
    /// Minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// `pending`, `succeeded` or `declined`.
    pub status: String,
}

pub(super) fn page_limit(limit: usize) -> i64 {
    // Every listing is bounded; callers pass what the user asked, clamped here.
    limit.clamp(1, 500) as i64
}

impl SqliteStore {
    /// Runs a settlement pass and records it (who started it, what it did) for the admin console,
    /// with a `settlement.completed` event per rights holder and currency that had licences settled
    /// and a `payout.made` event per payout.
    ///
    /// The whole pass is one unit (its batches become savepoints), so the events commit exactly when
    /// the settlement does: a crash loses the pass and its events together, and the next run settles
    /// and announces again.
    pub fn settle_and_record(&mut self, started_by: &str, now: Timestamp) -> Result<SettlementRun, StoreError> {
        self.settle_recorded(started_by, now, super::SettleOptions::default()).map(|(run, _)| run)
    }

    /// [`Self::settle_and_record`] with the pass's options, returning the full report too (`seal settle`).
    pub fn settle_recorded(
        &mut self,
        started_by: &str,
        now: Timestamp,
        options: super::SettleOptions,
    ) -> Result<(SettlementRun, super::SettlementReport), StoreError> {
        use super::{Contents, Repository};
        self.atomically(|s| {
            let report = s.settle(now, options)?;
            let run = SettlementRun {
                started_by: started_by.to_owned(),
                at: now,
                licences: report.invoices.len() as i64,
                payouts: report.payouts.len() as i64,
                paid_out_minor: report.by_holder.values().map(|t| t.paid_out_minor).sum(),
            };
            s.conn.execute(
                "INSERT INTO settlement_runs (started_by, at, licences, payouts, paid_out_minor) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run.started_by, now.unix_ms(), run.licences, run.payouts, run.paid_out_minor],
            )?;
            let run_id = s.conn.last_insert_rowid();
            for ((holder, currency), t) in report.by_holder.iter().filter(|(_, t)| t.licences > 0) {
                let payload = serde_json::json!({
                    "holder": holder.as_str(), "run": run_id, "currency": currency.code(),
                    "licences": t.licences, "net_minor": t.net_minor,
                });
                s.record_event("settlement.completed", holder.as_str(), &payload, now)?;
            }
            for p in &report.payouts {
                let payload = serde_json::json!({
                    "holder": p.holder.as_str(), "payout": p.id.as_str(), "currency": p.currency.code(),
                    "amount_minor": p.amount.minor(), "licences": p.licences.len(),
                });
                s.record_event("payout.made", p.id.as_str(), &payload, now)?;
            }
            Ok((run, report))
        })
    }

    /// Registers many works in one transaction (bulk imports and load tests).
    pub fn register_works(&mut self, works: &[Work]) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        {
            let mut sql = super::sqlite::Sql(&tx);
            for w in works {
                seal_licensing::book::register_work(&mut sql, w)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn user_where(&self, clause: &str, value: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT id, email, name, role, password_hash, created_at FROM users WHERE {clause}");
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([value], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .optional()?;
        row.map(|(id, email, name, role, password_hash, created)| {
            Ok(User {
                id: PartyId::new(id).map_err(|e| corrupt("users", e))?,
                email,
                name,
                role: Role::parse(&role).ok_or_else(|| corrupt("users", format!("role {role}")))?,
                password_hash,
                created_at: Timestamp::from_unix_ms(created),
                acting: None,
            })
        })
        .transpose()
    }

    fn doc_where<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        clause: &str,
        value: &str,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT doc FROM {table} WHERE {clause}");
        let doc: Option<String> = self.conn.prepare_cached(&sql)?.query_row([value], |r| r.get(0)).optional()?;
        doc.map(|d| from_doc(table, &d)).transpose()
    }

    fn docs<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
        rows.map(|d| from_doc(table, &d?)).collect()
    }

    fn aggregate(&self, clause: &str, value: Option<&str>) -> Result<Vec<(WorkId, WorkLicences)>, StoreError> {
        let sql = format!("SELECT work, site FROM licences WHERE status <> 'refunded' AND {clause} ORDER BY work, id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([value], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))?;
        let mut out: Vec<(WorkId, WorkLicences)> = Vec::new();
        for row in rows {
            let (work, site) = row?;
            if out.last().is_none_or(|(w, _)| w.as_str() != work) {
                out.push((WorkId::new(work).map_err(|e| corrupt("licences", e))?, WorkLicences::default()));
            }
            let Some((_, agg)) = out.last_mut() else { unreachable!("pushed above") };
            agg.count += 1;
            if let Some(site) = site {
                if agg.sites.len() < 10 && !agg.sites.contains(&site) {
                    agg.sites.push(site);
                }
            }
        }
        Ok(out)
    }

    fn sandbox_payment_where(&self, clause: &str, value: &str) -> Result<Option<SandboxPayment>, StoreError> {
        let sql = format!("SELECT id, checkout, amount_minor, currency, status FROM sandbox_payments WHERE {clause}");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([value], |r| {
                Ok(SandboxPayment {
                    id: r.get(0)?,
                    checkout: r.get(1)?,
                    amount_minor: r.get(2)?,
                    currency: r.get(3)?,
                    status: r.get(4)?,
                })
            })
            .optional()?)
    }
}

/// Users, sessions and password resets.
pub trait Accounts {
    /// Creates a user. A taken email address gives [`StoreError::Conflict`].
    fn create_user(&mut self, user: &User) -> Result<(), StoreError>;
    /// Sets a password on an account and ends every session of it, in one transaction.
    fn set_password(&mut self, user: &PartyId, password_hash: &str) -> Result<(), StoreError>;
    /// The user with this email address (any letter case).
    fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// The user with this id.
    fn user(&self, id: &PartyId) -> Result<Option<User>, StoreError>;
    /// Stores a session under the SHA-256 of its token (a stolen database yields no usable cookie).
    fn create_session(&mut self, token_hash: &str, user: &PartyId, expires_at: Timestamp) -> Result<(), StoreError>;
    /// The user of an unexpired session.
    fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>, StoreError>;
    /// Ends a session, and drops every expired one while at it.
    fn delete_session(&mut self, token_hash: &str, now: Timestamp) -> Result<(), StoreError>;
    /// Stores a password-reset token (its SHA-256).
    fn create_reset(&mut self, token_hash: &str, user: &PartyId, expires_at: Timestamp) -> Result<(), StoreError>;
    /// Uses a reset token: sets the password and ends every session of the account, in one
    /// transaction. `Ok(None)` when the token is unknown, used or expired.
    fn reset_password(
        &mut self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PartyId>, StoreError>;
    /// Remembers the language a user chose (`zh-CN`, `en`), so it follows them to other browsers.
    fn set_user_lang(&mut self, user: &PartyId, lang: &str) -> Result<(), StoreError>;
    /// The language a user chose, if they ever did.
    fn user_lang(&self, user: &PartyId) -> Result<Option<String>, StoreError>;
    /// Saves the time zone a person chose, in minutes east of UTC.
    fn set_user_zone(&mut self, user: &PartyId, minutes: i64) -> Result<(), StoreError>;
    /// The time zone a person chose, if any.
    fn user_zone(&self, user: &PartyId) -> Result<Option<i64>, StoreError>;
}

impl Accounts for SqliteStore {
    fn set_user_lang(&mut self, user: &PartyId, lang: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO user_prefs (user_id, lang) VALUES (?1, ?2) ON CONFLICT (user_id) DO UPDATE SET lang = ?2",
            params![user.as_str(), lang],
        )?;
        Ok(())
    }

    fn set_user_zone(&mut self, user: &PartyId, minutes: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO user_zone (user_id, minutes) VALUES (?1, ?2) ON CONFLICT (user_id) DO UPDATE SET minutes = ?2",
            params![user.as_str(), minutes],
        )?;
        Ok(())
    }

    fn user_zone(&self, user: &PartyId) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT minutes FROM user_zone WHERE user_id = ?1")?
            .query_row(params![user.as_str()], |r| r.get(0))
            .optional()?)
    }

    fn user_lang(&self, user: &PartyId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT lang FROM user_prefs WHERE user_id = ?1", params![user.as_str()], |r| r.get(0))
            .optional()?)
    }

    fn create_user(&mut self, user: &User) -> Result<(), StoreError> {
        let inserted = self.conn.execute(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING",
            params![
                user.id.as_str(),
                user.email,
                user.name,
                user.role.as_str(),
                user.password_hash,
                user.created_at.unix_ms()
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("the email address {} is already registered", user.email)));
        }
        Ok(())
    }

    fn set_password(&mut self, user: &PartyId, password_hash: &str) -> Result<(), StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        tx.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![user.as_str(), password_hash])?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.as_str()])?;
        tx.execute("DELETE FROM password_resets WHERE user_id = ?1 AND used_at IS NULL", [user.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.user_where("email = ?1", email)
    }

    fn user(&self, id: &PartyId) -> Result<Option<User>, StoreError> {
        self.user_where("id = ?1", id.as_str())
    }

    fn create_session(&mut self, token_hash: &str, user: &PartyId, expires_at: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, user.as_str(), expires_at.unix_ms()],
        )?;
        Ok(())
    }

    fn session_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<User>, StoreError> {
        let id: Option<String> = self
            .conn
            .prepare_cached("SELECT user_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2")?
            .query_row(params![token_hash, now.unix_ms()], |r| r.get(0))
            .optional()?;
        match id {
            Some(id) => self.user_where("id = ?1", &id),
            None => Ok(None),
        }
    }

    fn delete_session(&mut self, token_hash: &str, now: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1 OR expires_at <= ?2",
            params![token_hash, now.unix_ms()],
        )?;
        Ok(())
    }

    fn create_reset(&mut self, token_hash: &str, user: &PartyId, expires_at: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![token_hash, user.as_str(), expires_at.unix_ms()],
        )?;
        Ok(())
    }

    fn reset_password(
        &mut self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PartyId>, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let user: Option<String> = tx
            .query_row(
                "UPDATE password_resets SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                 RETURNING user_id",
                params![token_hash, now.unix_ms()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(user) = user else { return Ok(None) };
        tx.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![user, password_hash])?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&user])?;
        // Every other reset link of the account dies with this one: a link sent earlier (perhaps to a
        // mailbox read by someone else) must not undo the new password.
        tx.execute("DELETE FROM password_resets WHERE user_id = ?1 AND used_at IS NULL", [&user])?;
        tx.commit()?;
        Ok(Some(PartyId::new(user).map_err(|e| corrupt("password_resets", e))?))
    }
}

/// Channels, offers and ownership claims.
pub trait Channels {
    /// A channel.
    fn channel(&self, id: &ChannelId) -> Result<Option<Channel>, StoreError>;
    /// An offer.
    fn offer(&self, id: &OfferId) -> Result<Option<Offer>, StoreError>;
    /// A page of a holder's channels, by id after `cursor`.
    fn channels_of(&self, owner: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Channel>, StoreError>;
    /// A page of a holder's offers.
    fn offers_of(&self, owner: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Offer>, StoreError>;
    /// Every offer.
    fn all_offers(&self) -> Result<Vec<Offer>, StoreError>;
    /// Every channel.
    fn all_channels(&self) -> Result<Vec<Channel>, StoreError>;
    /// Channels whose ownership is not yet proven, with their claims.
    fn pending_claims(&self, limit: usize) -> Result<Vec<(Channel, ChannelClaim)>, StoreError>;
    /// The claim of a channel.
    fn claim(&self, channel: &ChannelId) -> Result<Option<ChannelClaim>, StoreError>;
    /// Records a claim token for a channel (keeps an existing one).
    fn put_claim(&mut self, channel: &ChannelId, token: &str) -> Result<(), StoreError>;
    /// Marks a channel's ownership proven.
    fn verify_claim(&mut self, channel: &ChannelId, method: &str, now: Timestamp) -> Result<(), StoreError>;
    /// Asks an administrator to review an unproven claim (method `review`, still unverified). Returns
    /// whether this changed anything (false when already asked or already verified).
    fn request_review(&mut self, channel: &ChannelId) -> Result<bool, StoreError>;
}

impl Channels for SqliteStore {
    fn channel(&self, id: &ChannelId) -> Result<Option<Channel>, StoreError> {
        self.doc_where("channels", "id = ?1", id.as_str())
    }

    fn offer(&self, id: &OfferId) -> Result<Option<Offer>, StoreError> {
        self.doc_where("offers", "id = ?1", id.as_str())
    }

    fn channels_of(&self, owner: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Channel>, StoreError> {
        self.docs(
            "channels",
            "SELECT doc FROM channels WHERE owner = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![owner.as_str(), cursor, page_limit(limit)],
        )
    }

    fn offers_of(&self, owner: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Offer>, StoreError> {
        self.docs(
            "offers",
            "SELECT doc FROM offers WHERE assigner = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![owner.as_str(), cursor, page_limit(limit)],
        )
    }

    fn all_offers(&self) -> Result<Vec<Offer>, StoreError> {
        self.docs("offers", "SELECT doc FROM offers ORDER BY id", [])
    }

    fn all_channels(&self) -> Result<Vec<Channel>, StoreError> {
        self.docs("channels", "SELECT doc FROM channels ORDER BY id", [])
    }

    fn pending_claims(&self, limit: usize) -> Result<Vec<(Channel, ChannelClaim)>, StoreError> {
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT channel FROM channel_claims WHERE verified_at IS NULL ORDER BY channel LIMIT ?1",
            )?;
            let rows = stmt.query_map([page_limit(limit)], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        for id in ids {
            let id = ChannelId::new(id).map_err(|e| corrupt("channel_claims", e))?;
            if let (Some(c), Some(k)) = (self.channel(&id)?, self.claim(&id)?) {
                out.push((c, k));
            }
        }
        Ok(out)
    }

    fn claim(&self, channel: &ChannelId) -> Result<Option<ChannelClaim>, StoreError> {
        let row = self
            .conn
            .prepare_cached("SELECT token, verified_at, method FROM channel_claims WHERE channel = ?1")?
            .query_row([channel.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, Option<String>>(2)?))
            })
            .optional()?;
        Ok(row.map(|(token, verified, method)| ChannelClaim {
            channel: channel.clone(),
            token,
            verified_at: verified.map(Timestamp::from_unix_ms),
            method,
        }))
    }

    fn put_claim(&mut self, channel: &ChannelId, token: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO channel_claims (channel, token) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![channel.as_str(), token],
        )?;
        Ok(())
    }

    fn verify_claim(&mut self, channel: &ChannelId, method: &str, now: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE channel_claims SET verified_at = ?2, method = ?3 WHERE channel = ?1 AND verified_at IS NULL",
            params![channel.as_str(), now.unix_ms(), method],
        )?;
        Ok(())
    }

    fn request_review(&mut self, channel: &ChannelId) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE channel_claims SET method = 'review'
             WHERE channel = ?1 AND verified_at IS NULL AND method IS NOT 'review'",
            params![channel.as_str()],
        )?;
        Ok(changed > 0)
    }
}

/// Checkout sessions, the sandbox provider's payments and received webhook events.
pub trait Checkouts {
    /// Opens a checkout session.
    fn create_checkout(&mut self, c: &Checkout) -> Result<(), StoreError>;
    /// A checkout session.
    fn checkout(&self, id: &str) -> Result<Option<Checkout>, StoreError>;
    /// Rewrites an open checkout's details (not its status); false when it has ended.
    fn update_open_checkout(&mut self, c: &Checkout) -> Result<bool, StoreError>;
    /// Moves an open checkout to its end state. Returns false (and writes nothing) if it had already
    /// ended: the caller then reads the stored outcome instead.
    fn finish_checkout(&mut self, c: &Checkout) -> Result<bool, StoreError>;
    /// Records a webhook event id; false if it was seen before (a replay).
    fn record_webhook_event(&mut self, id: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// Opens a sandbox payment.
    fn create_sandbox_payment(
        &mut self,
        id: &str,
        checkout: &str,
        amount_minor: i64,
        currency: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// A sandbox payment.
    fn sandbox_payment(&self, id: &str) -> Result<Option<SandboxPayment>, StoreError>;
    /// The sandbox payment of a checkout.
    fn sandbox_payment_of(&self, checkout: &str) -> Result<Option<SandboxPayment>, StoreError>;
    /// Ends a pending sandbox payment (a second pay or decline is ignored: the first answer stands).
    fn set_sandbox_payment_status(&mut self, id: &str, status: PaymentStatus, now: Timestamp)
        -> Result<(), StoreError>;
}

impl Checkouts for SqliteStore {
    fn create_checkout(&mut self, c: &Checkout) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO checkouts (id, work, offer, buyer, status, licence, created_at, updated_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                c.id,
                c.work.as_str(),
                c.offer.as_str(),
                c.buyer.as_str(),
                c.status.as_str(),
                c.licence.as_ref().map(|l| l.as_str()),
                c.created_at.unix_ms(),
                c.updated_at.unix_ms(),
                to_doc(c)
            ],
        )?;
        Ok(())
    }

    fn checkout(&self, id: &str) -> Result<Option<Checkout>, StoreError> {
        self.doc_where("checkouts", "id = ?1", id)
    }

    fn update_open_checkout(&mut self, c: &Checkout) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE checkouts SET updated_at = ?2, doc = ?3 WHERE id = ?1 AND status = 'open'",
            params![c.id, c.updated_at.unix_ms(), to_doc(c)],
        )?;
        Ok(changed == 1)
    }

    fn finish_checkout(&mut self, c: &Checkout) -> Result<bool, StoreError> {
        let tx = super::unit::begin(&self.conn)?;
        let changed = tx.execute(
            "UPDATE checkouts SET status = ?2, licence = ?3, updated_at = ?4, doc = ?5 WHERE id = ?1 AND status = 'open'",
            params![c.id, c.status.as_str(), c.licence.as_ref().map(|l| l.as_str()), c.updated_at.unix_ms(), to_doc(c)],
        )?;
        tx.commit()?;
        Ok(changed == 1)
    }

    fn record_webhook_event(&mut self, id: &str, now: Timestamp) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO webhook_events (id, received_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![id, now.unix_ms()],
        )?;
        Ok(n == 1)
    }

    fn create_sandbox_payment(
        &mut self,
        id: &str,
        checkout: &str,
        amount_minor: i64,
        currency: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sandbox_payments (id, checkout, amount_minor, currency, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
            params![id, checkout, amount_minor, currency, now.unix_ms()],
        )?;
        Ok(())
    }

    fn sandbox_payment(&self, id: &str) -> Result<Option<SandboxPayment>, StoreError> {
        self.sandbox_payment_where("id = ?1", id)
    }

    fn sandbox_payment_of(&self, checkout: &str) -> Result<Option<SandboxPayment>, StoreError> {
        self.sandbox_payment_where("checkout = ?1", checkout)
    }

    fn set_sandbox_payment_status(
        &mut self,
        id: &str,
        status: PaymentStatus,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if status == PaymentStatus::Pending {
            return Ok(());
        }
        let status = status.as_str();
        self.conn.execute(
            "UPDATE sandbox_payments SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'pending'",
            params![id, status, now.unix_ms()],
        )?;
        Ok(())
    }
}

/// Listings and reports for dashboards, the REST API and the seal cache (keyset pages, plain columns).
pub trait Reports {
    /// A page of a holder's works.
    fn works_of(&self, owner: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Work>, StoreError>;
    /// A page of the licences a holder granted.
    fn licences_granted(&self, holder: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Licence>, StoreError>;
    /// A page of the licences a licensee holds.
    fn licences_held(&self, licensee: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Licence>, StoreError>;
    /// Invoices of licences a party granted or holds, newest first (at most `limit`).
    fn invoices_of(&self, party: &PartyId, limit: usize) -> Result<Vec<Invoice>, StoreError>;
    /// Every work, every offer and every channel: what the seal cache is built from at start.
    fn all_works(&self) -> Result<Vec<Work>, StoreError>;
    /// Every rights holder.
    fn all_holders(&self) -> Result<Vec<seal_licensing::offer::RightsHolder>, StoreError>;
    /// A rights holder's display name (empty if unknown).
    fn holder_name(&self, id: &PartyId) -> Result<String, StoreError>;
    /// Licence counts and licensed sites of every work that has licences (of one rights holder, or of
    /// all).
    fn licence_aggregates(&self, holder: Option<&PartyId>) -> Result<Vec<(WorkId, WorkLicences)>, StoreError>;
    /// The licence aggregates of one work.
    fn work_licences(&self, work: &WorkId) -> Result<WorkLicences, StoreError>;
    /// Every work of a rights holder (for re-rendering their seals in one pass).
    fn all_works_of(&self, owner: &PartyId) -> Result<Vec<Work>, StoreError>;
    /// A holder's net money by currency and stage.
    fn earnings(&self, holder: &PartyId) -> Result<Vec<Earnings>, StoreError>;
    /// Licences granted per UTC day by a holder (all holders when `None`), over the `days` up to `now`.
    fn licences_per_day(
        &self,
        holder: Option<&PartyId>,
        now: Timestamp,
        days: i64,
    ) -> Result<Vec<DayPoint>, StoreError>;
    /// Licences in one status (objections for the admin console), oldest first.
    fn licences_with_status(
        &self,
        status: seal_licensing::licence::LicenceStatus,
        limit: usize,
    ) -> Result<Vec<Licence>, StoreError>;
    /// The most recent payouts.
    fn recent_payouts(&self, limit: usize) -> Result<Vec<seal_licensing::book::Payout>, StoreError>;
    /// The most recent settlement runs.
    fn settlement_runs(&self, limit: usize) -> Result<Vec<SettlementRun>, StoreError>;
}

impl Reports for SqliteStore {
    fn works_of(&self, owner: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Work>, StoreError> {
        self.docs(
            "works",
            "SELECT doc FROM works WHERE owner = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![owner.as_str(), cursor, page_limit(limit)],
        )
    }

    fn licences_granted(&self, holder: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Licence>, StoreError> {
        self.docs(
            "licences",
            "SELECT doc FROM licences WHERE holder = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![holder.as_str(), cursor, page_limit(limit)],
        )
    }

    fn licences_held(&self, licensee: &PartyId, cursor: &str, limit: usize) -> Result<Vec<Licence>, StoreError> {
        self.docs(
            "licences",
            "SELECT doc FROM licences WHERE licensee = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            params![licensee.as_str(), cursor, page_limit(limit)],
        )
    }

    fn invoices_of(&self, party: &PartyId, limit: usize) -> Result<Vec<Invoice>, StoreError> {
        self.docs(
            "invoices",
            "SELECT i.doc FROM invoices i JOIN licences l ON l.id = i.licence
             WHERE l.holder = ?1 OR l.licensee = ?1 ORDER BY i.issued_at DESC, i.number DESC LIMIT ?2",
            params![party.as_str(), page_limit(limit)],
        )
    }

    fn all_works(&self) -> Result<Vec<Work>, StoreError> {
        self.docs("works", "SELECT doc FROM works ORDER BY id", [])
    }

    fn all_holders(&self) -> Result<Vec<seal_licensing::offer::RightsHolder>, StoreError> {
        self.docs("holders", "SELECT doc FROM holders ORDER BY id", [])
    }

    fn holder_name(&self, id: &PartyId) -> Result<String, StoreError> {
        let h: Option<seal_licensing::offer::RightsHolder> = self.doc_where("holders", "id = ?1", id.as_str())?;
        Ok(h.map(|h| h.name).unwrap_or_default())
    }

    fn licence_aggregates(&self, holder: Option<&PartyId>) -> Result<Vec<(WorkId, WorkLicences)>, StoreError> {
        self.aggregate("(?1 IS NULL OR holder = ?1)", holder.map(|h| h.as_str()))
    }

    fn work_licences(&self, work: &WorkId) -> Result<WorkLicences, StoreError> {
        Ok(self.aggregate("work = ?1", Some(work.as_str()))?.pop().map(|(_, agg)| agg).unwrap_or_default())
    }

    fn all_works_of(&self, owner: &PartyId) -> Result<Vec<Work>, StoreError> {
        self.docs("works", "SELECT doc FROM works WHERE owner = ?1 ORDER BY id", [owner.as_str()])
    }

    fn earnings(&self, holder: &PartyId) -> Result<Vec<Earnings>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT currency,
                    SUM(CASE WHEN status IN ('held', 'frozen') THEN net_minor ELSE 0 END),
                    SUM(CASE WHEN status = 'settled' AND payout IS NULL THEN net_minor ELSE 0 END),
                    SUM(CASE WHEN status = 'settled' AND payout IS NOT NULL THEN net_minor ELSE 0 END),
                    COUNT(*),
                    SUM(CASE WHEN status <> 'refunded' THEN price_minor ELSE 0 END),
                    SUM(CASE WHEN status <> 'refunded' THEN price_minor - net_minor ELSE 0 END),
                    MIN(CASE WHEN status = 'held' THEN hold_until END)
             FROM licences WHERE holder = ?1 AND price_minor > 0 GROUP BY currency ORDER BY currency",
        )?;
        let rows = stmt.query_map([holder.as_str()], |r| {
            Ok(Earnings {
                currency: r.get(0)?,
                held_minor: r.get(1)?,
                settled_minor: r.get(2)?,
                paid_out_minor: r.get(3)?,
                licences: r.get(4)?,
                gross_minor: r.get(5)?,
                fee_minor: r.get(6)?,
                next_release: r.get::<_, Option<i64>>(7)?.map(Timestamp::from_unix_ms),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn licences_per_day(
        &self,
        holder: Option<&PartyId>,
        now: Timestamp,
        days: i64,
    ) -> Result<Vec<DayPoint>, StoreError> {
        let day_ms = seal_licensing::time::MS_PER_DAY;
        let today = now.unix_ms().div_euclid(day_ms);
        let mut stmt = self.conn.prepare_cached(
            "SELECT created_at / ?1 AS day, currency, COUNT(*), SUM(price_minor)
             FROM licences WHERE (?2 IS NULL OR holder = ?2) AND status <> 'refunded' AND created_at >= ?3
             GROUP BY day, currency ORDER BY day, currency",
        )?;
        let since = (today - days + 1) * day_ms;
        let rows = stmt.query_map(params![day_ms, holder.map(|h| h.as_str()), since], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?;
        let found: Vec<(i64, String, i64, i64)> = rows.collect::<Result<_, _>>()?;
        // Every day of the range, empty ones too, so a chart's x axis is continuous.
        Ok((today - days + 1..=today)
            .map(|day| {
                let of_day = found.iter().filter(|f| f.0 == day);
                DayPoint {
                    day,
                    licences: of_day.clone().map(|f| f.2).sum(),
                    gross_by_currency: of_day.filter(|f| f.3 > 0).map(|f| (f.1.clone(), f.3)).collect(),
                }
            })
            .collect())
    }

    fn licences_with_status(
        &self,
        status: seal_licensing::licence::LicenceStatus,
        limit: usize,
    ) -> Result<Vec<Licence>, StoreError> {
        self.docs(
            "licences",
            "SELECT doc FROM licences WHERE status = ?1 ORDER BY hold_until, id LIMIT ?2",
            params![status.as_str(), page_limit(limit)],
        )
    }

    fn recent_payouts(&self, limit: usize) -> Result<Vec<seal_licensing::book::Payout>, StoreError> {
        self.docs("payouts", "SELECT doc FROM payouts ORDER BY created_at DESC, id DESC LIMIT ?1", [page_limit(limit)])
    }

    fn settlement_runs(&self, limit: usize) -> Result<Vec<SettlementRun>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT started_by, at, licences, payouts, paid_out_minor FROM settlement_runs ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([page_limit(limit)], |r| {
            Ok(SettlementRun {
                started_by: r.get(0)?,
                at: Timestamp::from_unix_ms(r.get(1)?),
                licences: r.get(2)?,
                payouts: r.get(3)?,
                paid_out_minor: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
