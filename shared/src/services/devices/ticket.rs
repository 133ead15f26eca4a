//! The SSE stream's auth ticket (issue 10, "SSE"): a browser's `EventSource` cannot send
//! `X-API-Key`, so a `devices:read` key first asks `POST
//! /api/v1/provisioning/batch/events/ticket` for a short-lived token and puts it in the
//! stream's query (`?ticket=`).
//!
//! Format: `dt1.<base64url(claims JSON)>.<base64url(HMAC-SHA256)>`, MACed by the deployment's
//! [`MacKey`] (KMS `HMAC_256` in AWS, the key file locally; the key never leaves custody) over
//! [`DOMAIN`] followed by the first two parts, so no other token MACed by the same key (seed
//! 003's confirm JWTs) can pass for a ticket. Claims: `sid` (the one session the ticket may
//! read; absent = the unfiltered stream, which also covers every single session), `kid` (the
//! API key that asked), `iat`, `exp`, `jti`. Valid for [`TTL_SECS`] at most; checked when a
//! stream opens (an open stream is bounded by its own lifetime).

use crate::error::{Error, Result};
use crate::ports::MacKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// A ticket's lifetime, as the issue asks: 60 s.
pub const TTL_SECS: i64 = 60;
/// The version prefix of every ticket.
pub const PREFIX: &str = "dt1";
/// The MAC's domain separation label.
pub const DOMAIN: &str = "trustplane/device-events-ticket/v1\n";
const MAX_TICKET_BYTES: usize = 1024;

/// What a ticket says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    /// The session the ticket is bound to; `None` for the unfiltered stream.
    #[serde(default, rename = "sid", skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The id of the API key the ticket was issued to (for audit).
    #[serde(rename = "kid")]
    pub key_id: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl TicketClaims {
    /// Whether the ticket may read the stream of `session` (`None`: the unfiltered stream).
    /// A session-bound ticket reads its session only; an unbound one reads any.
    pub fn permits(&self, session: Option<&str>) -> bool {
        match (&self.session_id, session) {
            (None, _) => true,
            (Some(bound), Some(asked)) => bound == asked,
            (Some(_), None) => false,
        }
    }
}

/// A fresh ticket and when it expires (unix seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub token: String,
    pub expires_at: i64,
    pub expires_in: i64,
}

/// The 401 every unusable ticket gets (no detail on which check failed).
pub fn invalid_ticket() -> Error {
    Error::Unauthorized("the stream ticket is invalid or has expired".into())
}

/// Issues a ticket for `key_id`, bound to `session` when given, valid `ttl_secs` (1..=60)
/// from unix time `now`.
pub async fn issue(key: &dyn MacKey, key_id: &str, session: Option<&str>, now: i64, ttl_secs: i64) -> Result<Ticket> {
    let ttl = ttl_secs.clamp(1, TTL_SECS);
    let claims = TicketClaims {
        session_id: session.map(str::to_owned),
        key_id: key_id.to_owned(),
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::new_v4().simple().to_string(),
    };
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).map_err(Error::internal)?);
    let signed = format!("{PREFIX}.{body}");
    let tag = key.mac(format!("{DOMAIN}{signed}").as_bytes()).await?;
    Ok(Ticket { token: format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag)), expires_at: claims.exp, expires_in: ttl })
}

/// Verifies `token` at unix time `now`: shape, MAC (in custody, constant time), lifetime.
/// Every failure is [`invalid_ticket`]; the caller then checks [`TicketClaims::permits`].
pub async fn verify(key: &dyn MacKey, token: &str, now: i64) -> Result<TicketClaims> {
    if token.len() > MAX_TICKET_BYTES {
        return Err(invalid_ticket());
    }
    let mut parts = token.split('.');
    let (Some(PREFIX), Some(body), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(invalid_ticket());
    };
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid_ticket())?;
    let signed = &token[..PREFIX.len() + 1 + body.len()];
    if tag.len() != 32 || body.is_empty() || !key.verify(format!("{DOMAIN}{signed}").as_bytes(), &tag).await? {
        return Err(invalid_ticket());
    }
    let claims: TicketClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid_ticket())?).map_err(|_| invalid_ticket())?;
    let live = claims.iat <= now && now < claims.exp && claims.exp - claims.iat <= TTL_SECS;
    if live {
        Ok(claims)
    } else {
        Err(invalid_ticket())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::KeyFileMac;

    fn mac_key() -> (KeyFileMac, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (KeyFileMac::open(&dir.path().join("k")).unwrap(), dir)
    }

    #[tokio::test]
    async fn a_ticket_verifies_until_exactly_its_expiry_and_any_tampered_byte_is_refused() {
        let (key, _dir) = mac_key();
        let t = issue(&key, "k1", Some("s1"), 1000, TTL_SECS).await.unwrap();
        assert_eq!((t.expires_at, t.expires_in), (1060, 60));
        let claims = verify(&key, &t.token, 1000).await.unwrap();
        assert_eq!((claims.session_id.as_deref(), claims.key_id.as_str()), (Some("s1"), "k1"));
        assert!(verify(&key, &t.token, 1059).await.is_ok());
        assert!(verify(&key, &t.token, 1060).await.is_err());
        assert!(verify(&key, &t.token, 999).await.is_err(), "not before it was issued");
        for i in 0..t.token.len() {
            let mut bytes = t.token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != t.token {
                assert!(verify(&key, &tampered, 1000).await.is_err(), "byte {i}");
            }
        }
    }

    #[tokio::test]
    async fn a_ticket_lives_at_most_sixty_seconds_and_one_maced_by_another_key_or_without_the_label_is_refused() {
        let (key, _dir) = mac_key();
        let long = issue(&key, "k1", None, 1000, 3600).await.unwrap();
        assert_eq!((long.expires_in, long.expires_at), (60, 1060));
        let (other, _other_dir) = mac_key();
        assert!(verify(&other, &long.token, 1000).await.is_err());
        let signed = long.token.rsplit_once('.').unwrap().0.to_owned();
        let unlabelled = URL_SAFE_NO_PAD.encode(key.mac(signed.as_bytes()).await.unwrap());
        assert!(verify(&key, &format!("{signed}.{unlabelled}"), 1000).await.is_err());
        let labelled = URL_SAFE_NO_PAD.encode(key.mac(format!("{DOMAIN}{signed}").as_bytes()).await.unwrap());
        assert!(verify(&key, &format!("{signed}.{labelled}"), 1000).await.is_ok());
    }

    #[test]
    fn a_session_bound_ticket_permits_its_session_only_and_an_unbound_one_permits_any() {
        let bound = TicketClaims { session_id: Some("a".into()), key_id: "k".into(), iat: 0, exp: 60, jti: "j".into() };
        assert!(bound.permits(Some("a")));
        assert!(!bound.permits(Some("b")));
        assert!(!bound.permits(None));
        let unbound = TicketClaims { session_id: None, ..bound };
        assert!(unbound.permits(None) && unbound.permits(Some("b")));
    }
}
