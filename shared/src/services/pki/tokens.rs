//! Client tokens of authority creation: `AUTHTOKEN#<token>` / `TOKEN` holds the id the token
//! stands for and a fingerprint of its request, claimed before any custody key exists, so a
//! retried `POST /authorities` answers the authority the first attempt created instead of
//! creating a second one (and a second key).

use super::records::decode;
use super::{new_id, now, Pki};
use crate::error::{Error, Result};
use crate::ports::{Condition, Item};
use super::records::AuthorityRecord;
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// How long an unfinished claim is presumed in progress; past it a retry takes over with a
/// fresh id (the failed attempt's key, if any, was tagged orphan).
const IN_PROGRESS_SECONDS: i64 = 120;
const MAX_TOKEN: usize = 64;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRecord {
    authority_id: String,
    fingerprint: String,
    claimed_at: i64,
}

/// What a client token stands for.
pub(crate) enum Claimed {
    /// The authority an earlier request with the token created.
    Existing(Box<AuthorityRecord>),
    /// The id this request creates the authority under.
    Id(String),
}

fn pk(token: &str) -> String {
    format!("AUTHTOKEN#{token}")
}

/// Checks a client token: 1..=64 characters of `[A-Za-z0-9._:-]`.
pub fn check_token(token: &str) -> Result<()> {
    let ok = (1..=MAX_TOKEN).contains(&token.len()) && token.chars().all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c));
    ok.then_some(()).ok_or_else(|| Error::validation(format!("clientToken must be 1 to {MAX_TOKEN} characters of letters, digits, '.', '_', ':' and '-'")))
}

fn token_item(token: &str, record: &TokenRecord, version: u64) -> Result<Item> {
    let mut item = super::records::item(pk(token), "TOKEN", None, record)?;
    item.version = version;
    Ok(item)
}

impl Pki {
    /// Claims `token` for a request whose fingerprint is `request` (any stable rendering of
    /// it). 409 if the token was used for a different request, or its first request is still
    /// in progress.
    pub(crate) async fn claim_token(&self, token: &str, request: &impl std::fmt::Debug) -> Result<Claimed> {
        check_token(token)?;
        let fingerprint = hex::encode(sha2::Sha256::digest(format!("{request:?}").as_bytes()));
        let fresh = TokenRecord { authority_id: new_id(), fingerprint, claimed_at: now().unix_timestamp() };
        match self.ports.store.put(token_item(token, &fresh, 1)?, Condition::Absent).await {
            Ok(()) => return Ok(Claimed::Id(fresh.authority_id)),
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let stored = self.ports.store.get(&pk(token), "TOKEN").await?.ok_or_else(|| Error::Unavailable("the clientToken changed meanwhile; retry".into()))?;
        let claim: TokenRecord = decode(&stored)?;
        if claim.fingerprint != fresh.fingerprint {
            return Err(Error::Conflict("clientToken was already used for a different request".into()));
        }
        if let Some(record) = self.find_authority(&claim.authority_id).await? {
            return Ok(Claimed::Existing(Box::new(record)));
        }
        if fresh.claimed_at - claim.claimed_at < IN_PROGRESS_SECONDS {
            return Err(Error::Conflict("a request with this clientToken is in progress; retry later".into()));
        }
        match self.ports.store.put(token_item(token, &fresh, stored.version + 1)?, Condition::Version(stored.version)).await {
            Ok(()) => Ok(Claimed::Id(fresh.authority_id)),
            Err(Error::Conflict(_)) => Err(Error::Conflict("a request with this clientToken is in progress; retry later".into())),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_are_short_and_plain() {
        assert!(check_token("create-root-2026:01").is_ok());
        for bad in ["", "a b", "ü", &"x".repeat(65)] {
            assert!(check_token(bad).is_err(), "{bad:?}");
        }
    }
}
