//! PEM (RFC 7468): strict base64 between `-----BEGIN <label>-----` and `-----END <label>-----`,
//! written with 64-character lines.

use crate::error::{Error, Result};
use base64::Engine as _;

/// DER → PEM with the given label (RFC 7468 §2: 64-character lines, LF endings).
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every PEM block of `text` as `(label, DER)`, in order. Text outside blocks is ignored
/// (RFC 7468 §2 explanatory text); a block with headers, bad base64 or no end is an error.
pub fn decode_all(text: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = String::new();
        loop {
            match lines.next() {
                None => return Err(Error::validation(format!("PEM block {label} has no end line"))),
                Some(l) if l == end => break,
                Some(l) if l.contains(':') || l.starts_with("-----") => {
                    return Err(Error::validation(format!("PEM block {label} is malformed")))
                }
                Some(l) => b64.push_str(l),
            }
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| Error::validation(format!("PEM block {label} is not valid base64")))?;
        blocks.push((label.to_owned(), der));
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_wraps_at_64_characters_and_decodes_back() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = encode("CERTIFICATE", &der);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n") && pem.ends_with("-----END CERTIFICATE-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(decode_all(&pem).unwrap(), vec![("CERTIFICATE".to_owned(), der)]);
    }

    #[test]
    fn crlf_and_surrounding_text_are_tolerated_but_a_missing_end_is_not() {
        let pem = encode("X", b"hello").replace('\n', "\r\n");
        assert_eq!(decode_all(&format!("subject=foo\r\n{pem}trailer")).unwrap()[0].1, b"hello");
        assert!(decode_all("-----BEGIN X-----\naGVsbG8=\n").is_err());
        assert!(decode_all("-----BEGIN X-----\n!!!\n-----END X-----\n").is_err());
    }
}
