use crate::error::{Error, Result};
use rcgen::{DistinguishedName, DnType, DnValue};
use serde::{Deserialize, Serialize};

/// PKCS#9 emailAddress (RFC 5280 Appendix A.1, `id-emailAddress`).
const EMAIL_ADDRESS: &[u64] = &[1, 2, 840, 113549, 1, 9, 1];

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
        let common_name = bounded("commonName", Some(raw.common_name), 64)?
            .ok_or_else(|| Error::validation("subject commonName is required"))?;
        let email = bounded("emailAddress", raw.email, 255)?;
        if let Some(email) = &email {
            check_email(email)?;
        }
        Ok(SubjectName {
            common_name,
            organization: bounded("organizationName", raw.organization, 64)?,
            organizational_unit: bounded("organizationalUnitName", raw.organizational_unit, 64)?,
            country: country(raw.country)?,
            state: bounded("stateOrProvinceName", raw.state, 128)?,
            locality: bounded("localityName", raw.locality, 128)?,
            email,
        })
    }

    /// Just a common name (agents, Puppet certnames).
    pub fn common_name_only(cn: &str) -> Result<Self> {
        Self::parse(SubjectName { common_name: cn.into(), organization: None, organizational_unit: None, country: None, state: None, locality: None, email: None })
    }

    /// The rcgen distinguished name (C, ST, L, O, OU, CN order; email as PKCS#9 emailAddress).
    /// C is a PrintableString and email an IA5String (RFC 5280 Appendix A.1); every other
    /// attribute is a UTF8String (RFC 5280 §4.1.2.6).
    pub fn to_rcgen(&self) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        if let Some(c) = &self.country {
            let printable = rcgen::string::PrintableString::try_from(c.as_str());
            dn.push(DnType::CountryName, printable.map(DnValue::PrintableString).unwrap_or_else(|_| c.clone().into()));
        }
        let utf8 = [
            (DnType::StateOrProvinceName, &self.state),
            (DnType::LocalityName, &self.locality),
            (DnType::OrganizationName, &self.organization),
            (DnType::OrganizationalUnitName, &self.organizational_unit),
        ];
        for (ty, value) in utf8 {
            if let Some(v) = value {
                dn.push(ty, v.as_str());
            }
        }
        dn.push(DnType::CommonName, self.common_name.as_str());
        if let Some(email) = &self.email {
            let ia5 = rcgen::string::Ia5String::try_from(email.as_str());
            dn.push(DnType::CustomDnType(EMAIL_ADDRESS.to_vec()), ia5.map(DnValue::Ia5String).unwrap_or_else(|_| email.clone().into()));
        }
        dn
    }
}

fn bounded(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(Error::validation(format!("subject {field} is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::validation(format!("subject {field} contains control characters")));
    }
    Ok(Some(value))
}

fn country(value: Option<String>) -> Result<Option<String>> {
    let Some(c) = bounded("countryName", value, 2)? else { return Ok(None) };
    if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
        return Err(Error::validation("subject countryName must be a two-letter ISO 3166 code"));
    }
    Ok(Some(c.to_ascii_uppercase()))
}

fn check_email(email: &str) -> Result<()> {
    let bad = || Error::validation("subject emailAddress is not a valid e-mail address");
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let atext = |c: char| c.is_ascii_graphic() && !"@()<>[]\\,;:\"".contains(c);
    if local.is_empty() || local.len() > 64 || !local.chars().all(atext) || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad());
    }
    DnsName::parse(domain).map_err(|_| bad())?;
    if domain.starts_with('*') || !domain.contains('.') {
        return Err(bad());
    }
    Ok(())
}

/// A DNS name for a SAN: LDH labels, optional leading `*.` wildcard, ≤ 253 chars, lowercase.
///
/// RFC 5280 §4.2.1.6 and RFC 1034 §3.5 preferred name syntax: labels of 1 to 63 letters,
/// digits and hyphens, not starting or ending with a hyphen; no trailing dot; the last label
/// is not all-numeric. IDNs must be given as A-labels (`xn--`). A wildcard stands for exactly
/// one whole leftmost label and needs at least two labels under it (RFC 6125 §6.4.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsName(String);

impl DnsName {
    /// Parses and lowercases.
    pub fn parse(raw: &str) -> Result<Self> {
        let name = raw.trim().to_ascii_lowercase();
        let bad = |why: &str| Error::validation(format!("invalid DNS name {}: {why}", crate::error::echo(raw)));
        if name.is_empty() || name.len() > 253 {
            return Err(bad("must be 1 to 253 characters"));
        }
        let (wildcard, rest) = match name.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, name.as_str()),
        };
        let labels: Vec<&str> = rest.split('.').collect();
        for label in &labels {
            check_label(label).map_err(&bad)?;
        }
        if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
            return Err(bad("the top-level label must not be all-numeric"));
        }
        if wildcard && labels.len() < 2 {
            return Err(bad("a wildcard needs at least two labels under it"));
        }
        Ok(DnsName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A uniformResourceIdentifier SAN (RFC 5280 §4.2.1.6): an absolute URI of printable ASCII,
/// at most 2048 characters, and the host of its authority component when it names one by a
/// DNS name (RFC 3986 §3.2.2), which is what URI name constraints apply to (§4.2.1.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SanUri {
    uri: String,
    host: Option<DnsName>,
}

impl SanUri {
    /// Parses `scheme:rest`; the host is lowercased, userinfo and port set aside.
    pub fn parse(raw: &str) -> Result<Self> {
        let uri = raw.trim();
        let bad = |why: &str| Error::validation(format!("san.uris: {} {why}", crate::error::echo(raw)));
        if uri.is_empty() || uri.len() > 2048 || !uri.chars().all(|c| c.is_ascii_graphic()) {
            return Err(bad("must be 1 to 2048 printable ASCII characters"));
        }
        let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad("has no scheme"))?;
        let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return Err(bad("has no valid scheme"));
        }
        let host = rest.strip_prefix("//").map(|tail| {
            let authority = tail.split(['/', '?', '#']).next().unwrap_or_default();
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = if host_port.starts_with('[') { "" } else { host_port.split(':').next().unwrap_or_default() };
            DnsName::parse(host).ok().filter(|h| !h.as_str().starts_with('*'))
        });
        Ok(SanUri { uri: uri.to_owned(), host: host.flatten() })
    }

    /// The URI as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The DNS host of its authority component; `None` for `urn:`, `mailto:`, IP literals.
    pub fn host(&self) -> Option<&str> {
        self.host.as_ref().map(DnsName::as_str)
    }
}

fn check_label(label: &str) -> std::result::Result<(), &'static str> {
    if label.is_empty() || label.len() > 63 {
        return Err("labels must be 1 to 63 characters (no empty labels or trailing dot)");
    }
    if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("labels may only hold letters, digits and hyphens (a wildcard only as the whole first label)");
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("labels must not start or end with a hyphen");
    }
    Ok(())
}

/// Rebuilds an rcgen name from a parsed certificate name, keeping attribute order and string
/// types so the re-encoded DER equals the original (single-valued RDNs only).
pub(crate) fn dn_from_x509(name: &x509_parser::x509::X509Name<'_>) -> Result<DistinguishedName> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let unsupported = || Error::internal("certificate name has an unsupported encoding");
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        let mut attrs = rdn.iter();
        let (Some(attr), None) = (attrs.next(), attrs.next()) else { return Err(unsupported()) };
        let oid: Vec<u64> = attr.attr_type().iter().ok_or_else(unsupported)?.collect();
        let text = std::str::from_utf8(attr.attr_value().data).map_err(|_| unsupported())?;
        let value = match attr.attr_value().header.tag() {
            Tag::PrintableString => DnValue::PrintableString(text.try_into().map_err(|_| unsupported())?),
            Tag::Ia5String => DnValue::Ia5String(text.try_into().map_err(|_| unsupported())?),
            Tag::Utf8String => DnValue::Utf8String(text.to_owned()),
            _ => return Err(unsupported()),
        };
        let ty = DnType::from_oid(&oid);
        if dn.get(&ty).is_some() {
            return Err(unsupported());
        }
        dn.push(ty, value);
    }
    Ok(dn)
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
