//! The money side through the `seal` binary: `seal settle`, `seal ledger balance`, `seal keys export`,
//! `seal letter` and `seal verify` against a data directory seeded through the store.

use anyhow::{Context, Result};
use seal_api::store::{demo, Repository, SqliteStore};
use seal_licensing::Timestamp;
use std::path::Path;
use std::process::{Command, Output};

fn seal(args: &[&str], data: &Path) -> Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_seal")).args(args).arg("--data").arg(data).output().context("running seal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn settle_balance_letter_and_verify_through_the_cli() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path();
    let t0 = Timestamp::parse("2026-11-01T00:00:00Z")?;
    {
        let mut store = SqliteStore::open_in(data)?;
        let world = demo::seed(&mut store, t0)?;
        for n in 0..6 {
            store.purchase(&demo::purchase(&world, n), t0)?;
        }
    }
    let early = seal(&["settle", "--now", "2026-11-02T00:00:00Z"], data)?;
    assert!(early.status.success(), "{}", String::from_utf8_lossy(&early.stderr));
    assert!(stdout(&early).contains("2 licences settled"), "{}", stdout(&early)); // only the 1-day holder
    let late = seal(&["settle", "--now", "2026-12-15T00:00:00Z"], data)?;
    assert!(stdout(&late).contains("4 licences settled"), "{}", stdout(&late));
    assert!(stdout(&late).contains("rh-a"), "{}", stdout(&late));
    // The command-line pass is announced like the console's: rights holders hear of it.
    {
        use seal_api::store::prelude::*;
        let store = SqliteStore::open_in(data)?;
        let kinds: Vec<String> = store.unpublished_events(1000)?.into_iter().map(|e| e.kind).collect();
        assert!(kinds.iter().filter(|k| *k == "settlement.completed").count() >= 2, "{kinds:?}");
        assert!(kinds.iter().any(|k| k == "payout.made"), "{kinds:?}");
    }

    let balance = seal(&["ledger", "balance"], data)?;
    let text = stdout(&balance);
    assert!(text.contains("escrow@CNY") && text.contains("fee_revenue@CNY") && text.contains("payouts@USD"), "{text}");
    let json = seal(&["ledger", "balance", "--json"], data)?;
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    let rows = rows.as_array().context("array")?;
    for cur in ["CNY", "USD"] {
        let sum = |field: &str| -> i64 {
            rows.iter().filter(|r| r["currency"] == cur).map(|r| r[field].as_i64().unwrap_or(i64::MIN)).sum()
        };
        assert_eq!(sum("debits_posted"), sum("credits_posted"), "{cur}");
        assert_eq!(sum("debits_pending"), sum("credits_pending"), "{cur}");
    }

    let odrl = seal(&["offers", "export"], data)?;
    let odrl: serde_json::Value = serde_json::from_slice(&odrl.stdout)?;
    let policies = odrl.as_array().context("array")?;
    assert_eq!(policies.len(), 4);
    assert!(policies.iter().all(|p| p["@type"] == "Offer"));
    assert!(policies.iter().any(|p| p["permission"][0]["duty"][0]["seal:author"] == "作者 rh-a"));

    let jwk_path = data.join("platform.jwk");
    let export = seal(&["keys", "export", "--out", jwk_path.to_str().context("utf-8 path")?], data)?;
    assert!(export.status.success());
    let letter_path = data.join("lic-0.jws");
    let letter = seal(&["letter", "lic-0", "--out", letter_path.to_str().context("utf-8 path")?], data)?;
    assert!(letter.status.success(), "{}", String::from_utf8_lossy(&letter.stderr));

    // Offline: only the letter and the exported public keys, from another (empty) data directory. The
    // letter carries its licence's transparency-log entry, checked too.
    let keys = data.join("keys-export");
    let export = seal(&["keys", "export", "--dir", keys.to_str().context("utf-8 path")?], data)?;
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let elsewhere = tempfile::tempdir()?;
    let ok = seal(
        &["verify", letter_path.to_str().context("utf-8 path")?, "--keys", keys.to_str().context("utf-8 path")?],
        elsewhere.path(),
    )?;
    assert!(ok.status.success(), "{}{}", stdout(&ok), String::from_utf8_lossy(&ok.stderr));
    let said = stdout(&ok);
    assert!(said.contains("VERDICT: VALID") && said.contains("PASS  包含证明 Inclusion proof"), "{said}");
    // The JWK alone still checks the signature, and says what else it needs.
    let jwk_only = seal(
        &["verify", letter_path.to_str().context("utf-8 path")?, "--key", jwk_path.to_str().context("utf-8 path")?],
        elsewhere.path(),
    )?;
    assert!(stdout(&jwk_only).contains("PASS  平台签名"), "{}", stdout(&jwk_only));
    let mut bytes = std::fs::read(&letter_path)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x04;
    let bad_path = data.join("tampered.jws");
    std::fs::write(&bad_path, bytes)?;
    let bad = seal(
        &["verify", bad_path.to_str().context("utf-8 path")?, "--keys", keys.to_str().context("utf-8 path")?],
        elsewhere.path(),
    )?;
    assert!(!bad.status.success());
    Ok(())
}
