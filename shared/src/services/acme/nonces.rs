//! Anti-replay nonces (RFC 8555 §6.5): 128 random bits, base64url, stored with a one-hour
//! TTL and consumed by a conditional delete, so a nonce is accepted at most once even when
//! two requests carrying it race.

use super::problem::{problem, ProblemType};
use super::Acme;
use crate::error::{Error, Result};
use crate::ports::{Condition, Item};

/// How long an issued nonce stays usable.
const NONCE_TTL_SECONDS: i64 = 3600;

fn key(nonce: &str) -> String {
    format!("ACMENONCE#{nonce}")
}

impl Acme {
    /// A fresh nonce, stored until used or expired (the `Replay-Nonce` of every response).
    pub async fn new_nonce(&self) -> Result<String> {
        let nonce = super::random_b64(16);
        let mut item = Item::new(key(&nonce), "NONCE", serde_json::json!({}));
        item.expires_at = Some(crate::clock::now().unix_timestamp() + NONCE_TTL_SECONDS);
        self.ports.store.put(item, Condition::Absent).await?;
        Ok(nonce)
    }

    /// Uses `nonce` up: `badNonce` if it was never issued, has expired or was used already.
    pub(crate) async fn consume_nonce(&self, nonce: Option<&str>) -> Result<()> {
        let nonce = nonce.ok_or_else(|| problem(ProblemType::BadNonce, "the protected header has no nonce"))?;
        let well_formed = (1..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(problem(ProblemType::BadNonce, "the nonce is not base64url"));
        }
        match self.ports.store.delete(&key(nonce), "NONCE", Condition::Exists).await {
            Ok(()) => Ok(()),
            Err(Error::Conflict(_)) => Err(problem(ProblemType::BadNonce, "the nonce is unknown, expired or already used")),
            Err(other) => Err(other),
        }
    }
}
