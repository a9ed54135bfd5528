//! The page side of retroactive matching: compact fingerprints of the last pages seen
//! (`seal_engine::text::PageIndex`, by default the last 1,000,000), kept so that a work registered
//! later is found on pages already crawled or ingested without fetching them again.
//!
//! The index is keyed by the `pages` row id of the records store. It lives in memory behind a mutex
//! (inserts are brief; fingerprints are computed on the pipeline's matching threads) and is written as
//! one checksummed snapshot (`DATA/index/pages.snap`, temp file + fsync + rename) at the end of every
//! crawl or ingest run and every ten minutes during a long one. Pages seen after the last snapshot are
//! lost to retroactive matching if the process dies (their hits are not: those are in the records
//! store); a damaged snapshot is set aside and the index starts empty, never fatal. The retention is
//! a setting (`page_retention`, `SEAL_PAGE_RETENTION`); changing it keeps the pages already held,
//! forgetting the oldest when it shrinks.

use seal_engine::text::{PageIndex, PageIndexConfig};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The page index and its snapshot file.
#[derive(Debug)]
pub struct PageStore {
    index: Mutex<PageIndex>,
    path: PathBuf,
}

impl PageStore {
    /// Opens `data_dir/index/pages.snap`, or starts empty (a damaged snapshot is renamed aside).
    pub fn open(data_dir: &Path, config: PageIndexConfig) -> io::Result<PageStore> {
        let dir = data_dir.join("index");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("pages.snap");
        let index = match std::fs::read(&path) {
            Ok(bytes) => match PageIndex::from_bytes(&bytes) {
                Ok(mut index)
                    if PageIndexConfig { retention: config.retention, ..index.config() } == config.normalized() =>
                {
                    // A new retention applies to the pages already kept.
                    index.set_retention(config.normalized().retention);
                    index
                }
                Ok(_) => {
                    tracing::warn!("the page index snapshot was made with other settings; starting empty");
                    PageIndex::new(config)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the page index snapshot is damaged; set aside, starting empty");
                    std::fs::rename(&path, dir.join("pages.snap.damaged"))?;
                    PageIndex::new(config)
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => PageIndex::new(config),
            Err(e) => return Err(e),
        };
        Ok(PageStore { index: Mutex::new(index), path })
    }

    /// The index (lock it briefly).
    pub fn index(&self) -> &Mutex<PageIndex> {
        &self.index
    }

    /// Writes the snapshot atomically and durably.
    pub fn checkpoint(&self) -> io::Result<()> {
        let bytes = self.index.lock().unwrap_or_else(|p| p.into_inner()).to_bytes();
        super::log::write_atomically(&self.path, &[&bytes])
    }

    /// Pages held.
    pub fn len(&self) -> usize {
        self.index.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no page is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
