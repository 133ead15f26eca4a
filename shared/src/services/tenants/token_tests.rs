use super::*;
use crate::adapters::local::KeyFileMac;
use serde_json::{json, Value};

const SECRET: [u8; 32] = [7; 32];

fn policy() -> TokenPolicy {
    TokenPolicy { issuer: "ecommerce-api".into(), audience: "ecommerce-provisioning".into() }
}

fn key() -> (KeyFileMac, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant-token.key");
    std::fs::write(&path, SECRET).unwrap();
    (KeyFileMac::open(&path).unwrap(), dir)
}

fn claims(iat: i64, exp: i64) -> Claims {
    Claims {
        sub: uuid::Uuid::new_v4().to_string(),
        slug: "acme".into(),
        kind: TOKEN_TYPE.into(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat,
        exp,
        iss: "ecommerce-api".into(),
        aud: "ecommerce-provisioning".into(),
    }
}

fn fresh() -> Claims {
    let t = now().unix_timestamp();
    claims(t, t + LIFETIME_SECONDS)
}

/// A token with any header and claims, MACed by `key` as the service would.
async fn raw(key: &KeyFileMac, header: Value, claims: Value) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let tag = key.mac(input.as_bytes()).await.unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag))
}

fn hs256() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

#[tokio::test]
async fn the_issued_header_is_the_seeds_bytes_and_jsonwebtokens_hs256_header() {
    let (key, _dir) = key();
    let token = issue(&key, &fresh()).await.unwrap();
    assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."), "{token}");
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap(), Header::new(Algorithm::HS256));
}

#[tokio::test]
async fn jsonwebtoken_verifies_an_issued_token_with_the_key_file_secret() {
    let (key, _dir) = key();
    let issued = fresh();
    let token = issue(&key, &issued).await.unwrap();
    let decoded = jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(&SECRET).unwrap(), &validation(&policy())).unwrap();
    assert_eq!(decoded.claims, issued);
    assert!(jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(&[8; 32]).unwrap(), &validation(&policy())).is_err());
}

#[tokio::test]
async fn a_token_verifies_before_its_expiry_and_is_refused_from_the_second_it_expires() {
    let (key, _dir) = key();
    let t = now().unix_timestamp();
    let live = claims(t, t + 30);
    assert_eq!(verify(&key, &policy(), &issue(&key, &live).await.unwrap()).await.unwrap().exp, t + 30);
    let expiring = issue(&key, &claims(t - LIFETIME_SECONDS, t)).await.unwrap();
    assert!(verify(&key, &policy(), &expiring).await.is_err(), "no leeway at exp");
    let expired = issue(&key, &claims(t - LIFETIME_SECONDS - 1, t - 1)).await.unwrap();
    assert!(verify(&key, &policy(), &expired).await.is_err());
}

#[tokio::test]
async fn any_tampered_byte_is_refused() {
    let (key, _dir) = key();
    let token = issue(&key, &fresh()).await.unwrap();
    assert!(verify(&key, &policy(), &token).await.is_ok());
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        if tampered != token {
            assert!(verify(&key, &policy(), &tampered).await.is_err(), "byte {i}");
        }
    }
}

#[tokio::test]
async fn other_algorithms_and_critical_or_unencoded_headers_are_refused_even_when_maced() {
    let (key, _dir) = key();
    let body = serde_json::to_value(fresh()).unwrap();
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), URL_SAFE_NO_PAD.encode(body.to_string()));
    assert!(verify(&key, &policy(), &none).await.is_err(), "alg none");
    assert!(verify(&key, &policy(), &raw(&key, hs256(), body.clone()).await).await.is_ok());
    for header in [
        json!({ "alg": "HS384", "typ": "JWT" }),
        json!({ "alg": "HS256", "typ": "JOSE+JSON" }),
        json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"], "exp": 1 }),
        json!({ "alg": "HS256", "typ": "JWT", "crit": ["b64"], "b64": false }),
    ] {
        assert!(verify(&key, &policy(), &raw(&key, header.clone(), body.clone()).await).await.is_err(), "{header}");
    }
}

#[tokio::test]
async fn a_wrong_type_issuer_or_audience_or_a_missing_claim_is_refused() {
    let (key, _dir) = key();
    for (claim, value) in [("type", json!("other")), ("iss", json!("x")), ("aud", json!("x")), ("aud", json!(["x"])), ("exp", json!("soon"))] {
        let mut body = serde_json::to_value(fresh()).unwrap();
        body[claim] = value.clone();
        assert!(verify(&key, &policy(), &raw(&key, hs256(), body).await).await.is_err(), "{claim} = {value}");
    }
    for claim in ["sub", "slug", "type", "jti", "iat", "exp", "iss", "aud"] {
        let mut body = serde_json::to_value(fresh()).unwrap();
        body.as_object_mut().unwrap().remove(claim);
        assert!(verify(&key, &policy(), &raw(&key, hs256(), body).await).await.is_err(), "without {claim}");
    }
}

#[tokio::test]
async fn an_iat_in_the_future_or_a_lifetime_over_fifteen_minutes_is_refused() {
    let (key, _dir) = key();
    let t = now().unix_timestamp();
    let future = issue(&key, &claims(t + 60, t + 120)).await.unwrap();
    assert!(verify(&key, &policy(), &future).await.is_err());
    let long = issue(&key, &claims(t, t + LIFETIME_SECONDS + 1)).await.unwrap();
    assert!(verify(&key, &policy(), &long).await.is_err());
}
