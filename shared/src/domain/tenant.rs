//! Seed 003's tenant fields, parsed at the boundary with the seed's rules.

use crate::error::{echo, truncate, Error, Result, MAX_ECHO_CHARS};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A tenant's display name (seed 003: 3 to 200 characters, counted as characters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantName(String);

impl TenantName {
    /// Parses a name; the message is the one the `errors` map carries.
    pub fn parse(raw: &str) -> Result<Self> {
        let chars = raw.chars().count();
        if raw.trim().is_empty() {
            return Err(Error::validation("The Name field is required."));
        }
        if !(3..=200).contains(&chars) {
            return Err(Error::validation("Name must be between 3 and 200 characters."));
        }
        if raw.chars().any(char::is_control) {
            return Err(Error::validation("Name must not contain control characters."));
        }
        Ok(TenantName(raw.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tenant slug (seed 003: `^[a-z0-9-]+$`, 3 to 50 characters); unique across tenants.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug; the messages are the ones the `errors` map carries.
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::validation("The Slug field is required."));
        }
        if !raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(Error::validation("Slug must match ^[a-z0-9-]+$ (lowercase letters, digits and hyphens)."));
        }
        if !(3..=50).contains(&raw.len()) {
            return Err(Error::validation("Slug must be between 3 and 50 characters."));
        }
        Ok(Slug(raw.to_owned()))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant database's name: `ecom_tenant_<slug>` with `-` written `_`.
    pub fn db_name(&self) -> DbName {
        DbName(format!("ecom_tenant_{}", self.0.replace('-', "_")))
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant's plan (seed 003: exactly `Basic`, `Premium` or `Enterprise`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Plan {
    Basic,
    Premium,
    Enterprise,
}

impl Plan {
    /// The allowed plans, as the seed lists them.
    pub const ALL: [Plan; 3] = [Plan::Basic, Plan::Premium, Plan::Enterprise];

    /// Parses a plan, case as written; anything else is the seed's "Invalid Plan".
    pub fn parse(raw: &str) -> Result<Self> {
        Plan::ALL.into_iter().find(|p| p.as_str() == raw).ok_or_else(|| {
            let detail = format!("Plan '{}' is not allowed. Allowed plans: Basic, Premium, Enterprise", truncate(raw, MAX_ECHO_CHARS));
            Error::Validation(detail).titled("Invalid Plan")
        })
    }

    /// The plan's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Basic => "Basic",
            Plan::Premium => "Premium",
            Plan::Enterprise => "Enterprise",
        }
    }
}

/// A tenant database's name, `ecom_tenant_[a-z0-9_]{3,50}`: a DynamoDB table or a SQLite file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DbName(String);

impl DbName {
    /// Parses a stored name (only names [`Slug::db_name`] makes are accepted).
    pub fn parse(raw: &str) -> Result<Self> {
        let rest = raw.strip_prefix("ecom_tenant_").unwrap_or("");
        let ok = (3..=50).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(DbName(raw.to_owned()))
        } else {
            Err(Error::validation(format!("{} is not a tenant database name", echo(raw))))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DbName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_seed_pattern_and_length() {
        for ok in ["acme", "a-1", "abc", &"a".repeat(50)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ab", "Acme", "ac me", "acme_1", "acmé", &"a".repeat(51)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_count_characters_not_bytes() {
        assert!(TenantName::parse("ééé").is_ok());
        assert!(TenantName::parse(&"é".repeat(200)).is_ok());
        assert!(TenantName::parse(&"é".repeat(201)).is_err());
        assert!(TenantName::parse("ab").is_err());
        assert!(TenantName::parse("   ").is_err());
    }

    #[test]
    fn plans_are_case_sensitive_and_name_the_allowed_ones() {
        assert_eq!(Plan::parse("Premium").unwrap(), Plan::Premium);
        let err = Plan::parse("premium").unwrap_err();
        assert_eq!(err.title(), Some("Invalid Plan"));
        assert_eq!(err.public_message(), "Plan 'premium' is not allowed. Allowed plans: Basic, Premium, Enterprise");
    }

    #[test]
    fn database_names_replace_hyphens() {
        assert_eq!(Slug::parse("acme-eu").unwrap().db_name().as_str(), "ecom_tenant_acme_eu");
        assert!(DbName::parse("ecom_tenant_acme_eu").is_ok());
        assert!(DbName::parse("other_table").is_err());
        assert!(DbName::parse("ecom_tenant_../x").is_err());
    }
}
