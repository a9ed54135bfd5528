//! Background work of the server: licence emails, and scheduled settlement ([`spawn_settlement`]).
//!
//! Licence emails. Fulfilment writes a message to the outbox table (`store::platform`) in the same
//! store call that grants the licence; [`spawn`] starts a thread that drains the outbox over SMTP with
//! retries and backoff, so mail survives an SMTP outage and a restart. Without `smtp_url` the mail
//! stays queued.
//!
//! Plain SMTP to a relay on a trusted network (the relay does STARTTLS onwards); sending directly to
//! the internet with authentication is left for when a deployment needs it.

use super::{AppState, State};
use crate::store::platform::Mail;
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Message, SmtpTransport, Transport};
use seal_licensing::Timestamp;

/// Attempts before a mail is given up (it stays in the outbox with its last error).
const MAX_ATTEMPTS: u32 = 10;

fn build(from: &str, mail: &Mail) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = mail.to.parse().map_err(|e| format!("to {}: {e}", mail.to))?;
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.body.clone());
    let builder = Message::builder().from(from).to(to).subject(mail.subject.clone());
    let message = match &mail.attachment {
        Some((name, bytes)) => {
            let kind = ContentType::parse("application/jose").map_err(|e| e.to_string())?;
            builder.multipart(
                MultiPart::mixed().singlepart(text).singlepart(Attachment::new(name.clone()).body(bytes.clone(), kind)),
            )
        }
        None => builder.singlepart(text),
    };
    message.map_err(|e| e.to_string())
}

/// Sends every mail due now; returns how many were sent. Failures are recorded with a retry time
/// (1, 2, 4 … minutes).
pub fn drain_once(state: &AppState) -> Result<usize, String> {
    let Some((host, port)) = state.config.smtp.clone() else { return Ok(0) };
    let now = state.now();
    let due = {
        let store = state.store.lock().unwrap_or_else(|p| p.into_inner());
        store.due_mail(now, 50).map_err(|e| e.to_string())?
    };
    if due.is_empty() {
        return Ok(0);
    }
    let transport = SmtpTransport::builder_dangerous(host).port(port).build();
    let mut sent = 0;
    for (id, attempts, mail) in due {
        let result = build(&state.config.mail_from, &mail).and_then(|m| transport.send(&m).map_err(|e| e.to_string()));
        let mut store = state.store.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => {
                store.mail_sent(id, now).map_err(|e| e.to_string())?;
                sent += 1;
                tracing::info!(mail = id, to = %mail.to, "mail sent");
            }
            Err(e) => {
                let backoff_ms = 60_000_i64 << attempts.min(MAX_ATTEMPTS);
                let retry = if attempts + 1 >= MAX_ATTEMPTS {
                    Timestamp::from_unix_ms(i64::MAX)
                } else {
                    now.saturating_add_ms(backoff_ms)
                };
                store.mail_failed(id, &e, retry).map_err(|e| e.to_string())?;
                tracing::warn!(mail = id, error = %e, attempts = attempts + 1, "mail not sent; will retry");
            }
        }
    }
    Ok(sent)
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
