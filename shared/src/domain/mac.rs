use crate::error::{echo, Error, Result};
use serde::{Serialize, Serializer};
use std::fmt;

/// A device's IEEE 802 MAC-48 address in the canonical form seed 002 and the PiDashboard
/// client use: upper-case hex octets separated by colons (`AA:BB:CC:DD:EE:FF`).
///
/// Parses `AA:BB:CC:DD:EE:FF`, `aa-bb-cc-dd-ee-ff` and `aabbccddeeff` (either case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress([u8; 6]);

impl MacAddress {
    /// Parses any of the accepted spellings; anything else is a validation error whose
    /// message is safe to show (`Invalid MAC address format: …`).
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = || Error::validation(format!("Invalid MAC address format: {} (expected AA:BB:CC:DD:EE:FF)", echo(raw)));
        let hex: String = match raw.len() {
            12 => raw.to_owned(),
            17 => {
                let sep = raw.as_bytes()[2];
                if sep != b':' && sep != b'-' {
                    return Err(bad());
                }
                let parts: Vec<&str> = raw.split(sep as char).collect();
                if parts.len() != 6 || parts.iter().any(|p| p.len() != 2) {
                    return Err(bad());
                }
                parts.concat()
            }
            _ => return Err(bad()),
        };
        let mut octets = [0u8; 6];
        for (i, octet) in octets.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            if !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *octet = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(MacAddress(octets))
    }

    /// The six octets.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(f, "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", o[0], o[1], o[2], o[3], o[4], o[5])
    }
}

impl Serialize for MacAddress {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        MacAddress::parse(&raw).map_err(|e| serde::de::Error::custom(e.public_message()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_spelling_becomes_the_canonical_form() {
        for raw in ["AA:BB:CC:DD:EE:0F", "aa:bb:cc:dd:ee:0f", "aa-bb-cc-dd-ee-0f", "AABBCCDDEE0F", "aabbccddee0f"] {
            assert_eq!(MacAddress::parse(raw).unwrap().to_string(), "AA:BB:CC:DD:EE:0F", "{raw}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused_with_the_seed_wording() {
        for raw in ["", "AA:BB:CC:DD:EE", "AA:BB:CC:DD:EE:FF:00", "AA:BB-CC:DD:EE:FF", "GG:BB:CC:DD:EE:FF", "AABBCCDDEEF", "+A:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FＦ", "A:ABB:CC:DD:EE:FF"] {
            let e = MacAddress::parse(raw).unwrap_err();
            assert!(e.public_message().starts_with("Invalid MAC address format"), "{raw}: {e}");
        }
    }
}
