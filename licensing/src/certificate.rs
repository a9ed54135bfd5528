//! Registration certificates: what a registration commits to, how the platform signs it, and every
//! check a stranger runs on it offline (`seal verify`, and the `/verify` page, run these same checks).
//!
//! A certificate is a JSON document `{"certificate": {...}, "signature": {...}}`. The signature is
//! Ed25519 by the platform key over the canonical JSON of `certificate` ([`canonical_json`]: keys
//! sorted, no whitespace, which is RFC 8785 for documents without floating-point numbers, and ours
//! have none). Independently of that signature, a certificate carries three proofs a stranger can check
//! without trusting us:
//!
//! 1. an RFC 3161 timestamp over the content's SHA-256 (`timestamp.token`), checkable by stock OpenSSL;
//! 2. the registration's leaf in the transparency log: the leaf is the canonical JSON of the work's
//!    core facts ([`registration_leaf`]), recomputed here from the certificate, so changing the title,
//!    author, owner, hash, ISCC or time breaks the inclusion proof even if the signature were forged;
//! 3. the inclusion proof against a checkpoint signed by the log key (C2SP signed note) and
//!    timestamped by the TSA, and optionally the consistency of that checkpoint with a newer one, which
//!    shows the log has only grown since.
//!
//! Each check is reported on its own ([`Check`]), so a verdict can say exactly what failed.

use crate::letter::{PlatformKey, PublicKey};
use crate::merkle::{self, Hash};
use crate::note::{self, Checkpoint};
use crate::tsa;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The `type` of a registration certificate.
pub const CERTIFICATE_TYPE: &str = "copyright-seal/registration-certificate";

/// JSON with object keys sorted and no insignificant whitespace. Numbers are written as serde_json
/// writes them; certificates hold integers only, for which that is RFC 8785's form.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The facts a registration's log leaf commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationFacts {
    /// The work id.
    pub work: String,
    /// The rights holder's id.
    pub owner: String,
    /// Title.
    pub title: String,
    /// Author.
    pub author: String,
    /// SHA-256 of the primary item as submitted (what the timestamp covers), hex.
    pub content_sha256: String,
    /// SHA-256 of every content item, hex, in order.
    pub items: Vec<String>,
    /// The ISCC-CODE.
    pub iscc: String,
    /// Registration time, RFC 3339.
    pub registered_at: String,
}

/// The exact bytes of a registration's log leaf.
pub fn registration_leaf(f: &RegistrationFacts) -> Vec<u8> {
    canonical_json(&json!({
        "type": "registration",
        "work": f.work,
        "owner": f.owner,
        "title": f.title,
        "author": f.author,
        "content_sha256": f.content_sha256,
        "items": f.items,
        "iscc": f.iscc,
        "registered_at": f.registered_at,
    }))
    .into_bytes()
}

/// The facts as a certificate states them (`None` when a field is missing).
pub fn facts_of(cert: &Value) -> Option<RegistrationFacts> {
    let s = |v: &Value| v.as_str().map(str::to_owned);
    Some(RegistrationFacts {
        work: s(&cert["work"]["id"])?,
        owner: s(&cert["work"]["owner"]["id"])?,
        title: s(&cert["work"]["title"])?,
        author: s(&cert["work"]["author"])?,
        content_sha256: s(&cert["content"]["sha256"])?,
        items: cert["content"]["items"].as_array()?.iter().map(|i| s(&i["sha256"])).collect::<Option<_>>()?,
        iscc: s(&cert["iscc"]["iscc"])?,
        registered_at: s(&cert["work"]["registered_at"])?,
    })
}

/// Signs a document body: `{"certificate": body, "signature": {alg, kid, value}}`.
pub fn sign_document(key: &PlatformKey, body: Value) -> Value {
    let signature = key.sign_bytes(canonical_json(&body).as_bytes());
    json!({
        "certificate": body,
        "signature": {"alg": "Ed25519", "kid": key.public().kid(), "value": URL_SAFE_NO_PAD.encode(signature)},
    })
}

/// What a verifier trusts: the platform's exported public keys.
#[derive(Clone, Debug)]
pub struct Trust {
    /// The platform key (certificates, letters).
    pub platform: PublicKey,
    /// The log's note key: its name and public key (from a C2SP verifier key).
    pub log_name: String,
    /// The log's public key.
    pub log_key: VerifyingKey,
    /// The TSA's trust anchors (DER certificates).
    pub tsa_anchors: Vec<Vec<u8>>,
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// A stable code: `signature`, `content`, `timestamp`, `external_timestamp`, `log_leaf`,
    /// `checkpoint`, `checkpoint_timestamp`, `inclusion`, `consistency`.
    pub code: &'static str,
    /// Passed.
    pub ok: bool,
    /// What was found, in English.
    pub detail: String,
}

impl Check {
    fn pass(code: &'static str, detail: impl Into<String>) -> Check {
        Check { code, ok: true, detail: detail.into() }
    }
    fn fail(code: &'static str, detail: impl Into<String>) -> Check {
        Check { code, ok: false, detail: detail.into() }
    }
}

/// A newer checkpoint and the consistency proof from the certificate's checkpoint to it.
#[derive(Clone, Debug)]
pub struct Newer {
    /// The signed note.
    pub note: String,
    /// The consistency proof.
    pub proof: Vec<Hash>,
}

fn hash_hex(text: &str) -> Option<Hash> {
    let bytes = hex_decode(text)?;
    bytes.try_into().ok()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn b64_hash(v: &Value) -> Option<Hash> {
    STANDARD.decode(v.as_str()?).ok()?.try_into().ok()
}

/// Checks the document's Ed25519 signature over its body.
pub fn check_signature(doc: &Value, key: &PublicKey, body_field: &str) -> Check {
    const CODE: &str = "signature";
    let sig = &doc["signature"];
    if sig["alg"] != "Ed25519" {
        return Check::fail(CODE, "the document is not signed with Ed25519");
    }
    if sig["kid"].as_str() != Some(key.kid().as_str()) {
        return Check::fail(CODE, format!("signed by key {}, not the platform key {}", sig["kid"], key.kid()));
    }
    let Some(bytes) = sig["value"].as_str().and_then(|v| URL_SAFE_NO_PAD.decode(v).ok()) else {
        return Check::fail(CODE, "the signature is not base64url");
    };
    let Ok(signature) = Signature::from_slice(&bytes) else {
        return Check::fail(CODE, "the signature has the wrong length");
    };
    let body = canonical_json(&doc[body_field]);
    match key.verifying_key().verify(body.as_bytes(), &signature) {
        Ok(()) => Check::pass(CODE, format!("signed by the platform key {}", key.kid())),
        Err(_) => Check::fail(CODE, "the signature does not match the document: it was changed after signing"),
    }
}

/// Checks the RFC 3161 token `token_b64` over `imprint`; returns the check and the time it states.
pub fn check_timestamp(
    code: &'static str,
    token_b64: &Value,
    imprint: &Hash,
    anchors: &[Vec<u8>],
) -> (Check, Option<crate::Timestamp>) {
    let Some(token) = token_b64.as_str().and_then(|t| STANDARD.decode(t).ok()) else {
        return (Check::fail(code, "no timestamp token"), None);
    };
    match tsa::verify(&token, imprint, anchors) {
        Ok(v) => {
            (Check::pass(code, format!("timestamped {} by {} (serial {})", v.time, v.tsa_name, v.serial)), Some(v.time))
        }
        Err(e) => (Check::fail(code, format!("the timestamp token does not verify: {e}")), None),
    }
}

/// Checks a `log` block (`{origin, index, tree_size, leaf_hash, root_hash, checkpoint,
/// checkpoint_timestamp, inclusion_proof}`) for the leaf `leaf`, and a newer checkpoint's consistency.
pub fn check_log(log: &Value, leaf: &[u8], trust: &Trust, newer: Option<&Newer>) -> Vec<Check> {
    let mut checks = Vec::new();
    let leaf_hash = merkle::leaf_hash(leaf);
    if b64_hash(&log["leaf_hash"]) == Some(leaf_hash) {
        checks.push(Check::pass("log_leaf", "the log leaf matches the document's facts"));
    } else {
        checks.push(Check::fail("log_leaf", "the log leaf does not match the document's facts"));
    }
    let note_text = log["checkpoint"].as_str().unwrap_or_default();
    let checkpoint = match note::open(note_text, &trust.log_name, &trust.log_key) {
        Ok(text) => match Checkpoint::parse(text) {
            Ok(c) => c,
            Err(e) => {
                checks.push(Check::fail("checkpoint", format!("the checkpoint is malformed: {e}")));
                return checks;
            }
        },
        Err(e) => {
            checks.push(Check::fail("checkpoint", format!("the checkpoint is not signed by the log key: {e}")));
            return checks;
        }
    };
    let stated = (log["origin"].as_str(), log["tree_size"].as_u64(), b64_hash(&log["root_hash"]));
    if stated != (Some(checkpoint.origin.as_str()), Some(checkpoint.size), Some(checkpoint.root)) {
        checks.push(Check::fail("checkpoint", "the stated origin, size or root differs from the signed checkpoint"));
        return checks;
    }
    checks.push(Check::pass(
        "checkpoint",
        format!("checkpoint of {} entries signed by {}", checkpoint.size, trust.log_name),
    ));
    let imprint: Hash = Sha256::digest(note_text.as_bytes()).into();
    checks.push(check_timestamp("checkpoint_timestamp", &log["checkpoint_timestamp"], &imprint, &trust.tsa_anchors).0);
    let proof: Option<Vec<Hash>> =
        log["inclusion_proof"].as_array().and_then(|a| a.iter().map(b64_hash).collect::<Option<Vec<_>>>());
    let inclusion = match (log["index"].as_u64(), proof) {
        (Some(index), Some(proof)) => {
            merkle::verify_inclusion(index, checkpoint.size, &leaf_hash, &proof, &checkpoint.root)
                .map(|()| index)
                .map_err(|e| e.to_string())
        }
        _ => Err("the index or inclusion proof is missing".to_owned()),
    };
    checks.push(match inclusion {
        Ok(index) => Check::pass("inclusion", format!("entry {index} is in the log of {} entries", checkpoint.size)),
        Err(e) => Check::fail("inclusion", format!("the inclusion proof fails: {e}")),
    });
    if let Some(newer) = newer {
        checks.push(check_consistency(&checkpoint, newer, trust));
    }
    checks
}

fn check_consistency(old: &Checkpoint, newer: &Newer, trust: &Trust) -> Check {
    const CODE: &str = "consistency";
    let new = match note::open(&newer.note, &trust.log_name, &trust.log_key).map(Checkpoint::parse) {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Check::fail(CODE, format!("the newer checkpoint is malformed: {e}")),
        Err(e) => return Check::fail(CODE, format!("the newer checkpoint is not signed by the log key: {e}")),
    };
    if new.origin != old.origin {
        return Check::fail(CODE, "the newer checkpoint is of another log");
    }
    let result = if new.size == old.size {
        if new.root == old.root && newer.proof.is_empty() {
            Ok(())
        } else {
            Err("two checkpoints of the same size with different roots: the log forked".to_owned())
        }
    } else {
        merkle::verify_consistency(old.size, new.size, &newer.proof, &old.root, &new.root).map_err(|e| e.to_string())
    };
    match result {
        Ok(()) => {
            Check::pass(CODE, format!("the log grew from {} to {} entries without rewriting", old.size, new.size))
        }
        Err(e) => Check::fail(CODE, format!("not consistent with the newer checkpoint: {e}")),
    }
}

/// Every check of a registration certificate; `content` is the work's file when the user has it.
pub fn verify_certificate(doc: &Value, trust: &Trust, content: Option<&[u8]>, newer: Option<&Newer>) -> Vec<Check> {
    let cert = &doc["certificate"];
    let mut checks = vec![check_signature(doc, &trust.platform, "certificate")];
    if cert["type"] != CERTIFICATE_TYPE {
        checks.push(Check::fail("content", "this is not a registration certificate"));
        return checks;
    }
    let stated = cert["content"]["sha256"].as_str().and_then(hash_hex);
    if let Some(bytes) = content {
        let actual = hex(&Sha256::digest(bytes));
        // The file as submitted, or the content registered from it.
        let items: Vec<&str> = cert["content"]["items"]
            .as_array()
            .map(|a| a.iter().flat_map(|i| [i["sha256"].as_str(), i["file_sha256"].as_str()]).flatten().collect())
            .unwrap_or_default();
        checks.push(if items.contains(&actual.as_str()) {
            Check::pass("content", format!("the file's SHA-256 {actual} is the registered content"))
        } else {
            Check::fail("content", format!("the file's SHA-256 {actual} is not the registered content"))
        });
    }
    match stated {
        Some(imprint) => {
            let (check, time) = check_timestamp("timestamp", &cert["timestamp"]["token"], &imprint, &trust.tsa_anchors);
            let shown = cert["timestamp"]["time"].as_str();
            checks.push(match time {
                Some(t) if shown != Some(t.to_string().as_str()) => {
                    Check::fail("timestamp", format!("the certificate shows time {shown:?} but the token says {t}"))
                }
                _ => check,
            });
        }
        None => checks.push(Check::fail("timestamp", "the certificate has no content hash")),
    }
    if let (Some(imprint), Some(external)) = (stated, cert["external_timestamps"].as_array()) {
        checks.extend(external.iter().map(|e| check_external_timestamp(e, &imprint)));
    }
    match facts_of(cert) {
        Some(facts) => checks.extend(check_log(&cert["log"], &registration_leaf(&facts), trust, newer)),
        None => checks.push(Check::fail("log_leaf", "the certificate lacks facts its log leaf is made of")),
    }
    checks
}

/// Checks an external authority's token (`{authority, time, token}`) as far as the platform's keys
/// allow: that it is a well-formed grant over the content hash at the time shown. Its signature chains
/// to that authority's own CA, which the verifier names with `openssl ts -verify -CAfile`; the detail
/// says so rather than claim more.
fn check_external_timestamp(entry: &Value, imprint: &Hash) -> Check {
    const CODE: &str = "external_timestamp";
    let authority = entry["authority"].as_str().unwrap_or("an external authority");
    let Some(token) = entry["token"].as_str().and_then(|t| STANDARD.decode(t).ok()) else {
        return Check::fail(CODE, format!("{authority}: no token"));
    };
    match tsa::inspect(&token) {
        Err(e) => Check::fail(CODE, format!("{authority}: the token is not readable: {e}")),
        Ok(info) if info.imprint != imprint.as_slice() => {
            Check::fail(CODE, format!("{authority}: the token covers another hash"))
        }
        Ok(info) if entry["time"].as_str() != Some(info.time.to_string().as_str()) => Check::fail(
            CODE,
            format!("{authority}: the certificate shows time {} but the token says {}", entry["time"], info.time),
        ),
        Ok(info) => Check::pass(
            CODE,
            format!(
                "{authority} stamped the content hash at {} (its signature is checked against that authority's own CA, e.g. with openssl ts -verify)",
                info.time
            ),
        ),
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a verified file turned out to be, and every check run on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `certificate` or `letter`.
    pub kind: &'static str,
    /// What it is about: the work's title, or the licence id, work title and licensee.
    pub subject: String,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Every check passed (and there was at least one).
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }
}

/// Verifies a certificate (JSON) or an authorization letter (JWS compact), with the work's file when
/// given and a newer checkpoint when given. `Err` when the file is neither.
pub fn verify_document(
    document: &[u8],
    content: Option<&[u8]>,
    newer: Option<&Newer>,
    trust: &Trust,
) -> Result<Verdict, String> {
    let text = std::str::from_utf8(document).map_err(|_| "the document is not text".to_owned())?.trim();
    if text.starts_with('{') {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("the document is not valid JSON: {e}"))?;
        if doc["certificate"].is_object() {
            let subject = doc["certificate"]["work"]["title"].as_str().unwrap_or_default().to_owned();
            return Ok(Verdict {
                kind: "certificate",
                subject,
                checks: verify_certificate(&doc, trust, content, newer),
            });
        }
        return Err("this JSON is not a Copyright Seal certificate".into());
    }
    if text.split('.').count() == 3 {
        // The letter's own bytes: its format fixes the trailing newline, which trimming would lose.
        let raw = std::str::from_utf8(document).map_err(|_| "the document is not text".to_owned())?;
        return Ok(verify_letter_document(raw, content, newer, trust));
    }
    Err("this is neither a certificate (certificate.json) nor an authorization letter (.jws)".into())
}

fn verify_letter_document(text: &str, content: Option<&[u8]>, newer: Option<&Newer>, trust: &Trust) -> Verdict {
    let payload = match crate::letter::verify_letter(text.as_bytes(), &trust.platform) {
        Ok(p) => p,
        Err(e) => {
            return Verdict {
                kind: "letter",
                subject: String::new(),
                checks: vec![Check::fail("signature", format!("the letter's signature does not verify: {e}"))],
            }
        }
    };
    let licence = payload["licence_id"].as_str().unwrap_or_default().to_owned();
    let mut checks = vec![Check::pass("signature", format!("signed by the platform key {}", trust.platform.kid()))];
    if let Some(bytes) = content {
        let actual = hex(&Sha256::digest(bytes));
        checks.push(if payload["work"]["content_sha256"].as_str() == Some(actual.as_str()) {
            Check::pass("content", format!("the file's SHA-256 {actual} is the licensed work"))
        } else {
            Check::fail("content", format!("the file's SHA-256 {actual} is not the licensed work"))
        });
    }
    let log = &payload["log"];
    if log.is_object() {
        let leaf = log["leaf"].as_str().unwrap_or_default();
        let facts: Value = serde_json::from_str(leaf).unwrap_or(Value::Null);
        let same = facts["licence"] == payload["licence_id"]
            && facts["work"] == payload["work"]["id"]
            && facts["content_sha256"] == payload["work"]["content_sha256"]
            && facts["licensee"] == payload["licensee"]["id"];
        if same {
            checks.extend(check_log(log, leaf.as_bytes(), trust, newer));
        } else {
            checks.push(Check::fail("log_leaf", "the log entry is about another licence"));
        }
    }
    let subject = format!(
        "{licence} · {} · licensee {}",
        payload["work"]["title"].as_str().unwrap_or_default(),
        payload["licensee"]["name"].as_str().unwrap_or_default()
    );
    Verdict { kind: "letter", subject, checks }
}
