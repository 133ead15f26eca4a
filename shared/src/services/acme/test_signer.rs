//! An ACME client's signing side for tests (feature `testkit`): account keys made with
//! aws-lc-rs directly, so the server's JOSE verification is checked against an independent
//! signer.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256};
use base64::Engine;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// An account key pair.
pub enum TestKey {
    /// P-256, signing ES256.
    Ec(EcdsaKeyPair),
    /// RSA 2048, signing RS256.
    Rsa(RsaKeyPair),
}

impl TestKey {
    /// A fresh P-256 key.
    pub fn ec() -> Self {
        TestKey::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key"))
    }

    /// The P-256 key of a PKCS#8 DER document (a certificate's key, say).
    pub fn ec_from_pkcs8(der: &[u8]) -> Self {
        TestKey::Ec(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).expect("a P-256 PKCS#8 key"))
    }

    /// A fresh RSA 2048 key.
    pub fn rsa() -> Self {
        TestKey::Rsa(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key"))
    }

    /// The JOSE `alg` the key signs with.
    pub fn alg(&self) -> &'static str {
        match self {
            TestKey::Ec(_) => "ES256",
            TestKey::Rsa(_) => "RS256",
        }
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        match self {
            TestKey::Ec(key) => {
                let point = key.public_key().as_ref();
                json!({ "kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65]) })
            }
            TestKey::Rsa(key) => {
                let parts = RsaPublicKeyComponents::<Vec<u8>>::from(key.public_key());
                json!({ "kty": "RSA", "n": B64.encode(&parts.n), "e": B64.encode(&parts.e) })
            }
        }
    }

    /// The raw signature over `input`.
    pub fn sign_bytes(&self, input: &[u8]) -> Vec<u8> {
        match self {
            TestKey::Ec(key) => key.sign(&SystemRandom::new(), input).expect("sign").as_ref().to_vec(),
            TestKey::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input, &mut signature).expect("sign");
                signature
            }
        }
    }

    /// A flattened JWS of `payload` (`None`: POST-as-GET) under `protected`, whose `alg` is
    /// filled in when absent.
    pub fn sign(&self, mut protected: Value, payload: Option<&Value>) -> Value {
        if protected.get("alg").is_none() {
            protected["alg"] = json!(self.alg());
        }
        sign_with(&protected, payload, |input| self.sign_bytes(input))
    }
}

/// A flattened JWS whose signature `sign` computes over the signing input.
pub fn sign_with(protected: &Value, payload: Option<&Value>, sign: impl Fn(&[u8]) -> Vec<u8>) -> Value {
    let protected = B64.encode(protected.to_string());
    let payload = payload.map(|p| B64.encode(p.to_string())).unwrap_or_default();
    let signature = B64.encode(sign(format!("{protected}.{payload}").as_bytes()));
    json!({ "protected": protected, "payload": payload, "signature": signature })
}

/// An external account binding (RFC 8555 §7.3.4) of `jwk` to EAB key `kid` with the
/// base64url `hmac_key`, for `url` (the newAccount URL).
pub fn eab(jwk: &Value, kid: &str, hmac_key: &str, url: &str) -> Value {
    let secret = B64.decode(hmac_key).expect("base64url HMAC key");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
    sign_with(&json!({ "alg": "HS256", "kid": kid, "url": url }), Some(jwk), |input| aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec())
}
