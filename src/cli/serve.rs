//! `seal serve`: starts the platform. `--data DIR --bind ADDR` is a fixed contract that scripts
//! outside the project rely on. Settings come from defaults, then the config file, then `SEAL_*`
//! environment variables, then flags (see `seal_api::config::SETTINGS`).

use anyhow::{Context, Result};
use clap::Args;
use seal_api::config::{ConfigLayer, SETTINGS};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `seal serve`.
#[derive(Args, Debug)]
#[command(after_help = settings_help())]
pub struct ServeArgs {
    /// Data directory (SQLite file, signing key, index folder). Default ./seal-data.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Listen address. Default 127.0.0.1:8080.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Load demo rights holders, works, offers and licences.
    #[arg(long)]
    pub demo: bool,
    /// A TOML config file (also SEAL_CONFIG).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The URL readers reach the server at (used in embed codes). Default http://BIND.
    #[arg(long)]
    pub public_url: Option<String>,
    /// HTTP worker threads. Default: the number of cores.
    #[arg(long)]
    pub workers: Option<usize>,
    /// `pretty` or `json` logs.
    #[arg(long)]
    pub log_format: Option<String>,
}

fn settings_help() -> String {
    let mut s = String::from("Settings (flag > environment > config file > default):\n");
    for (key, var, default, what) in SETTINGS {
        s.push_str(&format!("  {key:<20} {var:<26} default {default}: {what}\n"));
    }
    s
}

/// Runs `seal serve`.
pub fn run(args: &ServeArgs) -> Result<()> {
    let file = match args.config.clone().or_else(|| std::env::var_os("SEAL_CONFIG").map(PathBuf::from)) {
        Some(path) => ConfigLayer::from_file(&path)?,
        None => ConfigLayer::default(),
    };
    let env = ConfigLayer::from_env(|k| std::env::var(k).ok())?;
    let flags = ConfigLayer {
        data: args.data.clone(),
        bind: args.bind,
        demo: args.demo.then_some(true),
        public_url: args.public_url.clone(),
        workers: args.workers,
        log_format: args.log_format.clone(),
        ..ConfigLayer::default()
    };
    let config = file.overlay(env).overlay(flags).resolve()?;
    init_logs(config.log_json);
    let data = config.data.clone();
    let state = seal_api::web::open_state(config, Arc::new(seal_api::web::system_now))
        .with_context(|| format!("opening the data directory {}", data.display()))?;
    if state.config.demo {
        // The demo's monitoring history comes from real pipeline runs over pages that copy demo works.
        // It is loaded here rather than in `open_state`, which tests open with the demo world and
        // hits of their own.
        let m = {
            let mut store = state.store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
            let monitor = state.monitor.read().map_err(|_| anyhow::anyhow!("monitor lock poisoned"))?;
            seal_api::services::demo::monitoring(&mut store, &monitor, &state.pages, state.now())
                .context("loading the demo monitoring history")?
        };
        tracing::info!(pages = m.pages, hits = m.hits, "demo monitoring loaded");
    }
    actix_rt::System::new().block_on(seal_api::web::serve(state)).context("serving")?;
    Ok(())
}

/// Structured logs on stderr; `RUST_LOG` overrides the default level (info).
pub fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
