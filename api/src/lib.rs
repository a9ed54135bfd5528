//! `seal-api`: the platform server side of Copyright Seal.
//!
//! Built so far: [`store`], the storage of the licensing domain (SQLite by default, behind the narrow
//! [`store::Repository`] interface), [`keys`], the platform's Ed25519 signing key on disk, and
//! [`letters`], which issues signed authorization letters for stored licences, and [`pdf`], their and
//! the invoices' readable PDF forms.
//!
//! To come: the actix-web application, the web UI and the seal widget, wiring `seal-engine`,
//! `seal-licensing` and `seal-crawler` together. This is the only crate that knows about HTTP, JSON DTOs
//! and databases.

pub mod keys;
pub mod letters;
pub mod pdf;
pub mod store;
