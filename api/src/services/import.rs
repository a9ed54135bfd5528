//! Files to works and queries: the rules `seal works import` and `seal match` share, kept here so the
//! binary stays glue and a future upload endpoint can reuse them.
//!
//! A `.txt` file's first line is its title and the rest its body (the corpus convention `seal eval`
//! uses; a file without a newline is all body, titled by its file name). The body alone is the work's
//! text item, so the content store holds exactly what is fingerprinted. An HTML page is stored whole
//! and titled by its `<title>`; an image is stored whole and titled by its file name.

use super::registration::{NewItem, NewWork};
use crate::content::ContentStore;
use crate::domain::ContentKind;
use crate::monitor::pages::PageStore;
use crate::monitor::{KindHint, Monitor, MonitorConfig, MonitorError, OpenReport};
use crate::store::prelude::*;
use crate::store::{SqliteStore, StoreError};
use seal_engine::text;
use seal_licensing::ids::{ChannelId, PartyId};
use seal_licensing::offer::RightsHolder;
use std::path::{Path, PathBuf};

/// A data directory opened for registration and matching.
pub struct DataDir {
    /// The records (`DATA/seal.db`).
    pub store: SqliteStore,
    /// The content files (`DATA/content/`).
    pub content: ContentStore,
    /// The indexes (`DATA/index/`).
    pub monitor: Monitor,
    /// What opening the indexes found and repaired.
    pub report: OpenReport,
    /// The page side of retroactive matching (`DATA/index/pages.snap`).
    pub pages: PageStore,
}

impl DataDir {
    /// Opens (creating if needed) the store, the content store and the indexes of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<DataDir, MonitorError> {
        let store = SqliteStore::open_in(data_dir)?;
        let content = ContentStore::open(data_dir)?;
        let (mut monitor, mut report) = Monitor::open(data_dir, &store, &content, MonitorConfig::default())?;
        // A command runs briefly and may write snapshots: it waits for the image snapshot's check,
        // and a damaged one is rebuilt now, as a missing one is.
        if let Some(repaired) = monitor.repair_damaged_images(&store, &content)? {
            report.snapshots_loaded.1 = false;
            report.added += repaired.added;
            report.removed += repaired.removed;
            report.unrepairable.extend(repaired.unrepairable);
            report.registered = repaired.registered;
        }
        let pages = PageStore::open(data_dir, page_index_config())?;
        Ok(DataDir { store, content, monitor, report, pages })
    }
}

/// The page index's settings for command-line runs: `SEAL_PAGE_RETENTION` (the server's
/// `page_retention` setting) when it is a whole number, else the default.
fn page_index_config() -> seal_engine::text::PageIndexConfig {
    let retention = std::env::var("SEAL_PAGE_RETENTION").ok().and_then(|v| match v.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => {
            tracing::warn!(value = %v, "SEAL_PAGE_RETENTION is not a whole number of pages; using the default");
            None
        }
    });
    seal_engine::text::PageIndexConfig {
        retention: retention.unwrap_or(crate::config::PAGE_RETENTION),
        ..Default::default()
    }
}

/// The item kind a file name's extension names, or `None` for files neither imported nor matched.
pub fn kind_of_path(path: &Path) -> Option<ContentKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "txt" => Some(ContentKind::Text),
        "html" | "htm" => Some(ContentKind::Html),
        "jpg" | "jpeg" | "png" | "webp" | "gif" => Some(ContentKind::Image),
        _ => None,
    }
}

/// How to match a query file, from its extension.
pub fn hint_of_path(path: &Path) -> KindHint {
    match kind_of_path(path) {
        Some(ContentKind::Text) => KindHint::Text,
        Some(ContentKind::Html) => KindHint::Html,
        Some(ContentKind::Image) => KindHint::Image,
        None => KindHint::Auto,
    }
}

/// The files named by `paths`: files as given (whatever their extension), directories walked
/// recursively in sorted order keeping files of a known kind and skipping hidden entries.
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if kind_of_path(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

/// The base name of a path.
pub fn base_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| base_name(path))
}

/// Builds the work a file registers (see the module docs for titles and bodies). `Err` says why the
/// file cannot be a work.
pub fn work_from_file(
    path: &Path,
    bytes: Vec<u8>,
    owner: &PartyId,
    channel: Option<&ChannelId>,
    author: &str,
) -> Result<NewWork, String> {
    let kind = kind_of_path(path).ok_or("not a .txt, .html, .htm, .jpg, .jpeg, .png, .webp or .gif file")?;
    let original = bytes.clone();
    let (title, bytes) = match kind {
        ContentKind::Text => {
            let extracted = text::extract(&bytes, text::ContentKind::PlainText, &text::ExtractConfig::default())
                .map_err(|e| e.to_string())?
                .text;
            match extracted.split_once('\n') {
                Some((title, body)) if !title.trim().is_empty() => (title.trim().to_owned(), body.as_bytes().to_vec()),
                Some((_, body)) => (stem(path), body.as_bytes().to_vec()),
                None => (stem(path), extracted.into_bytes()),
            }
        }
        ContentKind::Html => {
            let title = text::extract(&bytes, text::ContentKind::Html, &text::ExtractConfig::default())
                .ok()
                .and_then(|e| e.title)
                .filter(|t| !t.trim().is_empty());
            (title.unwrap_or_else(|| stem(path)), bytes)
        }
        ContentKind::Image => (stem(path), bytes),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the file has no content besides its title".into());
    }
    // Titles are cut to the field limit rather than refusing a long first line.
    let title: String = title.chars().take(super::registration::MAX_FIELD_CHARS).collect();
    Ok(NewWork {
        owner: owner.clone(),
        channel: channel.cloned(),
        title,
        author: author.to_owned(),
        source_url: None,
        items: vec![NewItem { kind, bytes, file: Some(base_name(path)), source: Some(original) }],
    })
}

/// Why an import cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ImportSetupError {
    /// The owner name is not a valid party id.
    #[error("{0}")]
    Owner(String),
    /// The channel does not exist or is someone else's.
    #[error("channel {0} is not a channel of {1}")]
    Channel(String, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The rights holder `name` (its party id and display name), created on the default contract if
/// missing, and the channel `channel` checked to be theirs.
pub fn ensure_owner(
    store: &mut SqliteStore,
    name: &str,
    channel: Option<&str>,
) -> Result<(RightsHolder, Option<ChannelId>), ImportSetupError> {
    let id = PartyId::new(name).map_err(|e| ImportSetupError::Owner(e.to_string()))?;
    let holder = match store.holder(&id)? {
        Some(holder) => holder,
        None => {
            let holder = RightsHolder::new(id, name);
            store.register_holder(&holder)?;
            holder
        }
    };
    let channel = match channel {
        None => None,
        Some(c) => {
            let not_theirs = || ImportSetupError::Channel(c.to_owned(), name.to_owned());
            let cid = ChannelId::new(c).map_err(|_| not_theirs())?;
            match store.channel(&cid)? {
                Some(found) if found.owner == holder.id => Some(cid),
                _ => return Err(not_theirs()),
            }
        }
    };
    Ok((holder, channel))
}
