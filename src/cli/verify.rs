//! `seal verify FILE`: checks an authorization letter offline against the platform's public key. Any
//! changed byte fails; the exit status is non-zero on failure.

use anyhow::{bail, Context, Result};
use clap::Args;
use seal_licensing::letter::{verify_letter, PublicKey};
use std::path::PathBuf;

/// Arguments of `seal verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The letter file (`.jws`).
    pub file: PathBuf,
    /// The platform's public key as a JWK (from `seal keys export`); default: the data directory's key.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Data directory whose key to use when `--key` is not given.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
}

/// Runs `seal verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let key = match &args.key {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            PublicKey::from_jwk(&serde_json::from_str(&text).context("the key file is not JSON")?)?
        }
        None => match seal_api::keys::load(&args.data)? {
            Some(k) => k.public(),
            None => bail!("no platform key in {}; pass --key FILE", args.data.display()),
        },
    };
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    match verify_letter(&bytes, &key) {
        Ok(payload) => {
            println!("OK: letter verified with key {}", key.kid());
            println!("licence  {}", payload["licence_id"].as_str().unwrap_or("?"));
            println!(
                "work     {} / {}",
                payload["work"]["title"].as_str().unwrap_or("?"),
                payload["work"]["author"].as_str().unwrap_or("?")
            );
            println!("licensee {}", payload["licensee"]["name"].as_str().unwrap_or("?"));
            println!("issued   {}", payload["issued_at"].as_str().unwrap_or("?"));
            Ok(())
        }
        Err(e) => bail!("FAILED: {e}"),
    }
}
