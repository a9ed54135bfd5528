//! The ASN.1 structures of RFC 3161 (Time-Stamp Protocol) and RFC 2634/5035 (ESS signing-certificate
//! attributes), written with `der`'s derive macros, plus the object identifiers the module needs.
//!
//! CMS (`SignedData`, `SignerInfo`, `ContentInfo`) and X.509 come from the `cms` and `x509-cert`
//! crates; only what those crates lack is defined here. Two types are our own on purpose:
//!
//! - [`GenTime`]: `der`'s `GeneralizedTime` refuses fractional seconds, but RFC 3161 allows them and
//!   both we (milliseconds) and OpenSSL (`clock_precision_digits`) emit them, so `genTime` needs a
//!   type that reads and writes `YYYYMMDDHHMMSS[.f*]Z`.
//! - [`PolicyId`]: `const-oid` limits arcs to 32 bits, which rules out the registration-free
//!   `2.25.<UUID>` arc our default policy uses; policies are kept as their DER content bytes.
//!
//! Object identifiers are spelled out here rather than taken from `const-oid`'s database so that each
//! one the verifier relies on can be read next to the standard that defines it.

use super::TsaError;
use crate::Timestamp;
use der::asn1::{BitString, Int, ObjectIdentifier as Oid, OctetString};
use der::{Any, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, ValueOrd, Writer};
use std::fmt;
use std::str::FromStr;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// id-signedData (RFC 5652).
pub(crate) const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (RFC 3161): the eContentType of a time-stamp token.
pub(crate) const ID_CT_TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-contentType signed attribute (RFC 5652).
pub(crate) const ID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest signed attribute (RFC 5652).
pub(crate) const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime signed attribute (RFC 5652).
pub(crate) const ID_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificate (RFC 2634, ESSCertID with SHA-1).
pub(crate) const ID_AA_SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-aa-signingCertificateV2 (RFC 5035, ESSCertIDv2 with any hash, SHA-256 by default).
pub(crate) const ID_AA_SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-sha1.
pub(crate) const ID_SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
pub(crate) const ID_SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384.
pub(crate) const ID_SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512.
pub(crate) const ID_SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
/// ecdsa-with-SHA256 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
/// id-ecPublicKey (RFC 5480); some CMS signers also put it in `signatureAlgorithm`.
pub(crate) const ID_EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 (RFC 5480).
pub(crate) const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// rsaEncryption and the PKCS#1 signature algorithms, only recognised to name them in an error.
pub(crate) const RSA_ARC: &str = "1.2.840.113549.1.1.";
/// id-kp-timeStamping (RFC 3161 §2.3).
pub(crate) const ID_KP_TIME_STAMPING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-at-commonName.
pub(crate) const ID_AT_COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
/// id-at-organizationName.
pub(crate) const ID_AT_ORGANIZATION: Oid = Oid::new_unwrap("2.5.4.10");

/// `AlgorithmIdentifier` for an OID with absent parameters (RFC 5754 and RFC 5758 say SHA-2 and
/// ECDSA identifiers omit them).
pub(crate) fn algorithm(oid: Oid) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid, parameters: None }
}

/// ```text
/// MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// ```text
/// TimeStampReq ::= SEQUENCE {
///    version INTEGER { v1(1) }, messageImprint MessageImprint, reqPolicy TSAPolicyId OPTIONAL,
///    nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE, extensions [0] IMPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampReq {
    pub version: u8,
    pub message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub req_policy: Option<PolicyId>,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// ```text
/// TSTInfo ::= SEQUENCE {
///    version INTEGER { v1(1) }, policy TSAPolicyId, messageImprint MessageImprint,
///    serialNumber INTEGER, genTime GeneralizedTime, accuracy Accuracy OPTIONAL,
///    ordering BOOLEAN DEFAULT FALSE, nonce INTEGER OPTIONAL, tsa [0] GeneralName OPTIONAL,
///    extensions [1] IMPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub version: u8,
    pub policy: PolicyId,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GenTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// ```text
/// Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER (1..999) OPTIONAL,
///                         micros [1] INTEGER (1..999) OPTIONAL }
/// ```
/// Parsed so foreign tokens that carry it (OpenSSL's `accuracy` setting) decode; we never emit it.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Accuracy {
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
///                              failInfo PKIFailureInfo OPTIONAL }
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct PkiStatusInfo {
    pub status: i32,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// ```text
/// TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }
/// TimeStampToken ::= ContentInfo
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<cms::content_info::ContentInfo>,
}

/// ```text
/// IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence, ValueOrd)]
pub(crate) struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// ```text
/// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///                            certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }
/// ```
/// `None` stands for the DEFAULT (SHA-256), which DER requires to be omitted; `der`'s `default`
/// attribute needs a `Copy` field, so the default is applied by [`EssCertIdV2::hash`].
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

impl EssCertIdV2 {
    /// The hash algorithm, applying the DEFAULT.
    pub fn hash(&self) -> AlgorithmIdentifierOwned {
        self.hash_algorithm.clone().unwrap_or_else(|| algorithm(ID_SHA256))
    }
}

/// ```text
/// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2,
///                                     policies SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

/// ```text
/// ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial IssuerSerial OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertId {
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// ```text
/// SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID,
///                                   policies SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificate {
    pub certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

/// A `GeneralizedTime` with optional fractional seconds, held as Unix milliseconds.
///
/// Encoding follows X.690 §11.7 (DER): UTC with `Z`, no trailing zeros in the fraction and no decimal
/// point when the fraction is zero. Decoding accepts any number of fraction digits (truncated to
/// milliseconds), because the bytes a signature covers are hashed as received and never re-encoded.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct GenTime(pub Timestamp);

impl GenTime {
    fn text(&self) -> der::Result<String> {
        let ms = self.0.unix_ms();
        let (y, mo, d) = self.0.date();
        if !(0..=9999).contains(&y) {
            return Err(Tag::GeneralizedTime.value_error());
        }
        let of_day = ms.rem_euclid(crate::time::MS_PER_DAY);
        let (secs, frac) = (of_day / 1000, of_day % 1000);
        let mut text = format!("{y:04}{mo:02}{d:02}{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        if frac != 0 {
            let digits = format!("{frac:03}");
            text.push('.');
            text.push_str(digits.trim_end_matches('0'));
        }
        text.push('Z');
        Ok(text)
    }

    fn parse(bytes: &[u8]) -> Option<Timestamp> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (main, rest) = (text.get(..14)?, text.get(14..)?);
        if !main.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| main.get(r).and_then(|s| s.parse::<u32>().ok());
        let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
        let (h, mi, s) = (num(8..10)?, num(10..12)?, num(12..14)?);
        // Leap seconds (:60) are not representable as Unix time; refuse rather than guess.
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        let rest = rest.strip_suffix('Z')?;
        let millis = match rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
            None if rest.is_empty() => 0,
            None => return None,
            Some(frac) => {
                if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let padded = format!("{frac:0<3}");
                padded.get(..3)?.parse::<i64>().ok()?
            }
        };
        let midnight = Timestamp::from_date(i64::from(y), mo, d)?;
        let offset = (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * 1000 + millis;
        Some(midnight.saturating_add_ms(offset))
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        GenTime::parse(&bytes).map(GenTime).ok_or_else(|| Tag::GeneralizedTime.value_error())
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.text()?.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.text()?.as_bytes())
    }
}

/// A TSA policy object identifier (`TSAPolicyId`), kept as its DER content bytes so arcs of any
/// size up to 128 bits (such as the `2.25.<UUID>` arc of [`super::DEFAULT_POLICY`]) are supported.
///
/// Parse one from dotted text with [`str::parse`]; [`fmt::Display`] writes it back.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyId(Vec<u8>);

impl PolicyId {
    /// The arcs, or `None` if an arc exceeds 128 bits or the encoding is not minimal.
    fn arcs(bytes: &[u8]) -> Option<Vec<u128>> {
        let mut values = Vec::new();
        let mut current: u128 = 0;
        let mut fresh = true;
        for &b in bytes {
            // A leading 0x80 would be a non-minimal (and so non-DER) arc encoding.
            if fresh && b == 0x80 {
                return None;
            }
            current = current.checked_mul(128)?.checked_add(u128::from(b & 0x7f))?;
            fresh = b & 0x80 == 0;
            if fresh {
                values.push(current);
                current = 0;
            }
        }
        if !fresh || values.is_empty() {
            return None;
        }
        // The first subidentifier packs the first two arcs (X.690 §8.19.4).
        let first = values[0];
        let (a, b) = match first {
            0..=39 => (0, first),
            40..=79 => (1, first - 40),
            _ => (2, first - 80),
        };
        let mut arcs = vec![a, b];
        arcs.extend_from_slice(&values[1..]);
        Some(arcs)
    }

    /// The DER content bytes (without tag and length).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Wraps DER content bytes, checking they are a valid object identifier.
    pub fn from_bytes(bytes: &[u8]) -> Result<PolicyId, TsaError> {
        match PolicyId::arcs(bytes) {
            Some(_) => Ok(PolicyId(bytes.to_vec())),
            None => Err(TsaError::Malformed("invalid policy object identifier".into())),
        }
    }
}

impl FromStr for PolicyId {
    type Err = TsaError;

    fn from_str(text: &str) -> Result<PolicyId, TsaError> {
        let bad = || TsaError::Malformed(format!("invalid policy object identifier {text:?}"));
        let arcs: Vec<u128> =
            text.split('.').map(|a| a.parse::<u128>().map_err(|_| bad())).collect::<Result<_, _>>()?;
        let (a, b) = match arcs.as_slice() {
            [a, b, ..] => (*a, *b),
            _ => return Err(bad()),
        };
        if a > 2 || (a < 2 && b > 39) {
            return Err(bad());
        }
        let first = (a * 40).checked_add(b).ok_or_else(bad)?;
        let mut bytes = Vec::new();
        for arc in std::iter::once(first).chain(arcs[2..].iter().copied()) {
            let mut groups = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                groups.push((rest & 0x7f) as u8 | 0x80);
                rest >>= 7;
            }
            bytes.extend(groups.iter().rev());
        }
        Ok(PolicyId(bytes))
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Construction guarantees the bytes decode; the fallback only keeps Display total.
        let arcs = PolicyId::arcs(&self.0).unwrap_or_default();
        let text: Vec<String> = arcs.iter().map(u128::to_string).collect();
        f.write_str(&text.join("."))
    }
}

impl fmt::Debug for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyId({self})")
    }
}

impl FixedTag for PolicyId {
    const TAG: Tag = Tag::ObjectIdentifier;
}

impl<'a> DecodeValue<'a> for PolicyId {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        match PolicyId::arcs(&bytes) {
            Some(_) => Ok(PolicyId(bytes)),
            None => Err(Tag::ObjectIdentifier.value_error()),
        }
    }
}

impl EncodeValue for PolicyId {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

/// A non-negative integer as a DER `INTEGER` from its big-endian magnitude (leading zeros allowed).
pub(crate) fn unsigned_int(magnitude: &[u8]) -> der::Result<Int> {
    let start = magnitude.iter().position(|&b| b != 0).unwrap_or(magnitude.len());
    let digits = if start == magnitude.len() { &[0][..] } else { &magnitude[start..] };
    Ok(Int::from(der::asn1::Uint::new(digits)?))
}

/// The big-endian magnitude of a non-negative `INTEGER` (its sign octet dropped), or `None` if negative.
pub(crate) fn magnitude(int: &Int) -> Option<Vec<u8>> {
    let bytes = int.as_bytes();
    match bytes.first() {
        Some(b) if b & 0x80 != 0 => None,
        _ => {
            let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
            Some(bytes[start..].to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    fn gen_der(ms: i64) -> Vec<u8> {
        GenTime(Timestamp::from_unix_ms(ms)).to_der().expect("encodes")
    }

    #[test]
    fn gen_time_encodes_der_fractions() {
        // 2026-01-02T03:04:05Z = 1767323045 s.
        let base = 1_767_323_045_000;
        assert_eq!(&gen_der(base)[2..], b"20260102030405Z");
        assert_eq!(&gen_der(base + 500)[2..], b"20260102030405.5Z");
        assert_eq!(&gen_der(base + 120)[2..], b"20260102030405.12Z");
        assert_eq!(&gen_der(base + 7)[2..], b"20260102030405.007Z");
        for ms in [base, base + 1, base + 999, 0, 253_402_300_799_999] {
            let back = GenTime::from_der(&gen_der(ms)).expect("decodes");
            assert_eq!(back.0.unix_ms(), ms);
        }
        assert!(GenTime(Timestamp::from_unix_ms(253_402_300_800_000)).to_der().is_err(), "year 10000");
    }

    #[test]
    fn gen_time_reads_foreign_precision() {
        let parse = |s: &str| GenTime::parse(s.as_bytes()).map(|t| t.unix_ms());
        assert_eq!(parse("20260102030405.123456Z"), Some(1_767_323_045_123));
        assert_eq!(parse("20260102030405,5Z"), Some(1_767_323_045_500));
        assert_eq!(parse("20260102030405Z"), Some(1_767_323_045_000));
        for bad in ["20260102030405", "20260102030405.Z", "20261302030405Z", "20260102036005Z", "2026010203040Z"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn policy_ids_round_trip_with_big_arcs() {
        for text in ["1.2.3.4.1", "2.25.302398971914536725027112528001325638207", "0.39", "2.999.1", "1.3.6.1.4.1.311"]
        {
            let id: PolicyId = text.parse().expect("parses");
            assert_eq!(id.to_string(), text);
            let der = id.to_der().expect("encodes");
            assert_eq!(PolicyId::from_der(&der).expect("decodes"), id);
        }
        // Cross-check an ordinary OID's encoding with const-oid's.
        let ours: PolicyId = "1.2.840.113549.1.9.16.1.4".parse().expect("parses");
        assert_eq!(ours.as_bytes(), ID_CT_TST_INFO.as_bytes());
        for bad in ["1", "3.1", "1.40", "1..2", "x.1", "2.25.340282366920938463463374607431768211456"] {
            assert!(bad.parse::<PolicyId>().is_err(), "{bad}");
        }
        assert!(PolicyId::from_bytes(&[0x2a, 0x80, 0x01]).is_err(), "non-minimal arc");
        assert!(PolicyId::from_bytes(&[0x2a, 0x81]).is_err(), "truncated arc");
    }

    #[test]
    fn integers_keep_their_value() {
        assert_eq!(unsigned_int(&[0x00, 0x80]).expect("int").to_der().expect("der"), [2, 2, 0, 0x80]);
        assert_eq!(unsigned_int(&[]).expect("int").to_der().expect("der"), [2, 1, 0]);
        assert_eq!(magnitude(&unsigned_int(&[0xff, 0x01]).expect("int")), Some(vec![0xff, 0x01]));
        assert_eq!(magnitude(&Int::new(&[0xff]).expect("int")), None);
    }
}
