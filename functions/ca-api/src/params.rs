//! List query parameters, which the seed leaves loose: unknown ones are ignored (as the
//! seed's server does); repeated or out-of-range known ones are 400 `VALIDATION_FAILED`.

use std::collections::HashMap;
use trustplane_core::domain::{whole_number, Certname};
use trustplane_core::services::pki::Channel;
use trustplane_core::services::puppet_ca::{CertQuery, CertSort, CsrState, Pattern, RequestQuery, RequestSort, SortOrder, Window};
use trustplane_core::{Error, Result};

/// Seed 001 `GET /api/v1/ca/requests` parameters.
pub const REQUEST_PARAMS: &[&str] = &["limit", "offset", "certname", "search", "status", "sort_by", "sort_order"];
/// Seed 001 `GET /api/v1/ca/certificates` parameters.
pub const CERTIFICATE_PARAMS: &[&str] = &["limit", "offset", "certname", "search", "status", "sort_by", "sort_order", "channel"];
/// `GET` and `DELETE /api/v1/ca/certificates/{certname}` parameters.
pub const NAMED_CERTIFICATE_PARAMS: &[&str] = &["channel"];
/// The channels the CA's admin routes tell apart.
const ADMIN_CHANNELS: [Channel; 3] = [Channel::Pki, Channel::Agent, Channel::Puppet];

/// Parses an admin `channel`: `pki`, `agent` or `puppet`, else 400 `VALIDATION_FAILED`.
pub fn admin_channel(raw: &str) -> Result<Channel> {
    ADMIN_CHANNELS
        .into_iter()
        .find(|c| c.as_str() == raw)
        .ok_or_else(|| Error::validation(format!("channel must be pki, agent or puppet, not {}", trustplane_core::error::echo(raw))))
}

/// Query parameters, each known to the endpoint and given at most once.
pub struct Params(HashMap<String, String>);

impl Params {
    /// Keeps the endpoint's `allowed` names of `pairs`, dropping the others.
    pub fn new(pairs: Vec<(String, String)>, allowed: &[&str]) -> Result<Self> {
        let mut map = HashMap::new();
        for (name, value) in pairs.into_iter().filter(|(name, _)| allowed.contains(&name.as_str())) {
            if map.insert(name.clone(), value).is_some() {
                return Err(Error::validation(format!("query parameter {name} is given more than once")));
            }
        }
        Ok(Params(map))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn number(&self, name: &str) -> Result<Option<u64>> {
        self.get(name).map(|raw| whole_number(name, raw)).transpose()
    }

    fn window(&self) -> Result<Window> {
        Window::new(self.number("limit")?, self.number("offset")?)
    }

    fn pattern(&self, name: &str) -> Result<Option<Pattern>> {
        self.get(name).map(|raw| Pattern::parse(name, raw)).transpose()
    }

    fn order(&self) -> Result<SortOrder> {
        self.get("sort_order").map(SortOrder::parse).transpose().map(Option::unwrap_or_default)
    }

    /// The `channel` the certificates are chosen from, if given.
    pub fn channel(&self) -> Result<Option<Channel>> {
        self.get("channel").map(admin_channel).transpose()
    }

    /// Seed 001 requests: `certname` is a pattern (glob or substring), like `search`;
    /// `status` pending (default), signed or rejected; `sort_by` certname or request_time.
    pub fn request_query(&self) -> Result<RequestQuery> {
        Ok(RequestQuery {
            status: self.get("status").map(CsrState::parse).transpose()?.unwrap_or_default(),
            certname: self.pattern("certname")?,
            search: self.pattern("search")?,
            sort: self.get("sort_by").map(RequestSort::parse).transpose()?.unwrap_or_default(),
            order: self.order()?,
            window: self.window()?,
        })
    }

    /// Seed 001 certificates: `certname` exact, `search` a pattern, `status` valid, expired
    /// or revoked, `sort_by` certname (default), not_after or not_before.
    pub fn certificate_query(&self) -> Result<CertQuery> {
        Ok(CertQuery {
            certname: self.get("certname").map(Certname::parse).transpose()?,
            search: self.pattern("search")?,
            status: self.get("status").map(CertQuery::parse_status).transpose()?,
            sort: self.get("sort_by").map(CertSort::parse).transpose()?.unwrap_or_default(),
            order: self.order()?,
            window: self.window()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Result<Params> {
        Params::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), CERTIFICATE_PARAMS)
    }

    #[test]
    fn unknown_parameters_are_ignored_and_repeated_or_out_of_range_ones_refused() {
        assert!(params(&[("colour", "red")]).unwrap().certificate_query().is_ok());
        assert!(params(&[("limit", "5"), ("limit", "6")]).is_err());
        for (name, value) in [("limit", "0"), ("limit", "1001"), ("limit", "+5"), ("offset", "-1"), ("offset", "+0"), ("status", "VALID"), ("sort_by", "serial"), ("sort_order", "up"), ("certname", "Bad")] {
            assert!(params(&[(name, value)]).unwrap().certificate_query().is_err(), "{name}={value}");
        }
        let query = params(&[("limit", "1000"), ("status", "revoked"), ("sort_by", "not_after"), ("sort_order", "desc")]).unwrap().certificate_query().unwrap();
        assert_eq!((query.window.limit, query.sort, query.order), (1000, CertSort::NotAfter, SortOrder::Desc));
    }
}
