use super::*;
use crate::services::acme::test_signer::{eab, TestKey};

fn signed(value: Value) -> SignedRequest {
    SignedRequest::parse(value.to_string().as_bytes()).unwrap()
}

fn code(result: Result<impl std::fmt::Debug>) -> &'static str {
    result.unwrap_err().code().unwrap_or("none")
}

#[test]
fn es256_and_rs256_signatures_verify_and_a_changed_payload_does_not() {
    for key in [TestKey::ec(), TestKey::rsa()] {
        let jws = signed(key.sign(json!({ "nonce": "n1", "url": "http://x/acme/a/new-account", "jwk": key.jwk() }), Some(&json!({ "a": 1 }))));
        let header = jws.header().unwrap();
        let KeyRef::Jwk(account) = &header.key else { panic!("a jwk") };
        jws.verify(account, header.alg).unwrap();
        let mut tampered = jws.clone();
        tampered.payload = B64.encode(json!({ "a": 2 }).to_string());
        assert_eq!(code(tampered.verify(account, header.alg)), "malformed", "{}", key.alg());
    }
}

#[test]
fn a_signature_by_another_key_or_under_another_alg_is_refused() {
    let (key, other) = (TestKey::ec(), TestKey::ec());
    let jws = signed(other.sign(json!({ "url": "u", "jwk": key.jwk() }), None));
    let header = jws.header().unwrap();
    let KeyRef::Jwk(account) = &header.key else { panic!("a jwk") };
    assert_eq!(code(jws.verify(account, header.alg)), "malformed");
    let rsa = TestKey::rsa();
    let jws = signed(rsa.sign(json!({ "alg": "ES256", "url": "u", "jwk": rsa.jwk() }), None));
    let header = jws.header().unwrap();
    let KeyRef::Jwk(account) = &header.key else { panic!("a jwk") };
    assert_eq!(code(jws.verify(account, header.alg)), "badSignatureAlgorithm");
}

#[test]
fn headers_without_url_with_both_or_neither_key_or_with_none_or_hmac_alg_are_refused() {
    let key = TestKey::ec();
    for (protected, want) in [
        (json!({ "jwk": key.jwk() }), "malformed"),
        (json!({ "url": "u", "jwk": key.jwk(), "kid": "k" }), "malformed"),
        (json!({ "url": "u" }), "malformed"),
        (json!({ "alg": "none", "url": "u", "kid": "k" }), "badSignatureAlgorithm"),
        (json!({ "alg": "HS256", "url": "u", "kid": "k" }), "badSignatureAlgorithm"),
        (json!({ "url": "u", "kid": "k", "b64": false }), "malformed"),
    ] {
        assert_eq!(code(signed(key.sign(protected.clone(), None)).header()), want, "{protected}");
    }
    assert_eq!(code(SignedRequest::parse(b"{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\",\"header\":{}}")), "malformed");
    assert_eq!(code(SignedRequest::parse(b"eyJhbGciOiJFUzI1NiJ9.e30.sig")), "malformed", "the compact serialization");
}

#[test]
fn private_weak_or_unknown_keys_are_bad_public_keys() {
    let mut private = TestKey::ec().jwk();
    private["d"] = json!("AAAA");
    let p521 = json!({ "kty": "EC", "crv": "P-521", "x": "AA", "y": "AA" });
    let short_x = json!({ "kty": "EC", "crv": "P-256", "x": B64.encode([1u8; 31]), "y": B64.encode([1u8; 32]) });
    let rsa1024 = json!({ "kty": "RSA", "n": B64.encode([0xC1u8; 128]), "e": "AQAB" });
    let e3 = json!({ "kty": "RSA", "n": B64.encode([0xC1u8; 256]), "e": "Aw" });
    let okp = json!({ "kty": "OKP", "crv": "Ed25519", "x": B64.encode([1u8; 32]) });
    for jwk in [private, p521, short_x, rsa1024, e3, okp] {
        assert_eq!(code(AccountKey::parse(&jwk)), "badPublicKey", "{jwk}");
    }
}

#[test]
fn thumbprints_follow_rfc_7638_and_ignore_optional_members() {
    let rfc_7638_example = json!({
        "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    });
    let key = AccountKey::parse(&rfc_7638_example).unwrap();
    assert_eq!(key.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    assert_eq!(key.value().as_object().unwrap().len(), 3, "only e, kty and n are kept");
}

#[test]
fn an_external_account_binding_verifies_with_its_hmac_key_only() {
    let key = TestKey::ec();
    let secret = [7u8; 32];
    let binding = signed(eab(&key.jwk(), "kid-1", &B64.encode(secret), "http://x/new-account"));
    assert_eq!(binding.mac_header().unwrap(), ("kid-1".to_owned(), "http://x/new-account".to_owned()));
    binding.verify_mac(&secret).unwrap();
    assert_eq!(code(binding.verify_mac(&[8u8; 32])), "unauthorized");
    let bound: Value = binding.payload().unwrap();
    assert_eq!(AccountKey::parse(&bound).unwrap().thumbprint(), AccountKey::parse(&key.jwk()).unwrap().thumbprint());
}
