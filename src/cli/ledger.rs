//! `seal ledger balance`: every account's balances, as the ledger holds them.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use seal_api::store::{Repository, SqliteStore};
use std::path::PathBuf;

/// `seal ledger` subcommands.
#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Print account balances.
    Balance(BalanceArgs),
}

/// Arguments of `seal ledger balance`.
#[derive(Args, Debug)]
pub struct BalanceArgs {
    /// Data directory (holds seal.db).
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `seal ledger` subcommand.
pub fn run(cmd: &LedgerCommand) -> Result<()> {
    let LedgerCommand::Balance(args) = cmd;
    let store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let accounts = store.accounts()?;
    if args.json {
        let rows: Vec<_> = accounts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "account": a.id.to_string(),
                    "currency": a.id.currency.code(),
                    "debits_pending": a.balances.debits_pending,
                    "debits_posted": a.balances.debits_posted,
                    "credits_pending": a.balances.credits_pending,
                    "credits_posted": a.balances.credits_posted,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<36} {:>16} {:>16} {:>16} {:>16} {:>16}",
        "account", "debits posted", "credits posted", "debits pending", "credits pending", "balance"
    );
    for a in &accounts {
        let c = a.id.currency;
        let b = a.balances;
        // Debit-normal accounts (clearing, payouts) show debits minus credits; the rest credits minus debits.
        let balance = if a.id.debits_must_not_exceed_credits() { a.credit_balance() } else { -a.credit_balance() };
        println!(
            "{:<36} {:>16} {:>16} {:>16} {:>16} {:>16}",
            a.id.to_string(),
            c.format_minor(b.debits_posted),
            c.format_minor(b.credits_posted),
            c.format_minor(b.debits_pending),
            c.format_minor(b.credits_pending),
            c.format_minor(balance)
        );
    }
    if accounts.is_empty() {
        println!("(no accounts yet)");
    }
    Ok(())
}
