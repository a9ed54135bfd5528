//! Platform domain values that both the store and the web layer use, and that know neither actix nor
//! SQL. Dependencies point inward: `web` and `store` may import from here; this module imports from
//! neither. (Accounts and checkouts still live in `store::platform` and move here next.)

mod content;
mod ids;
mod mail;
pub mod team;

pub use content::{ContentKind, Sha256Hex};
pub use ids::EngineId;
pub use mail::Mail;
use serde::{Deserialize, Serialize};

/// A payment's state at the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Waiting for the buyer.
    Pending,
    /// Paid.
    Succeeded,
    /// The buyer declined.
    Declined,
}

impl PaymentStatus {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Declined => "declined",
        }
    }

    /// Parses a stored status (unknown counts as pending).
    pub fn parse(s: &str) -> PaymentStatus {
        match s {
            "succeeded" => PaymentStatus::Succeeded,
            "declined" => PaymentStatus::Declined,
            _ => PaymentStatus::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_status_names_round_trip() {
        for s in [PaymentStatus::Pending, PaymentStatus::Succeeded, PaymentStatus::Declined] {
            assert_eq!(PaymentStatus::parse(s.as_str()), s);
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(s.as_str())));
        }
        assert_eq!(PaymentStatus::parse("refunded?"), PaymentStatus::Pending);
    }
}
