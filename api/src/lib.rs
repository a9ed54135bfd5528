//! `seal-api`: the platform server (not built yet).
//!
//! It will hold the actix-web application, storage (SQLite by default, behind a narrow repository
//! interface), the web UI and the seal widget, and wire `seal-engine`, `seal-licensing` and
//! `seal-crawler` together. It is the only crate that knows about HTTP, JSON DTOs and databases.
