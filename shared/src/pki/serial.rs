use crate::error::{Error, Result};

/// A certificate serial number: 128 random bits, positive, DER-minimal (RFC 5280 §4.1.2.2).
/// Shown as uppercase hex without separators.
///
/// Held as DER INTEGER content bytes: no redundant leading zero byte, and a single `0x00`
/// prefix when the top bit of the magnitude is set (X.690 §8.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// A fresh random serial (never derived from the key, unlike rcgen's default): 16 random
    /// bytes with a non-zero first byte, so it always carries 121 to 128 bits of entropy and
    /// encodes in 16 or 17 octets (RFC 5280 §4.1.2.2 allows up to 20).
    pub fn random() -> Self {
        loop {
            let bytes: [u8; 16] = rand::random();
            if bytes[0] != 0 {
                return Serial::from_bytes(&bytes);
            }
        }
    }

    /// Parses uppercase or lowercase hex (optionally colon-separated). Zero is refused
    /// (RFC 5280 §4.1.2.2: serials are positive), as are more than 20 octets.
    pub fn parse_hex(raw: &str) -> Result<Self> {
        let digits: String = raw.trim().chars().filter(|c| *c != ':').collect();
        let bad = || Error::validation(format!("invalid serial number {}: expected hex digits", crate::error::echo(raw)));
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let padded = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits };
        let bytes = hex::decode(padded).map_err(|_| bad())?;
        let serial = Serial::from_bytes(&bytes);
        if serial.0 == [0] {
            return Err(Error::validation("serial number must be positive"));
        }
        if serial.0.len() > 20 {
            return Err(Error::validation("serial number is longer than 20 octets"));
        }
        Ok(serial)
    }

    /// From the big-endian magnitude bytes as x509-parser returns them (`raw_serial` or
    /// `BigUint::to_bytes_be`): either form is normalised to DER INTEGER content.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let magnitude = &bytes[start..];
        let mut content = Vec::with_capacity(magnitude.len() + 1);
        if magnitude.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(magnitude);
        Serial(content)
    }

    /// The DER INTEGER content bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Uppercase hex, no separators, no leading zero byte.
    pub fn to_hex(&self) -> String {
        let magnitude = match self.0.as_slice() {
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        hex::encode_upper(magnitude)
    }

    /// As rcgen wants it.
    pub fn to_rcgen(&self) -> rcgen::SerialNumber {
        rcgen::SerialNumber::from_slice(&self.0)
    }
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_are_positive_minimal_and_16_or_17_octets() {
        for _ in 0..2000 {
            let s = Serial::random();
            let b = s.as_bytes();
            assert!(b.len() == 16 || b.len() == 17, "{b:?}");
            if b.len() == 17 {
                assert!(b[0] == 0 && b[1] & 0x80 != 0, "non-minimal {b:?}");
            } else {
                assert!(b[0] != 0 && b[0] & 0x80 == 0, "{b:?}");
            }
            assert!(!s.to_hex().starts_with("00") && s.to_hex().len() == 32);
            assert_eq!(s.to_hex(), s.to_hex().to_uppercase());
        }
    }

    #[test]
    fn hex_round_trips_with_or_without_colons_and_case() {
        let s = Serial::from_bytes(&[0x00, 0x8a, 0x01]);
        assert_eq!(s.to_hex(), "8A01");
        assert_eq!(Serial::parse_hex("8a:01").unwrap(), s);
        assert_eq!(Serial::parse_hex("008A01").unwrap(), s);
        assert_eq!(Serial::from_bytes(&[0x8a, 0x01]), s);
        assert_eq!(Serial::parse_hex("1").unwrap().as_bytes(), [1]);
    }

    #[test]
    fn zero_garbage_and_oversized_serials_are_refused() {
        for bad in ["", "00", "xyz", "12 34", &"AB".repeat(21)] {
            assert!(matches!(Serial::parse_hex(bad), Err(Error::Validation(_))), "{bad:?} accepted");
        }
    }
}
