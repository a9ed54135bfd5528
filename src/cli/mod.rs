//! Subcommand implementations of the `seal` binary. Each file is glue between arguments, files and the
//! library crates; none holds domain logic.

pub mod eval;
pub mod eval_text;
