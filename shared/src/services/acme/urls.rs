//! The URLs of one authority's ACME resources (RFC 8555 §7.1), under
//! `<base>/acme/<authorityId>/`. The JWS `url` of every request must be one of them (§6.4).

/// The resource URLs of the ACME server of `authority_id` reached at `base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Urls {
    base: String,
    authority_id: String,
}

impl Urls {
    /// `base` is scheme and authority (a trailing slash is dropped), e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str, authority_id: &str) -> Self {
        Urls { base: base.trim_end_matches('/').to_owned(), authority_id: authority_id.to_owned() }
    }

    /// The authority whose server this is.
    pub fn authority_id(&self) -> &str {
        &self.authority_id
    }

    /// The absolute URL of `path` (a request path such as `/acme/<id>/new-order`).
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn of(&self, rest: &str) -> String {
        format!("{}/acme/{}/{rest}", self.base, self.authority_id)
    }

    pub fn directory(&self) -> String {
        self.of("directory")
    }

    pub fn new_nonce(&self) -> String {
        self.of("new-nonce")
    }

    pub fn new_account(&self) -> String {
        self.of("new-account")
    }

    pub fn new_order(&self) -> String {
        self.of("new-order")
    }

    pub fn revoke_cert(&self) -> String {
        self.of("revoke-cert")
    }

    pub fn key_change(&self) -> String {
        self.of("key-change")
    }

    pub fn account(&self, id: &str) -> String {
        self.of(&format!("acct/{id}"))
    }

    pub fn orders(&self, account_id: &str) -> String {
        self.of(&format!("acct/{account_id}/orders"))
    }

    pub fn order(&self, id: &str) -> String {
        self.of(&format!("order/{id}"))
    }

    pub fn finalize(&self, order_id: &str) -> String {
        self.of(&format!("order/{order_id}/finalize"))
    }

    pub fn authz(&self, id: &str) -> String {
        self.of(&format!("authz/{id}"))
    }

    /// The `http-01` challenge of authorization `authz_id` (one challenge per authorization).
    pub fn challenge(&self, authz_id: &str) -> String {
        self.of(&format!("chall/{authz_id}"))
    }

    /// The RFC 9773 `renewalInfo` base; a certificate's is `<base>/<certID>`.
    pub fn renewal_info(&self) -> String {
        self.of("renewal-info")
    }

    pub fn certificate(&self, cert_id: &str) -> String {
        self.of(&format!("cert/{cert_id}"))
    }

    /// The account id a JWS `kid` names, if it is an account URL of this server (§6.2).
    pub fn account_id_of<'a>(&self, kid: &'a str) -> Option<&'a str> {
        let prefix = self.account("");
        kid.strip_prefix(prefix.as_str()).filter(|id| !id.is_empty() && !id.contains('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_read_back_only_from_this_servers_account_urls() {
        let urls = Urls::new("http://127.0.0.1:8080/", "a1");
        assert_eq!(urls.directory(), "http://127.0.0.1:8080/acme/a1/directory");
        assert_eq!(urls.account_id_of(&urls.account("x9")), Some("x9"));
        assert_eq!(urls.account_id_of("http://127.0.0.1:8080/acme/a2/acct/x9"), None, "another authority's account");
        assert_eq!(urls.account_id_of(&urls.orders("x9")), None);
        assert_eq!(urls.account_id_of(&urls.account("")), None);
    }
}
