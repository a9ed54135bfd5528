//! The Time-Stamp Authority: its two certificates and the signing of tokens.
//!
//! Certificates are assembled from `x509-cert`'s types and signed here rather than through its
//! `builder` feature: the profile is fixed (two certificates, known extensions, EKU critical), so
//! writing the `TbsCertificate` out keeps every field visible and adds no SHA-1 dependency for key
//! identifiers (they are the leftmost 160 bits of the key's SHA-256, RFC 7093 method 1). Likewise
//! the `SignedData` is built from `cms`'s types without its builder, which would pull in RSA, AES and
//! SHA-3 for nothing.
//!
//! Everything that does not change between tokens (the parsed TSA certificate, the signer
//! identifier, the ESS attribute) is prepared once in [`Authority`], so a stamp costs one TSTInfo
//! encoding, two SHA-256 and one ECDSA signature.

use super::asn1::{
    algorithm, unsigned_int, EssCertIdV2, GenTime, IssuerSerial, MessageImprint, PkiStatusInfo, SigningCertificateV2,
    TimeStampResp, TstInfo, ECDSA_WITH_SHA256, ID_AA_SIGNING_CERTIFICATE_V2, ID_AT_COMMON_NAME, ID_AT_ORGANIZATION,
    ID_CONTENT_TYPE, ID_CT_TST_INFO, ID_EC_PUBLIC_KEY, ID_KP_TIME_STAMPING, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
    ID_SIGNING_TIME, SECP256R1,
};
use super::request::sha256_alg;
use super::verify::{check_tsa_certificate, verify_issued};
use super::{certificate_pem, default_policy, PolicyId, StampRequest, TsaError};
use crate::Timestamp;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::oid::AssociatedOid;
use der::{Any, Decode, Encode, Tag};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;
use x509_cert::attr::{Attribute, AttributeTypeAndValue};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// How long the certificates are valid: 30 years of 365.25 days, so tokens stay checkable (OpenSSL
/// checks validity at verification time) for as long as a copyright registration matters.
const VALIDITY_DAYS: u64 = 10_958;

/// The longest `name` accepted: `"<name> Root CA"` must fit the 64 characters X.520 allows a CN.
const MAX_NAME_LEN: usize = 56;

/// A Time-Stamp Authority: a root CA certificate, the TSA certificate it issued, and the TSA's key.
///
/// Cloning copies the key; [`fmt::Debug`] shows the TSA's subject only, never key material.
#[derive(Clone)]
pub struct Authority {
    tsa_key: SigningKey,
    root_der: Vec<u8>,
    tsa_der: Vec<u8>,
    tsa_cert: Certificate,
    signer_id: SignerIdentifier,
    ess_attribute: Attribute,
    tsa_name: GeneralName,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority").field("tsa", &self.tsa_cert.tbs_certificate.subject.to_string()).finish()
    }
}

/// A P-256 key from a seed used as the secret scalar; zero or a value not below the group order is
/// refused so the caller can draw again.
fn signing_key(seed: &[u8; 32]) -> Result<SigningKey, TsaError> {
    SigningKey::from_bytes(seed.into()).map_err(|_| TsaError::InvalidSeed)
}

/// The uncompressed SEC1 point of a key, as `subjectPublicKey` holds it.
fn public_point(key: &VerifyingKey) -> Vec<u8> {
    key.to_encoded_point(false).as_bytes().to_vec()
}

fn spki(key: &VerifyingKey) -> Result<SubjectPublicKeyInfoOwned, TsaError> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&SECP256R1)?),
        },
        subject_public_key: BitString::from_bytes(&public_point(key))?,
    })
}

/// RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the public key.
fn key_identifier(key: &VerifyingKey) -> Vec<u8> {
    Sha256::digest(public_point(key))[..20].to_vec()
}

/// `O=<org>, CN=<cn>` (shown `CN=<cn>,O=<org>` in RFC 4514 order), both as UTF8String.
fn name(cn: &str, org: &str) -> Result<Name, TsaError> {
    let rdn = |oid, value: &str| -> Result<RelativeDistinguishedName, TsaError> {
        let atv = AttributeTypeAndValue { oid, value: Any::new(Tag::Utf8String, value.as_bytes())? };
        Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?))
    };
    Ok(RdnSequence(vec![rdn(ID_AT_ORGANIZATION, org)?, rdn(ID_AT_COMMON_NAME, cn)?]))
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) fn x509_time(unix_secs: u64) -> Result<Time, TsaError> {
    let at = Duration::from_secs(unix_secs);
    match UtcTime::from_unix_duration(at) {
        Ok(t) => Ok(Time::UtcTime(t)),
        Err(_) => Ok(Time::GeneralTime(GeneralizedTime::from_unix_duration(at)?)),
    }
}

fn extension<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Result<Extension, TsaError> {
    Ok(Extension { extn_id: T::OID, critical, extn_value: OctetString::new(value.to_der()?)? })
}

/// A positive 16-byte serial derived from the key and the issuing time, so certificates issued for
/// different keys or at different times differ without a random number generator.
fn certificate_serial(key: &VerifyingKey, now: Timestamp, role: &[u8]) -> Result<SerialNumber, TsaError> {
    let mut h = Sha256::new();
    h.update(role);
    h.update(public_point(key));
    h.update(now.unix_ms().to_be_bytes());
    let mut serial = [0_u8; 16];
    serial.copy_from_slice(&h.finalize()[..16]);
    // Clear the sign bit and set the next, so the INTEGER is positive and exactly 16 bytes long.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&serial)?)
}

struct Issue<'a> {
    serial: SerialNumber,
    issuer: Name,
    subject: Name,
    validity: Validity,
    subject_key: &'a VerifyingKey,
    extensions: Vec<Extension>,
    signer: &'a SigningKey,
}

fn issue(spec: Issue<'_>) -> Result<Vec<u8>, TsaError> {
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: spec.serial,
        signature: algorithm(ECDSA_WITH_SHA256),
        issuer: spec.issuer,
        validity: spec.validity,
        subject: spec.subject,
        subject_public_key_info: spki(spec.subject_key)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(spec.extensions),
    };
    let signature: Signature = spec.signer.sign(&tbs.to_der()?);
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm(ECDSA_WITH_SHA256),
        signature: BitString::from_bytes(signature.to_der().as_bytes())?,
    };
    Ok(cert.to_der()?)
}

impl Authority {
    /// Creates the root CA and TSA certificates for `name` (used as organisation and in both common
    /// names), valid from `now` for 30 years, from two P-256 secret scalars.
    ///
    /// A seed that is not a valid scalar gives [`TsaError::InvalidSeed`] (probability about 2⁻³² for
    /// uniformly random seeds): draw another.
    pub fn generate(
        root_seed: [u8; 32],
        tsa_seed: [u8; 32],
        name: &str,
        now: Timestamp,
    ) -> Result<Authority, TsaError> {
        Authority::generate_with_eku(root_seed, tsa_seed, name, now, Some((vec![ID_KP_TIME_STAMPING], true)))
    }

    /// [`Authority::generate`] with a chosen extended key usage (purposes, critical) or none, so
    /// tests can make the certificates a verifier must refuse.
    pub(super) fn generate_with_eku(
        root_seed: [u8; 32],
        tsa_seed: [u8; 32],
        name: &str,
        now: Timestamp,
        eku: Option<(Vec<der::oid::ObjectIdentifier>, bool)>,
    ) -> Result<Authority, TsaError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(TsaError::InvalidArgument(format!("the TSA name must be 1 to {MAX_NAME_LEN} characters")));
        }
        let not_before = u64::try_from(now.unix_ms() / 1000)
            .map_err(|_| TsaError::InvalidArgument("certificates cannot start before 1970".into()))?;
        let validity =
            Validity { not_before: x509_time(not_before)?, not_after: x509_time(not_before + VALIDITY_DAYS * 86_400)? };
        let root_key = signing_key(&root_seed)?;
        let tsa_key = signing_key(&tsa_seed)?;
        let (root_public, tsa_public) = (*root_key.verifying_key(), *tsa_key.verifying_key());
        let root_name = self::name(&format!("{name} Root CA"), name)?;
        let root_ski = key_identifier(&root_public);

        let root_der = issue(Issue {
            serial: certificate_serial(&root_public, now, b"root")?,
            issuer: root_name.clone(),
            subject: root_name.clone(),
            validity,
            subject_key: &root_public,
            extensions: vec![
                // pathLen 0: this root issues the TSA certificate and never another CA.
                extension(&BasicConstraints { ca: true, path_len_constraint: Some(0) }, true)?,
                extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
                extension(&SubjectKeyIdentifier(OctetString::new(root_ski.clone())?), false)?,
            ],
            signer: &root_key,
        })?;
        let mut extensions = vec![
            extension(&BasicConstraints { ca: false, path_len_constraint: None }, true)?,
            extension(&KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation), true)?,
            extension(&SubjectKeyIdentifier(OctetString::new(key_identifier(&tsa_public))?), false)?,
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(root_ski)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
        ];
        // RFC 3161 §2.3: exactly id-kp-timeStamping, critical; OpenSSL refuses anything else.
        if let Some((purposes, critical)) = eku {
            extensions.insert(2, extension(&ExtendedKeyUsage(purposes), critical)?);
        }
        let tsa_der = issue(Issue {
            serial: certificate_serial(&tsa_public, now, b"tsa")?,
            issuer: root_name,
            subject: self::name(&format!("{name} TSA"), name)?,
            validity,
            subject_key: &tsa_public,
            extensions,
            signer: &root_key,
        })?;
        Authority::assemble(tsa_key, root_der, tsa_der)
    }

    /// Reloads an authority saved as its two seeds and two DER certificates, checking that each seed
    /// is the key of its certificate, that the root issued the TSA certificate, and that the TSA
    /// certificate is a time-stamping certificate.
    pub fn from_parts(
        root_seed: [u8; 32],
        tsa_seed: [u8; 32],
        root_cert_der: Vec<u8>,
        tsa_cert_der: Vec<u8>,
    ) -> Result<Authority, TsaError> {
        let root_key = signing_key(&root_seed)?;
        let tsa_key = signing_key(&tsa_seed)?;
        let root = Certificate::from_der(&root_cert_der)
            .map_err(|e| TsaError::Mismatch(format!("the root certificate is not DER: {e}")))?;
        let tsa = Certificate::from_der(&tsa_cert_der)
            .map_err(|e| TsaError::Mismatch(format!("the TSA certificate is not DER: {e}")))?;
        if root.tbs_certificate.subject_public_key_info != spki(root_key.verifying_key())? {
            return Err(TsaError::Mismatch("the root seed is not the root certificate's key".into()));
        }
        if tsa.tbs_certificate.subject_public_key_info != spki(tsa_key.verifying_key())? {
            return Err(TsaError::Mismatch("the TSA seed is not the TSA certificate's key".into()));
        }
        if tsa.tbs_certificate.issuer != root.tbs_certificate.subject {
            return Err(TsaError::Mismatch("the TSA certificate names another issuer than the root".into()));
        }
        verify_issued(&tsa, &root)
            .map_err(|e| TsaError::Mismatch(format!("the root did not sign the TSA certificate: {e}")))?;
        check_tsa_certificate(&tsa).map_err(|e| TsaError::Mismatch(e.to_string()))?;
        Authority::assemble(tsa_key, root_cert_der, tsa_cert_der)
    }

    /// Prepares what every token repeats: the signer identifier and the ESS signing-certificate
    /// attribute (SHA-256 of the TSA certificate, with its issuer and serial as RFC 5035 allows).
    fn assemble(tsa_key: SigningKey, root_der: Vec<u8>, tsa_der: Vec<u8>) -> Result<Authority, TsaError> {
        let tsa_cert = Certificate::from_der(&tsa_der)?;
        let tbs = &tsa_cert.tbs_certificate;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(Sha256::digest(&tsa_der).to_vec())?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                    serial_number: tbs.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        let ess_attribute =
            Attribute { oid: ID_AA_SIGNING_CERTIFICATE_V2, values: SetOfVec::try_from(vec![Any::encode_from(&ess)?])? };
        let signer_id = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });
        let tsa_name = GeneralName::DirectoryName(tbs.subject.clone());
        Ok(Authority { tsa_key, root_der, tsa_der, tsa_cert, signer_id, ess_attribute, tsa_name })
    }

    /// The root CA certificate (DER): the trust anchor verifiers need.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The TSA certificate (DER), which signs tokens.
    pub fn tsa_der(&self) -> &[u8] {
        &self.tsa_der
    }

    /// Both certificates, TSA first, root last (the order of [`Authority::chain_pem`]).
    pub fn certificates_der(&self) -> Vec<Vec<u8>> {
        vec![self.tsa_der.clone(), self.root_der.clone()]
    }

    /// The TSA certificate then the root certificate as PEM: the `tsa.pem` / `chain.pem` that
    /// `openssl ts -verify -CAfile` takes.
    pub fn chain_pem(&self) -> String {
        certificate_pem(&self.tsa_der) + &certificate_pem(&self.root_der)
    }

    /// Stamps a request: a DER `TimeStampResp` (status granted) whose token states `time` (kept to
    /// the millisecond) and `serial`, under the request's policy if it named one, else `policy`, else
    /// [`super::DEFAULT_POLICY`]. The caller must make serials unique per authority.
    ///
    /// Fails only for a time outside 1970–9999, which cannot be encoded.
    pub fn stamp(
        &self,
        request: &StampRequest,
        serial: u64,
        time: Timestamp,
        policy: Option<&PolicyId>,
    ) -> Result<Vec<u8>, TsaError> {
        let secs = u64::try_from(time.unix_ms() / 1000)
            .ok()
            .filter(|_| time.unix_ms() < 253_402_300_800_000)
            .ok_or_else(|| TsaError::InvalidArgument("the stamp time must lie in the years 1970 to 9999".into()))?;
        let tst = TstInfo {
            version: 1,
            policy: request.policy.clone().or_else(|| policy.cloned()).unwrap_or_else(default_policy),
            message_imprint: MessageImprint {
                // NULL parameters, as OpenSSL's requests carry them (and RFC 3161 wants them echoed).
                hash_algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
                    oid: super::asn1::ID_SHA256,
                    parameters: Some(Any::null()),
                },
                hashed_message: OctetString::new(request.imprint.to_vec())?,
            },
            serial_number: unsigned_int(&serial.to_be_bytes())?,
            gen_time: GenTime(time),
            accuracy: None,
            ordering: false,
            nonce: request.nonce.as_deref().map(unsigned_int).transpose()?,
            tsa: Some(self.tsa_name.clone()),
            extensions: None,
        };
        let tst_der = tst.to_der()?;

        let single = |oid, value: Any| -> Result<Attribute, TsaError> {
            Ok(Attribute { oid, values: SetOfVec::try_from(vec![value])? })
        };
        // SetOfVec sorts by DER encoding, which is the order the signature is computed over.
        let signed_attrs: SignedAttributes = SetOfVec::try_from(vec![
            single(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
            single(ID_SIGNING_TIME, Any::encode_from(&x509_time(secs)?)?)?,
            single(ID_MESSAGE_DIGEST, Any::new(Tag::OctetString, Sha256::digest(&tst_der).to_vec())?)?,
            self.ess_attribute.clone(),
        ])?;
        let signature: Signature = self.tsa_key.sign(&signed_attrs.to_der()?);

        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: self.signer_id.clone(),
            digest_alg: sha256_alg(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: algorithm(ECDSA_WITH_SHA256),
            signature: OctetString::new(signature.to_der().as_bytes())?,
            unsigned_attrs: None,
        };
        let certificates = if request.cert_req {
            Some(CertificateSet(SetOfVec::try_from(vec![CertificateChoices::Certificate(self.tsa_cert.clone())])?))
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256_alg()])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_der)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer])?),
        };
        let response = TimeStampResp {
            status: PkiStatusInfo { status: 0, status_string: None, fail_info: None },
            time_stamp_token: Some(ContentInfo {
                content_type: ID_SIGNED_DATA,
                content: Any::encode_from(&signed_data)?,
            }),
        };
        Ok(response.to_der()?)
    }
}
