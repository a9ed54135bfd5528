//! An RFC 3161 Time-Stamp Authority and time-stamp token verifier, as pure functions.
//!
//! Like the rest of this crate it does no IO: the time of a stamp, its serial number and the key seeds
//! are arguments, so the HTTP endpoint (in `seal-api`) owns the clock, the serial counter and the key
//! file, and tests can fix all three.
//!
//! **PKI.** [`Authority`] is a two-level PKI, because stock OpenSSL (`openssl ts -verify -CAfile`)
//! wants a CA it trusts and a separate time-stamping certificate: a self-signed root CA
//! (`CN=<name> Root CA, O=<name>`) issues the TSA certificate (`CN=<name> TSA, O=<name>`, extended key
//! usage id-kp-timeStamping, critical, as RFC 3161 §2.3 and OpenSSL require). Both keys are ECDSA
//! P-256 with SHA-256; ECDSA signatures are deterministic (RFC 6979), so signing needs no randomness.
//! The root's key signs only the TSA certificate; the TSA key signs every token.
//!
//! **Tokens.** A stamp is a DER `TimeStampResp` whose token is a CMS `SignedData` over a `TSTInfo`.
//! The signed attributes are contentType, signingTime, messageDigest and the ESS
//! signingCertificateV2 (RFC 5035) with the SHA-256 of the TSA certificate, which OpenSSL insists
//! on and which pins the token to that certificate. `genTime` carries milliseconds. The TSA
//! certificate is included when the request asks for it (`certReq`), exactly as RFC 3161 §2.4.1
//! prescribes; the root certificate is never included, because a verifier must bring its own trust.
//!
//! **Policy.** Unless the request or the caller names one, tokens state [`DEFAULT_POLICY`],
//! `2.25.302398971914536725027112528001325638207`: an OID under the `2.25` arc (ITU-T X.667), whose
//! last arc is a random UUID (`e37fec6b-8ef8-4cdb-9926-aedb44f8a23f`), so it is ours without
//! registering anything. It means "Copyright Seal's built-in TSA, clock of the platform's server".
//!
//! **Verification.** [`verify`] checks everything a relying party needs, against trust anchors the
//! caller supplies (see its docs), and also reads foreign tokens (OpenSSL's, with ESS v1 or v2,
//! fractional or whole-second `genTime`). Supported signatures are ECDSA P-256 with SHA-256, -384 or
//! -512. RSA is deliberately not supported: the `rsa` crate would bring a second big-integer stack
//! (`num-bigint-dig` and its helpers, `pkcs1`) and an open RustSec advisory (RUSTSEC-2023-0071, a
//! timing side channel in its private-key operations; verification is unaffected, but audits flag
//! the crate) for the sake of external TSAs whose tokens we only store, and OpenSSL verifies those.
//! [`verify`] names the RSA algorithm in its error.
//!
//! Map: `asn1` holds the RFC 3161 / ESS structures, `authority` issues, `request` reads and
//! writes requests and rejections, `verify` checks tokens, `pem` converts certificates.

mod asn1;
mod authority;
mod pem;
mod request;
mod verify;

pub use asn1::PolicyId;
pub use authority::Authority;
pub use pem::{certificate_der_from_pem, certificate_pem};
pub use request::{encode_request, parse_request, reject, reject_with, StampRequest};
pub use verify::{inspect, verify, TokenInfo, Verified};

/// The policy our tokens state when neither the request nor the caller names one (see the module doc).
pub const DEFAULT_POLICY: &str = "2.25.302398971914536725027112528001325638207";

/// [`DEFAULT_POLICY`] as a [`PolicyId`].
pub fn default_policy() -> PolicyId {
    // A constant, not input: the unit tests parse it, so this cannot fail at run time.
    DEFAULT_POLICY.parse().expect("DEFAULT_POLICY is a valid object identifier")
}

/// Why a timestamp request, stamp or token was refused, worded for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsaError {
    /// The bytes are not the DER structure expected.
    #[error("malformed timestamp data: {0}")]
    Malformed(String),
    /// A hash or signature algorithm this module does not implement.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The request carries extensions; none is supported (RFC 3161 asks us to refuse them).
    #[error("the timestamp request carries extensions, which this TSA does not support")]
    UnsupportedExtension,
    /// The TSA answered, but did not grant a timestamp.
    #[error("the TSA did not grant a timestamp (status {status}): {text}")]
    StatusNotGranted {
        /// The PKIStatus (2 rejection, 3 waiting, 4 revocation warning, 5 revocation notification).
        status: i32,
        /// The TSA's status text, if it sent one.
        text: String,
    },
    /// The token is valid but timestamps a different hash than the one being checked.
    #[error("the timestamp is for a different document: its hash differs from the one being checked")]
    WrongImprint,
    /// The content digest or signature does not verify: the token was changed or is not genuine.
    #[error("the timestamp's signature does not verify: {0}")]
    BadSignature(String),
    /// The signer's certificate is neither in the token nor among the trust anchors.
    #[error(
        "the TSA certificate that signed the timestamp is neither in the token nor among the trusted certificates"
    )]
    SignerNotFound,
    /// The ESS signing-certificate attribute is missing or names another certificate.
    #[error("the timestamp's signing-certificate attribute {0}")]
    SigningCertificate(String),
    /// The signer certificate is not meant for time-stamping.
    #[error("the signing certificate is not a time-stamping certificate: {0}")]
    NotTimestampingCertificate(String),
    /// The signer certificate does not chain to a trust anchor (or a link is invalid).
    #[error("the TSA certificate is not trusted: {0}")]
    UntrustedChain(String),
    /// A seed is not a valid P-256 secret scalar (zero or not below the group order): draw again.
    #[error("the seed is not a valid P-256 secret key; draw another")]
    InvalidSeed,
    /// Stored keys and certificates do not belong together.
    #[error("the TSA keys and certificates do not match: {0}")]
    Mismatch(String),
    /// An argument outside what can be encoded (a name too long, a time outside years 1970–9999).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl TsaError {
    /// The RFC 3161 `PKIFailureInfo` a TSA should answer with when a request fails this way.
    pub fn fail_info(&self) -> FailInfo {
        match self {
            TsaError::UnsupportedAlgorithm(_) => FailInfo::BadAlg,
            TsaError::UnsupportedExtension => FailInfo::UnacceptedExtension,
            TsaError::InvalidArgument(_) => FailInfo::TimeNotAvailable,
            TsaError::Malformed(_) => FailInfo::BadDataFormat,
            _ => FailInfo::BadRequest,
        }
    }
}

impl From<der::Error> for TsaError {
    fn from(e: der::Error) -> Self {
        TsaError::Malformed(e.to_string())
    }
}

/// The `PKIFailureInfo` bits of RFC 3161 §2.4.2 that a rejection can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailInfo {
    /// Unrecognized or unsupported algorithm identifier (bit 0).
    BadAlg,
    /// Transaction not permitted or supported (bit 2).
    BadRequest,
    /// The data submitted has the wrong format (bit 5).
    BadDataFormat,
    /// The TSA's time source is not available (bit 14).
    TimeNotAvailable,
    /// The requested TSA policy is not supported (bit 15).
    UnacceptedPolicy,
    /// The requested extension is not supported (bit 16).
    UnacceptedExtension,
    /// The request cannot be handled due to system failure (bit 25).
    SystemFailure,
}

impl FailInfo {
    /// The bit number in the `PKIFailureInfo` BIT STRING.
    pub fn bit(self) -> usize {
        match self {
            FailInfo::BadAlg => 0,
            FailInfo::BadRequest => 2,
            FailInfo::BadDataFormat => 5,
            FailInfo::TimeNotAvailable => 14,
            FailInfo::UnacceptedPolicy => 15,
            FailInfo::UnacceptedExtension => 16,
            FailInfo::SystemFailure => 25,
        }
    }
}

#[cfg(test)]
mod tests;
