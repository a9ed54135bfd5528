//! The server's command-line side: `seal admin create`, the settings table in `seal serve --help`,
//! and clear errors for bad settings.

use anyhow::{ensure, Result};
use seal_api::store::prelude::*;
use std::process::Command;

fn seal() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seal"))
}

#[test]
fn admin_create_makes_one_administrator() -> Result<()> {
    let data = tempfile::tempdir()?;
    let ok = seal()
        .args(["admin", "create", "--email", "root@example.test", "--data"])
        .arg(data.path())
        .env("SEAL_ADMIN_PASSWORD", "a long admin password")
        .output()?;
    ensure!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let store = seal_api::store::SqliteStore::open_in(data.path())?;
    let user = store.user_by_email("ROOT@example.test")?.ok_or_else(|| anyhow::anyhow!("no user"))?;
    ensure!(user.role == seal_api::store::platform::Role::Admin);
    ensure!(seal_api::web::auth::verify_password("a long admin password", user.password_hash.as_deref().unwrap_or("")));
    drop(store);
    let again = seal()
        .args(["admin", "create", "--email", "root@example.test", "--data"])
        .arg(data.path())
        .env("SEAL_ADMIN_PASSWORD", "a long admin password")
        .output()?;
    ensure!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already registered"));
    let short = seal()
        .args(["admin", "create", "--email", "x@example.test", "--data"])
        .arg(data.path())
        .env("SEAL_ADMIN_PASSWORD", "short")
        .output()?;
    ensure!(!short.status.success());
    Ok(())
}

#[test]
fn serve_documents_its_settings_and_refuses_bad_ones() -> Result<()> {
    let help = seal().args(["serve", "--help"]).output()?;
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in ["--data", "--bind", "--demo", "SEAL_BIND", "SEAL_PUBLIC_URL", "webhook_tolerance_s"] {
        ensure!(text.contains(needle), "{needle} missing from seal serve --help:\n{text}");
    }
    let data = tempfile::tempdir()?;
    let bad = seal().args(["serve", "--data"]).arg(data.path()).env("SEAL_WORKERS", "many").output()?;
    ensure!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("SEAL_WORKERS"));
    let config = data.path().join("seal.toml");
    std::fs::write(&config, "bind = \"127.0.0.1:1\"\ncolour = \"green\"\n")?;
    let bad = seal().args(["serve", "--config"]).arg(&config).output()?;
    ensure!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("colour"));
    Ok(())
}
