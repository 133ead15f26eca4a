//! Name constraints (RFC 5280 §4.2.1.10): what an authority and everything below it may
//! certify, written as a critical extension into its CA certificate and checked at issuance
//! (every constraining ancestor's too) before anything is signed.
//!
//! Semantics as RFC 5280 gives them: a dNSName constraint `example.com` covers `example.com`
//! and every name below it; an iPAddress constraint is a CIDR range; an rfc822Name constraint
//! is a mailbox (`a@example.com`), a host (`example.com`: mailboxes at exactly that host) or a
//! domain (`.example.com`: mailboxes at any host below it); a uniformResourceIdentifier
//! constraint applies to the host of the URI's authority and is a host (`host.example.com`:
//! exactly that host) or a domain (`.example.com`: any host below it, not example.com itself),
//! and a URI without a DNS host (`urn:`, an IP literal) is refused under any URI constraint.
//! Excluded wins over permitted; a kind with permitted entries admits only names matching one.

use super::names::{DnsName, SanUri};
use crate::error::{echo, Error, Result};
use yasna::Tag;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::str::FromStr;

/// At most this many entries in all.
const MAX_ENTRIES: usize = 100;

/// An authority's name constraints (`policy.nameConstraints`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NameConstraints {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_dns_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_dns_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_ip_ranges: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_ip_ranges: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_uris: Vec<String>,
}

/// `id-ce-nameConstraints` (RFC 5280 §4.2.1.10).
const NAME_CONSTRAINTS_OID: &[u64] = &[2, 5, 29, 30];

impl NameConstraints {
    /// True when it constrains nothing (no extension is written).
    pub fn is_empty(&self) -> bool {
        self.lists().iter().all(|l| l.is_empty())
    }

    fn lists(&self) -> [&Vec<String>; 8] {
        [
            &self.permitted_dns_names, &self.excluded_dns_names, &self.permitted_ip_ranges, &self.excluded_ip_ranges,
            &self.permitted_emails, &self.excluded_emails, &self.permitted_uris, &self.excluded_uris,
        ]
    }

    /// Checks every entry (DNS names, CIDR ranges, mailboxes/hosts/domains, URI hosts/domains)
    /// and folds case.
    pub fn validated(mut self) -> Result<Self> {
        if self.lists().iter().map(|l| l.len()).sum::<usize>() > MAX_ENTRIES {
            return Err(Error::validation(format!("policy.nameConstraints: at most {MAX_ENTRIES} entries")));
        }
        for name in self.permitted_dns_names.iter_mut().chain(self.excluded_dns_names.iter_mut()) {
            *name = DnsName::parse(name).map_err(|_| bad("DNS name", name))?.as_str().to_owned();
        }
        for range in self.permitted_ip_ranges.iter().chain(&self.excluded_ip_ranges) {
            cidr(range)?;
        }
        for email in self.permitted_emails.iter_mut().chain(self.excluded_emails.iter_mut()) {
            *email = email.to_ascii_lowercase();
            let host = email.rsplit('@').next().unwrap_or_default().trim_start_matches('.');
            if email.matches('@').count() > 1 || DnsName::parse(host).is_err() {
                return Err(bad("e-mail constraint", email));
            }
        }
        for uri in self.permitted_uris.iter_mut().chain(self.excluded_uris.iter_mut()) {
            let (dot, host) = uri.strip_prefix('.').map_or(("", uri.as_str()), |h| (".", h));
            let host = DnsName::parse(host).ok().filter(|h| !h.as_str().starts_with('*')).ok_or_else(|| bad("URI constraint (a host or .domain)", uri))?;
            *uri = format!("{dot}{}", host.as_str());
        }
        Ok(self)
    }

    /// The critical extension (RFC 5280 §4.2.1.10), DER-encoded here because rcgen writes no
    /// uniformResourceIdentifier subtrees: each GeneralSubtree is its base name alone (minimum
    /// 0 and no maximum, as the RFC requires), an empty subtree list is left out.
    pub fn to_extension(&self) -> Result<rcgen::CustomExtension> {
        let permitted = subtrees(&self.permitted_dns_names, &self.permitted_ip_ranges, &self.permitted_emails, &self.permitted_uris)?;
        let excluded = subtrees(&self.excluded_dns_names, &self.excluded_ip_ranges, &self.excluded_emails, &self.excluded_uris)?;
        let der = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                for (tag, list) in [(0, &permitted), (1, &excluded)] {
                    if !list.is_empty() {
                        w.next().write_tagged_implicit(Tag::context(tag), |w| w.write_sequence(|w| list.iter().for_each(|base| write_subtree(w.next(), base))));
                    }
                }
            })
        });
        let mut extension = rcgen::CustomExtension::from_oid_content(NAME_CONSTRAINTS_OID, der);
        extension.set_criticality(true);
        Ok(extension)
    }

    /// Refuses (422, naming it) the first name outside the constraints.
    pub fn check(&self, dns_names: &[DnsName], ip_addresses: &[IpAddr], emails: &[String]) -> Result<()> {
        for name in dns_names {
            let name = name.as_str();
            allowed(&self.permitted_dns_names, &self.excluded_dns_names, |c| dns_within(c, name)).map_err(|why| outside("DNS name", name, why))?;
        }
        for ip in ip_addresses {
            allowed(&self.permitted_ip_ranges, &self.excluded_ip_ranges, |c| cidr(c).is_ok_and(|(net, prefix)| ip_within(net, prefix, *ip)))
                .map_err(|why| outside("IP address", &ip.to_string(), why))?;
        }
        for email in emails {
            let email = email.to_ascii_lowercase();
            allowed(&self.permitted_emails, &self.excluded_emails, |c| email_within(c, &email)).map_err(|why| outside("e-mail address", &email, why))?;
        }
        Ok(())
    }

    /// Refuses (422, naming it) the first URI outside the URI constraints; when there are any,
    /// a URI without a DNS host is refused (RFC 5280 §4.2.1.10).
    pub fn check_uris(&self, uris: &[SanUri]) -> Result<()> {
        if self.permitted_uris.is_empty() && self.excluded_uris.is_empty() {
            return Ok(());
        }
        for uri in uris {
            let host = uri.host().ok_or_else(|| outside("URI", uri.as_str(), "has no DNS host, which is required"))?;
            allowed(&self.permitted_uris, &self.excluded_uris, |c| uri_host_within(c, host)).map_err(|why| outside("URI", uri.as_str(), why))?;
        }
        Ok(())
    }
}

/// A GeneralName of a subtree base (RFC 5280 §4.2.1.6 CHOICE tags).
enum Base {
    Ia5(u64, String),
    Ip(Vec<u8>),
}

fn subtrees(dns: &[String], ips: &[String], emails: &[String], uris: &[String]) -> Result<Vec<Base>> {
    let mut all: Vec<Base> = emails.iter().map(|e| Base::Ia5(1, e.clone())).collect();
    all.extend(dns.iter().map(|d| Base::Ia5(2, d.clone())));
    all.extend(uris.iter().map(|u| Base::Ia5(6, u.clone())));
    for range in ips {
        let (addr, prefix) = cidr(range)?;
        let bytes = match addr {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        let mask = (0..bytes.len() * 8).map(|bit| bit < usize::from(prefix)).collect::<Vec<_>>();
        let mask: Vec<u8> = mask.chunks(8).map(|bits| bits.iter().fold(0u8, |byte, on| (byte << 1) | u8::from(*on))).collect();
        all.push(Base::Ip(bytes.iter().zip(&mask).map(|(b, m)| b & m).chain(mask.iter().copied()).collect()));
    }
    Ok(all)
}

fn write_subtree(w: yasna::DERWriter<'_>, base: &Base) {
    w.write_sequence(|w| match base {
        Base::Ia5(tag, name) => w.next().write_tagged_implicit(Tag::context(*tag), |w| w.write_ia5_string(name)),
        Base::Ip(bytes) => w.next().write_tagged_implicit(Tag::context(7), |w| w.write_bytes(bytes)),
    })
}

fn uri_host_within(constraint: &str, host: &str) -> bool {
    match constraint.strip_prefix('.') {
        Some(_) => host.strip_suffix(constraint).is_some_and(|head| !head.is_empty()),
        None => host == constraint,
    }
}

fn allowed(permitted: &[String], excluded: &[String], matches: impl Fn(&str) -> bool) -> std::result::Result<(), &'static str> {
    if excluded.iter().any(|c| matches(c)) {
        return Err("is excluded");
    }
    if !permitted.is_empty() && !permitted.iter().any(|c| matches(c)) {
        return Err("is not permitted");
    }
    Ok(())
}

fn outside(kind: &str, name: &str, why: &str) -> Error {
    Error::Unprocessable(format!("the {kind} {} {why} by the name constraints of the issuing chain", echo(name)))
}

fn bad(kind: &str, raw: &str) -> Error {
    Error::validation(format!("policy.nameConstraints: {} is not a valid {kind}", echo(raw)))
}

fn dns_within(constraint: &str, name: &str) -> bool {
    name == constraint || name.strip_suffix(constraint).is_some_and(|head| head.ends_with('.'))
}

fn email_within(constraint: &str, email: &str) -> bool {
    let host = email.rsplit_once('@').map_or("", |(_, h)| h);
    if constraint.contains('@') {
        constraint == email
    } else if let Some(domain) = constraint.strip_prefix('.') {
        host.strip_suffix(domain).is_some_and(|head| head.ends_with('.'))
    } else {
        host == constraint
    }
}

fn cidr(raw: &str) -> Result<(IpAddr, u8)> {
    let (addr, prefix) = raw.split_once('/').ok_or_else(|| bad("CIDR range", raw))?;
    let addr = IpAddr::from_str(addr).map_err(|_| bad("CIDR range", raw))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= max).ok_or_else(|| bad("CIDR range", raw))?;
    Ok((addr, prefix))
}

fn ip_within(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let bits = |a: IpAddr| -> Option<(u128, u32)> {
        match a {
            IpAddr::V4(v4) => Some((u128::from(u32::from(v4)), 32)),
            IpAddr::V6(v6) => Some((u128::from(v6), 128)),
        }
    };
    match (bits(net), bits(ip)) {
        (Some((n, width)), Some((i, w2))) if width == w2 => {
            let shift = width - u32::from(prefix);
            shift >= width || (n >> shift) == (i >> shift)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    fn constraints(raw: serde_json::Value) -> NameConstraints {
        serde_json::from_value::<NameConstraints>(raw).unwrap().validated().unwrap()
    }

    #[test]
    fn dns_ip_and_email_names_are_held_to_rfc_5280_semantics() {
        let c = constraints(serde_json::json!({
            "permittedDnsNames": ["Example.com"], "excludedDnsNames": ["secret.example.com"],
            "permittedIpRanges": ["10.0.0.0/8"], "permittedEmails": [".example.com", "ops@partner.org"]
        }));
        let dns = |n: &str| DnsName::parse(n).unwrap();
        assert!(c.check(&[dns("example.com"), dns("a.b.example.com")], &["10.1.2.3".parse().unwrap()], &["x@mail.example.com".into(), "ops@partner.org".into()]).is_ok());
        for refused in [dns("badexample.com"), dns("example.org"), dns("x.secret.example.com")] {
            let e = c.check(&[refused.clone()], &[], &[]).unwrap_err();
            assert!(matches!(e, Error::Unprocessable(ref m) if m.contains(refused.as_str())), "{e:?}");
        }
        assert!(c.check(&[], &["11.0.0.1".parse().unwrap()], &[]).is_err());
        assert!(c.check(&[], &["::1".parse().unwrap()], &[]).is_err());
        assert!(c.check(&[], &[], &["x@example.com".into()]).is_err(), ".example.com is hosts below it only");
        assert!(c.check(&[], &[], &["dev@partner.org".into()]).is_err());
    }

    #[test]
    fn uri_constraints_apply_to_the_uris_host_as_a_host_or_a_domain() {
        let c = constraints(serde_json::json!({ "permittedUris": ["Svc.Example.com", ".corp.example"], "excludedUris": [".secret.corp.example"] }));
        let uri = |u: &str| SanUri::parse(u).unwrap();
        assert!(c.check_uris(&[uri("spiffe://svc.example.com/ns/a"), uri("https://user@a.b.corp.example:8443/x?y")]).is_ok());
        for refused in ["https://example.com/", "https://x.svc.example.com/", "https://corp.example/", "https://a.secret.corp.example/", "urn:uuid:1", "https://[::1]/", "https://evilcorp.example/"] {
            let e = c.check_uris(&[uri(refused)]).unwrap_err();
            assert!(matches!(e, Error::Unprocessable(ref m) if m.contains(refused)), "{refused}: {e:?}");
        }
        assert!(NameConstraints::default().check_uris(&[uri("urn:uuid:1")]).is_ok());
        let ext = c.to_extension().unwrap();
        assert!(ext.criticality());
        let (_, parsed) = x509_parser::extensions::NameConstraints::from_der(ext.content()).unwrap();
        assert_eq!(parsed.permitted_subtrees.unwrap().len(), 2);
        assert_eq!(parsed.excluded_subtrees.unwrap()[0].base, x509_parser::extensions::GeneralName::URI(".secret.corp.example"));
    }

    #[test]
    fn malformed_entries_are_refused_when_the_authority_is_created() {
        for raw in [
            serde_json::json!({ "permittedDnsNames": ["-bad-"] }),
            serde_json::json!({ "permittedIpRanges": ["10.0.0.0"] }),
            serde_json::json!({ "permittedIpRanges": ["10.0.0.0/33"] }),
            serde_json::json!({ "excludedEmails": ["a@b@c"] }),
        ] {
            let parsed: NameConstraints = serde_json::from_value(raw.clone()).unwrap();
            assert!(parsed.validated().is_err(), "{raw}");
        }
        for uri in ["https://example.com", "*.example.com", ".", "-x-.com"] {
            let parsed: NameConstraints = serde_json::from_value(serde_json::json!({ "permittedUris": [uri] })).unwrap();
            assert!(parsed.validated().is_err(), "{uri}");
        }
        assert!(serde_json::from_value::<NameConstraints>(serde_json::json!({ "permittedUrls": ["x"] })).is_err());
    }
}
