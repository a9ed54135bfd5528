//! Proof through the `seal` binary and stock tools: `seal certificate` writes a certificate whose
//! RFC 3161 token the real `openssl ts -verify` accepts (and rejects for a changed byte); `seal verify`
//! checks certificates offline with the keys `seal keys export --dir` wrote, and refuses every tampered
//! field, even when the tamperer holds the platform's signing key and re-signs; `seal log checkpoint`
//! prints a signed note the log key opens; a newer checkpoint is proven consistent with the old one.

use super::corpus;
use anyhow::{ensure, Context, Result};
use seal_licensing::certificate::{self, verify_document, Trust};
use seal_licensing::letter::PublicKey;
use seal_licensing::note;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn seal(args: &[&str]) -> Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_seal")).args(args).output().context("running seal")
}

fn ok(args: &[&str]) -> Result<String> {
    let out = seal(args)?;
    ensure!(
        out.status.success(),
        "seal {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `openssl`, which CI installs; a missing binary fails the test rather than skipping it.
fn openssl(args: &[&str]) -> Result<Output> {
    Command::new("openssl").args(args).output().context("running openssl (install it: apt-get install openssl)")
}

fn import(data: &str, files: &[PathBuf]) -> Result<Value> {
    let mut args = vec!["works", "import", "--data", data, "--owner", "news-co", "--json"];
    let paths: Vec<String> = files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    args.extend(paths.iter().map(String::as_str));
    Ok(serde_json::from_str(&ok(&args)?)?)
}

fn trust_from(keys: &Path) -> Result<Trust> {
    let platform = PublicKey::from_jwk(&serde_json::from_str(&std::fs::read_to_string(keys.join("platform.jwk"))?)?)?;
    let (log_name, log_key) = note::parse_verifier_key(std::fs::read_to_string(keys.join("log.vkey"))?.trim())?;
    let tsa_anchors = seal_licensing::tsa::certificate_der_from_pem(&std::fs::read_to_string(keys.join("tsa.pem"))?)?;
    Ok(Trust { platform, log_name, log_key, tsa_anchors })
}

/// Every scalar in a JSON value, by path.
fn scalar_paths(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(k.clone());
                scalar_paths(child, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                path.push(i.to_string());
                scalar_paths(child, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap_or(0)],
        other => &mut other[k.as_str()],
    })
}

/// A different value of the same kind (a changed character for text, one more for a number).
fn tamper(v: &mut Value) {
    *v = match v.take() {
        Value::String(s) if s.is_empty() => Value::String("x".into()),
        Value::String(s) => {
            let mut chars: Vec<char> = s.chars().collect();
            let mid = chars.len() / 2;
            chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
            Value::String(chars.into_iter().collect())
        }
        Value::Number(n) => Value::from(n.as_u64().unwrap_or(0) + 1),
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => Value::String("x".into()),
        other => other,
    };
}

#[test]
fn certificates_verify_with_openssl_and_offline_and_refuse_every_tampered_field() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let d = data.to_string_lossy().into_owned();
    let text = corpus("text").join("originals").join("zh-0001.txt");
    let photo = corpus("images").join("originals").join("lo_Picture_0B_by_freespace_a.jpg");
    let imported = import(&d, &[text.clone(), photo.clone()])?;
    ensure!(imported["imported"] == 2, "{imported}");

    let keys = dir.path().join("keys");
    ok(&["keys", "export", "--data", &d, "--dir", &keys.to_string_lossy()])?;
    let trust = trust_from(&keys)?;

    for (file, name) in [(&text, "zh-0001.txt"), (&photo, "lo_Picture_0B_by_freespace_a.jpg")] {
        let out = dir.path().join(format!("cert-{name}"));
        ok(&["certificate", "--data", &d, name, "--out", &out.to_string_lossy()])?;
        for f in ["certificate.pdf", "certificate.json", "timestamp.tsr", "tsa.pem"] {
            ensure!(out.join(f).metadata().map(|m| m.len() > 0).unwrap_or(false), "{name}: {f} missing");
        }
        ensure!(std::fs::read(out.join("certificate.pdf"))?.starts_with(b"%PDF"), "not a PDF");

        // Stock OpenSSL accepts the token for the work's bytes, and refuses one changed byte.
        let (tsr, pem) = (out.join("timestamp.tsr"), out.join("tsa.pem"));
        let (tsr, pem) = (tsr.to_string_lossy(), pem.to_string_lossy());
        let good = openssl(&["ts", "-verify", "-data", &file.to_string_lossy(), "-in", &tsr, "-CAfile", &pem])?;
        let said = String::from_utf8_lossy(&good.stdout);
        ensure!(
            good.status.success() && said.contains("Verification: OK"),
            "openssl: {said} {}",
            String::from_utf8_lossy(&good.stderr)
        );
        let mut bytes = std::fs::read(file)?;
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        let changed = dir.path().join(format!("changed-{name}"));
        std::fs::write(&changed, &bytes)?;
        let bad = openssl(&["ts", "-verify", "-data", &changed.to_string_lossy(), "-in", &tsr, "-CAfile", &pem])?;
        ensure!(!bad.status.success(), "openssl accepted a changed file");

        // `seal verify` offline: the certificate alone, and the work file with its certificate.
        let cert = out.join("certificate.json");
        let c = cert.to_string_lossy().into_owned();
        let k = keys.to_string_lossy().into_owned();
        let said = ok(&["verify", &c, "--keys", &k])?;
        ensure!(said.contains("VERDICT: VALID") && !said.contains("FAIL"), "{said}");
        let said = ok(&["verify", &file.to_string_lossy(), "--certificate", &c, "--keys", &k])?;
        ensure!(said.contains("内容哈希 Content hash"), "{said}");
        let refused = seal(&["verify", &changed.to_string_lossy(), "--certificate", &c, "--keys", &k])?;
        ensure!(!refused.status.success(), "a changed work file verified");
        ensure!(String::from_utf8_lossy(&refused.stdout).contains("FAIL  内容哈希"), "{refused:?}");
    }

    // Tamper with every field of one certificate: each change fails verification. Re-signed with the
    // platform's own key (what a platform rewriting history could do), every fact of the registration
    // still fails through the timestamp or the log.
    let cert_path = dir.path().join("cert-zh-0001.txt").join("certificate.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&cert_path)?)?;
    let bytes = serde_json::to_vec(&doc)?;
    ensure!(verify_document(&bytes, None, None, &trust).map_err(anyhow::Error::msg)?.ok(), "the untouched certificate");
    let key = seal_api::keys::load(&data)?.context("platform key")?;
    let mut paths = Vec::new();
    scalar_paths(&doc, &mut Vec::new(), &mut paths);
    ensure!(paths.len() > 30, "only {} fields", paths.len());
    let facts = [
        "work/id",
        "work/title",
        "work/author",
        "work/owner/id",
        "work/registered_at",
        "content/sha256",
        "content/items/0/sha256",
        "iscc/iscc",
        "timestamp/time",
        "timestamp/token",
        "log/index",
        "log/tree_size",
        "log/root_hash",
        "log/checkpoint",
        "log/checkpoint_timestamp",
        "log/inclusion_proof/0",
        "log/origin",
    ];
    for path in &paths {
        let mut bad = doc.clone();
        tamper(at(&mut bad, path));
        let verdict = verify_document(&serde_json::to_vec(&bad)?, None, None, &trust);
        ensure!(!verdict.as_ref().is_ok_and(|v| v.ok()), "tampered {} still verifies", path.join("/"));
        let joined = path[1..].join("/");
        if path[0] == "certificate" && facts.contains(&joined.as_str()) {
            let resigned = certificate::sign_document(&key, bad["certificate"].clone());
            let verdict = verify_document(&serde_json::to_vec(&resigned)?, None, None, &trust);
            ensure!(!verdict.as_ref().is_ok_and(|v| v.ok()), "re-signed tampered {joined} still verifies");
        }
    }

    // The log's checkpoint is a signed note the exported log key opens; after another registration a
    // newer checkpoint is proven consistent with the certificate's.
    let note_text = ok(&["log", "checkpoint", "--data", &d])?;
    note::open(&note_text, &trust.log_name, &trust.log_key).context("the checkpoint does not open with log.vkey")?;
    import(&d, &[corpus("text").join("originals").join("en-0001.txt")])?;
    let old_size = doc["certificate"]["log"]["tree_size"].as_u64().context("tree size")?;
    let newer = ok(&["log", "consistency", "--data", &d, "--from", &old_size.to_string()])?;
    let newer_path = dir.path().join("newer.json");
    std::fs::write(&newer_path, &newer)?;
    let k = keys.to_string_lossy().into_owned();
    let said =
        ok(&["verify", &cert_path.to_string_lossy(), "--keys", &k, "--checkpoint", &newer_path.to_string_lossy()])?;
    ensure!(said.contains("PASS  一致性证明 Consistency proof"), "{said}");
    let mut forged: Value = serde_json::from_str(&newer)?;
    if let Some(first) = forged["proof"].as_array_mut().and_then(|p| p.first_mut()) {
        *first = Value::String(base64_flip(first.as_str().unwrap_or_default()));
    }
    std::fs::write(&newer_path, serde_json::to_string(&forged)?)?;
    let refused =
        seal(&["verify", &cert_path.to_string_lossy(), "--keys", &k, "--checkpoint", &newer_path.to_string_lossy()])?;
    ensure!(!refused.status.success(), "a forged consistency proof verified");
    Ok(())
}

fn base64_flip(b64: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(b64).unwrap_or_default();
    if let Some(b) = bytes.first_mut() {
        *b ^= 1;
    }
    engine.encode(bytes)
}
