//! Every `events/acme-api/` fixture, in the order an ACME client sends them, in-process on
//! the embedded backend and through the built bootstrap under the Lambda Runtime Interface
//! Emulator on moto. The challenge's validation is queued, and run here by the job queue's
//! worker (`serve`'s drain, or the SQS-triggered function's handler on moto), fetching from
//! this process's `http-01` responder. JWS bodies are signed here, for the URLs of the API
//! Gateway domain the events name, with nonces minted on the same store.

mod support;

use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;
use support::{Backend, B64};
use trustplane_core::services::acme::test_signer::{eab, TestKey};
use trustplane_core::services::acme::{Acme, AccountKey, Urls};
use trustplane_core::services::pki::{CertStatus, Channel};
use trustplane_core::testkit::{fixture_text, mint_key, replay_raw_in_process, replay_raw_through_rie, rie::Rie, RawAnswer};

const FN: &str = "acme-api";
const BASE: &str = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

/// One client's replay: its key, account and the ids fixtures name.
struct Replay<'a> {
    b: &'a Backend,
    key: TestKey,
    kid: Option<String>,
    subs: Vec<(&'static str, String)>,
}

/// `text` escaped to be an event's `body` string.
fn in_body(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

/// The `n`th path segment of a URL, counted from its end (0: the last).
fn segment(url: &Value, n: usize) -> String {
    url.as_str().unwrap().rsplit('/').nth(n).unwrap().to_owned()
}

impl Replay<'_> {
    fn urls(&self) -> Urls {
        Urls::new(BASE, &self.b.authority)
    }

    fn set(&mut self, key: &'static str, value: String) {
        self.subs.retain(|(k, _)| *k != key);
        self.subs.push((key, value));
    }

    /// A JWS for `url` with a fresh nonce (or `nonce`), by `kid` once registered.
    async fn jws(&self, url: &str, payload: Option<Value>, nonce: Option<&str>) -> String {
        let s = &self.b.state;
        let acme = Acme::new(s.app.ports.clone(), s.app.config.clone(), s.settings.clone(), s.http01.clone());
        let nonce = match nonce {
            Some(n) => n.to_owned(),
            None => acme.new_nonce().await.unwrap(),
        };
        let protected = match &self.kid {
            Some(kid) => json!({ "nonce": nonce, "url": url, "kid": kid }),
            None => json!({ "nonce": nonce, "url": url, "jwk": self.key.jwk() }),
        };
        self.key.sign(protected, payload.as_ref()).to_string()
    }

    fn event(&self, name: &str, jws: Option<&str>) -> String {
        let mut subs: Vec<(&str, String)> = self.subs.iter().map(|(k, v)| (*k, v.clone())).collect();
        subs.push(("JWS", jws.map(in_body).unwrap_or_default()));
        let subs: Vec<(&str, &str)> = subs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fixture_text(FN, name, &subs)
    }
}

async fn expect<F, Fut>(replay: &Replay<'_>, invoke: &F, name: &str, jws: Option<&str>, status: u16) -> RawAnswer
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    let answer = invoke(replay.event(name, jws)).await;
    assert_eq!(answer.status, status, "{name}: {}", String::from_utf8_lossy(&answer.body));
    if status >= 400 {
        assert_eq!(answer.content_type.as_deref(), Some("application/problem+json"), "{name}");
    }
    answer
}

fn problem_type(answer: &RawAnswer) -> String {
    answer.json()["type"].as_str().unwrap_or_default().trim_start_matches("urn:ietf:params:acme:error:").to_owned()
}

async fn replay_all<F, Fut>(b: &Backend, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    let reader = mint_key(&b.state.app, &["pki:read"]).await;
    let mut r = Replay { b, key: TestKey::rsa(), kid: None, subs: vec![("AUTHORITY_ID", b.authority.clone()), ("API_KEY", b.admin.clone()), ("READER_KEY", reader)] };
    let minted = register(&mut r, &invoke).await;
    let order = order_and_validate(&mut r, &invoke, "fixture.acme.localhost").await;
    finalize_download_and_revoke(&mut r, &invoke, &order, "fixture.acme.localhost").await;
    r.set("KEY_ID", minted["keyId"].as_str().unwrap().to_owned());
    assert_eq!(expect(&r, &invoke, "revoke-eab-key", None, 200).await.json()["status"], "revoked");
}

/// The EAB key routes, the directory, a nonce and the account (refused without EAB, then
/// created with it); returns the EAB key.
async fn register<F, Fut>(r: &mut Replay<'_>, invoke: &F) -> Value
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    assert_eq!(expect(r, invoke, "put-acme-policy", None, 200).await.json()["validityDays"], 30);
    assert_eq!(expect(r, invoke, "get-acme-policy", None, 200).await.json()["eabRequired"], true);
    let minted = expect(r, invoke, "create-eab-key", None, 201).await.json();
    expect(r, invoke, "create-eab-key-reader-key", None, 403).await;
    assert!(expect(r, invoke, "list-eab-keys", None, 200).await.json()["data"].as_array().unwrap().iter().any(|k| k["keyId"] == minted["keyId"]));
    let directory = expect(r, invoke, "get-directory", None, 200).await.json();
    assert_eq!(directory["newAccount"], r.urls().new_account(), "URLs of the domain API Gateway was called on");
    expect(r, invoke, "head-new-nonce", None, 200).await;
    let new_account = r.urls().new_account();
    let bare = r.jws(&new_account, Some(json!({ "termsOfServiceAgreed": true })), None).await;
    assert_eq!(problem_type(&expect(r, invoke, "new-account-without-eab", Some(&bare), 400).await), "externalAccountRequired");
    let binding = eab(&r.key.jwk(), minted["keyId"].as_str().unwrap(), minted["hmacKey"].as_str().unwrap(), &new_account);
    let jws = r.jws(&new_account, Some(json!({ "termsOfServiceAgreed": true, "contact": ["mailto:ops@example.com"], "externalAccountBinding": binding })), None).await;
    let account = expect(r, invoke, "new-account", Some(&jws), 201).await.json();
    let account_id = segment(&account["orders"], 1);
    r.kid = Some(r.urls().account(&account_id));
    r.set("ID", account_id.clone());
    let jws = r.jws(&r.urls().account(&account_id), None, None).await;
    assert_eq!(expect(r, invoke, "account", Some(&jws), 200).await.json()["status"], "valid");
    minted
}

/// An order for `name` (refused as JSON and with a replayed nonce) whose challenge is
/// answered and validated; returns the order.
async fn order_and_validate<F, Fut>(r: &mut Replay<'_>, invoke: &F, name: &str) -> Value
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    let payload = json!({ "identifiers": [{ "type": "dns", "value": name }] });
    let as_json = r.jws(&r.urls().new_order(), Some(payload.clone()), None).await;
    assert_eq!(problem_type(&expect(r, invoke, "new-order-as-json", Some(&as_json), 415).await), "malformed");
    let s = &r.b.state;
    let nonce = Acme::new(s.app.ports.clone(), s.app.config.clone(), s.settings.clone(), s.http01.clone()).new_nonce().await.unwrap();
    let jws = r.jws(&r.urls().new_order(), Some(payload.clone()), Some(&nonce)).await;
    let order = expect(r, invoke, "new-order", Some(&jws), 201).await.json();
    let replayed = r.jws(&r.urls().new_order(), Some(payload), Some(&nonce)).await;
    assert_eq!(problem_type(&expect(r, invoke, "new-order-replayed-nonce", Some(&replayed), 400).await), "badNonce");
    let authz_id = segment(&order["authorizations"][0], 0);
    r.set("ID", authz_id.clone());
    let jws = r.jws(&r.urls().authz(&authz_id), None, None).await;
    let authz = expect(r, invoke, "get-authz", Some(&jws), 200).await.json();
    let token = authz["challenges"][0]["token"].as_str().unwrap().to_owned();
    let thumbprint = AccountKey::parse(&r.key.jwk()).unwrap().thumbprint().to_owned();
    r.b.responder.serve(&token, &trustplane_core::services::acme::key_authorization(&token, &thumbprint));
    let jws = r.jws(&r.urls().challenge(&authz_id), Some(json!({})), None).await;
    assert_eq!(expect(r, invoke, "post-challenge", Some(&jws), 200).await.json()["status"], "processing");
    wait_until_valid(r, invoke, &authz_id).await;
    order
}

/// Finalizes the ready `order`, downloads the chain and revokes the certificate, which the
/// inventory then lists as a revoked `acme` certificate.
async fn finalize_download_and_revoke<F, Fut>(r: &mut Replay<'_>, invoke: &F, order: &Value, name: &str)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    let order_id = segment(&order["finalize"], 1);
    r.set("ID", order_id.clone());
    let jws = r.jws(&r.urls().order(&order_id), None, None).await;
    assert_eq!(expect(r, invoke, "get-order", Some(&jws), 200).await.json()["status"], "ready");
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = B64.encode(params.serialize_request(&key).unwrap().der());
    let jws = r.jws(&r.urls().finalize(&order_id), Some(json!({ "csr": csr })), None).await;
    let valid = expect(r, invoke, "finalize-order", Some(&jws), 200).await.json();
    assert_eq!(valid["status"], "valid", "{valid}");
    let cert_id = segment(&valid["certificate"], 0);
    r.set("ID", cert_id.clone());
    let jws = r.jws(&r.urls().certificate(&cert_id), None, None).await;
    let chain = expect(r, invoke, "get-certificate", Some(&jws), 200).await;
    assert_eq!(chain.content_type.as_deref(), Some("application/pem-certificate-chain"));
    let der = trustplane_core::pki::chain::parse_pem_certs(&chain.text()).unwrap().remove(0);
    r.set("ARI_CERT_ID", support::ari_cert_id(&der));
    assert!(expect(r, invoke, "get-renewal-info", None, 200).await.json()["suggestedWindow"]["start"].is_string());
    let jws = r.jws(&r.urls().revoke_cert(), Some(json!({ "certificate": B64.encode(&der), "reason": 5 })), None).await;
    expect(r, invoke, "revoke-cert", Some(&jws), 200).await;
    let record = r.b.pki().get_certificate(&cert_id).await.unwrap();
    assert_eq!((record.channel(), record.status), (Channel::Acme, CertStatus::Revoked));
}

/// Runs the queued jobs and POST-as-GETs the authorization until its challenge was validated.
async fn wait_until_valid<F, Fut>(r: &Replay<'_>, invoke: &F, authz_id: &str)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    for _ in 0..100 {
        r.b.run_jobs().await;
        let jws = r.jws(&r.urls().authz(authz_id), None, None).await;
        let authz = expect(r, invoke, "get-authz", Some(&jws), 200).await.json();
        match authz["status"].as_str() {
            Some("valid") => return,
            Some("pending") => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            _ => panic!("the challenge failed: {authz}"),
        }
    }
    panic!("authorization {authz_id} was never validated");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_documented_in_process_on_the_embedded_backend() {
    let b = Backend::sqlite().await;
    let app = acme_api::app(b.state.clone());
    replay_all(&b, |event| {
        let app = app.clone();
        async move { replay_raw_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_documented_through_the_lambda_emulator_on_moto() {
    let b = Backend::moto().await;
    let mut env = trustplane_core::testkit::moto::lambda_env(&b.state.app.config);
    env.push(("ACME_HTTP01_PORT".into(), b.responder.port.to_string()));
    let rie = Arc::new(Rie::start("acme-api", &env));
    replay_all(&b, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_raw_through_rie(&rie, &event)) }
    })
    .await;
}
