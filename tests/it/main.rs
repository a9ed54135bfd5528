//! The root package's one integration-test binary (one binary keeps link time down). Each module tests one
//! capability end to end over the fixtures in `fixtures/`, through the library crates and the `seal` binary.

mod browser;
mod crawl;
mod image;
mod licensing;
mod monitor;
mod proof;
mod serve;
mod text;

use anyhow::Context;
use std::path::{Path, PathBuf};

/// A fixture corpus folder, e.g. `fixtures/text`.
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Runs `seal eval MODE --json` on a corpus folder (originals/, queries/, truth.json) and parses the one
/// JSON object it prints: the fixed command-line contract shared by text and image.
pub fn eval_json(mode: &str, dir: &Path) -> anyhow::Result<serde_json::Value> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_seal"))
        .args(["eval", mode, "--json", "--originals"])
        .arg(dir.join("originals"))
        .arg("--queries")
        .arg(dir.join("queries"))
        .arg("--truth")
        .arg(dir.join("truth.json"))
        .output()
        .context("running seal")?;
    anyhow::ensure!(output.status.success(), "seal failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).with_context(|| format!("seal eval {mode} --json printed no JSON object"))
}
