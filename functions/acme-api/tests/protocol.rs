//! RFC 8555's rules around the flow: single-use nonces (§6.5), external account binding
//! (§7.3.4), identifiers checked against the authority's policy and name constraints,
//! request authentication (§6.2–§6.4), deactivation (§7.3.6), key rollover (§7.3.5), the
//! admin routes minting EAB keys and the per-authority ACME policy. On the embedded backend and on the AWS adapters (moto).

mod support;

use base64::Engine;
use serde_json::json;
use support::{problem, text, Backend, Client, B64};
use trustplane_core::on_both_backends;
use trustplane_core::services::acme::test_signer::{eab, TestKey};
use trustplane_core::services::pki::IssuancePolicy;
use trustplane_core::testkit::Reply;

on_both_backends!(
    a_nonce_is_accepted_once_even_when_requests_race_with_it_and_every_answer_carries_a_fresh_one,
    new_accounts_need_an_unused_eab_key_of_the_authority_that_binds_the_request_key,
    an_existing_key_gets_its_account_back_and_only_return_existing_finds_no_other,
    orders_for_names_outside_the_authoritys_policy_are_rejected_identifiers,
    requests_with_the_wrong_media_type_url_account_or_owner_are_acme_problems,
    a_deactivated_account_can_do_nothing_more_and_a_key_change_moves_an_account_to_its_new_key,
    eab_keys_are_minted_listed_and_revoked_by_pki_admin_keys_only,
    an_authoritys_acme_policy_can_waive_eab_and_shorten_validity,
);

async fn a_nonce_is_accepted_once_even_when_requests_race_with_it_and_every_answer_carries_a_fresh_one(b: Backend) {
    let client = Client::new(&b, TestKey::ec());
    let nonce = client.nonce().await;
    let url = b.urls().new_account();
    let jws = client.key.sign(json!({ "nonce": nonce, "url": url, "jwk": client.key.jwk() }), Some(&json!({ "onlyReturnExisting": true })));
    let replies = futures::future::join_all((0..8).map(|_| client.post_jws(&url, &jws))).await;
    let accepted: Vec<&Reply> = replies.iter().filter(|r| problem(r) != "badNonce").collect();
    assert_eq!(accepted.len(), 1, "exactly one of the racing requests used the nonce: {:?}", replies.iter().map(text).collect::<Vec<_>>());
    assert_eq!(problem(accepted[0]), "accountDoesNotExist");
    let stale = replies.iter().find(|r| problem(r) == "badNonce").unwrap();
    let fresh = stale.header("replay-nonce").expect("a badNonce answer carries a fresh nonce").to_owned();
    assert_ne!(fresh, nonce);
    let retried = client.post_jws(&url, &client.key.sign(json!({ "nonce": fresh, "url": url, "jwk": client.key.jwk() }), Some(&json!({ "onlyReturnExisting": true })))).await;
    assert_eq!(problem(&retried), "accountDoesNotExist", "the fresh nonce is good");
    let made_up = client.post_jws(&url, &client.key.sign(json!({ "nonce": "bm90LWlzc3VlZA", "url": url, "jwk": client.key.jwk() }), None)).await;
    assert_eq!(problem(&made_up), "badNonce");
    let directory = b.send("GET", &b.urls().directory(), &[], None).await;
    assert_eq!(directory.status, 200);
    assert!(directory.header("replay-nonce").is_some() && directory.header("cache-control") == Some("no-store"));
    assert_eq!(directory.header("link"), Some(format!("<{}>;rel=\"index\"", b.urls().directory()).as_str()));
    assert_eq!(b.send("GET", &b.urls().new_nonce(), &[], None).await.status, 204);
}

async fn new_accounts_need_an_unused_eab_key_of_the_authority_that_binds_the_request_key(b: Backend) {
    let key = TestKey::ec();
    let client = Client::new(&b, key);
    let url = b.urls().new_account();
    let bare = client.post(&url, Some(json!({ "termsOfServiceAgreed": true }))).await;
    assert_eq!(problem(&bare), "externalAccountRequired");
    let (kid, hmac) = b.eab_key().await;
    let wrong_mac = eab(&client.key.jwk(), &kid, &B64.encode([9u8; 32]), &url);
    assert_eq!(problem(&client.post(&url, Some(json!({ "externalAccountBinding": wrong_mac }))).await), "unauthorized");
    let other_key = TestKey::ec();
    let for_other = eab(&other_key.jwk(), &kid, &hmac, &url);
    assert_eq!(problem(&client.post(&url, Some(json!({ "externalAccountBinding": for_other }))).await), "unauthorized", "a binding of another key");
    let other_url = eab(&client.key.jwk(), &kid, &hmac, &b.urls().new_order());
    assert_eq!(problem(&client.post(&url, Some(json!({ "externalAccountBinding": other_url }))).await), "unauthorized", "a binding for another URL");
    let binding = eab(&client.key.jwk(), &kid, &hmac, &url);
    let created = client.post(&url, Some(json!({ "externalAccountBinding": binding }))).await;
    assert_eq!(created.status, 201, "{}", text(&created));
    let second = Client::new(&b, other_key);
    let reused = eab(&second.key.jwk(), &kid, &hmac, &url);
    assert_eq!(problem(&second.post(&url, Some(json!({ "externalAccountBinding": reused }))).await), "unauthorized", "an EAB key binds one account");
    let (revoked_kid, revoked_hmac) = b.eab_key().await;
    let path = format!("/api/v1/authorities/{}/eab-keys/{revoked_kid}", b.authority);
    assert_eq!(b.send("DELETE", &path, &[("x-api-key", &b.admin)], None).await.status, 200);
    let with_revoked = eab(&second.key.jwk(), &revoked_kid, &revoked_hmac, &url);
    assert_eq!(problem(&second.post(&url, Some(json!({ "externalAccountBinding": with_revoked }))).await), "unauthorized", "a revoked EAB key binds nothing");
}

async fn an_existing_key_gets_its_account_back_and_only_return_existing_finds_no_other(b: Backend) {
    let mut client = Client::new(&b, TestKey::rsa());
    let created = client.register().await;
    let again = client.post(&b.urls().new_account(), Some(json!({ "onlyReturnExisting": true }))).await;
    assert_eq!(again.status, 400, "a kid is not a jwk: newAccount takes the key: {}", text(&again));
    let by_key = Client::new(&b, TestKey::rsa());
    let stranger = by_key.post(&b.urls().new_account(), Some(json!({ "onlyReturnExisting": true }))).await;
    assert_eq!(problem(&stranger), "accountDoesNotExist");
    let same_key = Client { b: &b, key: client.key, kid: None };
    let found = same_key.post(&b.urls().new_account(), Some(json!({ "onlyReturnExisting": true }))).await;
    assert_eq!((found.status.as_u16(), found.header("location")), (200, created.header("location")));
}

async fn orders_for_names_outside_the_authoritys_policy_are_rejected_identifiers(b: Backend) {
    let policy = IssuancePolicy { allowed_dns_names: Some(vec!["*.acme.localhost".into()]), ..IssuancePolicy::default() };
    b.pki().set_issuance_policy(&b.authority, policy, None).await.unwrap();
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let refused = client.post(&b.urls().new_order(), Some(json!({ "identifiers": [{ "type": "dns", "value": "www.example.com" }] }))).await;
    assert_eq!(problem(&refused), "rejectedIdentifier");
    assert!(refused.json()["detail"].as_str().unwrap().contains("www.example.com"), "{}", text(&refused));
    let wildcard = client.post(&b.urls().new_order(), Some(json!({ "identifiers": [{ "type": "dns", "value": "*.acme.localhost" }] }))).await;
    assert_eq!(problem(&wildcard), "rejectedIdentifier");
    let ip = client.post(&b.urls().new_order(), Some(json!({ "identifiers": [{ "type": "ip", "value": "127.0.0.1" }] }))).await;
    assert_eq!(problem(&ip), "unsupportedIdentifier");
    let (_, order) = client.order(&["ok.acme.localhost"]).await;
    assert_eq!(order["identifiers"], json!([{ "type": "dns", "value": "ok.acme.localhost" }]));
}

async fn requests_with_the_wrong_media_type_url_account_or_owner_are_acme_problems(b: Backend) {
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let jws = client.key.sign(client.protected(&b.urls().new_order(), &client.nonce().await), Some(&json!({ "identifiers": [] })));
    let as_json = b.send("POST", &b.urls().new_order(), &[("content-type", "application/json")], Some(jws.to_string())).await;
    assert_eq!((as_json.status.as_u16(), problem(&as_json).as_str()), (415, "malformed"));
    let elsewhere = client.post_jws(&b.urls().new_order(), &client.key.sign(client.protected(&b.urls().revoke_cert(), &client.nonce().await), Some(&json!({})))).await;
    assert_eq!(problem(&elsewhere), "unauthorized", "the JWS url must be the request's");
    let ghost = Client { b: &b, key: TestKey::ec(), kid: Some(b.urls().account("0190a1b2-0000-7000-8000-000000000001")) };
    assert_eq!(problem(&ghost.post(&b.urls().new_order(), Some(json!({ "identifiers": [] }))).await), "accountDoesNotExist");
    let impostor = Client { b: &b, key: TestKey::ec(), kid: client.kid.clone() };
    assert_eq!(problem(&impostor.post(&b.urls().new_order(), Some(json!({ "identifiers": [] }))).await), "malformed", "another key's signature does not verify");
    let (order_url, _) = client.order(&["mine.acme.localhost"]).await;
    let mut other = Client::new(&b, TestKey::ec());
    other.register().await;
    let theirs = other.post(&order_url, None).await;
    assert_eq!((theirs.status.as_u16(), problem(&theirs).as_str()), (404, "malformed"), "another account's order");
    let get = b.send("GET", &order_url, &[], None).await;
    assert_eq!((get.status.as_u16(), problem(&get).as_str()), (405, "malformed"), "resources are read with POST-as-GET");
    let unknown = b.send("GET", &format!("/acme/{}/directory", "0190a1b2-0000-7000-8000-000000000001"), &[], None).await;
    assert_eq!((unknown.status.as_u16(), problem(&unknown).as_str()), (404, "malformed"));
    let garbage = b.send("POST", &b.urls().new_order(), &[("content-type", "application/jose+json")], Some("not json".into())).await;
    assert_eq!((garbage.status.as_u16(), problem(&garbage).as_str()), (400, "malformed"));
}

async fn a_deactivated_account_can_do_nothing_more_and_a_key_change_moves_an_account_to_its_new_key(b: Backend) {
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let kid = client.kid.clone().unwrap();
    let new_key = TestKey::ec();
    let url = b.urls().key_change();
    let inner = new_key.sign(json!({ "url": url, "jwk": new_key.jwk() }), Some(&json!({ "account": kid, "oldKey": client.key.jwk() })));
    let changed = client.post(&url, Some(inner)).await;
    assert_eq!(changed.status, 200, "{}", text(&changed));
    assert_eq!(problem(&client.post(&kid, None).await), "malformed", "the old key no longer signs for the account");
    let rolled = Client { b: &b, key: new_key, kid: Some(kid.clone()) };
    assert_eq!(rolled.post(&kid, None).await.json()["status"], "valid");
    let deactivated = rolled.post(&kid, Some(json!({ "status": "deactivated" }))).await;
    assert_eq!(deactivated.json()["status"], "deactivated", "{}", text(&deactivated));
    assert_eq!(problem(&rolled.post(&b.urls().new_order(), Some(json!({ "identifiers": [{ "type": "dns", "value": "x.acme.localhost" }] }))).await), "unauthorized");
    let by_key = Client { b: &b, key: rolled.key, kid: None };
    assert_eq!(problem(&by_key.post(&b.urls().new_account(), Some(json!({}))).await), "unauthorized", "its key cannot open another account");
}

async fn eab_keys_are_minted_listed_and_revoked_by_pki_admin_keys_only(b: Backend) {
    let path = format!("/api/v1/authorities/{}/eab-keys", b.authority);
    let reader = trustplane_core::testkit::mint_key(&b.state.app, &["pki:read"]).await;
    let refused = b.send("POST", &path, &[("x-api-key", &reader)], None).await;
    assert_eq!((refused.status.as_u16(), refused.header("content-type")), (403, Some("application/problem+json")));
    assert_eq!(b.send("POST", &path, &[], None).await.status, 401);
    let minted = b.send("POST", &path, &[("x-api-key", &b.admin)], None).await;
    assert_eq!(minted.status, 201, "{}", text(&minted));
    let key = minted.json();
    assert_eq!(key["directoryUrl"], b.urls().directory());
    assert_eq!(B64.decode(key["hmacKey"].as_str().unwrap()).unwrap().len(), 32);
    let listed = b.send("GET", &path, &[("x-api-key", &b.admin)], None).await.json();
    let entry = listed["data"].as_array().unwrap().iter().find(|k| k["keyId"] == key["keyId"]).unwrap().clone();
    assert!(entry.get("hmacKey").is_none() && entry["status"] == "unused", "{entry}");
    let unknown = b.send("POST", "/api/v1/authorities/0190a1b2-0000-7000-8000-000000000001/eab-keys", &[("x-api-key", &b.admin)], None).await;
    assert_eq!(unknown.status, 404);
    let gone = b.send("DELETE", &format!("{path}/0190a1b2-0000-7000-8000-000000000001"), &[("x-api-key", &b.admin)], None).await;
    assert_eq!(gone.status, 404);
}

async fn an_authoritys_acme_policy_can_waive_eab_and_shorten_validity(b: Backend) {
    let path = format!("/api/v1/authorities/{}/acme-policy", b.authority);
    let json_headers = [("x-api-key", b.admin.as_str()), ("content-type", "application/json")];
    let reader = trustplane_core::testkit::mint_key(&b.state.app, &["pki:read"]).await;
    assert_eq!(b.send("GET", &path, &[("x-api-key", &reader)], None).await.json(), json!({ "eabRequired": true, "validityDays": 30 }), "the settings by default");
    assert_eq!(b.send("PUT", &path, &[("x-api-key", &reader), ("content-type", "application/json")], Some("{}".into())).await.status, 403);
    assert_eq!(b.send("PUT", &path, &json_headers, Some(json!({ "validityDays": 0 }).to_string())).await.status, 400);
    let set = b.send("PUT", &path, &json_headers, Some(json!({ "eabRequired": false, "validityDays": 7 }).to_string())).await;
    assert_eq!(set.json(), json!({ "eabRequired": false, "validityDays": 7 }), "{}", text(&set));
    assert_eq!(b.send("GET", &b.urls().directory(), &[], None).await.json()["meta"]["externalAccountRequired"], false);
    let mut client = Client::new(&b, TestKey::ec());
    let created = client.post(&b.urls().new_account(), Some(json!({ "termsOfServiceAgreed": true }))).await;
    assert_eq!(created.status, 201, "no EAB needed now: {}", text(&created));
    client.kid = Some(created.header("location").unwrap().to_owned());
    let order = client.issue(&["short.acme.localhost"]).await;
    let cert_id = order["certificate"].as_str().unwrap().rsplit('/').next().unwrap();
    let record = b.pki().get_certificate(cert_id).await.unwrap();
    assert_eq!((record.not_after - record.created_at).whole_days(), 7);
    let unknown = b.send("GET", "/api/v1/authorities/0190a1b2-0000-7000-8000-000000000001/acme-policy", &[("x-api-key", &reader)], None).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_acme_paths_reaching_the_function_answer_acme_problems_and_other_paths_rfc_9457_ones() {
    let b = Backend::sqlite().await;
    let app = acme_api::app(b.state.clone());
    let send = |method: &str, path: String| trustplane_core::testkit::call(&app, http::Request::builder().method(method).uri(path).body(String::new()).unwrap());
    for path in [format!("/acme/{}/nowhere", b.authority), format!("/acme/{}/order/x/y/z", b.authority), "/acme/".to_owned()] {
        let reply = send("POST", path.clone()).await;
        assert_eq!((reply.status.as_u16(), problem(&reply).as_str()), (404, "malformed"), "{path}");
        assert_eq!(reply.json().as_object().unwrap().len(), 3, "{path}: {}", text(&reply));
    }
    let wrong_method = send("DELETE", b.urls().directory().replace(&b.state.app.config.public_base_url, "")).await;
    assert_eq!((wrong_method.status.as_u16(), problem(&wrong_method).as_str()), (405, "malformed"));
    let elsewhere = send("GET", "/api/v1/nowhere".to_owned()).await;
    assert_eq!((elsewhere.header("content-type"), elsewhere.json()["type"].as_str()), (Some("application/problem+json"), Some("about:blank")));
}
