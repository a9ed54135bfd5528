//! Time-stamp requests (`TimeStampReq`) in both directions, and the rejection responses a TSA sends
//! when it will not stamp.
//!
//! The built-in TSA accepts SHA-256 imprints only: every hash this platform makes is SHA-256, and
//! refusing the rest (with `badAlg`, as RFC 3161 §2.4.2 prescribes) is clearer than stamping a weak
//! SHA-1 imprint. A nonce is kept as its unsigned big-endian magnitude; negative nonces, which no
//! client sends and which could not be echoed faithfully through that representation, are refused.

use super::asn1::{
    algorithm, magnitude, unsigned_int, MessageImprint, PkiStatusInfo, TimeStampReq, TimeStampResp, ID_SHA1, ID_SHA256,
    ID_SHA384, ID_SHA512,
};
use super::{FailInfo, PolicyId, TsaError};
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode};
use x509_cert::spki::AlgorithmIdentifierOwned;

/// What the TSA needs from a request: the SHA-256 imprint, the nonce to echo, whether to include
/// its certificate, and the policy the requester asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampRequest {
    /// The SHA-256 of the data being timestamped.
    pub imprint: [u8; 32],
    /// The request's nonce as an unsigned big-endian magnitude (leading zeros are dropped on output).
    pub nonce: Option<Vec<u8>>,
    /// Whether the token must include the TSA certificate (`certReq`).
    pub cert_req: bool,
    /// The policy the requester asked for (`reqPolicy`); the token states it when present.
    pub policy: Option<PolicyId>,
}

/// A readable name for a hash algorithm OID, for error messages.
pub(crate) fn hash_name(oid: &der::oid::ObjectIdentifier) -> String {
    let known = [
        (ID_SHA1, "SHA-1"),
        (ID_SHA256, "SHA-256"),
        (ID_SHA384, "SHA-384"),
        (ID_SHA512, "SHA-512"),
        (der::oid::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4"), "SHA-224"),
        (der::oid::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.8"), "SHA3-256"),
        (der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.2.5"), "MD5"),
    ];
    known.iter().find(|(o, _)| o == oid).map_or_else(|| oid.to_string(), |(_, name)| (*name).to_owned())
}

/// Whether an `AlgorithmIdentifier` is SHA-256, with parameters absent or NULL (both are seen).
pub(crate) fn is_sha256(alg: &AlgorithmIdentifierOwned) -> bool {
    alg.oid == ID_SHA256 && alg.parameters.as_ref().is_none_or(|p| p.is_null())
}

/// Reads a DER `TimeStampReq`. Refuses other hashes than SHA-256 ([`TsaError::UnsupportedAlgorithm`],
/// answer with `badAlg`), extensions ([`TsaError::UnsupportedExtension`]) and malformed input.
pub fn parse_request(der: &[u8]) -> Result<StampRequest, TsaError> {
    let req = TimeStampReq::from_der(der).map_err(|e| TsaError::Malformed(format!("not a DER TimeStampReq: {e}")))?;
    if req.version != 1 {
        return Err(TsaError::Malformed(format!("request version {} (only version 1 exists)", req.version)));
    }
    let alg = &req.message_imprint.hash_algorithm;
    if !is_sha256(alg) {
        return Err(TsaError::UnsupportedAlgorithm(format!(
            "the request's imprint is hashed with {}; this TSA accepts SHA-256 only",
            hash_name(&alg.oid)
        )));
    }
    let imprint: [u8; 32] = req
        .message_imprint
        .hashed_message
        .as_bytes()
        .try_into()
        .map_err(|_| TsaError::Malformed("a SHA-256 imprint must be 32 bytes".into()))?;
    let nonce = match &req.nonce {
        None => None,
        Some(n) => Some(magnitude(n).ok_or_else(|| TsaError::Malformed("the nonce is negative".into()))?),
    };
    if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
        return Err(TsaError::UnsupportedExtension);
    }
    Ok(StampRequest { imprint, nonce, cert_req: req.cert_req, policy: req.req_policy })
}

/// A DER `TimeStampReq` for a SHA-256 imprint, for asking an external TSA (the same bytes
/// `openssl ts -query -sha256` sends: the hash identifier carries NULL parameters).
pub fn encode_request(imprint: &[u8; 32], nonce: Option<u64>, cert_req: bool) -> Vec<u8> {
    let req = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned { oid: ID_SHA256, parameters: Some(der::Any::null()) },
            hashed_message: OctetString::new(imprint.to_vec()).expect("32 bytes fit an OCTET STRING"),
        },
        req_policy: None,
        nonce: nonce.map(|n| unsigned_int(&n.to_be_bytes()).expect("8 bytes fit an INTEGER")),
        cert_req,
        extensions: None,
    };
    req.to_der().expect("a fixed-size TimeStampReq always encodes")
}

/// A DER `TimeStampResp` with status `rejection`, failInfo `badRequest` and `reason` as status text.
pub fn reject(reason: &str) -> Vec<u8> {
    reject_with(FailInfo::BadRequest, reason)
}

/// A DER `TimeStampResp` with status `rejection`, the given failInfo bit and `reason` as status text.
pub fn reject_with(fail: FailInfo, reason: &str) -> Vec<u8> {
    let bit = fail.bit();
    let mut bytes = vec![0_u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    // DER drops trailing zero bits of a named-bit BIT STRING, so the unused count is what follows ours.
    let unused = (7 - bit % 8) as u8;
    let encoded = BitString::new(unused, bytes).and_then(|fail_info| {
        TimeStampResp {
            status: PkiStatusInfo {
                status: 2,
                status_string: Some(vec![reason.to_owned()]),
                fail_info: Some(fail_info),
            },
            time_stamp_token: None,
        }
        .to_der()
    });
    // Only an absurdly long reason fails to encode; a bare rejection still tells the client "no".
    encoded.unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
}

impl TsaError {
    /// The rejection a TSA should send for this error: [`reject_with`] its [`TsaError::fail_info`].
    pub fn to_response(&self) -> Vec<u8> {
        reject_with(self.fail_info(), &self.to_string())
    }
}

/// The failInfo bits set in a rejection.
#[cfg(test)]
pub(crate) fn fail_bits(fail_info: &BitString) -> Vec<usize> {
    fail_info.bits().enumerate().filter(|(_, set)| *set).map(|(n, _)| n).collect()
}

/// A SHA-256 `AlgorithmIdentifier` without parameters, as we write it in CMS.
pub(crate) fn sha256_alg() -> AlgorithmIdentifierOwned {
    algorithm(ID_SHA256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips() {
        let imprint = [7_u8; 32];
        for (nonce, cert_req) in [(Some(0x8000_0000_0000_0001_u64), true), (None, false), (Some(0), true)] {
            let req = parse_request(&encode_request(&imprint, nonce, cert_req)).expect("parses");
            assert_eq!(req.imprint, imprint);
            assert_eq!(req.cert_req, cert_req);
            let expected = nonce.map(|n| {
                let b = n.to_be_bytes();
                b[b.iter().position(|&x| x != 0).unwrap_or(8)..].to_vec()
            });
            assert_eq!(req.nonce, expected);
        }
    }

    #[test]
    fn other_hashes_are_refused_as_bad_alg() {
        // `openssl ts -query -sha1` for "abc": the SHA-1 identifier with NULL parameters.
        let mut der = encode_request(&[0; 32], None, false);
        let sha1 = TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned { oid: ID_SHA1, parameters: Some(der::Any::null()) },
                hashed_message: OctetString::new(vec![0; 20]).expect("octets"),
            },
            req_policy: None,
            nonce: None,
            cert_req: false,
            extensions: None,
        };
        let err = parse_request(&sha1.to_der().expect("der")).expect_err("SHA-1 refused");
        assert!(matches!(err, TsaError::UnsupportedAlgorithm(ref m) if m.contains("SHA-1")), "{err}");
        assert_eq!(err.fail_info(), FailInfo::BadAlg);
        der.push(0);
        assert!(matches!(parse_request(&der), Err(TsaError::Malformed(_))), "trailing byte");
        assert!(matches!(parse_request(b"hello"), Err(TsaError::Malformed(_))));
    }

    #[test]
    fn rejections_decode_with_their_bit() {
        for fail in [FailInfo::BadAlg, FailInfo::BadRequest, FailInfo::UnacceptedExtension, FailInfo::SystemFailure] {
            let resp = TimeStampResp::from_der(&reject_with(fail, "no")).expect("decodes");
            assert_eq!(resp.status.status, 2);
            assert_eq!(resp.status.status_string, Some(vec!["no".to_owned()]));
            assert_eq!(fail_bits(resp.status.fail_info.as_ref().expect("failInfo")), vec![fail.bit()]);
            assert!(resp.time_stamp_token.is_none());
        }
        let resp = TimeStampResp::from_der(&reject("bad")).expect("decodes");
        assert_eq!(fail_bits(resp.status.fail_info.as_ref().expect("failInfo")), vec![2]);
        // badAlg is the single byte 0x80 with 7 unused bits, as DER wants.
        assert!(reject_with(FailInfo::BadAlg, "x").ends_with(&[0x03, 0x02, 0x07, 0x80]));
    }
}
