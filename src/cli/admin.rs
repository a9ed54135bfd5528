//! `seal admin create`: makes an administrator account (the first one cannot sign up through the web,
//! because sign-up never grants the administrator role).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use seal_api::store::platform::{Role, User};
use seal_api::store::prelude::*;
use seal_api::store::SqliteStore;
use std::io::BufRead;
use std::path::PathBuf;

/// `seal admin` subcommands.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an administrator. The password is read from SEAL_ADMIN_PASSWORD or the first line of stdin.
    Create(CreateArgs),
}

/// Arguments of `seal admin create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Sign-in email address.
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long, default_value = "Administrator")]
    pub name: String,
    /// Data directory.
    #[arg(long, default_value = "./seal-data")]
    pub data: PathBuf,
}

/// Runs `seal admin`.
pub fn run(cmd: &AdminCommand) -> Result<()> {
    let AdminCommand::Create(args) = cmd;
    let password = match std::env::var("SEAL_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("password (at least 10 characters), then Enter:");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < 10 {
        bail!("the password must have at least 10 characters");
    }
    if !args.email.contains('@') {
        bail!("{:?} is not an email address", args.email);
    }
    let mut store = SqliteStore::open_in(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    let hash = seal_api::web::auth::hash_password(&password).map_err(anyhow::Error::msg)?;
    let user = User {
        id: seal_api::web::auth::new_user_id(),
        email: args.email.clone(),
        name: args.name.clone(),
        role: Role::Admin,
        password_hash: Some(hash),
        created_at: seal_api::web::system_now(),
        acting: None,
    };
    store.create_user(&user)?;
    println!("administrator {} created ({}); sign in at /sign-in", user.email, user.id);
    Ok(())
}
