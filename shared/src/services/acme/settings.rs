//! The ACME server's settings, read once at start (names as in `template.yaml`).

use crate::error::{Error, Result};

/// How every authority's ACME server behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeSettings {
    /// `ACME_HTTP01_PORT` (default 80, RFC 8555 §8.3): where `http-01` responses are fetched,
    /// by the job queue's worker (`serve`, or the worker function on AWS).
    pub http01_port: u16,
    /// `ACME_EAB_REQUIRED` (default true): new accounts need an external account binding
    /// (RFC 8555 §7.3.4) minted through the admin API.
    pub eab_required: bool,
    /// `ACME_CERT_VALIDITY_DAYS` (default 90, 1–3650): validity of issued certificates, clipped
    /// to the authority's policy and to end a minute before the authority's own certificate.
    pub validity_days: u32,
    /// `PUBLIC_BASE_URL` when set: the base of every ACME URL. Unset, a Lambda function uses
    /// the domain API Gateway was called on, and `serve` its configured default.
    pub public_base_url: Option<String>,
}

impl Default for AcmeSettings {
    fn default() -> Self {
        AcmeSettings { http01_port: 80, eab_required: true, validity_days: 90, public_base_url: None }
    }
}

impl AcmeSettings {
    /// The settings from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from `get` (a variable's value by name); a bad value is an error naming it.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let defaults = AcmeSettings::default();
        let value = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let bad = |name: &str, want: &str| Error::validation(format!("{name} must be {want}"));
        let http01_port = match value("ACME_HTTP01_PORT") {
            Some(v) => v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| bad("ACME_HTTP01_PORT", "a port number (1-65535)"))?,
            None => defaults.http01_port,
        };
        let eab_required = match value("ACME_EAB_REQUIRED").as_deref() {
            Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(bad("ACME_EAB_REQUIRED", "true or false")),
            None => defaults.eab_required,
        };
        let validity_days = match value("ACME_CERT_VALIDITY_DAYS") {
            Some(v) => v.parse::<u32>().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| bad("ACME_CERT_VALIDITY_DAYS", "a number of days (1-3650)"))?,
            None => defaults.validity_days,
        };
        let public_base_url = value("PUBLIC_BASE_URL").map(|v| v.trim_end_matches('/').to_owned());
        Ok(AcmeSettings { http01_port, eab_required, validity_days, public_base_url })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_variables_take_the_defaults_and_bad_values_are_refused_by_name() {
        assert_eq!(AcmeSettings::from_lookup(|_| None).unwrap(), AcmeSettings::default());
        let set = |n: &'static str, v: &'static str| move |name: &str| (name == n).then(|| v.to_owned());
        assert_eq!(AcmeSettings::from_lookup(set("ACME_HTTP01_PORT", "5002")).unwrap().http01_port, 5002);
        assert!(!AcmeSettings::from_lookup(set("ACME_EAB_REQUIRED", "false")).unwrap().eab_required);
        for (name, value) in [("ACME_HTTP01_PORT", "0"), ("ACME_HTTP01_PORT", "x"), ("ACME_EAB_REQUIRED", "yes"), ("ACME_CERT_VALIDITY_DAYS", "3651")] {
            let err = AcmeSettings::from_lookup(set(name, value)).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
