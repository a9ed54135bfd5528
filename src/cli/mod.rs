//! Subcommand implementations of the `seal` binary. Each file is glue between arguments, files and the
//! library crates; none holds domain logic.

pub mod admin;
pub mod capture;
pub mod certificate;
pub mod crawl;
pub mod demo;
pub mod eval;
pub mod eval_image;
pub mod eval_text;
pub mod include;
pub mod ingest;
pub mod invoice;
pub mod keys;
pub mod ledger;
pub mod letter;
pub mod licences;
pub mod log;
pub mod matching;
pub mod offers;
pub mod proof;
pub mod search;
pub mod serve;
pub mod settle;
pub mod verify;
pub mod works;
