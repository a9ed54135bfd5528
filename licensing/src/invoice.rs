//! Invoices. The platform issues one invoice per settled licence, for the full price the licensee paid,
//! itemised into the rights holder's licence fee and the platform's service fee. Numbers run without gaps
//! inside a series (one series per calendar year): the store allocates `last + 1` inside the same
//! transaction that posts the licence's holds, so a number is used exactly when its postings exist.

use crate::ids::{LicenceId, PartyId, TransferId};
use crate::money::{Amount, Currency};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An invoice number: series plus a sequence number starting at 1.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InvoiceNumber {
    /// The series, e.g. `SEAL-2026`.
    pub series: String,
    /// 1, 2, 3, … without gaps inside the series.
    pub number: u64,
}

impl InvoiceNumber {
    /// The series an invoice issued at `t` belongs to.
    pub fn series_for(t: Timestamp) -> String {
        format!("SEAL-{}", t.year())
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:08}", self.series, self.number)
    }
}

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// What is charged.
    pub description: String,
    /// How much.
    pub amount: Amount,
    /// The posting transfer this line is backed by.
    pub transfer: TransferId,
}

/// An invoice for one licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Its number.
    pub number: InvoiceNumber,
    /// The licence invoiced.
    pub licence: LicenceId,
    /// The rights holder whose work was licensed.
    pub holder: PartyId,
    /// The licensee billed.
    pub licensee: PartyId,
    /// The licensee's display name.
    pub licensee_name: String,
    /// Currency of every line.
    pub currency: Currency,
    /// Items; their sum is `total`.
    pub lines: Vec<InvoiceLine>,
    /// The total billed, equal to the sum of the posting transfers.
    pub total: Amount,
    /// Issue time.
    pub issued_at: Timestamp,
}

impl Invoice {
    /// The invoice as JSON, with decimal amounts beside the minor units for people.
    pub fn to_json(&self) -> serde_json::Value {
        let cur = self.currency;
        let lines: Vec<serde_json::Value> = self
            .lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "description": l.description,
                    "amount_minor": l.amount.minor(),
                    "amount": cur.format_minor(l.amount.minor()),
                    "transfer": l.transfer,
                })
            })
            .collect();
        serde_json::json!({
            "type": "seal-invoice/v1",
            "number": self.number.to_string(),
            "series": self.number.series,
            "sequence": self.number.number,
            "issuer": "Copyright Seal platform",
            "licence": self.licence,
            "rights_holder": self.holder,
            "licensee": {"id": self.licensee, "name": self.licensee_name},
            "currency": cur.code(),
            "lines": lines,
            "total_minor": self.total.minor(),
            "total": cur.format_minor(self.total.minor()),
            "issued_at": self.issued_at.to_string(),
        })
    }
}
