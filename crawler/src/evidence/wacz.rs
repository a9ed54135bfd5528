//! The capture packaged as a signed WACZ 1.1.1 file, and the check of one.
//!
//! A WACZ is a zip holding the WARC, a CDXJ index, a page list and `datapackage.json`, a manifest
//! listing every file with its SHA-256. `datapackage-digest.json` holds the manifest's own hash and,
//! per the WACZ signing specification (webrecorder, "anonymous signature"), a signature of that hash,
//! so one signature (and one RFC 3161 time-stamp the caller obtains over the manifest's hash) covers
//! every byte of the capture.
//!
//! # The signature, as the reference tools make and check it
//!
//! The specification only says "signature of hash" with an ECDSA public key. What it means in bytes
//! is fixed by the tools: ArchiveWeb.page (`awp-sw`, `keystore.ts`) signs, and ReplayWeb.page
//! (`wabac.js`, `certutils.ts`, `verifyWACZSignature`) verifies, with WebCrypto:
//! - the signed message is the UTF-8 text of the `hash` field, `sha256:<64 lowercase hex>`, not the
//!   32 digest bytes;
//! - ECDSA over curve **P-384** with SHA-256 as the message hash (wabac imports every anonymous key
//!   as P-384, so a P-256 key fails to import there);
//! - the signature is WebCrypto's encoding, **raw `r || s`** (96 bytes for P-384), not DER, in
//!   standard base64;
//! - `publicKey` is the SubjectPublicKeyInfo DER, standard base64;
//! - `created` repeats `datapackage.json`'s `created` exactly (`wacz validate` compares them) and
//!   `software` names the signer.
//!
//! So [`EvidenceSigner`] holds a P-384 key. `authsign`, the Python signer, signs domain-certificate
//! signatures (DER, P-256) and its verifier does not check anonymous ones; [`verify`] therefore also
//! accepts DER signatures and P-256 keys, but what [`package`] writes is what ReplayWeb.page checks.
//!
//! # No time-stamp file inside the WACZ
//!
//! An RFC 3161 token over the manifest's hash cannot be listed in the manifest it covers, and an
//! unlisted file breaks the WACZ rule that every file is listed (`wacz validate` rejects one,
//! "file timestamp.tsr is not listed in the datapackage"). So the token travels beside the WACZ,
//! not in it.

use std::io::{Cursor, Read, Write};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use p384::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p384::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::warc::{self, sha256_label, WARC_NAME};
use super::{Capture, CaptureError};
use crate::warc::format_warc_date;

const WACZ_VERSION: &str = "1.1.1";
const DATAPACKAGE: &str = "datapackage.json";
const DIGEST: &str = "datapackage-digest.json";
/// The largest `datapackage.json` or `datapackage-digest.json` [`verify`] reads: far above any real
/// manifest, far below what a hostile zip could expand to.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Signs WACZ manifests with an anonymous ECDSA P-384 key (see the module docs for why P-384).
pub struct EvidenceSigner {
    key: p384::ecdsa::SigningKey,
    software: String,
}

impl std::fmt::Debug for EvidenceSigner {
    // The private key never goes to a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceSigner").field("software", &self.software).finish_non_exhaustive()
    }
}

impl EvidenceSigner {
    /// A signer with `key`; `software` names the platform in the WACZ (`created by`).
    pub fn new(key: p384::ecdsa::SigningKey, software: impl Into<String>) -> EvidenceSigner {
        EvidenceSigner { key, software: software.into() }
    }

    /// A signer with a fresh key from the operating system's random source.
    pub fn generate(software: impl Into<String>) -> Result<EvidenceSigner, CaptureError> {
        // A random 48-byte string is a valid scalar except with negligible probability; retry then.
        for _ in 0..8 {
            let mut seed = p384::FieldBytes::default();
            getrandom::fill(&mut seed).map_err(|e| CaptureError::Random(e.to_string()))?;
            if let Ok(key) = p384::ecdsa::SigningKey::from_bytes(&seed) {
                return Ok(EvidenceSigner::new(key, software));
            }
        }
        Err(CaptureError::BadKey)
    }

    /// A signer with a key stored as PKCS#8 DER (unencrypted).
    pub fn from_pkcs8_der(der: &[u8], software: impl Into<String>) -> Result<EvidenceSigner, CaptureError> {
        let key = p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|_| CaptureError::BadKey)?;
        Ok(EvidenceSigner::new(key, software))
    }

    /// The private scalar (48 bytes, big-endian), for the caller to keep the key on disk.
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.key.to_bytes().to_vec()
    }

    /// A signer from [`EvidenceSigner::secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8], software: impl Into<String>) -> Result<EvidenceSigner, CaptureError> {
        let key = p384::ecdsa::SigningKey::from_slice(bytes).map_err(|_| CaptureError::BadKey)?;
        Ok(EvidenceSigner::new(key, software))
    }

    /// The public key as SubjectPublicKeyInfo DER, as the WACZ carries it (base64) and as a verifier
    /// should have it from outside the WACZ to know who signed.
    pub fn public_key_der(&self) -> Result<Vec<u8>, CaptureError> {
        let public = p384::PublicKey::from(self.key.verifying_key());
        let der = public.to_public_key_der().map_err(|_| CaptureError::BadKey)?;
        Ok(der.as_bytes().to_vec())
    }

    /// The software name written into the WACZ.
    pub fn software(&self) -> &str {
        &self.software
    }

    /// Signs the text `hash` as the WACZ signing spec's anonymous signature: ECDSA P-384 over its
    /// SHA-256, raw `r || s`.
    fn sign(&self, hash: &str) -> Result<Vec<u8>, CaptureError> {
        let digest = Sha256::digest(hash.as_bytes());
        let signature: p384::ecdsa::Signature = self.key.sign_prehash(&digest).map_err(|_| CaptureError::BadKey)?;
        Ok(signature.to_bytes().to_vec())
    }
}

/// A packaged WACZ and the facts a caller needs to time-stamp and file it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wacz {
    /// The `.wacz` file.
    pub bytes: Vec<u8>,
    /// SHA-256 of `datapackage.json`: what the signature covers (as `sha256:<hex>` text) and what an
    /// RFC 3161 time-stamp should be requested over.
    pub datapackage_sha256: [u8; 32],
    /// `datapackage-digest.json` exactly as stored in the WACZ.
    pub digest_json: String,
    /// The `created` time in the manifest and the signature (RFC 3339, UTC).
    pub created: String,
    /// The signer's public key, SubjectPublicKeyInfo DER.
    pub public_key_der: Vec<u8>,
}

/// What [`verify`] established about a WACZ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWacz {
    /// The key that signed it, SubjectPublicKeyInfo DER. The WACZ proves only that the holder of this
    /// key signed it; whose key it is must be known from elsewhere.
    pub public_key_der: Vec<u8>,
    /// `mainPageURL` from the manifest, when present.
    pub main_page_url: Option<String>,
    /// `created` from the manifest (equal to the signed one).
    pub created: String,
    /// `software` from the signed data, when present.
    pub software: Option<String>,
    /// SHA-256 of `datapackage.json`.
    pub datapackage_sha256: [u8; 32],
    /// How many files the manifest lists (all checked).
    pub files: usize,
}

#[derive(Serialize, Deserialize)]
struct Resource {
    name: String,
    path: String,
    hash: String,
    bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct DataPackage {
    profile: String,
    resources: Vec<Resource>,
    wacz_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    software: Option<String>,
    #[serde(rename = "mainPageURL", default, skip_serializing_if = "Option::is_none")]
    main_page_url: Option<String>,
    #[serde(rename = "mainPageDate", default, skip_serializing_if = "Option::is_none")]
    main_page_date: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SignedData {
    hash: String,
    created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    software: Option<String>,
    signature: String,
    #[serde(rename = "publicKey")]
    public_key: String,
}

#[derive(Serialize, Deserialize)]
struct DigestFile {
    path: String,
    hash: String,
    #[serde(rename = "signedData", default, skip_serializing_if = "Option::is_none")]
    signed_data: Option<SignedData>,
}

#[derive(Serialize)]
struct PageHeader {
    format: &'static str,
    id: &'static str,
    title: &'static str,
}

#[derive(Serialize)]
struct PageLine<'a> {
    id: String,
    url: &'a str,
    ts: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
}

fn json_error(e: serde_json::Error) -> CaptureError {
    CaptureError::Write(e.to_string())
}

/// Packages `capture` as a WACZ signed by `signer`, `created_ms` (milliseconds since the Unix epoch)
/// being the package's creation time: `archive/data.warc.gz` (stored, not deflated, so a replay tool
/// can read records by offset), `indexes/index.cdx`, `pages/pages.jsonl` (the page, with its title),
/// `datapackage.json` and a signed `datapackage-digest.json`.
pub fn package(capture: &Capture, signer: &EvidenceSigner, created_ms: i64) -> Result<Wacz, CaptureError> {
    let warc = warc::build(capture, signer.software())?;

    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| CaptureError::Random(e.to_string()))?;
    let header = PageHeader { format: "json-pages-1.0", id: "pages", title: "All Pages" };
    let page = PageLine {
        id: hex::encode(id),
        url: capture.page.url.as_str(),
        ts: &warc.page_date,
        title: capture.title.as_deref(),
    };
    let pages = format!(
        "{}\n{}\n",
        serde_json::to_string(&header).map_err(json_error)?,
        serde_json::to_string(&page).map_err(json_error)?
    );

    let files: [(&str, &[u8], CompressionMethod); 3] = [
        ("pages/pages.jsonl", pages.as_bytes(), CompressionMethod::Deflated),
        ("archive/data.warc.gz", &warc.bytes, CompressionMethod::Stored),
        ("indexes/index.cdx", warc.cdxj.as_bytes(), CompressionMethod::Deflated),
    ];
    debug_assert!(files[1].0.ends_with(WARC_NAME));

    let created = format_warc_date(created_ms)
        .ok_or_else(|| CaptureError::Write("a creation date outside the years 0000 to 9999".to_owned()))?;
    let datapackage = DataPackage {
        profile: "data-package".to_owned(),
        resources: files
            .iter()
            .map(|(path, data, _)| Resource {
                name: path.rsplit('/').next().unwrap_or(path).to_owned(),
                path: (*path).to_owned(),
                hash: sha256_label(data),
                bytes: data.len() as u64,
            })
            .collect(),
        wacz_version: WACZ_VERSION.to_owned(),
        title: Some(match &capture.title {
            Some(title) => format!("Evidence: {title}"),
            None => format!("Evidence: {}", capture.page.url),
        }),
        description: Some(format!(
            "Capture of {} requested as {}: {} exchanges archived, {} resources not captured.",
            capture.page.url,
            capture.requested_url,
            capture.exchanges().count(),
            capture.failures.len()
        )),
        created: Some(created.clone()),
        software: Some(signer.software().to_owned()),
        main_page_url: Some(capture.page.url.to_string()),
        main_page_date: Some(warc.page_date.clone()),
    };
    let datapackage_json = serde_json::to_vec_pretty(&datapackage).map_err(json_error)?;
    let datapackage_sha256: [u8; 32] = Sha256::digest(&datapackage_json).into();
    let hash = format!("sha256:{}", hex::encode(datapackage_sha256));
    let public_key_der = signer.public_key_der()?;
    let signed_data = SignedData {
        hash: hash.clone(),
        created: created.clone(),
        software: Some(signer.software().to_owned()),
        signature: BASE64.encode(signer.sign(&hash)?),
        public_key: BASE64.encode(&public_key_der),
    };
    let digest = DigestFile { path: DATAPACKAGE.to_owned(), hash, signed_data: Some(signed_data) };
    let digest_json = serde_json::to_string_pretty(&digest).map_err(json_error)?;

    let modified = zip_time(&created);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let zip_error = |e: zip::result::ZipError| CaptureError::Write(format!("zip: {e}"));
    let io_error = |e: std::io::Error| CaptureError::Write(format!("zip: {e}"));
    let entries = files.iter().map(|(p, d, c)| (*p, *d, *c)).chain([
        (DATAPACKAGE, datapackage_json.as_slice(), CompressionMethod::Deflated),
        (DIGEST, digest_json.as_bytes(), CompressionMethod::Deflated),
    ]);
    for (path, data, method) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(modified)
            .unix_permissions(0o644)
            .large_file(data.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(path, options).map_err(zip_error)?;
        zip.write_all(data).map_err(io_error)?;
    }
    let bytes = zip.finish().map_err(zip_error)?.into_inner();
    Ok(Wacz { bytes, datapackage_sha256, digest_json, created, public_key_der })
}

/// The zip entries' modification time, from the RFC 3339 creation time (DOS time cannot hold a date
/// before 1980; those fall back to the zip format's default).
fn zip_time(created: &str) -> zip::DateTime {
    let n = |range: std::ops::Range<usize>| created.get(range).and_then(|s| s.parse::<u16>().ok());
    let parts = (n(0..4), n(5..7), n(8..10), n(11..13), n(14..16), n(17..19));
    if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = parts {
        let narrow = |v: u16| u8::try_from(v).unwrap_or(u8::MAX);
        if let Ok(time) = zip::DateTime::from_date_and_time(y, narrow(mo), narrow(d), narrow(h), narrow(mi), narrow(s))
        {
            return time;
        }
    }
    zip::DateTime::default()
}

/// Checks a WACZ the way the WACZ signing spec's verification steps say, offline:
/// 1. every file in the zip is listed in `datapackage.json` and every listed file is there with the
///    listed SHA-256 and size;
/// 2. `datapackage-digest.json`'s hash is that of `datapackage.json`;
/// 3. its signed data names the same hash and the manifest's `created` (and `software`, when both
///    name one), and its signature verifies
///    against its `publicKey` (P-384 as [`package`] writes and ReplayWeb.page checks, or P-256;
///    raw `r || s` or DER).
///
/// Passing means the capture is intact since the holder of that key signed it; who holds the key
/// must be checked against a key known from elsewhere ([`VerifiedWacz::public_key_der`]).
pub fn verify(wacz_bytes: &[u8]) -> Result<VerifiedWacz, CaptureError> {
    let not_a_wacz = |what: String| CaptureError::NotAWacz(what);
    let mut zip = ZipArchive::new(Cursor::new(wacz_bytes)).map_err(|e| not_a_wacz(format!("not a zip file ({e})")))?;
    let datapackage_json = read_small(&mut zip, DATAPACKAGE)?;
    let digest_json = read_small(&mut zip, DIGEST)?;
    let datapackage: DataPackage = serde_json::from_slice(&datapackage_json)
        .map_err(|e| not_a_wacz(format!("{DATAPACKAGE} is not a data package ({e})")))?;
    let digest: DigestFile =
        serde_json::from_slice(&digest_json).map_err(|e| not_a_wacz(format!("{DIGEST} is malformed ({e})")))?;

    let mut seen = vec![false; datapackage.resources.len()];
    for index in 0..zip.len() {
        let mut file = zip.by_index(index).map_err(|e| not_a_wacz(format!("unreadable zip entry ({e})")))?;
        let name = file.name().map_err(|e| not_a_wacz(format!("unreadable zip entry name ({e})")))?.into_owned();
        if name == DATAPACKAGE || name == DIGEST || name.ends_with('/') {
            continue;
        }
        let Some(position) = datapackage.resources.iter().position(|r| r.path == name) else {
            return Err(CaptureError::UnlistedFile { path: name });
        };
        let mut hasher = Sha256::new();
        let bytes = std::io::copy(&mut file, &mut HashWriter(&mut hasher))
            .map_err(|_| CaptureError::HashMismatch { path: name.clone() })?;
        let listed = &datapackage.resources[position];
        let hash = format!("sha256:{}", hex::encode(hasher.finalize()));
        if seen[position] || listed.hash != hash || listed.bytes != bytes {
            return Err(CaptureError::HashMismatch { path: name });
        }
        seen[position] = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(CaptureError::MissingFile { path: datapackage.resources[missing].path.clone() });
    }

    let datapackage_sha256: [u8; 32] = Sha256::digest(&datapackage_json).into();
    let hash = format!("sha256:{}", hex::encode(datapackage_sha256));
    if digest.path != DATAPACKAGE || digest.hash != hash {
        return Err(CaptureError::DigestMismatch);
    }
    let signed = digest.signed_data.ok_or(CaptureError::Unsigned)?;
    let created = datapackage.created.clone().unwrap_or_default();
    // `created` and `software` sit beside the signature without being signed; holding them to the
    // (hash-covered) manifest makes them as trustworthy as it.
    let software_differs = matches!((&signed.software, &datapackage.software), (Some(a), Some(b)) if a != b);
    if signed.hash != hash || signed.created != created || software_differs {
        return Err(CaptureError::DigestMismatch);
    }
    let public_key_der = BASE64.decode(signed.public_key.trim()).map_err(|_| CaptureError::BadKey)?;
    let signature = BASE64.decode(signed.signature.trim()).map_err(|_| CaptureError::BadSignature)?;
    verify_signature(&public_key_der, hash.as_bytes(), &signature)?;
    Ok(VerifiedWacz {
        public_key_der,
        main_page_url: datapackage.main_page_url,
        created,
        software: signed.software,
        datapackage_sha256,
        files: datapackage.resources.len(),
    })
}

/// ECDSA with SHA-256 over `message`, for a P-384 or P-256 SubjectPublicKeyInfo, the signature raw
/// `r || s` or DER.
fn verify_signature(spki_der: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CaptureError> {
    let digest = Sha256::digest(message);
    if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der) {
        let signature = p384::ecdsa::Signature::from_slice(signature)
            .or_else(|_| p384::ecdsa::Signature::from_der(signature))
            .map_err(|_| CaptureError::BadSignature)?;
        return key.verify_prehash(&digest, &signature).map_err(|_| CaptureError::BadSignature);
    }
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der) {
        let signature = p256::ecdsa::Signature::from_slice(signature)
            .or_else(|_| p256::ecdsa::Signature::from_der(signature))
            .map_err(|_| CaptureError::BadSignature)?;
        return key.verify_prehash(&digest, &signature).map_err(|_| CaptureError::BadSignature);
    }
    Err(CaptureError::BadKey)
}

/// Reads one manifest file whole, refusing one larger than [`MAX_MANIFEST_BYTES`].
fn read_small(zip: &mut ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Vec<u8>, CaptureError> {
    let file = zip.by_name(name).map_err(|_| CaptureError::NotAWacz(format!("{name} is missing")))?;
    let mut out = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| CaptureError::NotAWacz(format!("{name} is unreadable ({e})")))?;
    if out.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(CaptureError::NotAWacz(format!("{name} is too large")));
    }
    Ok(out)
}

/// Feeds `io::copy` into a hasher, so a file is hashed without being held in memory.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
