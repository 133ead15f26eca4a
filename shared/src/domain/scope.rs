use crate::error::{echo, Error, Result};
use serde::{Deserialize, Serialize};

/// An API key permission. `admin` implies every other scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "ca:read")]
    CaRead,
    #[serde(rename = "ca:sign")]
    CaSign,
    #[serde(rename = "ca:reject")]
    CaReject,
    #[serde(rename = "ca:revoke")]
    CaRevoke,
    #[serde(rename = "ca:admin")]
    CaAdmin,
    #[serde(rename = "pki:read")]
    PkiRead,
    #[serde(rename = "pki:issue")]
    PkiIssue,
    #[serde(rename = "pki:revoke")]
    PkiRevoke,
    #[serde(rename = "pki:admin")]
    PkiAdmin,
    #[serde(rename = "provision:admin")]
    ProvisionAdmin,
    #[serde(rename = "devices:read")]
    DevicesRead,
    #[serde(rename = "devices:write")]
    DevicesWrite,
    /// The edge gateway of seed 002's onboarding network: reports devices and network status
    /// and fetches device bundles.
    #[serde(rename = "devices:gateway")]
    DevicesGateway,
    #[serde(rename = "tenants:read")]
    TenantsRead,
    #[serde(rename = "tenants:write")]
    TenantsWrite,
}

impl Scope {
    /// Every scope, in declaration order.
    pub const ALL: [Scope; 16] = [
        Scope::Admin,
        Scope::CaRead,
        Scope::CaSign,
        Scope::CaReject,
        Scope::CaRevoke,
        Scope::CaAdmin,
        Scope::PkiRead,
        Scope::PkiIssue,
        Scope::PkiRevoke,
        Scope::PkiAdmin,
        Scope::ProvisionAdmin,
        Scope::DevicesRead,
        Scope::DevicesWrite,
        Scope::DevicesGateway,
        Scope::TenantsRead,
        Scope::TenantsWrite,
    ];

    /// The wire name, e.g. `ca:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::CaRead => "ca:read",
            Scope::CaSign => "ca:sign",
            Scope::CaReject => "ca:reject",
            Scope::CaRevoke => "ca:revoke",
            Scope::CaAdmin => "ca:admin",
            Scope::PkiRead => "pki:read",
            Scope::PkiIssue => "pki:issue",
            Scope::PkiRevoke => "pki:revoke",
            Scope::PkiAdmin => "pki:admin",
            Scope::ProvisionAdmin => "provision:admin",
            Scope::DevicesRead => "devices:read",
            Scope::DevicesWrite => "devices:write",
            Scope::DevicesGateway => "devices:gateway",
            Scope::TenantsRead => "tenants:read",
            Scope::TenantsWrite => "tenants:write",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            Error::validation(format!("unknown scope {} (expected one of {})", echo(raw), known.join(", ")))
        })
    }
}

/// A non-empty, de-duplicated, sorted set of scopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Parses wire names; refuses an empty list and unknown names (naming the list index).
    pub fn parse(raw: &[String]) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::validation("scopes must not be empty"));
        }
        let at = |i: usize, e: Error| Error::validation(format!("scopes[{i}]: {}", e.public_message()));
        let mut scopes = raw.iter().enumerate().map(|(i, s)| Scope::parse(s).map_err(|e| at(i, e))).collect::<Result<Vec<_>>>()?;
        scopes.sort();
        scopes.dedup();
        Ok(Scopes(scopes))
    }

    /// Every scope (the first admin key's).
    pub fn all() -> Self {
        Scopes(vec![Scope::Admin])
    }

    /// True if these scopes grant `needed` (`admin` grants everything).
    pub fn grants(&self, needed: Scope) -> bool {
        self.0.iter().any(|s| *s == needed || *s == Scope::Admin)
    }

    /// The wire names.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_every_scope_and_others_only_themselves() {
        let admin = Scopes::parse(&["admin".into()]).unwrap();
        assert!(Scope::ALL.iter().all(|s| admin.grants(*s)));
        let reader = Scopes::parse(&["ca:read".into(), "ca:read".into()]).unwrap();
        assert_eq!(reader.names(), vec!["ca:read"]);
        assert!(reader.grants(Scope::CaRead));
        assert!(!reader.grants(Scope::CaSign));
    }

    #[test]
    fn scopes_refuse_unknown_and_empty_lists() {
        assert!(Scopes::parse(&[]).is_err());
        assert!(Scopes::parse(&["ca:everything".into()]).is_err());
    }

    #[test]
    fn an_unknown_scope_is_named_by_its_index_and_echoed_at_most_64_characters() {
        let huge = "x".repeat(1_000_000);
        let message = Scopes::parse(&["admin".into(), huge]).unwrap_err().public_message();
        assert!(message.starts_with(&format!("scopes[1]: unknown scope \"{}…\" (expected one of admin, ", "x".repeat(64))), "{message}");
        assert!(message.len() < 400, "{} bytes", message.len());
    }
}
