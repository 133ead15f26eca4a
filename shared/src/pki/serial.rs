use crate::error::{Error, Result};

/// A certificate serial number: 128 random bits, positive, DER-minimal (RFC 5280 §4.1.2.2).
/// Shown as uppercase hex without separators.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// A fresh random serial (never derived from the key, unlike rcgen's default).
    pub fn random() -> Self {
        todo!()
    }

    /// Parses uppercase or lowercase hex (optionally colon-separated).
    pub fn parse_hex(raw: &str) -> Result<Self> {
        let _ = raw;
        Err(Error::validation("todo"))
    }

    /// From the big-endian magnitude bytes as x509-parser returns them.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Serial(bytes.to_vec())
    }

    /// The DER INTEGER content bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Uppercase hex, no separators, no leading zero byte.
    pub fn to_hex(&self) -> String {
        todo!()
    }

    /// As rcgen wants it.
    pub fn to_rcgen(&self) -> rcgen::SerialNumber {
        rcgen::SerialNumber::from_slice(&self.0)
    }
}
