//! `seal`: the Copyright Seal command line. It parses arguments and calls into the workspace crates;
//! everything of substance lives in `seal-engine`, `seal-licensing`, `seal-crawler` and `seal-api`.

mod cli;

/// glibc hands every multi-megabyte image plane back to the kernel when it is freed (and trims its
/// per-thread arenas), so the next image faults its pages in again: page faults were a quarter of
/// fingerprinting a 0.3 MP photo. mimalloc keeps and reuses them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Start the platform server (web UI, seal widget, checkout, REST API).
    Serve(cli::serve::ServeArgs),
    /// Administrator accounts.
    #[command(subcommand)]
    Admin(cli::admin::AdminCommand),
    /// Measure the matching engine on a labelled corpus.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Load demo rights holders, works, offers and licences into a data directory.
    Demo(cli::demo::DemoArgs),
    /// Run a settlement pass: settle licences past their publicity period, invoice them, pay out.
    Settle(cli::settle::SettleArgs),
    /// Inspect the ledger.
    #[command(subcommand)]
    Ledger(cli::ledger::LedgerCommand),
    /// Verify a certificate, an authorization letter, or a work file with its certificate, offline.
    Verify(cli::verify::VerifyArgs),
    /// Write a work's registration certificate (PDF, signed JSON, RFC 3161 token, TSA chain).
    Certificate(cli::certificate::CertificateArgs),
    /// The transparency log.
    #[command(subcommand)]
    Log(cli::log::LogCommand),
    /// Export the platform's public keys (signing key, log key, TSA chain).
    #[command(subcommand)]
    Keys(cli::keys::KeysCommand),
    /// Issue the signed authorization letter of a licence.
    Letter(cli::letter::LetterArgs),
    /// Print a settled licence's invoice (JSON, or PDF with --pdf).
    Invoice(cli::invoice::InvoiceArgs),
    /// Register files as works of a rights holder (content stored, fingerprints indexed).
    #[command(subcommand)]
    Works(cli::works::WorksCommand),
    /// Match files against every registered work of a data directory.
    Match(cli::matching::MatchArgs),
    /// Capture one page and what it loads as signed, time-stamped evidence (WACZ).
    Capture(cli::capture::CaptureArgs),
    /// Crawl from seed URLs within their hosts and record every copy of a registered work as a hit.
    Crawl(cli::crawl::CrawlArgs),
    /// Register the pages of verified channels that embed the seal code (automatic inclusion, once).
    Include(cli::include::IncludeArgs),
    /// Read WARC files (Common Crawl) and record every copy of a registered work as a hit.
    Ingest(cli::ingest::IngestArgs),
    /// Licences recorded without payment, and allowlists.
    #[command(subcommand)]
    Licences(cli::licences::LicencesCommand),
    /// Search every organisation's hits and their pages (operators); `reindex` rebuilds the index.
    Search(cli::search::SearchArgs),
    /// Export offers as ODRL JSON-LD.
    #[command(subcommand)]
    Offers(cli::offers::OffersCommand),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Register text originals, match text queries, and report precision, recall and speed.
    Text(cli::eval::EvalArgs),
    /// Register image originals, match image queries, and report precision, recall and speed.
    Image(cli::eval::EvalArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => cli::serve::run(&args),
        Command::Admin(cmd) => cli::admin::run(&cmd),
        Command::Eval(EvalCommand::Text(args)) => cli::eval_text::run(&args),
        Command::Eval(EvalCommand::Image(args)) => cli::eval_image::run(&args),
        Command::Demo(args) => cli::demo::run(&args),
        Command::Settle(args) => cli::settle::run(&args),
        Command::Ledger(cmd) => cli::ledger::run(&cmd),
        Command::Verify(args) => cli::verify::run(&args),
        Command::Keys(cmd) => cli::keys::run(&cmd),
        Command::Certificate(args) => cli::certificate::run(&args),
        Command::Log(cmd) => cli::log::run(&cmd),
        Command::Letter(args) => cli::letter::run(&args),
        Command::Invoice(args) => cli::invoice::run(&args),
        Command::Offers(cmd) => cli::offers::run(&cmd),
        Command::Works(cmd) => cli::works::run(&cmd),
        Command::Licences(cmd) => cli::licences::run(&cmd),
        Command::Search(args) => cli::search::run(&args),
        Command::Crawl(args) => cli::crawl::run(&args),
        Command::Capture(args) => cli::capture::run(&args),
        Command::Ingest(args) => cli::ingest::run(&args),
        Command::Include(args) => cli::include::run(&args),
        Command::Match(args) => cli::matching::run(&args),
    }
}
