//! Draining the mail outbox over SMTP: the use case behind the server's mail thread, with no actix.
//!
//! Every queued mail due now is sent through the relay; a failure is recorded with a retry time (1, 2,
//! 4 … minutes) and, after [`MAX_ATTEMPTS`], the mail stays in the outbox with its last error. The
//! store lock is held only to read what is due and to record each outcome, never across SMTP.
//!
//! Plain SMTP to a relay on a trusted network (the relay does STARTTLS onwards); sending directly to
//! the internet with authentication is left for when a deployment needs it.

use crate::domain::Mail;
use crate::store::Outbox;
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Message, SmtpTransport, Transport};
use seal_licensing::Timestamp;
use std::sync::Mutex;

/// Attempts before a mail is given up (it stays in the outbox with its last error).
pub const MAX_ATTEMPTS: u32 = 10;

/// Where mail goes out.
#[derive(Clone, Debug)]
pub struct SmtpRelay {
    /// Relay host.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Sender, `Name <address>`.
    pub from: String,
}

/// Why a drain pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The outbox could not be read or updated.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn build(from: &str, mail: &Mail) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("from: {e}"))?;
    let to: Mailbox = mail.to.parse().map_err(|e| format!("to {}: {e}", mail.to))?;
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.body.clone());
    let builder = Message::builder().from(from).to(to).subject(mail.subject.clone());
    let message = match &mail.attachment {
        Some((name, bytes)) => {
            let kind = ContentType::parse(attachment_type(name)).map_err(|e| e.to_string())?;
            builder.multipart(
                MultiPart::mixed().singlepart(text).singlepart(Attachment::new(name.clone()).body(bytes.clone(), kind)),
            )
        }
        None => builder.singlepart(text),
    };
    message.map_err(|e| e.to_string())
}

/// An attachment's media type, by its file name: the outbox stores a name and bytes, and the mails
/// carry a signed letter as a PDF or, failing that, as a JWS.
fn attachment_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("jws") => "application/jose",
        _ => "application/octet-stream",
    }
}

/// Sends every mail due at `now`; returns how many were sent.
pub fn drain_once<S: Outbox>(store: &Mutex<S>, relay: &SmtpRelay, now: Timestamp) -> Result<usize, OutboxError> {
    let due = store.lock().unwrap_or_else(|p| p.into_inner()).due_mail(now, 50)?;
    if due.is_empty() {
        return Ok(0);
    }
    let transport = SmtpTransport::builder_dangerous(relay.host.clone()).port(relay.port).build();
    let mut sent = 0;
    for (id, attempts, mail) in due {
        let result = build(&relay.from, &mail).and_then(|m| transport.send(&m).map_err(|e| e.to_string()));
        let mut store = store.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => {
                store.mail_sent(id, now)?;
                sent += 1;
                tracing::info!(mail = id, to = %mail.to, "mail sent");
            }
            Err(e) => {
                let retry = if attempts + 1 >= MAX_ATTEMPTS {
                    Timestamp::from_unix_ms(i64::MAX)
                } else {
                    now.saturating_add_ms(60_000_i64 << attempts.min(MAX_ATTEMPTS))
                };
                store.mail_failed(id, &e, retry)?;
                tracing::warn!(mail = id, error = %e, attempts = attempts + 1, "mail not sent; will retry");
            }
        }
    }
    Ok(sent)
}
