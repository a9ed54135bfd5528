//! `seal-licensing`: the pure licensing domain of Copyright Seal: "use it, licensed as you use it".
//!
//! A reader buys a licence under an offer; the fee is held in the platform's escrow account through a
//! publicity period, then settled to the rights holder less the platform fee, and the platform issues the
//! invoice and a signed authorization letter.
//!
//! **Architecture invariant**: this crate does no IO. It never reads a clock (time is a [`Timestamp`]
//! argument), never touches a file, socket or database. Storage is the [`book::BookStore`] trait, which
//! `seal-api` implements on SQLite and [`memory::MemoryBook`] implements in memory; both run the same
//! operation code, so the invariants proven by the simulation here are the ones the database keeps.
//!
//! Map:
//! - [`money`], [`time`], [`ids`]: integer minor units, ISO 4217 currencies, Unix-millisecond time, ids.
//! - [`ledger`]: double-entry accounts and TigerBeetle-style two-phase transfers.
//! - [`offer`], [`licence`]: parties, works, channels, ODRL offers, licences.
//! - [`book`]: purchase, objection, resolution, settlement and payout.
//! - [`case`]: rights-protection cases, their state machine and the retroactive settlement fee.
//! - [`invoice`], [`letter`]: invoices with gapless numbers; Ed25519-signed authorization letters.
//! - [`invariants`]: the checks every store must pass after every step.
//!
//! serde is used here (not only at the edge) because two outputs are defined by their exact bytes: the
//! signed letter payload, and the canonical fingerprints that make replayed operations comparable.

#![deny(missing_docs)]

pub mod book;
pub mod case;
pub mod certificate;
pub mod ids;
pub mod invariants;
pub mod invoice;
pub mod ledger;
pub mod letter;
pub mod licence;
pub mod memory;
pub mod merkle;
pub mod money;
pub mod note;
pub mod offer;
pub mod time;
pub mod tsa;

#[cfg(test)]
mod sim;

pub use time::Timestamp;
