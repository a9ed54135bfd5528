//! `seal-api`: the platform server side of Copyright Seal.
//!
//! Built so far: [`store`], the storage of the licensing domain (SQLite by default, behind the narrow
//! [`store::Repository`] interface), [`keys`], the platform's Ed25519 signing key on disk, and
//! [`letters`], which issues signed authorization letters for stored licences, and [`pdf`], their and
//! the invoices' readable PDF forms.
//!
//! [`content`], [`monitor`] and [`services`] keep what works contain, fingerprint it durably and
//! register works the one way every path shares.
//!
//! [`i18n`] holds the two locales (zh-CN and English) that pages, emails and PDFs speak.
//!
//! [`web`] is the actix-web application: accounts, the three-step seal setup, the seal widget and
//! its hot path, checkout with the sandbox payment provider, dashboards and the REST API; [`config`]
//! resolves its settings. This is the only crate that knows about HTTP, JSON DTOs and databases.

pub mod config;
pub mod content;
pub mod domain;
pub mod i18n;
pub mod keys;
pub mod letters;
pub mod monitor;
pub mod pdf;
pub mod search;
pub mod services;
pub mod store;
pub mod web;
