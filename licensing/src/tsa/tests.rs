//! Unit tests of the TSA and verifier together: round trips, the certificate profile, and that every
//! kind of tampering or mistrust is refused. OpenSSL interoperability is tested in
//! `licensing/tests/it/tsa.rs` with the real `openssl` binary.

use super::asn1::{TimeStampResp, TstInfo, ID_KP_TIME_STAMPING};
use super::*;
use crate::Timestamp;
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate;

/// 2026-01-01T00:00:00Z.
const NOW: Timestamp = Timestamp::from_unix_ms(1_767_225_600_000);

fn authority(root: u8, tsa: u8) -> Authority {
    Authority::generate([root; 32], [tsa; 32], "Test Seal", NOW).expect("valid seeds")
}

fn request(data: &[u8], nonce: Option<Vec<u8>>, cert_req: bool) -> StampRequest {
    StampRequest { imprint: Sha256::digest(data).into(), nonce, cert_req, policy: None }
}

fn imprint(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// An hour and a bit after NOW, with a millisecond part.
const STAMP_TIME: Timestamp = Timestamp::from_unix_ms(1_767_225_600_000 + 3_600_123);

fn token_of(response: &[u8]) -> Vec<u8> {
    let resp = TimeStampResp::from_der(response).expect("response");
    resp.time_stamp_token.expect("token").to_der().expect("der")
}

fn signed_data(response: &[u8]) -> SignedData {
    let token = ContentInfo::from_der(&token_of(response)).expect("content info");
    token.content.decode_as().expect("signed data")
}

#[test]
fn default_policy_parses() {
    assert_eq!(default_policy().to_string(), DEFAULT_POLICY);
}

#[test]
fn stamp_then_verify_round_trips() {
    let a = authority(1, 2);
    let req = request(b"hello", Some(vec![0x01, 0x02, 0xff]), true);
    let tsr = a.stamp(&req, 0x1234_5678_9abc, STAMP_TIME, None).expect("stamps");
    let v = verify(&tsr, &imprint(b"hello"), &[a.root_der().to_vec()]).expect("verifies");
    assert_eq!(v.time, STAMP_TIME, "genTime keeps the milliseconds");
    assert_eq!(v.serial, "123456789abc");
    assert_eq!(v.policy, DEFAULT_POLICY);
    assert_eq!(v.tsa_name, "Test Seal TSA");
    assert_eq!(v.signer_subject, "CN=Test Seal TSA,O=Test Seal");
    assert_eq!(v.nonce, Some(vec![0x01, 0x02, 0xff]));
    assert_eq!(v.imprint, imprint(b"hello").to_vec());
    assert_eq!(inspect(&tsr).expect("inspects"), v, "inspect reads the same facts");
    // A bare token (ContentInfo) verifies as well as the whole response.
    assert_eq!(verify(&token_of(&tsr), &imprint(b"hello"), &[a.root_der().to_vec()]).expect("token"), v);
    // The whole chain as anchors, or the TSA certificate alone, are trust anchors too.
    assert!(verify(&tsr, &imprint(b"hello"), &a.certificates_der()).is_ok());
    assert!(verify(&tsr, &imprint(b"hello"), &[a.tsa_der().to_vec()]).is_ok());
    let pem_anchors = certificate_der_from_pem(&a.chain_pem()).expect("pem");
    assert_eq!(pem_anchors, a.certificates_der());
}

#[test]
fn stamps_are_deterministic() {
    let a = authority(1, 2);
    let req = request(b"x", None, true);
    assert_eq!(a.stamp(&req, 7, STAMP_TIME, None).expect("a"), a.stamp(&req, 7, STAMP_TIME, None).expect("b"));
    assert_ne!(a.stamp(&req, 7, STAMP_TIME, None).expect("a"), a.stamp(&req, 8, STAMP_TIME, None).expect("b"));
}

#[test]
fn the_token_has_the_rfc_3161_shape() {
    let a = authority(1, 2);
    let tsr = a.stamp(&request(b"x", Some(vec![5]), true), 1, STAMP_TIME, None).expect("stamps");
    let resp = TimeStampResp::from_der(&tsr).expect("response");
    assert_eq!(resp.status.status, 0);
    let sd = signed_data(&tsr);
    let tst = TstInfo::from_der(sd.encap_content_info.econtent.as_ref().expect("econtent").value()).expect("tst");
    assert_eq!(tst.version, 1);
    assert!(tst.accuracy.is_none() && !tst.ordering && tst.extensions.is_none());
    let signer = &sd.signer_infos.0.as_slice()[0];
    let oids: Vec<String> =
        signer.signed_attrs.as_ref().expect("attrs").iter().map(|attr| attr.oid.to_string()).collect();
    for oid in ["1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5", "1.2.840.113549.1.9.16.2.47"] {
        assert!(oids.contains(&oid.to_owned()), "{oid} in {oids:?}");
    }
    assert_eq!(sd.certificates.as_ref().map(|c| c.0.len()), Some(1), "only the TSA certificate, not the root");
}

#[test]
fn every_changed_byte_is_refused() {
    let a = authority(1, 2);
    let anchors = [a.root_der().to_vec()];
    let tsr = a.stamp(&request(b"data", Some(vec![9; 8]), true), 42, STAMP_TIME, None).expect("stamps");
    let want = imprint(b"data");
    assert!(verify(&tsr, &want, &anchors).is_ok());
    // The status INTEGER's value is the 7th byte (30 82 LL LL 30 03 02 01 VV); flipping its low bit
    // turns granted (0) into grantedWithMods (1), which RFC 3161 also delivers with a valid token.
    assert_eq!(&tsr[4..9], &[0x30, 0x03, 0x02, 0x01, 0x00]);
    let mut accepted = Vec::new();
    for i in 0..tsr.len() {
        for mask in [0x01_u8, 0x80, 0xff] {
            let mut bad = tsr.clone();
            bad[i] ^= mask;
            if verify(&bad, &want, &anchors).is_ok() && !(i == 8 && mask == 0x01) {
                accepted.push((i, mask));
            }
        }
    }
    assert!(accepted.is_empty(), "changed bytes still verified: {accepted:?} of {}", tsr.len());
    // Truncations and appended bytes are refused too.
    for len in [0, 1, tsr.len() / 2, tsr.len() - 1] {
        assert!(verify(&tsr[..len], &want, &anchors).is_err(), "truncated to {len}");
    }
    let mut longer = tsr.clone();
    longer.push(0);
    assert!(verify(&longer, &want, &anchors).is_err());
}

#[test]
fn a_different_imprint_is_refused() {
    let a = authority(1, 2);
    let tsr = a.stamp(&request(b"one", None, true), 1, STAMP_TIME, None).expect("stamps");
    let err = verify(&tsr, &imprint(b"two"), &[a.root_der().to_vec()]).expect_err("wrong imprint");
    assert_eq!(err, TsaError::WrongImprint);
}

#[test]
fn another_authority_is_not_trusted() {
    let a = authority(1, 2);
    // Same name, same time, different keys: names alone must not make it trusted.
    let b = authority(3, 4);
    let tsr = a.stamp(&request(b"x", None, true), 1, STAMP_TIME, None).expect("stamps");
    for anchors in [vec![b.root_der().to_vec()], vec![b.tsa_der().to_vec()], b.certificates_der()] {
        let err = verify(&tsr, &imprint(b"x"), &anchors).expect_err("untrusted");
        assert!(matches!(err, TsaError::UntrustedChain(_)), "{err}");
    }
    assert!(matches!(verify(&tsr, &imprint(b"x"), &[]), Err(TsaError::UntrustedChain(_))));
    // Same root key but another TSA key: the root is right, the signer certificate is not b's.
    let c = authority(1, 5);
    let tsr_c = c.stamp(&request(b"x", None, false), 1, STAMP_TIME, None).expect("stamps");
    let err = verify(&tsr_c, &imprint(b"x"), &[a.tsa_der().to_vec(), a.root_der().to_vec()]).expect_err("no signer");
    assert_eq!(err, TsaError::SignerNotFound);
}

#[test]
fn a_substituted_certificate_is_refused() {
    let a = authority(1, 2);
    let b = Authority::generate([1; 32], [5; 32], "Test Seal", NOW).expect("b");
    let tsr = a.stamp(&request(b"x", None, true), 1, STAMP_TIME, None).expect("stamps");
    // Put b's TSA certificate (same root, same names) in a's token in place of a's own.
    let mut sd = signed_data(&tsr);
    let b_cert = Certificate::from_der(b.tsa_der()).expect("cert");
    sd.certificates = Some(cms::signed_data::CertificateSet(
        der::asn1::SetOfVec::try_from(vec![cms::cert::CertificateChoices::Certificate(b_cert.clone())]).expect("set"),
    ));
    let forged =
        ContentInfo { content_type: super::asn1::ID_SIGNED_DATA, content: der::Any::encode_from(&sd).expect("any") }
            .to_der()
            .expect("der");
    let err = verify(&forged, &imprint(b"x"), &[a.root_der().to_vec()]).expect_err("forged");
    assert_eq!(err, TsaError::SignerNotFound, "b's certificate has another serial");
    // Even a certificate claiming a's serial would fail: it would have another key and ESS hash.
    let mut sd = signed_data(&tsr);
    let mut lying = b_cert;
    lying.tbs_certificate.serial_number = Certificate::from_der(a.tsa_der()).expect("a").tbs_certificate.serial_number;
    sd.certificates = Some(cms::signed_data::CertificateSet(
        der::asn1::SetOfVec::try_from(vec![cms::cert::CertificateChoices::Certificate(lying)]).expect("set"),
    ));
    let forged =
        ContentInfo { content_type: super::asn1::ID_SIGNED_DATA, content: der::Any::encode_from(&sd).expect("any") }
            .to_der()
            .expect("der");
    let err = verify(&forged, &imprint(b"x"), &[a.root_der().to_vec()]).expect_err("forged");
    assert!(matches!(err, TsaError::BadSignature(_)), "{err}");
}

#[test]
fn cert_req_false_leaves_the_certificate_out() {
    let a = authority(1, 2);
    let tsr = a.stamp(&request(b"x", None, false), 1, STAMP_TIME, None).expect("stamps");
    assert!(signed_data(&tsr).certificates.is_none(), "RFC 3161: no certificates without certReq");
    let err = verify(&tsr, &imprint(b"x"), &[a.root_der().to_vec()]).expect_err("signer unknown");
    assert_eq!(err, TsaError::SignerNotFound);
    assert!(verify(&tsr, &imprint(b"x"), &a.certificates_der()).is_ok());
    assert!(verify(&tsr, &imprint(b"x"), &[a.tsa_der().to_vec()]).is_ok());
    assert_eq!(inspect(&tsr).expect("inspect").signer_subject, "");
}

#[test]
fn policies_follow_the_request_then_the_caller() {
    let a = authority(1, 2);
    let ours: PolicyId = "1.3.6.1.4.1.99999.1".parse().expect("oid");
    let theirs: PolicyId = "1.2.3.4.5".parse().expect("oid");
    let mut req = request(b"x", None, true);
    let policy = |tsr: &[u8]| inspect(tsr).expect("inspect").policy;
    assert_eq!(policy(&a.stamp(&req, 1, STAMP_TIME, None).expect("s")), DEFAULT_POLICY);
    assert_eq!(policy(&a.stamp(&req, 1, STAMP_TIME, Some(&ours)).expect("s")), "1.3.6.1.4.1.99999.1");
    req.policy = Some(theirs);
    assert_eq!(policy(&a.stamp(&req, 1, STAMP_TIME, Some(&ours)).expect("s")), "1.2.3.4.5");
}

#[test]
fn rejections_are_not_granted() {
    let err = verify(&reject("no"), &[0; 32], &[]).expect_err("rejected");
    assert_eq!(err, TsaError::StatusNotGranted { status: 2, text: "no".into() });
    assert_eq!(inspect(&reject("no")).expect_err("rejected"), err);
    let alg = TsaError::UnsupportedAlgorithm("SHA-1".into());
    let resp = TimeStampResp::from_der(&alg.to_response()).expect("response");
    assert_eq!(super::request::fail_bits(resp.status.fail_info.as_ref().expect("bits")), vec![0], "badAlg");
    assert!(matches!(verify(b"\x30\x00", &[0; 32], &[]), Err(TsaError::Malformed(_))));
}

#[test]
fn invalid_seeds_and_names_are_refused() {
    for seed in [[0_u8; 32], [0xff; 32]] {
        assert_eq!(Authority::generate(seed, [2; 32], "x", NOW).expect_err("seed"), TsaError::InvalidSeed);
        assert_eq!(Authority::generate([2; 32], seed, "x", NOW).expect_err("seed"), TsaError::InvalidSeed);
    }
    assert!(matches!(Authority::generate([1; 32], [2; 32], " ", NOW), Err(TsaError::InvalidArgument(_))));
    assert!(matches!(Authority::generate([1; 32], [2; 32], &"n".repeat(57), NOW), Err(TsaError::InvalidArgument(_))));
    assert!(Authority::generate([1; 32], [2; 32], &"n".repeat(56), NOW).is_ok());
    let before_1970 = Timestamp::from_unix_ms(-1000);
    assert!(matches!(Authority::generate([1; 32], [2; 32], "x", before_1970), Err(TsaError::InvalidArgument(_))));
    let a = authority(1, 2);
    let far = Timestamp::from_unix_ms(253_402_300_800_000);
    assert!(matches!(a.stamp(&request(b"x", None, true), 1, far, None), Err(TsaError::InvalidArgument(_))));
}

#[test]
fn from_parts_reloads_and_checks() {
    let a = authority(1, 2);
    let reloaded = Authority::from_parts([1; 32], [2; 32], a.root_der().to_vec(), a.tsa_der().to_vec()).expect("ok");
    let req = request(b"x", None, true);
    assert_eq!(reloaded.stamp(&req, 1, STAMP_TIME, None).expect("s"), a.stamp(&req, 1, STAMP_TIME, None).expect("s"));
    let mismatch = |r: Result<Authority, TsaError>| matches!(r, Err(TsaError::Mismatch(_)));
    assert!(mismatch(Authority::from_parts([2; 32], [1; 32], a.root_der().to_vec(), a.tsa_der().to_vec())));
    assert!(mismatch(Authority::from_parts([1; 32], [3; 32], a.root_der().to_vec(), a.tsa_der().to_vec())));
    let b = authority(3, 2);
    assert!(mismatch(Authority::from_parts([3; 32], [2; 32], b.root_der().to_vec(), a.tsa_der().to_vec())));
    assert!(mismatch(Authority::from_parts([1; 32], [1; 32], a.root_der().to_vec(), a.root_der().to_vec())));
    assert!(mismatch(Authority::from_parts([1; 32], [2; 32], vec![1, 2, 3], a.tsa_der().to_vec())));
}

#[test]
fn certificates_follow_the_profile() {
    let a = authority(1, 2);
    let root = Certificate::from_der(a.root_der()).expect("root");
    let tsa = Certificate::from_der(a.tsa_der()).expect("tsa");
    assert_eq!(root.tbs_certificate.subject.to_string(), "CN=Test Seal Root CA,O=Test Seal");
    assert_eq!(tsa.tbs_certificate.issuer, root.tbs_certificate.subject);
    let ext = |cert: &Certificate, oid: &str| {
        cert.tbs_certificate
            .extensions
            .as_ref()
            .and_then(|e| e.iter().find(|x| x.extn_id.to_string() == oid).cloned())
            .unwrap_or_else(|| panic!("extension {oid}"))
    };
    let bc = ext(&root, "2.5.29.19");
    assert!(bc.critical && BasicConstraints::from_der(bc.extn_value.as_bytes()).expect("bc").ca);
    let ku = ext(&root, "2.5.29.15");
    let ku_value = KeyUsage::from_der(ku.extn_value.as_bytes()).expect("ku");
    assert!(ku.critical && ku_value.0 == (KeyUsages::KeyCertSign | KeyUsages::CRLSign));
    let eku = ext(&tsa, "2.5.29.37");
    assert!(eku.critical);
    assert_eq!(ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).expect("eku").0, vec![ID_KP_TIME_STAMPING]);
    let ku = KeyUsage::from_der(ext(&tsa, "2.5.29.15").extn_value.as_bytes()).expect("ku");
    assert!(ku.0 == (KeyUsages::DigitalSignature | KeyUsages::NonRepudiation));
    let bc = BasicConstraints::from_der(ext(&tsa, "2.5.29.19").extn_value.as_bytes()).expect("bc");
    assert!(!bc.ca);
    let v = &tsa.tbs_certificate.validity;
    assert_eq!(v.not_before.to_unix_duration().as_millis(), 1_767_225_600_000);
    let years = (v.not_after.to_unix_duration() - v.not_before.to_unix_duration()).as_secs() / (365 * 86_400);
    assert_eq!(years, 30);
    super::verify::verify_issued(&tsa, &root).expect("root signed the TSA certificate");
    super::verify::verify_issued(&root, &root).expect("the root is self-signed");
}

#[test]
fn a_certificate_without_time_stamping_usage_is_refused() {
    let cases: [Option<(Vec<der::oid::ObjectIdentifier>, bool)>; 3] = [
        None,
        Some((vec![ID_KP_TIME_STAMPING], false)),
        Some((vec![ID_KP_TIME_STAMPING, der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4")], true)),
    ];
    for eku in cases {
        let a = Authority::generate_with_eku([1; 32], [2; 32], "Test Seal", NOW, eku.clone()).expect("generates");
        let tsr = a.stamp(&request(b"x", None, true), 1, STAMP_TIME, None).expect("stamps");
        let err = verify(&tsr, &imprint(b"x"), &[a.root_der().to_vec()]).expect_err("not a TSA");
        assert!(matches!(err, TsaError::NotTimestampingCertificate(_)), "{eku:?}: {err}");
    }
}

#[test]
fn validity_is_checked_at_the_stamped_time() {
    let a = authority(1, 2);
    let req = request(b"x", None, true);
    let before = a.stamp(&req, 1, Timestamp::from_unix_ms(NOW.unix_ms() - 1000), None).expect("stamps");
    assert!(matches!(verify(&before, &imprint(b"x"), &[a.root_der().to_vec()]), Err(TsaError::UntrustedChain(_))));
    let at_start = a.stamp(&req, 1, NOW, None).expect("stamps");
    assert!(verify(&at_start, &imprint(b"x"), &[a.root_der().to_vec()]).is_ok());
    let after = NOW.checked_add_days(10_959).expect("day");
    let late = a.stamp(&req, 1, after, None).expect("stamps");
    assert!(matches!(verify(&late, &imprint(b"x"), &[a.root_der().to_vec()]), Err(TsaError::UntrustedChain(_))));
}

#[test]
fn a_malformed_anchor_is_reported() {
    let a = authority(1, 2);
    let tsr = a.stamp(&request(b"x", None, true), 1, STAMP_TIME, None).expect("stamps");
    assert!(matches!(verify(&tsr, &imprint(b"x"), &[vec![0x30, 0x00]]), Err(TsaError::Malformed(_))));
}

/// Not a test of correctness: run with `--ignored --nocapture` to print stamps and verifications
/// per second.
#[test]
#[ignore]
fn measure_throughput() {
    let a = authority(1, 2);
    let anchors = [a.root_der().to_vec()];
    let n = 2000_u32;
    let start = std::time::Instant::now();
    let mut last = Vec::new();
    for i in 0..n {
        let req = StampRequest {
            imprint: [i as u8; 32],
            nonce: Some(i.to_be_bytes().to_vec()),
            cert_req: true,
            policy: None,
        };
        last = a.stamp(&req, u64::from(i), STAMP_TIME, None).expect("stamps");
    }
    let stamp = start.elapsed();
    let start = std::time::Instant::now();
    for _ in 0..n {
        verify(&last, &[(n - 1) as u8; 32], &anchors).expect("verifies");
    }
    let check = start.elapsed();
    eprintln!(
        "{n} stamps in {stamp:?}: {:.0} stamps/s; {n} verifications in {check:?}: {:.0} verifications/s; {} bytes each",
        f64::from(n) / stamp.as_secs_f64(),
        f64::from(n) / check.as_secs_f64(),
        last.len()
    );
}
