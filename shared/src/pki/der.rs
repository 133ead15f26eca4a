//! A tiny DER writer (X.690 §10) for the few structures rcgen does not build: the Authority
//! Information Access extension (RFC 5280 §4.2.2.1) and certs-only PKCS#7 (RFC 5652 §5).

/// SEQUENCE.
pub(crate) const SEQUENCE: u8 = 0x30;
/// SET (and SET OF).
pub(crate) const SET: u8 = 0x31;
/// INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// OBJECT IDENTIFIER.
pub(crate) const OID: u8 = 0x06;

/// Context-specific tag `[n]`, constructed or primitive.
pub(crate) const fn context(n: u8, constructed: bool) -> u8 {
    0x80 | if constructed { 0x20 } else { 0 } | n
}

/// One TLV with a definite, minimal length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_length(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
    out.push(0x80 | (bytes.len() - first) as u8);
    out.extend_from_slice(&bytes[first..]);
}

/// An OBJECT IDENTIFIER TLV from its arcs (at least two, first ≤ 2).
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    push_base128(&mut content, arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        push_base128(&mut content, *arc);
    }
    tlv(OID, &content)
}

fn push_base128(out: &mut Vec<u8>, mut value: u64) {
    let mut groups = vec![(value & 0x7f) as u8];
    value >>= 7;
    while value > 0 {
        groups.push(0x80 | (value & 0x7f) as u8);
        value >>= 7;
    }
    out.extend(groups.iter().rev());
}

/// A small non-negative INTEGER TLV.
pub(crate) fn small_uint(value: u8) -> Vec<u8> {
    if value < 0x80 {
        tlv(INTEGER, &[value])
    } else {
        tlv(INTEGER, &[0, value])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_short_form_below_128_and_minimal_long_form_above() {
        assert_eq!(tlv(0x04, &[0; 3])[..2], [0x04, 3]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn object_identifiers_encode_as_x690_says() {
        assert_eq!(oid(&[1, 2, 840, 113549, 1, 7, 2]), [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);
        assert_eq!(oid(&[1, 3, 6, 1, 5, 5, 7, 48, 1]), [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01]);
    }

    #[test]
    fn integers_stay_positive() {
        assert_eq!(small_uint(1), [0x02, 0x01, 0x01]);
        assert_eq!(small_uint(200), [0x02, 0x02, 0x00, 200]);
    }
}
