//! Random tokens and ids, and the hash the database keeps of a secret token. One place, so every
//! session, CSRF, reset, confirmation token and generated id draws from the OS the same way.

use base64::Engine;
use sha2::{Digest, Sha256};

/// A random token, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS random source failing is not recoverable; no token is better than a guessable one.
    getrandom::fill(&mut buf).unwrap_or_else(|e| panic!("OS random source failed: {e}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A lower-case id `PREFIX-RANDOM` (`bytes` random bytes), readable in URLs and safe as a domain id.
pub fn short_id(prefix: &str, bytes: usize) -> String {
    format!("{prefix}-{}", random_token(bytes).to_ascii_lowercase().replace(['-', '_'], "x"))
}

/// SHA-256 of a secret token as hex: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lower_case_and_distinct() {
        let (a, b) = (short_id("wk", 9), short_id("wk", 9));
        assert_ne!(a, b);
        assert!(a.starts_with("wk-") && a.len() == 15 && a == a.to_ascii_lowercase() && !a[3..].contains('-'));
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
