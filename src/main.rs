//! `seal`: the Copyright Seal command line. It parses arguments and calls into the workspace crates;
//! everything of substance lives in `seal-engine`, `seal-licensing`, `seal-crawler` and `seal-api`.

mod cli;

use clap::{Parser, Subcommand};

/// Copyright Seal: protect, license, monitor and enforce rights in published works.
#[derive(Parser)]
#[command(name = "seal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure the matching engine on a labelled corpus.
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Register text originals, match text queries, and report precision, recall and speed.
    Text(cli::eval::EvalArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Eval(EvalCommand::Text(args)) => cli::eval_text::run(&args),
    }
}
