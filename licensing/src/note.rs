//! Signed notes (the C2SP `signed-note` format, as Go's `golang.org/x/mod/sumdb/note`) and the
//! transparency log's checkpoint text (C2SP `tlog-checkpoint`): what the log of issue 12 publishes so
//! that witnesses and stock verifiers can check it.
//!
//! A note is UTF-8 text ending in a newline, then a blank line, then one line per signature:
//! `— <key name> <base64(key hash ‖ signature)>`. A key is named by its owner (no spaces, no `+`), and
//! its hash is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ Ed25519 public key); a verifier key
//! is written `<name>+<hash as 8 hex digits>+<base64(0x01 ‖ public key)>`. The signature is Ed25519
//! over the text (everything before the blank line, final newline included).
//!
//! A checkpoint's text is three lines: the log's origin, its size in decimal and its root hash in
//! base64, then optional extension lines.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// The algorithm byte of Ed25519 keys in signed notes.
const ED25519: u8 = 0x01;

/// Why a note or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name that is empty or holds a space or `+`.
    #[error("a key name is non-empty and holds no space or '+'")]
    Name,
    /// Text that does not end in a newline or holds control characters.
    #[error("a note's text ends in a newline and holds no other control character")]
    Text,
    /// A malformed verifier key.
    #[error("malformed verifier key")]
    Key,
    /// A malformed note.
    #[error("malformed note")]
    Malformed,
    /// No signature of the given key verifies.
    #[error("the note is not signed by this key")]
    Unverified,
    /// A malformed checkpoint.
    #[error("malformed checkpoint")]
    Checkpoint,
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        Err(NoteError::Name)
    } else {
        Ok(())
    }
}

/// The 32-bit hash that identifies a key among its name's keys.
pub fn key_hash(name: &str, public: &VerifyingKey) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ED25519])
        .chain_update(public.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The verifier key string of an Ed25519 public key under `name`.
pub fn verifier_key(name: &str, public: &VerifyingKey) -> Result<String, NoteError> {
    check_name(name)?;
    let mut data = vec![ED25519];
    data.extend_from_slice(public.as_bytes());
    Ok(format!("{name}+{:08x}+{}", key_hash(name, public), STANDARD.encode(data)))
}

/// A parsed verifier key: its name and public key (the hash is checked against them).
pub fn parse_verifier_key(text: &str) -> Result<(String, VerifyingKey), NoteError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(hash), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::Key);
    };
    check_name(name).map_err(|_| NoteError::Key)?;
    let hash = u32::from_str_radix(hash, 16).map_err(|_| NoteError::Key)?;
    let data = STANDARD.decode(data).map_err(|_| NoteError::Key)?;
    let (&[ED25519], key) = data.split_at_checked(1).ok_or(NoteError::Key)? else { return Err(NoteError::Key) };
    let key: [u8; 32] = key.try_into().map_err(|_| NoteError::Key)?;
    let public = VerifyingKey::from_bytes(&key).map_err(|_| NoteError::Key)?;
    if key_hash(name, &public) != hash {
        return Err(NoteError::Key);
    }
    Ok((name.to_owned(), public))
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') || text.chars().any(|c| c.is_control() && c != '\n') {
        Err(NoteError::Text)
    } else {
        Ok(())
    }
}

/// Signs `text` as `name`: the text, a blank line and the signature line.
pub fn sign(text: &str, name: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_name(name)?;
    check_text(text)?;
    let signature = key.sign(text.as_bytes());
    let mut blob = key_hash(name, &key.verifying_key()).to_be_bytes().to_vec();
    blob.extend_from_slice(&signature.to_bytes());
    Ok(format!("{text}\n\u{2014} {name} {}\n", STANDARD.encode(blob)))
}

/// The text of `note` if one of its signatures is by `name` with `public`.
pub fn open<'a>(note: &'a str, name: &str, public: &VerifyingKey) -> Result<&'a str, NoteError> {
    let split = note.rfind("\n\n").ok_or(NoteError::Malformed)?;
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    check_text(text).map_err(|_| NoteError::Malformed)?;
    if !signatures.ends_with('\n') {
        return Err(NoteError::Malformed);
    }
    let wanted = key_hash(name, public);
    for line in signatures.lines() {
        let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed)?;
        let (who, blob) = rest.split_once(' ').ok_or(NoteError::Malformed)?;
        let blob = STANDARD.decode(blob).map_err(|_| NoteError::Malformed)?;
        if who != name || blob.len() != 68 || blob[..4] != wanted.to_be_bytes() {
            continue;
        }
        let signature = Signature::from_slice(&blob[4..]).map_err(|_| NoteError::Malformed)?;
        if public.verify(text.as_bytes(), &signature).is_ok() {
            return Ok(text);
        }
    }
    Err(NoteError::Unverified)
}

/// A transparency log checkpoint: which log, how many leaves, and the root hash over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (conventionally its URL without the scheme).
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The root hash of those leaves.
    pub root: [u8; 32],
}

impl Checkpoint {
    /// The checkpoint's note text.
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }

    /// Reads a checkpoint's note text (extension lines after the third are ignored).
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(NoteError::Checkpoint);
        };
        if origin.is_empty() || size.is_empty() || (size.len() > 1 && size.starts_with('0')) {
            return Err(NoteError::Checkpoint);
        }
        let size = size.parse::<u64>().map_err(|_| NoteError::Checkpoint)?;
        let root = STANDARD.decode(root).map_err(|_| NoteError::Checkpoint)?;
        let root: [u8; 32] = root.try_into().map_err(|_| NoteError::Checkpoint)?;
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The known-answer example of golang.org/x/mod/sumdb/note (and the C2SP signed-note spec).
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIG: &str = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

    fn peter() -> SigningKey {
        // PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>; the base64 may hold '+' itself.
        let data = STANDARD.decode(SKEY.splitn(5, '+').nth(4).unwrap_or_default()).unwrap_or_default();
        let seed: [u8; 32] = data.get(1..).and_then(|s| s.try_into().ok()).unwrap_or([0; 32]);
        SigningKey::from_bytes(&seed)
    }

    #[test]
    fn the_go_example_signs_and_opens_byte_for_byte() {
        let key = peter();
        assert_eq!(verifier_key("PeterNeumann", &key.verifying_key()).as_deref(), Ok(VKEY));
        let note = sign(TEXT, "PeterNeumann", &key).expect("signs");
        assert_eq!(note, format!("{TEXT}\n\u{2014} PeterNeumann {SIG}\n"));
        let (name, public) = parse_verifier_key(VKEY).expect("parses");
        assert_eq!(open(&note, &name, &public), Ok(TEXT));
    }

    #[test]
    fn tampering_and_wrong_keys_are_refused() {
        let (name, public) = parse_verifier_key(VKEY).expect("parses");
        let note = format!("{TEXT}\n\u{2014} PeterNeumann {SIG}\n");
        let changed = note.replacen("problem", "Problem", 1);
        assert_eq!(open(&changed, &name, &public), Err(NoteError::Unverified));
        let other = SigningKey::from_bytes(&[7; 32]);
        assert_eq!(open(&note, "PeterNeumann", &other.verifying_key()), Err(NoteError::Unverified));
        assert_eq!(open(&note, "Someone", &public), Err(NoteError::Unverified));
        assert!(open("no blank line\n", &name, &public).is_err());
        assert!(parse_verifier_key("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
        assert!(sign("no newline", "n", &peter()).is_err());
        assert!(sign("bell\u{7}\n", "n", &peter()).is_err());
        assert!(sign("ok\n", "with space", &peter()).is_err());
    }

    #[test]
    fn checkpoints_round_trip_and_refuse_bad_lines() {
        let c = Checkpoint { origin: "seal.example/log".into(), size: 42, root: [9; 32] };
        let text = c.to_text();
        assert_eq!(Checkpoint::parse(&text), Ok(c.clone()));
        let key = SigningKey::from_bytes(&[3; 32]);
        let note = sign(&text, "seal.example/log", &key).expect("signs");
        let opened = open(&note, "seal.example/log", &key.verifying_key()).expect("opens");
        assert_eq!(Checkpoint::parse(opened), Ok(c));
        assert!(Checkpoint::parse("o\n042\nAAAA\n").is_err());
        assert!(Checkpoint::parse("o\n1\nnot base64\n").is_err());
        assert!(Checkpoint::parse("o\n").is_err());
    }
}
