//! Reading and verifying time-stamp tokens, ours or a foreign TSA's.
//!
//! [`verify`] follows RFC 3161 §2.4.2 and RFC 5652 §5.4–5.6 and refuses on the first failed check, in
//! this order: status granted; SignedData v3 with one signer over an id-ct-TSTInfo; the messageDigest
//! attribute equals the hash of the encapsulated TSTInfo; the signer certificate (found by the
//! SignerInfo's identifier among the token's certificates and the trust anchors) verifies the
//! signature over the DER SET OF signed attributes; the ESS signingCertificate(V2) attribute names
//! that certificate; the certificate is a time-stamping certificate (extended key usage exactly
//! id-kp-timeStamping, critical, as OpenSSL also demands); it chains, signature by signature, to a
//! trust anchor (or is one); and finally the imprint equals the caller's.
//!
//! Validity periods are checked at the token's `genTime`, not "now": this module has no clock, and
//! a timestamp proves the data existed at `genTime`, when the TSA's certificate had to be valid.
//! Revocation is not checked (no IO; our own TSA publishes no CRL).
//!
//! Signed attributes and certificates are verified over their re-encoded DER. That is what RFC 5652
//! and RFC 5280 define the signature over, and `der` decodes strictly, so a DER input re-encodes to
//! itself; a signer that signed non-DER bytes is refused.

use super::asn1::{
    magnitude, EssCertId, IssuerSerial, SigningCertificate, SigningCertificateV2, TimeStampResp, TstInfo,
    ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ECDSA_WITH_SHA512, ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V2,
    ID_AT_COMMON_NAME, ID_CONTENT_TYPE, ID_CT_TST_INFO, ID_EC_PUBLIC_KEY, ID_KP_TIME_STAMPING, ID_MESSAGE_DIGEST,
    ID_SHA1, ID_SHA256, ID_SHA384, ID_SHA512, ID_SIGNED_DATA, RSA_ARC, SECP256R1,
};
use super::request::{hash_name, is_sha256};
use super::TsaError;
use crate::Timestamp;
use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::ObjectIdentifier as Oid;
use der::oid::AssociatedOid;
use der::{Any, Decode, Encode, Tag, Tagged};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;

/// The longest chain followed from the signer to an anchor; real TSA chains have two or three links.
const MAX_CHAIN: usize = 8;

/// What a token states. [`verify`] returns it once every check has passed; [`inspect`] returns it
/// without checking anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// `genTime`, to the millisecond (finer fractions are truncated).
    pub time: Timestamp,
    /// The token's serial number in lowercase hex (big-endian, no sign octet).
    pub serial: String,
    /// The TSA policy the token was issued under, dotted.
    pub policy: String,
    /// The TSA's name: the common name of the token's `tsa` field, else of the signer certificate's
    /// subject, else the whole name in RFC 4514 form.
    pub tsa_name: String,
    /// The signer certificate's subject in RFC 4514 form (empty from [`inspect`] when the token does
    /// not include the certificate).
    pub signer_subject: String,
    /// The timestamped hash (`hashedMessage`).
    pub imprint: Vec<u8>,
    /// The nonce, as an unsigned big-endian magnitude, for comparing with the request's.
    pub nonce: Option<Vec<u8>>,
}

/// What [`verify`] returns: the token's statements, now checked.
pub type Verified = TokenInfo;

/// A token taken apart: the SignedData, the exact TSTInfo bytes it signs, and the TSTInfo.
struct Opened {
    signed: SignedData,
    tst_der: Vec<u8>,
    tst: TstInfo,
}

/// Reads a `TimeStampResp` (status must be granted) or a bare token (`ContentInfo`).
fn open(der: &[u8]) -> Result<Opened, TsaError> {
    let token = match TimeStampResp::from_der(der) {
        Ok(resp) => {
            let status = resp.status.status;
            // granted (0) and grantedWithMods (1) both come with a valid token (RFC 3161 §2.4.2).
            if status != 0 && status != 1 {
                let text = resp.status.status_string.map(|t| t.join("; ")).unwrap_or_default();
                return Err(TsaError::StatusNotGranted { status, text });
            }
            resp.time_stamp_token.ok_or_else(|| TsaError::Malformed("a granted response carries no token".into()))?
        }
        Err(resp_err) => ContentInfo::from_der(der)
            .map_err(|_| TsaError::Malformed(format!("neither a TimeStampResp nor a time-stamp token ({resp_err})")))?,
    };
    if token.content_type != ID_SIGNED_DATA {
        return Err(TsaError::Malformed(format!("the token is {} content, not CMS SignedData", token.content_type)));
    }
    let signed: SignedData = token.content.decode_as()?;
    // RFC 5652 §5.1: version 3 whenever the encapsulated content is not id-data.
    if signed.version != CmsVersion::V3 {
        return Err(TsaError::Malformed("SignedData carrying a TSTInfo must be version 3".into()));
    }
    let encap = &signed.encap_content_info;
    if encap.econtent_type != ID_CT_TST_INFO {
        return Err(TsaError::Malformed(format!("the token signs {} content, not a TSTInfo", encap.econtent_type)));
    }
    let econtent = encap.econtent.as_ref().ok_or_else(|| TsaError::Malformed("the token has no TSTInfo".into()))?;
    if econtent.tag() != Tag::OctetString {
        return Err(TsaError::Malformed("the TSTInfo is not wrapped in an OCTET STRING".into()));
    }
    let tst_der = econtent.value().to_vec();
    let tst = TstInfo::from_der(&tst_der).map_err(|e| TsaError::Malformed(format!("the TSTInfo: {e}")))?;
    if tst.version != 1 {
        return Err(TsaError::Malformed(format!("TSTInfo version {} (only version 1 exists)", tst.version)));
    }
    Ok(Opened { signed, tst_der, tst })
}

/// The hash functions a token may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// A digest algorithm identifier (parameters absent or NULL); SHA-1 only where `allow_sha1`.
    fn from_alg(alg: &AlgorithmIdentifierOwned, allow_sha1: bool) -> Result<HashAlg, TsaError> {
        if alg.parameters.as_ref().is_some_and(|p| !p.is_null()) {
            return Err(TsaError::UnsupportedAlgorithm(format!("{} with parameters", hash_name(&alg.oid))));
        }
        match alg.oid {
            o if o == ID_SHA256 => Ok(HashAlg::Sha256),
            o if o == ID_SHA384 => Ok(HashAlg::Sha384),
            o if o == ID_SHA512 => Ok(HashAlg::Sha512),
            o if o == ID_SHA1 && allow_sha1 => Ok(HashAlg::Sha1),
            o => Err(TsaError::UnsupportedAlgorithm(format!("digest {}", hash_name(&o)))),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// The hash of an ECDSA signature algorithm; RSA and others are named in the error.
fn ecdsa_hash(alg: &AlgorithmIdentifierOwned, digest: Option<HashAlg>) -> Result<HashAlg, TsaError> {
    match alg.oid {
        o if o == ECDSA_WITH_SHA256 => Ok(HashAlg::Sha256),
        o if o == ECDSA_WITH_SHA384 => Ok(HashAlg::Sha384),
        o if o == ECDSA_WITH_SHA512 => Ok(HashAlg::Sha512),
        // Some CMS signers name the key type instead; the SignerInfo's digest algorithm then applies.
        o if o == ID_EC_PUBLIC_KEY => {
            digest.ok_or_else(|| TsaError::UnsupportedAlgorithm("bare id-ecPublicKey".into()))
        }
        o if o.to_string().starts_with(RSA_ARC) => Err(TsaError::UnsupportedAlgorithm(format!(
            "RSA signature ({o}); only ECDSA P-256 is implemented here (OpenSSL verifies RSA tokens)"
        ))),
        o => Err(TsaError::UnsupportedAlgorithm(format!("signature algorithm {o}"))),
    }
}

/// The P-256 public key of a certificate.
fn p256_key(spki: &SubjectPublicKeyInfoOwned) -> Result<VerifyingKey, TsaError> {
    let alg = &spki.algorithm;
    if alg.oid != ID_EC_PUBLIC_KEY {
        return Err(TsaError::UnsupportedAlgorithm(format!(
            "public key type {}; only ECDSA P-256 is implemented",
            alg.oid
        )));
    }
    let curve: Oid = alg
        .parameters
        .as_ref()
        .ok_or_else(|| TsaError::UnsupportedAlgorithm("an EC key without a named curve".into()))?
        .decode_as()
        .map_err(|_| TsaError::UnsupportedAlgorithm("an EC key without a named curve".into()))?;
    if curve != SECP256R1 {
        return Err(TsaError::UnsupportedAlgorithm(format!("EC curve {curve}; only P-256 is implemented")));
    }
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| TsaError::Malformed("a public key with unused bits".into()))?;
    VerifyingKey::from_sec1_bytes(point).map_err(|_| TsaError::Malformed("an invalid P-256 public key".into()))
}

/// Verifies a DER ECDSA signature over `message` with `key`, hashing with `hash`.
fn ecdsa_verify(key: &VerifyingKey, hash: HashAlg, message: &[u8], signature: &[u8]) -> Result<(), String> {
    let signature = Signature::from_der(signature).map_err(|_| "the signature is not a DER ECDSA signature")?;
    key.verify_prehash(&hash.digest(message), &signature).map_err(|_| "the signature does not match".to_owned())
}

/// Checks that `issuer`'s key signed `child`. Errors are sentences for [`TsaError::UntrustedChain`].
pub(crate) fn verify_issued(child: &Certificate, issuer: &Certificate) -> Result<(), TsaError> {
    if child.signature_algorithm != child.tbs_certificate.signature {
        return Err(TsaError::Malformed("a certificate's two signature algorithm fields differ".into()));
    }
    let hash = ecdsa_hash(&child.signature_algorithm, None)?;
    let key = p256_key(&issuer.tbs_certificate.subject_public_key_info)?;
    let signature = child
        .signature
        .as_bytes()
        .ok_or_else(|| TsaError::Malformed("a signature BIT STRING with unused bits".into()))?;
    ecdsa_verify(&key, hash, &child.tbs_certificate.to_der()?, signature).map_err(TsaError::UntrustedChain)
}

fn extension(cert: &Certificate, oid: Oid) -> Option<&Extension> {
    cert.tbs_certificate.extensions.as_ref()?.iter().find(|e| e.extn_id == oid)
}

fn decode_extension<T: for<'a> Decode<'a> + AssociatedOid>(cert: &Certificate) -> Result<Option<(T, bool)>, TsaError> {
    match extension(cert, T::OID) {
        None => Ok(None),
        Some(ext) => Ok(Some((T::from_der(ext.extn_value.as_bytes())?, ext.critical))),
    }
}

/// RFC 3161 §2.3 (and OpenSSL's `timestampsign` purpose): extended key usage present, critical and
/// exactly id-kp-timeStamping; key usage, if present, allows signatures.
pub(crate) fn check_tsa_certificate(cert: &Certificate) -> Result<(), TsaError> {
    let not_tsa = |why: &str| TsaError::NotTimestampingCertificate(why.to_owned());
    let (eku, critical) =
        decode_extension::<ExtendedKeyUsage>(cert)?.ok_or_else(|| not_tsa("it has no extended key usage"))?;
    if eku.0 != [ID_KP_TIME_STAMPING] {
        return Err(not_tsa("its extended key usage is not exactly id-kp-timeStamping"));
    }
    if !critical {
        return Err(not_tsa("its extended key usage is not marked critical"));
    }
    if let Some((ku, _)) = decode_extension::<KeyUsage>(cert)? {
        if !ku.digital_signature() && !ku.non_repudiation() {
            return Err(not_tsa("its key usage does not allow signatures"));
        }
    }
    Ok(())
}

/// Whether `cert` may issue certificates with `below` CA certificates between it and the end entity.
fn may_issue(cert: &Certificate, below: usize, is_anchor: bool) -> Result<(), TsaError> {
    let subject = cert.tbs_certificate.subject.to_string();
    match decode_extension::<BasicConstraints>(cert)? {
        Some((bc, _)) if !bc.ca => return Err(TsaError::UntrustedChain(format!("{subject} is not a CA"))),
        Some((bc, _)) if bc.path_len_constraint.is_some_and(|p| usize::from(p) < below) => {
            return Err(TsaError::UntrustedChain(format!("the chain is longer than {subject} allows")))
        }
        Some(_) => {}
        // A version 1 root has no extensions at all; trust it as an anchor, never as an intermediate.
        None if is_anchor => {}
        None => return Err(TsaError::UntrustedChain(format!("{subject} is not marked as a CA"))),
    }
    if let Some((ku, _)) = decode_extension::<KeyUsage>(cert)? {
        if !ku.key_cert_sign() {
            return Err(TsaError::UntrustedChain(format!("{subject} may not sign certificates")));
        }
    }
    Ok(())
}

/// Whether `cert` was valid at `at` (UTC, to the second as certificates state it).
fn check_validity(cert: &Certificate, at: Timestamp) -> Result<(), TsaError> {
    let v = &cert.tbs_certificate.validity;
    let ms = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX);
    let at_ms = at.unix_ms();
    if at_ms < ms(v.not_before) || at_ms > ms(v.not_after) + 999 {
        return Err(TsaError::UntrustedChain(format!(
            "the certificate {} was not valid at the stamped time {at}",
            cert.tbs_certificate.subject
        )));
    }
    Ok(())
}

/// Follows issuers from `signer` through the token's other certificates to one of `anchors`.
fn check_chain(
    signer: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    at: Timestamp,
) -> Result<(), TsaError> {
    let mut current = signer;
    for below in 0..MAX_CHAIN {
        check_validity(current, at)?;
        if anchors.contains(current) {
            return Ok(());
        }
        let issuer_name = &current.tbs_certificate.issuer;
        let mut last_error = None;
        for anchor in anchors.iter().filter(|a| &a.tbs_certificate.subject == issuer_name) {
            match verify_issued(current, anchor) {
                Ok(()) => {
                    may_issue(anchor, below, true)?;
                    return check_validity(anchor, at);
                }
                Err(e) => last_error = Some(e),
            }
        }
        let next = pool
            .iter()
            .find(|c| *c != current && &c.tbs_certificate.subject == issuer_name && verify_issued(current, c).is_ok());
        match next {
            Some(issuer) => {
                may_issue(issuer, below, false)?;
                current = issuer;
            }
            None => {
                return Err(last_error.unwrap_or_else(|| {
                    TsaError::UntrustedChain(format!(
                        "no trusted certificate issued {} (issuer {issuer_name})",
                        current.tbs_certificate.subject
                    ))
                }))
            }
        }
    }
    Err(TsaError::UntrustedChain(format!("no trust anchor within {MAX_CHAIN} certificates")))
}

/// The one attribute of type `oid` with exactly one value, if present.
fn single_value<'a>(attrs: &'a [Attribute], oid: Oid, what: &str) -> Result<Option<&'a Any>, TsaError> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else { return Ok(None) };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(TsaError::Malformed(format!("the {what} attribute must occur once with one value")));
    }
    Ok(attr.values.get(0))
}

/// Whether an ESS `IssuerSerial` names `cert`.
fn names_certificate(issuer_serial: &IssuerSerial, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    issuer_serial.serial_number == tbs.serial_number
        && issuer_serial.issuer.iter().any(|n| matches!(n, GeneralName::DirectoryName(d) if d == &tbs.issuer))
}

/// The ESS check: the first certificate identifier of signingCertificateV2 (else v1) is `signer`'s.
fn check_signing_certificate(attrs: &[Attribute], signer: &Certificate) -> Result<(), TsaError> {
    let signer_der = signer.to_der()?;
    let mismatch = || TsaError::SigningCertificate("names another certificate than the signer's".into());
    if let Some(value) = single_value(attrs, ID_AA_SIGNING_CERTIFICATE_V2, "signingCertificateV2")? {
        let sc: SigningCertificateV2 = value.decode_as()?;
        let first = sc.certs.first().ok_or_else(|| TsaError::SigningCertificate("lists no certificate".into()))?;
        let hash = HashAlg::from_alg(&first.hash(), true)?;
        if hash.digest(&signer_der) != first.cert_hash.as_bytes()
            || first.issuer_serial.as_ref().is_some_and(|is| !names_certificate(is, signer))
        {
            return Err(mismatch());
        }
        return Ok(());
    }
    if let Some(value) = single_value(attrs, ID_AA_SIGNING_CERTIFICATE, "signingCertificate")? {
        let sc: SigningCertificate = value.decode_as()?;
        let first: &EssCertId =
            sc.certs.first().ok_or_else(|| TsaError::SigningCertificate("lists no certificate".into()))?;
        if HashAlg::Sha1.digest(&signer_der) != first.cert_hash.as_bytes()
            || first.issuer_serial.as_ref().is_some_and(|is| !names_certificate(is, signer))
        {
            return Err(mismatch());
        }
        return Ok(());
    }
    Err(TsaError::SigningCertificate(
        "is missing (RFC 3161 requires signingCertificate or signingCertificateV2)".into(),
    ))
}

/// Whether `cert` is the one a SignerIdentifier names.
fn is_signer(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            cert.tbs_certificate.issuer == ias.issuer && cert.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(decode_extension::<SubjectKeyIdentifier>(cert), Ok(Some((s, _))) if s == *ski)
        }
    }
}

/// The certificates a token carries (other certificate formats are ignored).
fn token_certificates(signed: &SignedData) -> Vec<Certificate> {
    let Some(set) = &signed.certificates else { return Vec::new() };
    set.0
        .iter()
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect()
}

/// The token's only SignerInfo (RFC 3161 §2.4.2: a token has exactly one signer).
fn only_signer(signed: &SignedData) -> Result<&SignerInfo, TsaError> {
    match signed.signer_infos.0.as_slice() {
        [si] => Ok(si),
        _ => Err(TsaError::Malformed("a time-stamp token must have exactly one signer".into())),
    }
}

/// The common name in a name, if it has one that is a string.
fn common_name(name: &Name) -> Option<String> {
    name.0.iter().rev().flat_map(|rdn| rdn.0.iter()).find(|atv| atv.oid == ID_AT_COMMON_NAME).and_then(|atv| match atv
        .value
        .tag()
    {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            Some(String::from_utf8_lossy(atv.value.value()).into_owned())
        }
        _ => None,
    })
}

fn display_name(name: &Name) -> String {
    common_name(name).unwrap_or_else(|| name.to_string())
}

fn info(opened: &Opened, signer: Option<&Certificate>) -> TokenInfo {
    let tst = &opened.tst;
    let serial = tst.serial_number.as_bytes();
    let serial = magnitude(&tst.serial_number).unwrap_or_else(|| serial.to_vec());
    let serial_hex =
        if serial.is_empty() { "00".to_owned() } else { serial.iter().map(|b| format!("{b:02x}")).collect() };
    let tsa_name = match (&tst.tsa, signer) {
        (Some(GeneralName::DirectoryName(n)), _) => display_name(n),
        (Some(GeneralName::DnsName(s)), _) | (Some(GeneralName::Rfc822Name(s)), _) => s.to_string(),
        (Some(GeneralName::UniformResourceIdentifier(s)), _) => s.to_string(),
        (_, Some(cert)) => display_name(&cert.tbs_certificate.subject),
        (_, None) => String::new(),
    };
    TokenInfo {
        time: tst.gen_time.0,
        serial: serial_hex,
        policy: tst.policy.to_string(),
        tsa_name,
        signer_subject: signer.map(|c| c.tbs_certificate.subject.to_string()).unwrap_or_default(),
        imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        nonce: tst.nonce.as_ref().and_then(magnitude),
    }
}

/// Reads what a response or token states without verifying anything: for tokens this process made
/// itself or has verified before. Fails on a rejection or malformed bytes.
pub fn inspect(tsr_or_token_der: &[u8]) -> Result<TokenInfo, TsaError> {
    let opened = open(tsr_or_token_der)?;
    let certs = token_certificates(&opened.signed);
    let signer = only_signer(&opened.signed).ok().and_then(|si| certs.iter().find(|c| is_signer(&si.sid, c)));
    Ok(info(&opened, signer))
}

/// Verifies a DER `TimeStampResp` or bare time-stamp token (`ContentInfo`) for the SHA-256 `imprint`
/// against `trust_anchors_der` (DER certificates: a root CA, or the TSA certificate itself). See the
/// module doc for the checks; the first failure is returned.
pub fn verify(
    tsr_or_token_der: &[u8],
    imprint: &[u8; 32],
    trust_anchors_der: &[Vec<u8>],
) -> Result<Verified, TsaError> {
    let opened = open(tsr_or_token_der)?;
    let anchors = trust_anchors_der
        .iter()
        .map(|der| Certificate::from_der(der))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TsaError::Malformed(format!("a trust anchor is not a DER certificate: {e}")))?;
    let signed = &opened.signed;
    let si = only_signer(signed)?;
    let expected_version = match si.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    if si.version != expected_version {
        return Err(TsaError::Malformed("the SignerInfo version does not match its signer identifier".into()));
    }

    // 1. The content digest: the signed messageDigest must be the hash of the TSTInfo bytes.
    let digest = HashAlg::from_alg(&si.digest_alg, false)?;
    let listed = signed.digest_algorithms.iter().any(|a| {
        a.oid == si.digest_alg.oid
            && a.parameters.as_ref().is_none_or(|p| p.is_null())
                == si.digest_alg.parameters.as_ref().is_none_or(|p| p.is_null())
    });
    if !listed {
        return Err(TsaError::Malformed("the signer's digest algorithm is not listed in SignedData".into()));
    }
    let signed_attrs =
        si.signed_attrs.as_ref().ok_or_else(|| TsaError::Malformed("the token has no signed attributes".into()))?;
    let attrs = signed_attrs.as_slice();
    let content_type: Oid = single_value(attrs, ID_CONTENT_TYPE, "contentType")?
        .ok_or_else(|| TsaError::Malformed("the contentType attribute is missing".into()))?
        .decode_as()?;
    if content_type != ID_CT_TST_INFO {
        return Err(TsaError::Malformed("the signed contentType is not id-ct-TSTInfo".into()));
    }
    let message_digest = single_value(attrs, ID_MESSAGE_DIGEST, "messageDigest")?
        .ok_or_else(|| TsaError::Malformed("the messageDigest attribute is missing".into()))?;
    if message_digest.tag() != Tag::OctetString || message_digest.value() != digest.digest(&opened.tst_der) {
        return Err(TsaError::BadSignature("the TSTInfo does not match its signed digest: it was altered".into()));
    }

    // 2. The signature, by the certificate the SignerInfo names.
    let pool = token_certificates(signed);
    let signer = pool.iter().chain(anchors.iter()).find(|c| is_signer(&si.sid, c)).ok_or(TsaError::SignerNotFound)?;
    let hash = ecdsa_hash(&si.signature_algorithm, Some(digest))?;
    let key = p256_key(&signer.tbs_certificate.subject_public_key_info)?;
    ecdsa_verify(&key, hash, &signed_attrs.to_der()?, si.signature.as_bytes()).map_err(TsaError::BadSignature)?;

    // 3. The certificate: pinned by ESS, meant for time-stamping, and trusted.
    check_signing_certificate(attrs, signer)?;
    check_tsa_certificate(signer)?;
    check_chain(signer, &pool, &anchors, opened.tst.gen_time.0)?;

    // 4. Last, what the caller asked: is this the timestamp of their hash?
    let mi = &opened.tst.message_imprint;
    if !is_sha256(&mi.hash_algorithm) {
        return Err(TsaError::UnsupportedAlgorithm(format!(
            "the token timestamps a {} hash; only SHA-256 imprints can be checked",
            hash_name(&mi.hash_algorithm.oid)
        )));
    }
    if mi.hashed_message.as_bytes() != imprint {
        return Err(TsaError::WrongImprint);
    }
    Ok(info(&opened, Some(signer)))
}
