//! Who signed a request (RFC 8555 §6.2–§6.5): the JWS `url` must be the URL the request was
//! sent to, the key is the `jwk` given or the key of the account `kid` names, the signature
//! must verify with it, and only then is the nonce used up, so a forged request burns no nonce.

use super::jws::{AccountKey, KeyRef, SignedRequest};
use super::problem::{not_found, problem, ProblemType};
use super::records::{decode, AccountRecord, AccountStatus};
use super::{Acme, Urls};
use crate::error::Result;
use crate::ports::Item;

/// The verified signer of a request.
#[derive(Clone, Debug)]
pub(crate) enum Signer {
    /// A request with a `jwk` (newAccount, revocation by certificate key).
    Key(AccountKey),
    /// A request with a `kid`: a valid account of this server and its key.
    Account(AccountRecord, AccountKey),
}

impl Signer {
    /// The account, for requests that must name one by `kid`.
    pub(crate) fn account(self) -> Result<AccountRecord> {
        match self {
            Signer::Account(account, _) => Ok(account),
            Signer::Key(_) => Err(problem(ProblemType::Malformed, "this request must name its account with kid, not jwk")),
        }
    }

    /// The key, for requests that must carry one as `jwk` (RFC 8555 §7.3).
    pub(crate) fn key(self) -> Result<AccountKey> {
        match self {
            Signer::Key(key) => Ok(key),
            Signer::Account(..) => Err(problem(ProblemType::Malformed, "this request must carry its key as jwk, not kid")),
        }
    }
}

pub(crate) fn account_key(id: &str) -> String {
    format!("ACMEACCT#{id}")
}

impl Acme {
    /// Authenticates `jws`, sent to `url` on the server `urls` describes.
    pub(crate) async fn authenticate(&self, urls: &Urls, url: &str, jws: &SignedRequest) -> Result<Signer> {
        let header = jws.header()?;
        if header.url != url {
            return Err(problem(ProblemType::Unauthorized, "the JWS url is not the URL this request was sent to"));
        }
        let signer = match header.key {
            KeyRef::Jwk(key) => Signer::Key(*key),
            KeyRef::Kid(kid) => {
                let account = self.account_named(urls, &kid).await?;
                let key = AccountKey::parse(&account.jwk)?;
                Signer::Account(account, key)
            }
        };
        let key = match &signer {
            Signer::Key(key) | Signer::Account(_, key) => key,
        };
        jws.verify(key, header.alg)?;
        self.consume_nonce(header.nonce.as_deref()).await?;
        Ok(signer)
    }

    /// The valid account `kid` names on this server; `accountDoesNotExist` when none.
    async fn account_named(&self, urls: &Urls, kid: &str) -> Result<AccountRecord> {
        let missing = || problem(ProblemType::AccountDoesNotExist, "kid names no account of this server");
        let id = urls.account_id_of(kid).ok_or_else(missing)?;
        let account = self.find_account(id).await?.filter(|a| a.authority_id == urls.authority_id()).ok_or_else(missing)?;
        if account.status != AccountStatus::Valid {
            return Err(problem(ProblemType::Unauthorized, "the account is deactivated"));
        }
        Ok(account)
    }

    pub(crate) async fn find_account(&self, id: &str) -> Result<Option<AccountRecord>> {
        self.account_item(id).await?.as_ref().map(decode).transpose()
    }

    pub(crate) async fn account_item(&self, id: &str) -> Result<Option<Item>> {
        if id.len() > 64 {
            return Ok(None);
        }
        self.ports.store.get(&account_key(id), "ACCT").await
    }

    /// The stored account item `id` of `signer`, for an update under a version condition.
    pub(crate) async fn own_account_item(&self, account: &AccountRecord, id: &str) -> Result<Item> {
        if account.id != id {
            return Err(problem(ProblemType::Unauthorized, "a request may only change the account that signed it"));
        }
        self.account_item(id).await?.ok_or_else(|| not_found("account"))
    }
}
