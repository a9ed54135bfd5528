//! `seal verify FILE`: checks a registration certificate, an authorization letter, or a work file
//! with its certificate, offline, against the platform's exported public keys. It prints a verdict per
//! check (signature, content hash, RFC 3161 timestamp, log entry, signed checkpoint and its timestamp,
//! inclusion proof, and with `--checkpoint` the consistency of a newer checkpoint) and exits non-zero
//! when any fails.
//!
//! Keys come from `--keys DIR` (what `seal keys export --dir DIR` writes: `platform.jwk`, `log.vkey`,
//! `tsa.pem`), or `--key JWK` for letters, or else the data directory's own keys.

use anyhow::{bail, Context, Result};
use clap::Args;
use seal_api::web::proof::{check_label, parse_newer};
use seal_licensing::certificate::{verify_document, Trust};
use seal_licensing::letter::PublicKey;
use seal_licensing::note;
use std::path::{Path, PathBuf};

/// Arguments of `seal verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A certificate (`certificate.json`), a letter (`.jws`), or a work's file (with `--certificate`).
    pub file: PathBuf,
    /// The certificate of FILE when FILE is the work itself.
    #[arg(long)]
    pub certificate: Option<PathBuf>,
    /// The work's file, to check that its hash is the one certified.
    #[arg(long = "work")]
    pub work_file: Option<PathBuf>,
    /// A newer checkpoint with its consistency proof (the JSON of `/api/v1/log/proof/consistency`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// The platform's exported keys (`seal keys export --dir`).
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// The platform's public key as a JWK (letters; certificates also need `--keys`).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Data directory whose keys to use when neither `--keys` nor `--key` is given.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn jwk(path: &Path) -> Result<PublicKey> {
    let text = String::from_utf8(read(path)?).context("the key file is not UTF-8")?;
    Ok(PublicKey::from_jwk(&serde_json::from_str(&text).context("the key file is not JSON")?)?)
}

fn anchors(pem: &str) -> Result<Vec<Vec<u8>>> {
    let certs = seal_licensing::tsa::certificate_der_from_pem(pem).context("reading the TSA certificates")?;
    // The chain is the TSA's own certificate, then its root: the root is the anchor; trusting the
    // whole exported chain is equivalent, since both come from the same export.
    Ok(certs)
}

/// The keys to trust, as the arguments say.
fn trust(args: &VerifyArgs, document: &[u8]) -> Result<Trust> {
    if let Some(dir) = &args.keys {
        let platform = jwk(&dir.join("platform.jwk"))?;
        let vkey = String::from_utf8(read(&dir.join("log.vkey"))?).context("log.vkey is not UTF-8")?;
        let (log_name, log_key) = note::parse_verifier_key(vkey.trim()).context("log.vkey is not a verifier key")?;
        let pem = String::from_utf8(read(&dir.join("tsa.pem"))?).context("tsa.pem is not UTF-8")?;
        return Ok(Trust { platform, log_name, log_key, tsa_anchors: anchors(&pem)? });
    }
    // The log signs with the platform key under its origin's name, which the document states.
    let origin = stated_origin(document).unwrap_or_default();
    let platform = match &args.key {
        Some(path) => jwk(path)?,
        None => match seal_api::keys::load(&args.data)? {
            Some(key) => key.public(),
            None => {
                bail!("no platform key in {}; pass --keys DIR (from `seal keys export --dir DIR`)", args.data.display())
            }
        },
    };
    let tsa_anchors = match seal_api::keys::load_tsa(&args.data)? {
        Some(tsa) => vec![tsa.root_der().to_vec()],
        None => Vec::new(),
    };
    Ok(Trust { log_key: *platform.verifying_key(), platform, log_name: origin, tsa_anchors })
}

/// The log origin a certificate (JSON) or letter (JWS payload) states.
fn stated_origin(document: &[u8]) -> Option<String> {
    use base64::Engine;
    let text = std::str::from_utf8(document).ok()?.trim();
    let doc: serde_json::Value = if text.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(text).ok()?["certificate"].clone()
    } else {
        let payload = text.split('.').nth(1)?;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?
    };
    doc["log"]["origin"].as_str().map(str::to_owned)
}

/// Runs `seal verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let (document, content) = match &args.certificate {
        Some(cert) => (read(cert)?, Some(read(&args.file)?)),
        None => (read(&args.file)?, args.work_file.as_deref().map(read).transpose()?),
    };
    let newer = match &args.checkpoint {
        Some(path) => Some(parse_newer(&read(path)?).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let trust = trust(args, &document)?;
    let verdict = verify_document(&document, content.as_deref(), newer.as_ref(), &trust).map_err(anyhow::Error::msg)?;
    let kind = if verdict.kind == "certificate" { "registration certificate" } else { "authorization letter" };
    println!("{kind}: {}", verdict.subject);
    for c in &verdict.checks {
        println!("{}  {}: {}", if c.ok { "PASS" } else { "FAIL" }, check_label(c.code), c.detail);
    }
    let failed = verdict.checks.iter().filter(|c| !c.ok).count();
    if verdict.ok() {
        println!("VERDICT: VALID ({} checks passed)", verdict.checks.len());
        Ok(())
    } else {
        bail!("VERDICT: NOT VALID ({failed} of {} checks failed)", verdict.checks.len())
    }
}
