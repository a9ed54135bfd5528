//! `seal log checkpoint --data DIR` (a fixed contract): prints the transparency log's latest signed
//! checkpoint (a C2SP signed note), notarising pending registrations and signing a new checkpoint
//! first if the log has grown.

use super::proof::{open_notary, ProofData};
use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::{Args, Subcommand};
use seal_api::store::Proofs;
use std::path::PathBuf;

/// `seal log` subcommands.
#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Print the latest signed checkpoint.
    Checkpoint(CheckpointArgs),
    /// Print the consistency proof from an older tree size to the latest checkpoint, as JSON (what
    /// `/api/v1/log/proof/consistency` answers and `seal verify --checkpoint` reads).
    Consistency(ConsistencyArgs),
}

/// Arguments of `seal log consistency`.
#[derive(Args, Debug)]
pub struct ConsistencyArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
    /// The older tree size (a certificate's `log.tree_size`).
    #[arg(long)]
    pub from: u64,
}

/// Arguments of `seal log checkpoint`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
}

/// Runs a `seal log` subcommand.
pub fn run(cmd: &LogCommand) -> Result<()> {
    let data_dir = match cmd {
        LogCommand::Checkpoint(a) => &a.data,
        LogCommand::Consistency(a) => &a.data,
    };
    let now = super::settle::parse_now(None)?;
    let mut data = ProofData::open(data_dir)?;
    let notary = open_notary(data_dir, &mut data.store, &data.content, now)?;
    notary.run(&mut data.store, &data.content, None, now).context("notarising pending registrations")?;
    let checkpoint = notary.checkpoint(&mut data.store, now).context("signing a checkpoint")?;
    match cmd {
        LogCommand::Checkpoint(_) => print!("{}", checkpoint.note),
        LogCommand::Consistency(a) => {
            if a.from == 0 || a.from > checkpoint.size {
                bail!("--from must be between 1 and the log's size {}", checkpoint.size);
            }
            let proof = data.store.log_consistency(a.from, checkpoint.size)?;
            let b64 = |h: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(h);
            let doc = serde_json::json!({
                "from": a.from, "to": checkpoint.size,
                "proof": proof.iter().map(b64).collect::<Vec<_>>(),
                "checkpoint": checkpoint.note,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(())
}
