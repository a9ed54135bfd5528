//! Application services: operations that span the records store, the content store and the monitor,
//! written once without actix so that the web handlers, the command line and tests share them.

pub mod demo;
pub mod import;
pub mod registration;
