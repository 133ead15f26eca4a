//! Seed 003's confirm token: an RFC 7519 JWT, HS256 (RFC 7518 §3.2), MACed by a key that never
//! leaves custody ([`MacKey`]). Header `{"alg":"HS256","typ":"JWT"}`; claims `sub`
//! (provisioningId), `slug`, `type` = `confirm_provisioning`, `jti`, `iat`, `exp`, `iss`, `aud`.
//! Verification allows no clock skew and no other `alg` (RFC 8725 §3.1).

use crate::domain::Slug;
use crate::error::{Error, Result};
use crate::ports::MacKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The seed's token type claim.
pub const TOKEN_TYPE: &str = "confirm_provisioning";
/// The seed's lifetime: 15 minutes.
pub const LIFETIME_SECONDS: i64 = 15 * 60;
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const MAX_TOKEN_BYTES: usize = 4096;

/// The claims of a confirm token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub slug: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmClaims {
    pub tenant_id: uuid::Uuid,
    pub slug: Slug,
    pub jti: uuid::Uuid,
    pub exp: i64,
}

/// The seed's 401 "Invalid Token".
pub fn invalid_token() -> Error {
    Error::Unauthorized("The confirmation token is invalid or has expired".into()).titled("Invalid Token")
}

/// Issuer and audience the tokens carry.
#[derive(Clone, Debug)]
pub struct TokenPolicy {
    pub issuer: String,
    pub audience: String,
}

/// Signs `claims` into a compact JWS through `key`.
pub async fn issue(key: &dyn MacKey, claims: &Claims) -> Result<String> {
    let payload = serde_json::to_vec(claims).map_err(Error::internal)?;
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(payload));
    let tag = key.mac(signing_input.as_bytes()).await?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
}

fn part(raw: &str) -> Result<Vec<u8>> {
    if raw.is_empty() {
        return Err(invalid_token());
    }
    URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_token())
}

/// Verifies `token` at unix time `now`: structure, `alg`, MAC (in custody, constant time),
/// then every claim. Any failure is the seed's "Invalid Token".
pub async fn verify(key: &dyn MacKey, policy: &TokenPolicy, token: &str, now: i64) -> Result<ConfirmClaims> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid_token());
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else { return Err(invalid_token()) };
    let header: Header = serde_json::from_slice(&part(header)?).map_err(|_| invalid_token())?;
    if header.alg != "HS256" || header.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
        return Err(invalid_token());
    }
    let tag = part(signature)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    if tag.len() != 32 || !key.verify(signing_input.as_bytes(), &tag).await? {
        return Err(invalid_token());
    }
    let claims: Claims = serde_json::from_slice(&part(payload)?).map_err(|_| invalid_token())?;
    check_claims(&claims, policy, now)
}

fn check_claims(claims: &Claims, policy: &TokenPolicy, now: i64) -> Result<ConfirmClaims> {
    let valid = claims.kind == TOKEN_TYPE
        && claims.iss == policy.issuer
        && claims.aud == policy.audience
        && claims.exp > now
        && claims.iat <= now
        && claims.exp - claims.iat <= LIFETIME_SECONDS;
    if !valid {
        return Err(invalid_token());
    }
    Ok(ConfirmClaims {
        tenant_id: uuid::Uuid::parse_str(&claims.sub).map_err(|_| invalid_token())?,
        slug: Slug::parse(&claims.slug).map_err(|_| invalid_token())?,
        jti: uuid::Uuid::parse_str(&claims.jti).map_err(|_| invalid_token())?,
        exp: claims.exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::KeyFileMac;

    fn policy() -> TokenPolicy {
        TokenPolicy { issuer: "ecommerce-api".into(), audience: "ecommerce-provisioning".into() }
    }

    fn claims(now: i64) -> Claims {
        Claims {
            sub: uuid::Uuid::new_v4().to_string(),
            slug: "acme".into(),
            kind: TOKEN_TYPE.into(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now + LIFETIME_SECONDS,
            iss: "ecommerce-api".into(),
            aud: "ecommerce-provisioning".into(),
        }
    }

    #[tokio::test]
    async fn a_token_verifies_until_exactly_its_expiry_and_any_tampered_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyFileMac::open(&dir.path().join("k")).unwrap();
        let token = issue(&key, &claims(1000)).await.unwrap();
        assert!(verify(&key, &policy(), &token, 1000).await.is_ok());
        assert!(verify(&key, &policy(), &token, 1000 + LIFETIME_SECONDS - 1).await.is_ok());
        assert!(verify(&key, &policy(), &token, 1000 + LIFETIME_SECONDS).await.is_err());
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != token {
                assert!(verify(&key, &policy(), &tampered, 1000).await.is_err(), "byte {i}");
            }
        }
    }

    #[tokio::test]
    async fn alg_none_wrong_type_issuer_or_audience_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyFileMac::open(&dir.path().join("k")).unwrap();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(1000)).unwrap());
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#));
        assert!(verify(&key, &policy(), &none, 1000).await.is_err());
        for change in [|c: &mut Claims| c.kind = "other".into(), |c: &mut Claims| c.iss = "x".into(), |c: &mut Claims| c.aud = "x".into()] {
            let mut c = claims(1000);
            change(&mut c);
            let token = issue(&key, &c).await.unwrap();
            assert!(verify(&key, &policy(), &token, 1000).await.is_err());
        }
    }
}
