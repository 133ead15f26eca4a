//! Request authentication (RFC 8555 §6.2): a flattened JWS JSON body (RFC 7515 §7.2.2) whose
//! protected header names `alg`, `nonce`, `url` and either the account key (`jwk`) or the
//! account (`kid`). Signatures are verified with `jsonwebtoken`'s JOSE primitives; account
//! keys are RSA (RS256, 2048–8192 bits, e = 65537) or EC P-256/P-384 (ES256/ES384), and are
//! known by their RFC 7638 thumbprint.

use super::problem::{problem, ProblemType};
use crate::error::Result;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A request body: the flattened JWS JSON serialization, one signature, nothing unprotected.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRequest {
    protected: String,
    payload: String,
    signature: String,
}

/// The signature algorithms account keys may use (RFC 7518 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alg {
    Es256,
    Es384,
    Rs256,
}

/// How the request names its key (RFC 8555 §6.2: exactly one of `jwk` and `kid`).
#[derive(Clone, Debug)]
pub(crate) enum KeyRef {
    Jwk(Box<AccountKey>),
    Kid(String),
}

/// The protected header, checked.
#[derive(Clone, Debug)]
pub(crate) struct Protected {
    pub alg: Alg,
    pub nonce: Option<String>,
    pub url: String,
    pub key: KeyRef,
}

#[derive(Deserialize)]
struct RawProtected {
    alg: String,
    nonce: Option<String>,
    url: Option<String>,
    jwk: Option<Value>,
    kid: Option<String>,
    b64: Option<bool>,
}

fn malformed(detail: impl Into<String>) -> crate::Error {
    problem(ProblemType::Malformed, detail)
}

impl SignedRequest {
    /// Parses a request body; anything but a flattened JWS is `malformed`.
    pub fn parse(body: &[u8]) -> Result<Self> {
        serde_json::from_slice(body).map_err(|_| malformed("the body must be a flattened JWS (protected, payload, signature)"))
    }

    /// The protected header (RFC 8555 §6.2), its key parsed when it carries one.
    pub(crate) fn header(&self) -> Result<Protected> {
        let bytes = B64.decode(&self.protected).map_err(|_| malformed("the protected header is not base64url"))?;
        let raw: RawProtected = serde_json::from_slice(&bytes).map_err(|_| malformed("the protected header is not a JSON object with alg"))?;
        if raw.b64 == Some(false) {
            return Err(malformed("unencoded payloads (b64: false) are not accepted"));
        }
        let alg = Alg::parse(&raw.alg)?;
        let url = raw.url.ok_or_else(|| malformed("the protected header has no url"))?;
        let key = match (raw.jwk, raw.kid) {
            (Some(jwk), None) => KeyRef::Jwk(Box::new(AccountKey::parse(&jwk)?)),
            (None, Some(kid)) => KeyRef::Kid(kid),
            _ => return Err(malformed("the protected header must carry exactly one of jwk and kid")),
        };
        Ok(Protected { alg, nonce: raw.nonce, url, key })
    }

    fn signing_input(&self) -> String {
        format!("{}.{}", self.protected, self.payload)
    }

    /// Verifies the signature with `key` under `alg`.
    pub(crate) fn verify(&self, key: &AccountKey, alg: Alg) -> Result<()> {
        key.verify(alg, self.signing_input().as_bytes(), &self.signature)
    }

    /// Verifies an HMAC signature (HS256) with `secret`, as an external account binding is
    /// signed (RFC 8555 §7.3.4).
    pub(crate) fn verify_mac(&self, secret: &[u8]) -> Result<()> {
        let key = DecodingKey::from_secret(secret).map_err(crate::Error::internal)?;
        match jsonwebtoken::crypto::verify(&self.signature, self.signing_input().as_bytes(), &key, Algorithm::HS256) {
            Ok(true) => Ok(()),
            _ => Err(problem(ProblemType::Unauthorized, "the external account binding's MAC does not verify")),
        }
    }

    /// The protected header of an HMAC-signed JWS: `alg` (must be HS256), `kid` and `url`.
    pub(crate) fn mac_header(&self) -> Result<(String, String)> {
        let bytes = B64.decode(&self.protected).map_err(|_| malformed("externalAccountBinding: the protected header is not base64url"))?;
        let header: Value = serde_json::from_slice(&bytes).map_err(|_| malformed("externalAccountBinding: the protected header is not JSON"))?;
        if header["alg"] != "HS256" {
            return Err(problem(ProblemType::BadSignatureAlgorithm, "externalAccountBinding must be signed with HS256"));
        }
        if header.get("nonce").is_some() {
            return Err(malformed("externalAccountBinding must not carry a nonce"));
        }
        let text = |field: &str| header[field].as_str().map(str::to_owned).ok_or_else(|| malformed(format!("externalAccountBinding has no {field}")));
        Ok((text("kid")?, text("url")?))
    }

    /// True for a POST-as-GET (RFC 8555 §6.3): an empty payload.
    pub(crate) fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as JSON of type `T`; `malformed` when it is not.
    pub(crate) fn payload<T: DeserializeOwned>(&self) -> Result<T> {
        let bytes = B64.decode(&self.payload).map_err(|_| malformed("the payload is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|e| malformed(format!("the payload is not the expected JSON object: {}", crate::error::truncate(&e.to_string(), 120))))
    }
}

impl Alg {
    fn parse(raw: &str) -> Result<Self> {
        match raw {
            "ES256" => Ok(Alg::Es256),
            "ES384" => Ok(Alg::Es384),
            "RS256" => Ok(Alg::Rs256),
            _ => Err(problem(ProblemType::BadSignatureAlgorithm, format!("alg {} is not accepted: use ES256, ES384 or RS256", crate::error::echo(raw)))),
        }
    }

    fn jose(self) -> Algorithm {
        match self {
            Alg::Es256 => Algorithm::ES256,
            Alg::Es384 => Algorithm::ES384,
            Alg::Rs256 => Algorithm::RS256,
        }
    }
}

/// An account's public key: a JWK (RFC 7517) of an accepted kind, kept with only its required
/// members (RFC 7638 §3.2) and known by its SHA-256 thumbprint.
#[derive(Clone, Debug)]
pub struct AccountKey {
    jwk: Jwk,
    value: Value,
    thumbprint: String,
}

impl AccountKey {
    /// Parses a public JWK; a private one, another curve or a weak RSA key is `badPublicKey`.
    pub fn parse(value: &Value) -> Result<Self> {
        let bad = |why: &str| problem(ProblemType::BadPublicKey, format!("account key: {why}"));
        let member = |name: &str| value.get(name).and_then(Value::as_str).ok_or_else(|| bad(&format!("the JWK has no {name}")));
        if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| value.get(m).is_some()) {
            return Err(bad("the JWK holds private key material"));
        }
        let decoded = |name: &str| member(name).and_then(|v| B64.decode(v).map_err(|_| bad(&format!("{name} is not base64url"))));
        let canonical = match member("kty")? {
            "EC" => {
                let size = match member("crv")? {
                    "P-256" => 32,
                    "P-384" => 48,
                    other => return Err(bad(&format!("curve {} is not accepted: use P-256 or P-384", crate::error::echo(other)))),
                };
                if decoded("x")?.len() != size || decoded("y")?.len() != size {
                    return Err(bad("x and y must be coordinates of the curve's size"));
                }
                json!({ "crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")? })
            }
            "RSA" => {
                let n = decoded("n")?;
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if !(2048..=8192).contains(&bits) {
                    return Err(bad("RSA keys must have 2048 to 8192 bits"));
                }
                if decoded("e")? != [1, 0, 1] {
                    return Err(bad("the RSA public exponent must be 65537"));
                }
                json!({ "e": member("e")?, "kty": "RSA", "n": member("n")? })
            }
            other => return Err(bad(&format!("key type {} is not accepted: use EC or RSA", crate::error::echo(other)))),
        };
        let jwk: Jwk = serde_json::from_value(canonical.clone()).map_err(|_| bad("not a JWK"))?;
        let thumbprint = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| bad("no thumbprint"))?;
        Ok(AccountKey { jwk, value: canonical, thumbprint })
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public JWK with its required members only.
    pub fn value(&self) -> &Value {
        &self.value
    }

    fn alg(&self) -> Alg {
        match (self.value["kty"].as_str(), self.value["crv"].as_str()) {
            (Some("EC"), Some("P-384")) => Alg::Es384,
            (Some("EC"), _) => Alg::Es256,
            _ => Alg::Rs256,
        }
    }

    fn verify(&self, alg: Alg, input: &[u8], signature: &str) -> Result<()> {
        if alg != self.alg() {
            return Err(problem(ProblemType::BadSignatureAlgorithm, "alg does not match the key (ES256: P-256, ES384: P-384, RS256: RSA)"));
        }
        let key = DecodingKey::from_jwk(&self.jwk).map_err(|_| problem(ProblemType::BadPublicKey, "account key: not a usable public key"))?;
        match jsonwebtoken::crypto::verify(signature, input, &key, alg.jose()) {
            Ok(true) => Ok(()),
            _ => Err(malformed("the JWS signature does not verify")),
        }
    }
}

#[cfg(test)]
#[path = "jws_tests.rs"]
mod tests;
