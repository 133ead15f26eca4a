//! Seed 003's confirm token: an RFC 7519 JWT, HS256 (RFC 7518 §3.2), MACed by a key that never
//! leaves custody ([`MacKey`]). Header `{"alg":"HS256","typ":"JWT"}`; claims `sub`
//! (provisioningId), `slug`, `type` = `confirm_provisioning`, `jti`, `iat`, `exp`, `iss`, `aud`.
//!
//! The header is `jsonwebtoken`'s HS256 [`Header`]; the MAC is made and checked in custody
//! (KMS `GenerateMac`/`VerifyMac`, or the key file, both constant time). Once custody has
//! accepted the signing input, `jsonwebtoken::decode` validates the header (`alg` HS256 only,
//! `crit`/`b64`) and the registered claims (`exp` with no leeway, `iss`, `aud`, and `exp`,
//! `iss`, `aud`, `sub` required). `decode` checks a signature itself, with a key it holds, so
//! the accepted signing input reaches it MACed again under a random key that never leaves the
//! process ([`Handoff`]). The service's own claims (`type`, `iat`, the lifetime, the ids) are
//! checked last.

use crate::clock::now;
use crate::domain::Slug;
use crate::error::{Error, Result};
use crate::ports::MacKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The seed's token type claim.
pub const TOKEN_TYPE: &str = "confirm_provisioning";
/// The seed's lifetime: 15 minutes.
pub const LIFETIME_SECONDS: i64 = 15 * 60;
const MAX_TOKEN_BYTES: usize = 4096;
const TAG_BYTES: usize = 32;

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

/// The encoded HS256 header, its members in lexicographic order: `{"alg":"HS256","typ":"JWT"}`,
/// byte for byte the header of the seed's tokens.
fn encoded_header() -> Result<String> {
    let members: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(serde_json::to_value(Header::new(Algorithm::HS256)).map_err(Error::internal)?).map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&members).map_err(Error::internal)?))
}

/// Signs `claims` into a compact JWS through `key`.
pub async fn issue(key: &dyn MacKey, claims: &Claims) -> Result<String> {
    let payload = serde_json::to_vec(claims).map_err(Error::internal)?;
    let signing_input = format!("{}.{}", encoded_header()?, URL_SAFE_NO_PAD.encode(payload));
    let tag = key.mac(signing_input.as_bytes()).await?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

/// Verifies `token`: its shape and `alg`, the MAC in custody, then the header and registered
/// claims through `jsonwebtoken`, then the service's own claims. Any failure is the seed's
/// "Invalid Token".
pub async fn verify(key: &dyn MacKey, policy: &TokenPolicy, token: &str) -> Result<ConfirmClaims> {
    if token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
        return Err(invalid_token());
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_token())?;
    if header.alg != Algorithm::HS256 || header.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
        return Err(invalid_token());
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or_else(invalid_token)?;
    let tag = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid_token())?;
    if tag.len() != TAG_BYTES || !key.verify(signing_input.as_bytes(), &tag).await? {
        return Err(invalid_token());
    }
    let handoff = Handoff::get()?;
    let decoded = jsonwebtoken::decode::<Claims>(handoff.reseal(signing_input)?, &handoff.decoding, &validation(policy));
    let claims = decoded.map_err(|_| invalid_token())?.claims;
    check_claims(&claims, now().unix_timestamp())
}

/// What `jsonwebtoken` checks: HS256 only; `exp` strictly later than now (RFC 7519 §4.1.4:
/// the current time must be before it), no leeway; the issuer and audience of `policy`.
fn validation(policy: &TokenPolicy) -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.reject_tokens_expiring_in_less_than = 1;
    validation.set_issuer(&[&policy.issuer]);
    validation.set_audience(&[&policy.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

/// A random HMAC key that never leaves the process: the signing input custody accepted is
/// MACed under it, so that `jsonwebtoken::decode` can check a signature it holds the key to.
struct Handoff {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Handoff {
    fn get() -> Result<&'static Handoff> {
        static HANDOFF: OnceLock<std::result::Result<Handoff, String>> = OnceLock::new();
        let made = HANDOFF.get_or_init(|| {
            let mut secret = [0u8; 32];
            rand::Rng::fill(&mut rand::rng(), &mut secret);
            let encoding = EncodingKey::from_secret(&secret).map_err(|e| e.to_string())?;
            let decoding = DecodingKey::from_secret(&secret).map_err(|e| e.to_string())?;
            Ok(Handoff { encoding, decoding })
        });
        made.as_ref().map_err(|e| Error::internal(format!("token handoff key: {e}")))
    }

    fn reseal(&self, signing_input: &str) -> Result<String> {
        let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.encoding, Algorithm::HS256).map_err(Error::internal)?;
        Ok(format!("{signing_input}.{signature}"))
    }
}

fn check_claims(claims: &Claims, now: i64) -> Result<ConfirmClaims> {
    let valid = claims.kind == TOKEN_TYPE && claims.iat <= now && claims.exp - claims.iat <= LIFETIME_SECONDS;
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
#[path = "token_tests.rs"]
mod tests;
