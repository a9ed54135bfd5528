//! The platform's keys on disk: its Ed25519 signing key (letters, certificates, log checkpoints), the
//! P-384 key that signs evidence captures (WACZ), and its built-in RFC 3161 Time-Stamp Authority.
//!
//! The key lives at `DATA/keys/platform.ed25519` as the 32-byte seed in lower-case hex plus a newline,
//! readable by the owner only. It is created on first use from the operating system's random source.
//! Creation uses `create_new`, so two processes starting at once cannot both write a key: the loser
//! reads the winner's.

use seal_crawler::evidence::EvidenceSigner;
use seal_licensing::letter::PlatformKey;
use seal_licensing::tsa::Authority;
use seal_licensing::Timestamp;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors around the key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Filesystem trouble.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not 64 hex digits.
    #[error("key file {0} is corrupt")]
    Corrupt(PathBuf),
    /// The OS random source failed.
    #[error("no randomness: {0}")]
    Random(String),
}

/// Where the key lives inside a data directory.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("platform.ed25519")
}

/// Loads the platform key if it exists, without creating one (verification must not invent a key).
pub fn load(data_dir: &Path) -> Result<Option<PlatformKey>, KeyError> {
    let path = key_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).map(Some).ok_or(KeyError::Corrupt(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io { path, source }),
    }
}

/// Loads the platform key, creating it on first use.
pub fn load_or_create(data_dir: &Path) -> Result<PlatformKey, KeyError> {
    load_or_create_secret(&key_path(data_dir), 32, parse)
}

/// Loads a secret kept as lower-case hex plus a newline, creating it from `len` random bytes on first
/// use; `parse` turns the text into the key (None for a corrupt file or a draw that is not a key).
fn load_or_create_secret<K>(path: &Path, len: usize, parse: impl Fn(&str) -> Option<K>) -> Result<K, KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => return parse(&text).ok_or_else(|| KeyError::Corrupt(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // A draw that is not a valid key (a P-384 scalar above the order: probability about 2^-190) is
    // drawn again.
    let (hex, key) = loop {
        let mut seed = vec![0_u8; len];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let hex = format!("{}\n", hex::encode(&seed));
        if let Some(key) = parse(&hex) {
            break (hex, key);
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(hex.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(key)
        }
        // Someone else created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(io)?;
            parse(&text).ok_or_else(|| KeyError::Corrupt(path.to_path_buf()))
        }
        Err(e) => Err(io(e)),
    }
}

fn parse(text: &str) -> Option<PlatformKey> {
    let seed: [u8; 32] = hex::decode(text.trim_end_matches('\n')).ok()?.try_into().ok()?;
    Some(PlatformKey::from_seed(&seed))
}

/// Where the evidence signing key (ECDSA P-384, the WACZ signing spec's anonymous key) lives.
pub fn evidence_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("evidence.p384")
}

/// Loads the key that signs evidence captures (WACZ), creating it on first use.
pub fn load_or_create_evidence(data_dir: &Path) -> Result<EvidenceSigner, KeyError> {
    load_or_create_secret(&evidence_key_path(data_dir), 48, |text| {
        let secret = hex::decode(text.trim_end_matches('\n')).ok()?;
        EvidenceSigner::from_secret_bytes(&secret, crate::services::notary::ISSUER).ok()
    })
}

/// Where the built-in TSA's keys and certificates live inside a data directory.
pub fn tsa_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("tsa.json")
}

/// Loads the built-in TSA without creating one.
pub fn load_tsa(data_dir: &Path) -> Result<Option<Authority>, KeyError> {
    let path = tsa_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_tsa(&text).map(Some).ok_or(KeyError::Corrupt(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io { path, source }),
    }
}

/// Loads the built-in TSA (a root CA and the TSA's certificate, ECDSA P-256), creating it on first use.
/// Both keys and both certificates are written to one file that appears whole or not at all (written
/// aside, then hard-linked into place, which fails if another process won the race: then theirs is
/// used), so tokens issued by one process always chain to the root another process exports.
pub fn load_or_create_tsa(data_dir: &Path, now: Timestamp) -> Result<Authority, KeyError> {
    if let Some(tsa) = load_tsa(data_dir)? {
        return Ok(tsa);
    }
    let path = tsa_path(data_dir);
    let io = |source| KeyError::Io { path: path.clone(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let authority = loop {
        let mut seeds = [0_u8; 64];
        getrandom::fill(&mut seeds).map_err(|e| KeyError::Random(e.to_string()))?;
        let (root, tsa) = seeds.split_at(32);
        let (Ok(root), Ok(tsa)) = (<[u8; 32]>::try_from(root), <[u8; 32]>::try_from(tsa)) else { continue };
        // A seed outside the curve's order is drawn again (probability about 2^-32).
        if let Ok(a) = Authority::generate(root, tsa, crate::services::notary::ISSUER, now) {
            break (a, root, tsa);
        }
    };
    let (authority, root_seed, tsa_seed) = authority;
    let doc = serde_json::json!({
        "root_seed": hex::encode(root_seed),
        "tsa_seed": hex::encode(tsa_seed),
        "root_cert": hex::encode(authority.root_der()),
        "tsa_cert": hex::encode(authority.tsa_der()),
    });
    let aside = path.with_extension(format!("json.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&aside).map_err(io)?;
    f.write_all(format!("{doc}\n").as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    let linked = std::fs::hard_link(&aside, &path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(authority),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_tsa(data_dir)?.ok_or(KeyError::Corrupt(path)),
        Err(e) => Err(io(e)),
    }
}

fn parse_tsa(text: &str) -> Option<Authority> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let field = |name: &str| hex::decode(doc[name].as_str()?).ok();
    let root_seed: [u8; 32] = field("root_seed")?.try_into().ok()?;
    let tsa_seed: [u8; 32] = field("tsa_seed")?.try_into().ok()?;
    Authority::from_parts(root_seed, tsa_seed, field("root_cert")?, field("tsa_cert")?).ok()
}
