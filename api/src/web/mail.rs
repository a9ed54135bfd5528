//! Background work of the server: the mail sender thread ([`spawn`]) and scheduled settlement
//! ([`spawn_settlement`]). The sending itself is the `services::outbox` use case; this module only
//! runs it on a schedule with the server's settings.

use super::{AppState, State};
use crate::services::outbox::{self, SmtpRelay};

/// Sends every mail due now; returns how many were sent (0 without `smtp_url`).
pub fn drain_once(state: &AppState) -> Result<usize, String> {
    let Some((host, port)) = state.config.smtp.clone() else { return Ok(0) };
    let relay = SmtpRelay { host, port, from: state.config.mail_from.clone() };
    outbox::drain_once(&state.store, &relay, state.now()).map_err(|e| e.to_string())
}

/// Starts the settlement thread: a pass every `settle_every_s` seconds settles licences whose publicity
/// period is over, invoices them and pays out, and is recorded for the admin console.
pub fn spawn_settlement(state: State) {
    let every = state.config.settle_every_s;
    if every == 0 {
        return;
    }
    std::thread::Builder::new()
        .name("seal-settlement".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(every));
            let now = state.now();
            let mut store = state.store.lock().unwrap_or_else(|p| p.into_inner());
            match store.settle_and_record("schedule", now) {
                Ok(run) if run.licences > 0 || run.payouts > 0 => {
                    tracing::info!(licences = run.licences, payouts = run.payouts, "scheduled settlement")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "scheduled settlement failed"),
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!(error = %e, "could not start the settlement schedule"));
}

/// Starts the sender thread (once per server; it checks the outbox every second).
pub fn spawn(state: State) {
    if state.config.smtp.is_none() {
        tracing::info!("no smtp_url: licence emails stay in the outbox");
        return;
    }
    std::thread::Builder::new()
        .name("seal-mailer".into())
        .spawn(move || loop {
            if let Err(e) = drain_once(&state) {
                tracing::warn!(error = %e, "mail outbox");
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!(error = %e, "could not start the mail sender"));
}
