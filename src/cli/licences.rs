//! `seal licences grant`: records a licence without payment (back-office and imported contracts) and
//! recolours the hits it covers. `seal licences allow`: adds a domain or URL prefix to a rights
//! holder's allowlist. The flags of `grant` are a fixed contract.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use seal_api::services::classify::allow_parts_of;
use seal_api::services::licences::{find_work, grant_contract, parse_scope};
use seal_api::services::subscribers::{allow, drain_recolour};
use seal_api::store::SqliteStore;
use seal_licensing::ids::PartyId;

use std::path::PathBuf;

/// `seal licences …`.
#[derive(Subcommand, Debug)]
pub enum LicencesCommand {
    /// Record a licence without payment for a work over a domain or URL prefix.
    Grant(GrantArgs),
    /// Add a domain or URL prefix to a rights holder's allowlist (partners, offline contracts).
    Allow(AllowArgs),
}

/// Arguments of `seal licences grant`.
#[derive(Args, Debug)]
pub struct GrantArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// A work id, or the base name of an imported file (with or without its extension).
    #[arg(long)]
    pub work: String,
    /// A domain (example.com, covering its subdomains) or a URL prefix (http://host:port/partners/).
    #[arg(long)]
    pub scope: String,
    /// The licensee's name, as the licence records it.
    #[arg(long, default_value = "offline contract")]
    pub licensee: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `seal licences allow`.
#[derive(Args, Debug)]
pub struct AllowArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// The rights holder (party id).
    #[arg(long)]
    pub owner: String,
    /// A domain or URL prefix.
    #[arg(long)]
    pub scope: String,
    /// A note (contract number, partner).
    #[arg(long, default_value = "")]
    pub note: String,
}

/// Runs `seal licences …`.
pub fn run(cmd: &LicencesCommand) -> Result<()> {
    match cmd {
        LicencesCommand::Grant(args) => grant(args),
        LicencesCommand::Allow(args) => allow_cmd(args),
    }
}

fn grant(args: &GrantArgs) -> Result<()> {
    let now = super::settle::parse_now(None)?;
    let mut store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let work = find_work(&store, &args.work)?;
    let scope = parse_scope(&args.scope)?;
    let licence = grant_contract(&mut store, &work, scope, &args.licensee, None, now)?;
    let drained = drain_recolour(&mut store, now).context("recolouring hits")?;
    let scope = licence.scope.key().to_owned();
    if args.json {
        let out = serde_json::json!({
            "licence": licence.id.as_str(), "work": work.as_str(), "scope": scope,
            "recoloured": drained.recoloured,
        });
        println!("{out}");
    } else {
        println!(
            "licence {} granted for work {} over {} ({} hits recoloured)",
            licence.id, work, scope, drained.recoloured
        );
    }
    Ok(())
}

fn allow_cmd(args: &AllowArgs) -> Result<()> {
    let now = super::settle::parse_now(None)?;
    let mut store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let owner = PartyId::new(args.owner.as_str()).context("the owner is not a party id")?;
    let (kind, pattern) = allow_parts_of(parse_scope(&args.scope)?)
        .context("an app has no web pages for monitoring to find; allow its domain instead")?;
    let id = allow(&mut store, &owner, kind, &pattern, &args.note, now)?;
    let drained = drain_recolour(&mut store, now).context("recolouring hits")?;
    println!("allowlist entry {id} added for {owner}: {pattern} ({} hits recoloured)", drained.recoloured);
    Ok(())
}
