use crate::error::Result;
use serde::{Deserialize, Serialize};

/// A subject distinguished name (seed 004's Identity Service subject), validated against the
/// RFC 5280 Appendix A upper bounds: CN ≤ 64, O ≤ 64, OU ≤ 64, C exactly 2 letters (uppercased),
/// ST ≤ 128, L ≤ 128, email ≤ 255 (a plausible addr-spec). CN is required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectName {
    pub common_name: String,
    pub organization: Option<String>,
    pub organizational_unit: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub locality: Option<String>,
    pub email: Option<String>,
}

impl SubjectName {
    /// Validates every field (trimmed; empty optional strings become `None`).
    pub fn parse(raw: SubjectName) -> Result<Self> {
        let _ = raw;
        todo!()
    }

    /// Just a common name (agents, Puppet certnames).
    pub fn common_name_only(cn: &str) -> Result<Self> {
        Self::parse(SubjectName { common_name: cn.into(), organization: None, organizational_unit: None, country: None, state: None, locality: None, email: None })
    }

    /// The rcgen distinguished name (C, ST, L, O, OU, CN order; email as PKCS#9 emailAddress).
    pub fn to_rcgen(&self) -> rcgen::DistinguishedName {
        todo!()
    }
}

/// A DNS name for a SAN: LDH labels, optional leading `*.` wildcard, ≤ 253 chars, lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsName(String);

impl DnsName {
    /// Parses and lowercases.
    pub fn parse(raw: &str) -> Result<Self> {
        let _ = raw;
        todo!()
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
