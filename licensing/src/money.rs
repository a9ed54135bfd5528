//! Money as integers. Amounts are minor units (fen, cents) in an `i64`, never floats, with a hard upper
//! bound so that sums of many amounts stay far from overflow; every sum is still checked. A currency is
//! an ISO 4217 code from a fixed list, so a typo such as `RMB` is refused rather than booked.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest single amount we accept: 10^15 minor units (ten trillion yuan). A limit on everything
/// (TigerBeetle style) keeps `i64` sums of up to ~9,000 maximal amounts exact; beyond that the checked
/// arithmetic reports overflow instead of wrapping.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// Basis points in a whole (100%).
pub const BPS_WHOLE: u32 = 10_000;

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The amount was below zero.
    #[error("amount {0} is negative")]
    Negative(i64),
    /// The amount was above [`MAX_AMOUNT_MINOR`].
    #[error("amount {0} exceeds the limit of {MAX_AMOUNT_MINOR} minor units")]
    TooLarge(i64),
    /// The currency code is not on the ISO 4217 list we know.
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    /// A sum left the representable range.
    #[error("arithmetic overflow")]
    Overflow,
    /// Basis points above 10,000 (more than 100%).
    #[error("{0} basis points is more than 100%")]
    BadBasisPoints(u32),
}

/// ISO 4217 codes we accept, with their minor-unit exponents. The list holds the currencies a
/// Chinese-language rights market meets in practice; adding one is a one-line change with a test.
const KNOWN_CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("IDR", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("MOP", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PHP", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TWD", 2),
    ("USD", 2),
    ("VND", 0),
];

/// An ISO 4217 currency from [`KNOWN_CURRENCIES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency(&'static str, u8);

impl Currency {
    /// Chinese yuan, the platform's home currency.
    pub const CNY: Currency = Currency("CNY", 2);
    /// US dollar.
    pub const USD: Currency = Currency("USD", 2);
    /// Japanese yen (no minor unit), useful for catching exponent mistakes.
    pub const JPY: Currency = Currency("JPY", 0);

    /// Looks a code up; the match is exact (upper case), because a ledger should not guess.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        KNOWN_CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(c, e)| Currency(c, e))
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.0
    }

    /// Digits after the decimal point (2 for CNY, 0 for JPY).
    pub fn exponent(self) -> u8 {
        self.1
    }

    /// Formats minor units as a decimal string in this currency, e.g. `1234` CNY → `"12.34"`.
    pub fn format_minor(self, minor: i64) -> String {
        if self.1 == 0 {
            return minor.to_string();
        }
        let scale = 10_i64.pow(u32::from(self.1));
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let scale_u = scale.unsigned_abs();
        format!("{sign}{}.{:0width$}", abs / scale_u, abs % scale_u, width = usize::from(self.1))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// A validated amount of minor units: `0..=MAX_AMOUNT_MINOR`. Zero is a valid price (a free offer) but
/// the ledger refuses zero-amount transfers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Amount(i64);

impl Amount {
    /// Zero minor units.
    pub const ZERO: Amount = Amount(0);

    /// Validates raw minor units coming from outside.
    pub fn new(minor: i64) -> Result<Amount, MoneyError> {
        if minor < 0 {
            Err(MoneyError::Negative(minor))
        } else if minor > MAX_AMOUNT_MINOR {
            Err(MoneyError::TooLarge(minor))
        } else {
            Ok(Amount(minor))
        }
    }

    /// The minor units.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// `self - other`, refusing to go below zero.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).filter(|v| *v >= 0).map(Amount)
    }

    /// The share `bps / 10_000` of this amount, rounded down: the remainder stays with the larger party
    /// (the rights holder), so rounding never creates or loses a minor unit.
    pub fn share_bps(self, bps: u32) -> Result<Amount, MoneyError> {
        if bps > BPS_WHOLE {
            return Err(MoneyError::BadBasisPoints(bps));
        }
        // i128 because amount (< 2^50) times bps (< 2^14) could approach i64's range.
        let share = i128::from(self.0) * i128::from(bps) / i128::from(BPS_WHOLE);
        i64::try_from(share).map(Amount).map_err(|_| MoneyError::Overflow)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Amount::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An amount in a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units.
    pub amount: Amount,
    /// The currency.
    pub currency: Currency,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.format_minor(self.amount.minor()), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_bounded() {
        assert_eq!(Amount::new(-1), Err(MoneyError::Negative(-1)));
        assert_eq!(Amount::new(MAX_AMOUNT_MINOR + 1), Err(MoneyError::TooLarge(MAX_AMOUNT_MINOR + 1)));
        assert_eq!(Amount::new(i64::MAX), Err(MoneyError::TooLarge(i64::MAX)));
        assert!(Amount::new(MAX_AMOUNT_MINOR).is_ok());
    }

    #[test]
    fn currencies_are_validated_and_formatted() {
        assert_eq!(Currency::parse("CNY"), Ok(Currency::CNY));
        assert!(Currency::parse("RMB").is_err());
        assert!(Currency::parse("cny").is_err());
        assert_eq!(Currency::CNY.format_minor(1234), "12.34");
        assert_eq!(Currency::CNY.format_minor(5), "0.05");
        assert_eq!(Currency::JPY.format_minor(500), "500");
    }

    #[test]
    fn shares_round_down_and_never_exceed_the_whole() {
        let a = Amount::new(999).expect("valid");
        assert_eq!(a.share_bps(1000), Ok(Amount(99)));
        assert_eq!(a.share_bps(10_000), Ok(a));
        assert!(a.share_bps(10_001).is_err());
        let max = Amount::new(MAX_AMOUNT_MINOR).expect("valid");
        assert_eq!(max.share_bps(5000).map(Amount::minor), Ok(MAX_AMOUNT_MINOR / 2));
    }
}
