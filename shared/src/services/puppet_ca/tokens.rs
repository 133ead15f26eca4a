//! Policy autosign, as Puppet does it: one-time challenge passwords minted by
//! `POST /api/v1/ca/autosign-tokens` and carried in a CSR's PKCS#9 `challengePassword`
//! attribute (RFC 2985 §5.4.1, OID 1.2.840.113549.1.9.7).
//!
//! | entity | PK | SK | state |
//! | --- | --- | --- | --- |
//! | autosign token ([`AutosignToken`]) | `CSRTOKEN#<sha256 hex of the secret>` | `TOKEN` | `unused` \| `claimed` \| `used` |
//!
//! Only the SHA-256 of the secret is stored; the item expires with the token (store TTL).
//! Exactly once, as provision keys: a conditional claim (`unused` → `claimed`, with a lease),
//! then the certificate and the token's `used` state in one transaction conditioned on the
//! claim; a failed signing releases the claim.

use super::listing::Pattern;
use super::{now, PuppetCa};
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Write};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::prelude::FromDer;

const SK: &str = "TOKEN";
const UNUSED: &str = "unused";
const CLAIMED: &str = "claimed";
const USED: &str = "used";
/// How long a claim holds a token if its signer dies.
const CLAIM_SECONDS: i64 = 60;
/// The longest token lifetime: 30 days.
pub const MAX_TOKEN_TTL_SECONDS: u64 = 30 * 86_400;

/// A minted token (the item's `data`); the secret itself is never stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutosignToken {
    pub id: String,
    /// The certnames it may sign (a glob or substring, as list filters); any when `None`.
    pub certname_pattern: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The API key id that minted it.
    pub created_by: String,
    /// Until when the signer that claimed it holds it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub claim_until: Option<OffsetDateTime>,
}

/// A token's lifetime: 1 second to 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenTtl(Duration);

impl TokenTtl {
    /// Parses `ttl_seconds`.
    pub fn new(seconds: u64) -> Result<Self> {
        if !(1..=MAX_TOKEN_TTL_SECONDS).contains(&seconds) {
            return Err(Error::validation(format!("ttl_seconds must be between 1 and {MAX_TOKEN_TTL_SECONDS}")));
        }
        Ok(TokenTtl(Duration::seconds(seconds as i64)))
    }
}

fn token_pk(secret: &str) -> String {
    use sha2::Digest;
    format!("CSRTOKEN#{}", hex::encode(sha2::Sha256::digest(secret.as_bytes())))
}

/// The PKCS#9 `challengePassword` of a CSR, PEM; `None` when absent or unreadable.
pub fn challenge_password(csr_pem: &str) -> Option<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(csr_pem.trim_start().as_bytes()).ok()?;
    let (_, csr) = X509CertificationRequest::from_der(&pem.contents).ok()?;
    let password = csr.certification_request_info.iter_attributes().find_map(|a| match a.parsed_attribute() {
        ParsedCriAttribute::ChallengePassword(p) => Some(p.0.clone()),
        _ => None,
    });
    password
}

impl PuppetCa {
    /// Mints a one-time autosign token; returns it and its secret, which is shown only here.
    pub async fn mint_autosign_token(&self, certname_pattern: Option<Pattern>, ttl: TokenTtl, actor: &str) -> Result<(AutosignToken, String)> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("cat_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let created_at = now();
        let token = AutosignToken {
            id: uuid::Uuid::now_v7().to_string(),
            certname_pattern: certname_pattern.map(|p| p.as_str().to_owned()),
            created_at,
            expires_at: created_at + ttl.0,
            created_by: actor.to_owned(),
            claim_until: None,
        };
        let mut item = Item::new(token_pk(&secret), SK, serde_json::to_value(&token).map_err(Error::internal)?);
        item.state = Some(UNUSED.into());
        item.expires_at = Some(token.expires_at.unix_timestamp());
        self.ports.store.put(item, Condition::Absent).await?;
        Ok((token, secret))
    }

    /// Claims the token `secret` for `certname` if it is unused (or its claim lapsed),
    /// unexpired and allows `certname`: a write conditioned on the version read, so one of
    /// any number of concurrent claims wins. `None` for a token that cannot be used.
    pub(super) async fn claim_token(&self, secret: &str, certname: &str) -> Result<Option<TokenClaim>> {
        let Some(mut item) = self.ports.store.get(&token_pk(secret), SK).await? else { return Ok(None) };
        let mut token: AutosignToken = serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("corrupt autosign token: {e}")))?;
        let allowed = token.certname_pattern.as_deref().is_none_or(|p| Pattern::parse("certname_pattern", p).is_ok_and(|p| p.matches(certname)));
        let now = now();
        let free = match item.state.as_deref() {
            Some(UNUSED) => true,
            Some(CLAIMED) => token.claim_until.is_none_or(|until| until <= now),
            _ => false,
        };
        if !free || token.expires_at <= now || !allowed {
            return Ok(None);
        }
        token.claim_until = Some(now + Duration::seconds(CLAIM_SECONDS));
        let condition = Condition::Version(item.version);
        item.version += 1;
        item.state = Some(CLAIMED.into());
        item.data = serde_json::to_value(&token).map_err(Error::internal)?;
        match self.ports.store.put(item.clone(), condition).await {
            Ok(()) => Ok(Some(TokenClaim(item))),
            Err(Error::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Frees a claim whose signing failed, so the token can still be used.
    pub(super) async fn release_token(&self, claim: TokenClaim) {
        let mut item = claim.0;
        let condition = Condition::Version(item.version);
        item.version += 1;
        item.state = Some(UNUSED.into());
        if let Err(e) = self.ports.store.put(item, condition).await {
            tracing::warn!(error = %e, "could not release an autosign token claim; it lapses by itself");
        }
    }
}

/// A token this caller claimed; [`TokenClaim::spend`] is the write that uses it up.
#[derive(Debug)]
pub(super) struct TokenClaim(Item);

impl TokenClaim {
    /// The write, for the signing transaction, that marks the token used if the claim holds.
    pub(super) fn spend(&self) -> Write {
        let mut item = self.0.clone();
        let condition = Condition::Version(item.version);
        item.version += 1;
        item.state = Some(USED.into());
        Write::Put { item, condition }
    }
}
