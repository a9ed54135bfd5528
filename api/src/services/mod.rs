//! Application services: operations that span the records store, the content store and the monitor,
//! written once without actix so that the web handlers, the command line and tests share them.

pub mod cases;
pub mod channels;
pub mod checkout;
pub mod classify;
pub mod crawl;
pub mod demo;
pub mod dossier;
pub mod evidence;
pub mod external_tsa;
pub mod import;
pub mod inclusion;
pub mod ingest;
pub mod jobs;
pub mod licences;
pub mod notary;
pub mod notifications;
pub mod outbox;
pub mod payment;
pub mod pipeline;
pub mod registration;
pub mod reports;
pub mod retro;
pub mod screenshot;
pub mod seal;
pub mod search;
pub mod subscribers;
pub mod team;
pub mod tokens;
