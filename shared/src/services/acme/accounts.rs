//! Accounts (RFC 8555 §7.3): creation with an external account binding, lookup by key
//! (`onlyReturnExisting`), contact updates, deactivation (§7.3.6) and key rollover (§7.3.5).
//! An account key serves one account per authority: a pointer item keyed by its thumbprint,
//! written with the account in one transaction, makes two creations with one key one account.

use super::auth::account_key;
use super::jws::{AccountKey, KeyRef, SignedRequest};
use super::problem::{problem, ProblemType};
use super::records::{item, AccountRecord, AccountStatus};
use super::{Acme, Urls};
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Write};
use serde::Deserialize;
use serde_json::Value;

const MAX_CONTACTS: usize = 10;

/// The newAccount payload (RFC 8555 §7.3).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAccount {
    #[serde(default)]
    contact: Vec<String>,
    #[serde(default)]
    only_return_existing: bool,
    external_account_binding: Option<Value>,
}

/// An account update (RFC 8555 §7.3.2, §7.3.6); `{}` changes nothing.
#[derive(Debug, Deserialize)]
struct AccountUpdate {
    contact: Option<Vec<String>>,
    status: Option<String>,
}

/// The keyChange inner payload (RFC 8555 §7.3.5).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyChange {
    account: String,
    old_key: Value,
}

/// What a keyChange did.
#[derive(Clone, Debug)]
pub enum KeyChangeOutcome {
    /// The account now has the new key.
    Changed(AccountRecord),
    /// Another account of this server holds the new key (RFC 8555 §7.3.5: 409 with its URL).
    KeyInUse { account_id: String },
}

fn key_pointer(authority_id: &str, thumbprint: &str) -> String {
    format!("ACMEJWK#{authority_id}#{thumbprint}")
}

/// `mailto:` contacts only (RFC 8555 §7.3), one address each, no header fields.
fn checked_contacts(contact: Vec<String>) -> Result<Vec<String>> {
    if contact.len() > MAX_CONTACTS {
        return Err(problem(ProblemType::InvalidContact, format!("at most {MAX_CONTACTS} contacts")));
    }
    for uri in &contact {
        let address = uri.strip_prefix("mailto:").ok_or_else(|| problem(ProblemType::UnsupportedContact, "only mailto: contacts are supported"))?;
        let (local, domain) = address.split_once('@').unwrap_or(("", ""));
        let odd = |c: char| c.is_control() || c.is_whitespace() || matches!(c, ',' | '?' | '&' | '@');
        if address.len() > 254 || local.is_empty() || domain.is_empty() || local.contains(odd) || domain.contains(odd) {
            return Err(problem(ProblemType::InvalidContact, format!("{} is not one mailto: address", crate::error::echo(uri))));
        }
    }
    Ok(contact)
}

impl Acme {
    /// newAccount: the account of the `jwk` (existing: `false`), or a new one bound to the
    /// external account key the payload names (`true`).
    pub async fn new_account(&self, urls: &Urls, url: &str, jws: &SignedRequest) -> Result<(AccountRecord, bool)> {
        self.authority(urls.authority_id()).await?;
        let key = self.authenticate(urls, url, jws).await?.key()?;
        let payload: NewAccount = jws.payload()?;
        if let Some(existing) = self.account_by_key(urls.authority_id(), &key).await? {
            return Ok((existing, false));
        }
        if payload.only_return_existing {
            return Err(problem(ProblemType::AccountDoesNotExist, "no account has this key"));
        }
        let contact = checked_contacts(payload.contact)?;
        let id = crate::services::pki::new_id();
        let eab_required = self.policy(urls.authority_id()).await?.eab_required;
        let mut writes = match (payload.external_account_binding, eab_required) {
            (Some(binding), _) => vec![self.check_binding(urls, &binding, &key, &id).await?],
            (None, true) => return Err(problem(ProblemType::ExternalAccountRequired, "this server requires an external account binding (an EAB key from the operator)")),
            (None, false) => Vec::new(),
        };
        let eab_key_id = writes.first().and_then(|w| if let Write::Put { item, .. } = w { item.data["keyId"].as_str().map(str::to_owned) } else { None });
        let authority_id = urls.authority_id().to_owned();
        let record = AccountRecord { id, authority_id, status: AccountStatus::Valid, contact, jwk: key.value().clone(), thumbprint: key.thumbprint().to_owned(), eab_key_id, created_at: crate::clock::now() };
        writes.extend(self.account_writes(&record)?);
        match self.ports.store.transact(writes).await {
            Ok(()) => Ok((record, true)),
            Err(Error::Conflict(_)) => match self.account_by_key(urls.authority_id(), &key).await? {
                Some(existing) => Ok((existing, false)),
                None => Err(problem(ProblemType::Unauthorized, "the EAB key was bound to another account meanwhile")),
            },
            Err(e) => Err(e),
        }
    }

    fn account_writes(&self, record: &AccountRecord) -> Result<Vec<Write>> {
        let mut account = item(account_key(&record.id), "ACCT", Some((format!("ACMEACCTS#{}", record.authority_id), record.id.clone())), record)?;
        account.state = Some("valid".into());
        let pointer = item(key_pointer(&record.authority_id, &record.thumbprint), "JWK", None, &serde_json::json!({ "accountId": record.id }))?;
        Ok(vec![Write::Put { item: account, condition: Condition::Absent }, Write::Put { item: pointer, condition: Condition::Absent }])
    }

    /// The account `key` belongs to on this server; a deactivated one is `unauthorized`.
    async fn account_by_key(&self, authority_id: &str, key: &AccountKey) -> Result<Option<AccountRecord>> {
        let Some(pointer) = self.ports.store.get(&key_pointer(authority_id, key.thumbprint()), "JWK").await? else { return Ok(None) };
        let id = pointer.data["accountId"].as_str().unwrap_or_default();
        let account = self.find_account(id).await?.ok_or_else(|| Error::internal(format!("account key pointer names a missing account {id}")))?;
        if account.status != AccountStatus::Valid {
            return Err(problem(ProblemType::Unauthorized, "the account of this key is deactivated"));
        }
        Ok(Some(account))
    }

    /// POST to an account URL: POST-as-GET or `{}` reads it; `contact` replaces the contacts;
    /// `status: deactivated` deactivates it for good (RFC 8555 §7.3.6).
    pub async fn update_account(&self, urls: &Urls, url: &str, jws: &SignedRequest, id: &str) -> Result<AccountRecord> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let stored = self.own_account_item(&account, id).await?;
        if jws.is_post_as_get() {
            return Ok(account);
        }
        let update: AccountUpdate = jws.payload()?;
        let mut record = account;
        match update.status.as_deref() {
            None => {}
            Some("deactivated") => record.status = AccountStatus::Deactivated,
            Some(_) => return Err(problem(ProblemType::Malformed, "an account's status may only change to deactivated")),
        }
        if let Some(contact) = update.contact {
            record.contact = checked_contacts(contact)?;
        }
        self.replace_account(&stored, &record, Vec::new()).await?;
        Ok(record)
    }

    async fn replace_account(&self, stored: &Item, record: &AccountRecord, mut writes: Vec<Write>) -> Result<()> {
        let mut updated = item(stored.pk.clone(), "ACCT", stored.gsi1.clone().map(|g| (g.pk, g.sk)), record)?;
        updated.state = Some(if record.status == AccountStatus::Valid { "valid" } else { "deactivated" }.into());
        updated.version = stored.version + 1;
        writes.push(Write::Put { item: updated, condition: Condition::Version(stored.version) });
        self.ports.store.transact(writes).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict("the account changed meanwhile; retry".into()).with_code(ProblemType::Malformed.code()),
            other => other,
        })
    }

    /// keyChange (RFC 8555 §7.3.5): the account signing the outer JWS moves to the key of the
    /// inner one. A key another account holds is 409 with that account's URL.
    pub async fn key_change(&self, urls: &Urls, url: &str, jws: &SignedRequest) -> Result<KeyChangeOutcome> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let inner: SignedRequest = SignedRequest::parse(jws.payload::<Value>()?.to_string().as_bytes())?;
        let header = inner.header()?;
        let KeyRef::Jwk(new_key) = header.key else { return Err(problem(ProblemType::Malformed, "the inner JWS must carry the new key as jwk")) };
        inner.verify(&new_key, header.alg)?;
        let change: KeyChange = inner.payload()?;
        if header.url != url || change.account != urls.account(&account.id) {
            return Err(problem(ProblemType::Malformed, "the inner JWS must have the outer url and name the signing account"));
        }
        if AccountKey::parse(&change.old_key)?.thumbprint() != account.thumbprint {
            return Err(problem(ProblemType::Malformed, "oldKey is not the account's current key"));
        }
        if let Some(holder) = self.ports.store.get(&key_pointer(&account.authority_id, new_key.thumbprint()), "JWK").await? {
            return Ok(KeyChangeOutcome::KeyInUse { account_id: holder.data["accountId"].as_str().unwrap_or_default().to_owned() });
        }
        let stored = self.own_account_item(&account, &account.id.clone()).await?;
        let old_pointer = key_pointer(&account.authority_id, &account.thumbprint);
        let record = AccountRecord { jwk: new_key.value().clone(), thumbprint: new_key.thumbprint().to_owned(), ..account };
        let pointer = item(key_pointer(&record.authority_id, &record.thumbprint), "JWK", None, &serde_json::json!({ "accountId": record.id }))?;
        let writes = vec![Write::Delete { pk: old_pointer, sk: "JWK".into(), condition: Condition::Exists }, Write::Put { item: pointer, condition: Condition::Absent }];
        self.replace_account(&stored, &record, writes).await?;
        Ok(KeyChangeOutcome::Changed(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_single_mailto_addresses() {
        assert!(checked_contacts(vec!["mailto:ops@example.com".into()]).is_ok());
        assert_eq!(checked_contacts(vec!["tel:+1555".into()]).unwrap_err().code(), Some("unsupportedContact"));
        for bad in ["mailto:", "mailto:a@b,c@d", "mailto:a@b?subject=x", "mailto:a b@c", "mailto:nobody"] {
            assert_eq!(checked_contacts(vec![bad.into()]).unwrap_err().code(), Some("invalidContact"), "{bad}");
        }
    }
}
