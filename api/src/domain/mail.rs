//! An email as the platform queues it: plain text with at most one attachment.

/// A queued email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// One attachment: file name and bytes.
    pub attachment: Option<(String, Vec<u8>)>,
}
