//! Per-authority issuance policy, checked whenever an authority signs an end-entity
//! certificate (like a Vault PKI role): whether a root may sign leaves at all (the CA/Browser
//! Forum Baseline Requirements §6.1.7 keep root keys for CA certificates), which templates
//! (RFC 5280 §4.2.1.12 extended key usages), which DNS names (RFC 5280 §4.2.1.6) and how long.

use super::records::{AuthorityRecord, AuthorityStatus, AuthorityType};
use super::MAX_VALIDITY_DAYS;
use crate::error::{Error, Result};
use crate::pki::leaf::Template;
use crate::pki::DnsName;
use serde::{Deserialize, Serialize};
use time::Duration;

const MAX_PATTERNS: usize = 100;

/// What an authority may sign. Every field defaults (for records stored before it existed)
/// to the most permissive value except `allow_leaf_issuance`, which a root must opt into.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuancePolicy {
    /// A ROOT signs end-entity certificates only with this set; ignored for intermediates.
    #[serde(default)]
    pub allow_leaf_issuance: bool,
    /// The templates it may issue; `None` = all.
    #[serde(default)]
    pub allowed_templates: Option<Vec<Template>>,
    /// DNS name patterns every `dnsNames` entry must match; `None` = any name. A pattern is a
    /// name (matched exactly) or `*.` + a name (any name below it, at any depth).
    #[serde(default)]
    pub allowed_dns_names: Option<Vec<String>>,
    /// The longest validity of what it signs, in days; `None` = [`MAX_VALIDITY_DAYS`].
    #[serde(default)]
    pub max_validity_days: Option<u32>,
}

impl IssuancePolicy {
    /// Checks the policy itself: patterns are DNS names (after an optional `*.`), at most 100,
    /// and the validity is 1..=3650 days. Pattern case is folded.
    pub fn validated(mut self) -> Result<Self> {
        if let Some(days) = self.max_validity_days.filter(|d| !(1..=MAX_VALIDITY_DAYS).contains(d)) {
            return Err(Error::validation(format!("policy.maxValidityDays must be between 1 and {MAX_VALIDITY_DAYS}, not {days}")));
        }
        if let Some(patterns) = self.allowed_dns_names.as_mut() {
            if patterns.len() > MAX_PATTERNS {
                return Err(Error::validation(format!("policy.allowedDnsNames: at most {MAX_PATTERNS} patterns")));
            }
            for pattern in patterns.iter_mut() {
                let bare = pattern.strip_prefix("*.").unwrap_or(pattern);
                let parsed = DnsName::parse(bare).map_err(|_| Error::validation(format!("policy.allowedDnsNames: {} is not a DNS name or *.name pattern", crate::error::echo(pattern))))?;
                *pattern = if pattern.starts_with("*.") { format!("*.{}", parsed.as_str()) } else { parsed.as_str().to_owned() };
            }
        }
        Ok(self)
    }
}

/// True if `name` matches `pattern` (see [`IssuancePolicy::allowed_dns_names`]), ignoring case.
pub fn dns_name_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    match pattern.strip_prefix("*.") {
        Some(parent) => name.strip_suffix(parent).and_then(|head| head.strip_suffix('.')).is_some_and(|head| !head.is_empty()),
        None => pattern == name,
    }
}

/// Why `issuer` may not sign an end-entity certificate of `template` for `dns_names`, valid
/// for `validity`: 409 unless ACTIVE; 422 for a root without `allowLeafIssuance` and for
/// anything outside its [`IssuancePolicy`].
pub(crate) fn check_leaf(issuer: &AuthorityRecord, template: Template, dns_names: &[DnsName], validity: Duration) -> Result<()> {
    let id = &issuer.id;
    match issuer.status {
        AuthorityStatus::Active => {}
        AuthorityStatus::Disabled => return Err(Error::Conflict(format!("authority {id} is DISABLED and issues nothing"))),
        AuthorityStatus::Revoked => return Err(Error::Conflict(format!("authority {id} is REVOKED and issues nothing"))),
    }
    let policy = &issuer.policy.issuance;
    if issuer.kind == AuthorityType::Root && !policy.allow_leaf_issuance {
        return Err(Error::Unprocessable(format!("authority {id} is a ROOT: it signs end-entity certificates only if its policy sets allowLeafIssuance; issue from an intermediate")));
    }
    if policy.allowed_templates.as_ref().is_some_and(|allowed| !allowed.contains(&template)) {
        let name = serde_json::to_value(template).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        return Err(Error::Unprocessable(format!("the policy of authority {id} does not allow template {name}")));
    }
    if let Some(patterns) = &policy.allowed_dns_names {
        if let Some(name) = dns_names.iter().find(|n| !patterns.iter().any(|p| dns_name_matches(p, n.as_str()))) {
            return Err(Error::Unprocessable(format!("the policy of authority {id} does not allow the DNS name {}", crate::error::echo(name.as_str()))));
        }
    }
    let max_days = policy.max_validity_days.unwrap_or(MAX_VALIDITY_DAYS);
    if validity > Duration::days(i64::from(max_days)) {
        return Err(Error::Unprocessable(format!("the policy of authority {id} allows at most {max_days} days of validity")));
    }
    Ok(())
}

/// Refuses (422) a name outside the name constraints of the issuer or any of its ancestors.
pub(crate) fn check_names(issuer: &AuthorityRecord, dns_names: &[DnsName], ip_addresses: &[std::net::IpAddr], email: Option<&str>) -> Result<()> {
    let emails: Vec<String> = email.into_iter().map(str::to_owned).collect();
    issuer.chain_constraints().into_iter().try_for_each(|c| c.check(dns_names, ip_addresses, &emails))
}

/// Refuses (422) a URI SAN outside the URI name constraints of the issuer or any ancestor.
pub(crate) fn check_uris(issuer: &AuthorityRecord, uris: &[crate::pki::SanUri]) -> Result<()> {
    issuer.chain_constraints().into_iter().try_for_each(|c| c.check_uris(uris))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_pattern_matches_names_below_its_parent_at_any_depth_but_not_the_parent() {
        assert!(dns_name_matches("*.example.com", "www.example.com"));
        assert!(dns_name_matches("*.example.com", "a.b.EXAMPLE.com"));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.example.com", "badexample.com"));
        assert!(dns_name_matches("api.example.com", "API.example.com"));
        assert!(!dns_name_matches("api.example.com", "www.api.example.com"));
    }

    #[test]
    fn a_policy_with_a_bad_pattern_or_validity_is_refused() {
        let bad = |p: IssuancePolicy| p.validated().is_err();
        assert!(bad(IssuancePolicy { max_validity_days: Some(0), ..Default::default() }));
        assert!(bad(IssuancePolicy { max_validity_days: Some(3651), ..Default::default() }));
        assert!(bad(IssuancePolicy { allowed_dns_names: Some(vec!["a b".into()]), ..Default::default() }));
        let ok = IssuancePolicy { allowed_dns_names: Some(vec!["*.Example.COM".into()]), ..Default::default() }.validated().unwrap();
        assert_eq!(ok.allowed_dns_names.unwrap(), vec!["*.example.com"]);
    }

    #[test]
    fn an_authority_stored_before_policies_existed_reads_with_the_permissive_defaults() {
        let policy: super::super::records::Policy = serde_json::from_value(serde_json::json!({
            "validityYears": 5, "pathLenConstraint": 0, "crlDistributionPoint": "http://x/crl/a.crl", "ocspResponderUrl": null,
        }))
        .unwrap();
        assert_eq!(policy.issuance, IssuancePolicy::default());
        assert_eq!(policy.crl_distribution_point.as_deref(), Some("http://x/crl/a.crl"));
    }
}
