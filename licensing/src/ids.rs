//! Identifiers. Every id is a short string from a restricted alphabet so it can be embedded in account
//! names, URLs and file names without escaping, and compared byte for byte. Ids are chosen by the caller
//! (TigerBeetle style): replaying an operation with the same id is how idempotency works.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest id a caller may choose.
pub const MAX_ID_LEN: usize = 128;

/// The longest id the platform derives from another (a transfer id is a licence id plus a suffix).
pub const MAX_DERIVED_ID_LEN: usize = 200;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id {value:?}: 1..={max_len} characters of A-Z a-z 0-9 . _ - : /")]
pub struct IdError {
    /// Which kind of id.
    pub kind: &'static str,
    /// The refused text.
    pub value: String,
    /// The length limit for this kind.
    pub max_len: usize,
}

fn valid_id(s: &str, max_len: usize) -> bool {
    !s.is_empty()
        && s.len() <= max_len
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/'))
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                if valid_id(&value, $max) {
                    Ok(Self(value))
                } else {
                    Err(IdError { kind: $kind, value, max_len: $max })
                }
            }

            /// The id text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// A party: a rights holder, a licensee, a third-party app or a payment provider.
    PartyId,
    "party",
    MAX_ID_LEN
);
string_id!(
    /// A registered work.
    WorkId,
    "work",
    MAX_ID_LEN
);
string_id!(
    /// A rights holder's publication channel.
    ChannelId,
    "channel",
    MAX_ID_LEN
);
string_id!(
    /// An offer.
    OfferId,
    "offer",
    MAX_ID_LEN
);
string_id!(
    /// A licence (agreement). Also the idempotency key of the purchase that creates it.
    LicenceId,
    "licence",
    MAX_ID_LEN
);
string_id!(
    /// A ledger transfer.
    TransferId,
    "transfer",
    MAX_DERIVED_ID_LEN
);
string_id!(
    /// A payout to a rights holder.
    PayoutId,
    "payout",
    MAX_DERIVED_ID_LEN
);
string_id!(
    /// An operation (command) id, the idempotency key of objections and resolutions.
    OperationId,
    "operation",
    MAX_DERIVED_ID_LEN
);
