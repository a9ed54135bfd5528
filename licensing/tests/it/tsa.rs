//! The TSA against the real `openssl` binary, in both directions: OpenSSL verifies our tokens
//! (`openssl ts -verify`, the check a stranger runs), and we verify tokens OpenSSL's own TSA made
//! (`openssl ts -reply`), which proves the verifier reads foreign tokens and not just our encoding.
//!
//! Without `openssl` on the PATH these tests skip with a message, unless `SEAL_REQUIRE_OPENSSL=1`,
//! where a missing binary fails them (CI sets it, so interop cannot silently stop being tested).

use seal_licensing::tsa::{self, Authority, TsaError};
use seal_licensing::Timestamp;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether to run: `openssl` present, else a skip, or a failure when it is required.
fn have_openssl() -> bool {
    let found = Command::new("openssl").arg("version").output().map(|o| o.status.success()).unwrap_or(false);
    if !found {
        assert!(
            std::env::var("SEAL_REQUIRE_OPENSSL").as_deref() != Ok("1"),
            "SEAL_REQUIRE_OPENSSL=1 but no working `openssl` binary is on the PATH"
        );
        eprintln!("skipping: no `openssl` binary (set SEAL_REQUIRE_OPENSSL=1 to fail instead)");
    }
    found
}

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    eprintln!(
        "$ openssl {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `openssl ARGS` in `dir` and insists it succeeds.
fn openssl_ok(dir: &Path, args: &[&str]) -> Output {
    let out = openssl(dir, args);
    assert!(out.status.success(), "openssl {} failed", args.join(" "));
    out
}

/// Whether `openssl ts -verify ...` accepted: exit 0 and the "Verification: OK" line.
fn ts_verifies(dir: &Path, args: &[&str]) -> bool {
    let mut all = vec!["ts", "-verify"];
    all.extend_from_slice(args);
    let out = openssl(dir, &all);
    let ok_line = String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "Verification: OK");
    assert_eq!(out.status.success(), ok_line, "exit status and output agree");
    ok_line
}

fn now() -> Timestamp {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis();
    Timestamp::from_unix_ms(i64::try_from(ms).expect("fits"))
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), bytes).expect("write");
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("read")
}

#[test]
fn openssl_verifies_our_stamps() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let issued = now().saturating_add_ms(-60_000);
    let authority = Authority::generate([0x11; 32], [0x22; 32], "Interop Seal", issued).expect("authority");
    write(dir, "chain.pem", authority.chain_pem());
    write(dir, "root.pem", tsa::certificate_pem(authority.root_der()));
    write(dir, "tsa.pem", tsa::certificate_pem(authority.tsa_der()));
    let data = b"The registered work, byte for byte.\n".to_vec();
    write(dir, "data.txt", &data);
    let mut changed = data.clone();
    changed[4] ^= 0x20;
    write(dir, "changed.txt", &changed);

    // A request as OpenSSL makes it: SHA-256, a random 64-bit nonce, certReq.
    openssl_ok(dir, &["ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "req.tsq"]);
    let request = tsa::parse_request(&read(dir, "req.tsq")).expect("parses OpenSSL's request");
    assert!(request.cert_req);
    assert!(request.nonce.is_some());
    assert_eq!(request.imprint, <[u8; 32]>::from(Sha256::digest(&data)));
    let time = now();
    let tsr = authority.stamp(&request, 1001, time, None).expect("stamps");
    write(dir, "resp.tsr", &tsr);

    assert!(ts_verifies(dir, &["-data", "data.txt", "-in", "resp.tsr", "-CAfile", "chain.pem"]));
    assert!(ts_verifies(dir, &["-data", "data.txt", "-in", "resp.tsr", "-CAfile", "root.pem"]), "root alone");
    assert!(!ts_verifies(dir, &["-data", "changed.txt", "-in", "resp.tsr", "-CAfile", "chain.pem"]), "changed data");
    assert!(ts_verifies(dir, &["-queryfile", "req.tsq", "-in", "resp.tsr", "-CAfile", "chain.pem"]), "nonce check");
    // A stamp for another request (another nonce) must not pass for this one.
    openssl_ok(dir, &["ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "other.tsq"]);
    assert!(!ts_verifies(dir, &["-queryfile", "other.tsq", "-in", "resp.tsr", "-CAfile", "chain.pem"]), "nonce");
    // Another authority's root is not trusted for our token.
    let stranger = Authority::generate([0x33; 32], [0x44; 32], "Interop Seal", issued).expect("authority");
    write(dir, "stranger.pem", tsa::certificate_pem(stranger.root_der()));
    assert!(!ts_verifies(dir, &["-data", "data.txt", "-in", "resp.tsr", "-CAfile", "stranger.pem"]), "stranger");

    let text = openssl_ok(dir, &["ts", "-reply", "-in", "resp.tsr", "-text"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains(&format!("Policy OID: {}", tsa::DEFAULT_POLICY)), "{text}");
    assert!(text.contains("Serial number: 0x03E9"), "{text}");
    // OpenSSL prints the fraction without trailing zeros (`.71` for 710 ms), and none for a whole second.
    let fraction = format!(".{:03}", time.unix_ms() % 1000);
    let fraction = fraction.trim_end_matches('0');
    assert!(fraction == "." || text.contains(&format!("{fraction} ")), "ms {fraction}: {text}");
    assert!(text.contains("TSA: DirName:") && text.contains("Interop Seal TSA"), "{text}");

    // Our own verifier agrees.
    let verified = tsa::verify(&tsr, &request.imprint, &[authority.root_der().to_vec()]).expect("verifies");
    assert_eq!(verified.time, time);
    assert_eq!(verified.nonce, request.nonce);

    // Without certReq (and without a nonce) the token leaves the TSA certificate out, as RFC 3161
    // says; OpenSSL then needs it given as an untrusted certificate.
    openssl_ok(dir, &["ts", "-query", "-data", "data.txt", "-sha256", "-no_nonce", "-out", "bare.tsq"]);
    let bare = tsa::parse_request(&read(dir, "bare.tsq")).expect("parses");
    assert!(!bare.cert_req && bare.nonce.is_none());
    write(dir, "bare.tsr", authority.stamp(&bare, 1002, now(), None).expect("stamps"));
    assert!(ts_verifies(
        dir,
        &["-data", "data.txt", "-in", "bare.tsr", "-CAfile", "root.pem", "-untrusted", "tsa.pem"]
    ));
    assert!(!ts_verifies(dir, &["-data", "data.txt", "-in", "bare.tsr", "-CAfile", "root.pem"]), "signer missing");

    // OpenSSL's SHA-1 request is refused with a badAlg rejection that OpenSSL reads.
    openssl_ok(dir, &["ts", "-query", "-data", "data.txt", "-sha1", "-out", "sha1.tsq"]);
    let err = tsa::parse_request(&read(dir, "sha1.tsq")).expect_err("SHA-1 refused");
    assert!(matches!(err, TsaError::UnsupportedAlgorithm(_)), "{err}");
    write(dir, "rejected.tsr", err.to_response());
    let text = openssl_ok(dir, &["ts", "-reply", "-in", "rejected.tsr", "-text"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("Status: Rejected.") && text.contains("unrecognized or unsupported algorithm"), "{text}");
}

/// OpenSSL's TSA configuration: two sections differing in the ESS certificate identifier (SHA-1
/// `signingCertificate`, OpenSSL's default, and SHA-256 `signingCertificateV2`); both with
/// millisecond `genTime`, accuracy, ordering and the TSA name, so every optional TSTInfo field we
/// parse is exercised.
const OPENSSL_CNF: &str = r#"
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused

[ v3_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[ v3_tsa ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ tsa ]
default_tsa = tsa_v1

[ tsa_v1 ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha1

[ tsa_v2 ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
clock_precision_digits = 3
tsa_name = yes
ess_cert_id_alg = sha256
"#;

#[test]
fn we_verify_tokens_made_by_openssl() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    write(dir, "ts.cnf", OPENSSL_CNF);
    write(dir, "tsaserial", "01\n");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut root = vec!["req", "-config", "ts.cnf", "-x509", "-days", "30", "-extensions", "v3_root"];
    root.extend_from_slice(&ec);
    root.extend_from_slice(&["-keyout", "root.key", "-out", "root.pem", "-subj", "/O=Foreign/CN=Foreign Root"]);
    openssl_ok(dir, &root);
    let mut csr = vec!["req", "-config", "ts.cnf", "-new"];
    csr.extend_from_slice(&ec);
    csr.extend_from_slice(&["-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/O=Foreign/CN=Foreign TSA"]);
    openssl_ok(dir, &csr);
    openssl_ok(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "0x5EA1",
            "-days",
            "30",
            "-extfile",
            "ts.cnf",
            "-extensions",
            "v3_tsa",
            "-out",
            "tsa.pem",
        ],
    );
    let anchors = tsa::certificate_der_from_pem(&String::from_utf8_lossy(&read(dir, "root.pem"))).expect("pem");
    assert_eq!(anchors.len(), 1);
    let data = b"Stamped by someone else.\n";
    write(dir, "data.txt", data);
    let imprint: [u8; 32] = Sha256::digest(data).into();
    openssl_ok(dir, &["ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "req.tsq"]);
    let request = tsa::parse_request(&read(dir, "req.tsq")).expect("request");

    for section in ["tsa_v1", "tsa_v2"] {
        let before = now();
        let tsr_name = format!("{section}.tsr");
        openssl_ok(
            dir,
            &[
                "ts",
                "-reply",
                "-config",
                "ts.cnf",
                "-section",
                section,
                "-queryfile",
                "req.tsq",
                "-signer",
                "tsa.pem",
                "-inkey",
                "tsa.key",
                "-out",
                &tsr_name,
            ],
        );
        let after = now();
        // OpenSSL itself accepts what it made (a sanity check of the fixture, not of our code).
        assert!(ts_verifies(dir, &["-queryfile", "req.tsq", "-in", &tsr_name, "-CAfile", "root.pem"]));
        let tsr = read(dir, &tsr_name);
        // Make sure each section exercised the ESS attribute it is meant to (v1: ...9.16.2.12,
        // v2: ...9.16.2.47), so both verification paths ran.
        let ess_oid = |last: u8| [0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, last];
        let has = |needle: &[u8]| tsr.windows(needle.len()).any(|w| w == needle);
        assert_eq!((has(&ess_oid(0x0c)), has(&ess_oid(0x2f))), (section == "tsa_v1", section == "tsa_v2"));
        let text = openssl_ok(dir, &["ts", "-reply", "-in", &tsr_name, "-text"]);
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        let stamp_line = text.lines().find(|l| l.starts_with("Time stamp:")).expect("time line");
        // OpenSSL drops trailing zeros from the fraction (RFC 3161 §2.4.2), so a stamp taken at
        // .000 prints none; whatever it printed must be the milliseconds we read.
        let fraction = stamp_line.split_once('.').map_or("", |(_, rest)| rest.split(' ').next().unwrap_or(""));
        let printed_ms: i64 = format!("{fraction:0<3}").parse().expect("fraction digits");

        let v = tsa::verify(&tsr, &imprint, &anchors).unwrap_or_else(|e| panic!("{section}: {e}"));
        assert_eq!(v.policy, "1.2.3.4.1");
        assert_eq!(v.tsa_name, "Foreign TSA");
        assert_eq!(v.signer_subject, "CN=Foreign TSA,O=Foreign");
        assert_eq!(v.nonce, request.nonce, "the nonce is OpenSSL's");
        // genTime has milliseconds (clock_precision_digits = 3), and it is OpenSSL's clock reading.
        assert!(before.saturating_add_ms(-1000) <= v.time && v.time <= after.saturating_add_ms(1000), "{}", v.time);
        assert_eq!(v.time.unix_ms().rem_euclid(1000), printed_ms, "{stamp_line} vs {}", v.time);

        // The bare token (`-token_out`) verifies the same.
        let token_name = format!("{section}.token");
        openssl_ok(dir, &["ts", "-reply", "-in", &tsr_name, "-token_out", "-out", &token_name]);
        assert_eq!(tsa::verify(&read(dir, &token_name), &imprint, &anchors).expect("token"), v);

        // And the refusals still hold for foreign tokens.
        let other: [u8; 32] = Sha256::digest(b"something else").into();
        assert_eq!(tsa::verify(&tsr, &other, &anchors).expect_err("imprint"), TsaError::WrongImprint);
        let ours = Authority::generate([0x11; 32], [0x22; 32], "Foreign", before).expect("authority");
        let err = tsa::verify(&tsr, &imprint, &[ours.root_der().to_vec()]).expect_err("untrusted");
        assert!(matches!(err, TsaError::UntrustedChain(_)), "{err}");
        let mut bad = tsr.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(tsa::verify(&bad, &imprint, &anchors).is_err(), "a changed signature byte");
    }
}

/// RSA is not verified (see the `tsa` module doc), but an external TSA's RSA token must still be
/// readable with `inspect` (the platform stores and displays such tokens), and `verify` must say
/// why it refuses rather than call the token forged.
#[test]
fn rsa_tokens_are_read_but_not_verified() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    write(dir, "ts.cnf", OPENSSL_CNF);
    write(dir, "tsaserial", "01\n");
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    let mut root = vec!["req", "-config", "ts.cnf", "-x509", "-days", "30", "-extensions", "v3_root"];
    root.extend_from_slice(&rsa);
    root.extend_from_slice(&["-keyout", "root.key", "-out", "root.pem", "-subj", "/O=Big/CN=Big Root"]);
    openssl_ok(dir, &root);
    let mut csr = vec!["req", "-config", "ts.cnf", "-new"];
    csr.extend_from_slice(&rsa);
    csr.extend_from_slice(&["-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/O=Big/CN=Big TSA"]);
    openssl_ok(dir, &csr);
    openssl_ok(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "7",
            "-days",
            "30",
            "-extfile",
            "ts.cnf",
            "-extensions",
            "v3_tsa",
            "-out",
            "tsa.pem",
        ],
    );
    let data = b"An RSA-stamped work.\n";
    write(dir, "data.txt", data);
    let imprint: [u8; 32] = Sha256::digest(data).into();
    write(dir, "req.tsq", tsa::encode_request(&imprint, Some(0xfeed_beef), true));
    openssl_ok(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-section",
            "tsa_v2",
            "-queryfile",
            "req.tsq",
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-out",
            "resp.tsr",
        ],
    );
    // Our encode_request is a request OpenSSL answers and checks the nonce of.
    assert!(ts_verifies(dir, &["-queryfile", "req.tsq", "-in", "resp.tsr", "-CAfile", "root.pem"]));
    let tsr = read(dir, "resp.tsr");
    let info = tsa::inspect(&tsr).expect("readable");
    assert_eq!((info.tsa_name.as_str(), info.signer_subject.as_str()), ("Big TSA", "CN=Big TSA,O=Big"));
    assert_eq!(info.imprint, imprint.to_vec());
    assert_eq!(info.nonce, Some(0xfeed_beef_u32.to_be_bytes().to_vec()));
    let anchors = tsa::certificate_der_from_pem(&String::from_utf8_lossy(&read(dir, "root.pem"))).expect("pem");
    let err = tsa::verify(&tsr, &imprint, &anchors).expect_err("RSA is not verified");
    assert!(matches!(err, TsaError::UnsupportedAlgorithm(ref m) if m.contains("RSA")), "{err}");
}
