//! PEM (RFC 7468) for certificates: enough to write `tsa.pem` / `chain.pem` and to read them back,
//! or a PEM bundle from elsewhere, as the DER trust anchors [`super::verify`] takes.
//!
//! Written on the crate's existing `base64` dependency rather than `der`'s `pem` feature: the format
//! is a few lines, and reading is lenient (text around the blocks, CRLF, other block types skipped),
//! as PEM files assembled by hand often need.

use super::TsaError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// One DER certificate as a PEM `CERTIFICATE` block, base64 wrapped at 64 columns, ending in a newline.
pub fn certificate_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str(BEGIN);
    out.push('\n');
    for line in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// Every `CERTIFICATE` block in `pem`, as DER, in file order. Other blocks (keys, CRLs) and text
/// between blocks are ignored; a block whose base64 is broken or that is never closed is an error.
pub fn certificate_der_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, TsaError> {
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let body_start = start + BEGIN.len();
        let Some(len) = rest[body_start..].find(END) else {
            return Err(TsaError::Malformed("a PEM certificate block is not closed".into()));
        };
        let body: String = rest[body_start..body_start + len].chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| TsaError::Malformed(format!("a PEM certificate block is not base64: {e}")))?;
        out.push(der);
        rest = &rest[body_start + len + END.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_skips_other_blocks() {
        let a: Vec<u8> = (0..=255).collect();
        let b = vec![1, 2, 3];
        let text = format!(
            "subject=CN=x\r\n{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
            certificate_pem(&a).replace('\n', "\r\n"),
            certificate_pem(&b)
        );
        assert!(certificate_pem(&a).lines().all(|l| l.len() <= 64));
        assert_eq!(certificate_der_from_pem(&text).expect("parses"), vec![a, b]);
        assert_eq!(certificate_der_from_pem("nothing here").expect("parses"), Vec::<Vec<u8>>::new());
        assert!(certificate_der_from_pem("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----").is_err());
        assert!(certificate_der_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
    }
}
