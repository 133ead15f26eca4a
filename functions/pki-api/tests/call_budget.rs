//! The AWS calls each operation makes on a warm function, counted by an SDK interceptor on
//! the AWS adapters against moto. The counts are the cost model (issue: performance): per
//! certificate exactly one KMS `Sign`, no `GetPublicKey` after the cold start, and at most
//! three DynamoDB requests (the API-key lookup, the authority's status, one transaction);
//! per revocation no KMS call at all (the CRL is signed by the publisher, once per batch) and
//! one SQS message for it.

use axum::Router;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use trustplane_core::adapters::aws::AwsCalls;
use trustplane_core::http::AppState;
use trustplane_core::testkit::{call, mint_key, moto};

const ROUNDS: u64 = 3;

struct Counted {
    app: Router,
    key: String,
    calls: AwsCalls,
}

impl Counted {
    async fn on_moto() -> Counted {
        let config = moto::fresh_config().await;
        let calls = AwsCalls::default();
        let ports = trustplane_core::wiring::aws_ports_counted(&moto::sdk_config().await, &config, &calls).unwrap();
        let state = AppState::new(config, ports);
        let key = mint_key(&state, &["pki:read", "pki:issue", "pki:admin", "pki:revoke"]).await;
        Counted { app: pki_api::app(state), key, calls }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut request = http::Request::builder().method(method).uri(path).header("x-api-key", &self.key);
        let body = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                axum::body::Body::from(b.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let reply = call(&self.app, request.body(body).unwrap()).await;
        assert!(reply.status.is_success(), "{method} {path}: {} {}", reply.status, String::from_utf8_lossy(&reply.body));
        reply.json()
    }

    async fn subject(&self, cn: &str) -> String {
        self.send("POST", "/api/v1/subjects", Some(json!({ "commonName": cn, "organization": "Budget", "country": "DE" }))).await["id"].as_str().unwrap().to_owned()
    }

    /// The calls `ROUNDS` runs of `op` make, per run, as `Service.Operation -> count`.
    async fn per_run<F, Fut>(&self, op: F) -> BTreeMap<String, u64>
    where
        F: Fn(u64) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let before = self.calls.snapshot();
        for round in 0..ROUNDS {
            op(round).await;
        }
        let made = self.calls.since(&before);
        for (operation, count) in &made {
            assert_eq!(count % ROUNDS, 0, "{operation} made {count} calls over {ROUNDS} runs: not the same every run");
        }
        made.into_iter().map(|(operation, count)| (operation, count / ROUNDS)).collect()
    }
}

fn dynamodb(calls: &BTreeMap<String, u64>) -> u64 {
    calls.iter().filter(|(op, _)| op.starts_with("DynamoDB.")).map(|(_, n)| n).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_issuance_costs_one_kms_sign_and_at_most_three_dynamodb_requests_and_a_revocation_no_signature() {
    let env = Counted::on_moto().await;
    let root_subject = env.subject("Budget Root").await;
    let root = env.send("POST", "/api/v1/authorities", Some(json!({ "subjectId": root_subject, "type": "ROOT", "keySpec": { "algorithm": "EC", "size": 256 }, "policy": { "validityYears": 10 } }))).await;
    let ca_subject = env.subject("Budget Issuing CA").await;
    let body = json!({ "subjectId": ca_subject, "type": "INTERMEDIATE", "parentAuthorityId": root["id"], "keySpec": { "algorithm": "EC", "size": 256 }, "policy": { "validityYears": 5, "pathLenConstraint": 0 } });
    let issuer = env.send("POST", "/api/v1/authorities", Some(body)).await["id"].as_str().unwrap().to_owned();
    let leaf_subject = env.subject("www.example.com").await;
    let issue = || async {
        let body = json!({ "subjectId": leaf_subject, "template": "TLS_SERVER", "validityDays": 30, "san": { "dnsNames": ["www.example.com"] } });
        env.send("POST", &format!("/api/v1/issuers/{issuer}/certificates"), Some(body)).await
    };
    issue().await;

    let issuance = env.per_run(|_| async { issue().await; }).await;
    eprintln!("per warm issuance: {issuance:?}");
    assert_eq!(issuance.get("KMS.Sign"), Some(&1), "{issuance:?}");
    assert_eq!(issuance.get("KMS.GetPublicKey"), None, "the public key is fetched once per cold start: {issuance:?}");
    assert!(dynamodb(&issuance) <= 3, "at most the key lookup, the authority and one transaction: {issuance:?}");
    assert_eq!(issuance.get("DynamoDB.TransactWriteItems"), Some(&1), "{issuance:?}");

    let mut issued = Vec::new();
    for _ in 0..ROUNDS {
        issued.push(issue().await["id"].as_str().unwrap().to_owned());
    }
    let revocation = env
        .per_run(|round| {
            let path = format!("/api/v1/certificates/{}/revocation", issued[round as usize]);
            let env = &env;
            async move { env.send("POST", &path, Some(json!({ "reason": "KEY_COMPROMISE" }))).await; }
        })
        .await;
    eprintln!("per revocation: {revocation:?}");
    assert!(revocation.keys().all(|op| !op.starts_with("KMS.")), "a revocation signs nothing: {revocation:?}");
    assert_eq!(revocation.get("SQS.SendMessage"), Some(&1), "one CRL publication queued: {revocation:?}");
    assert!(dynamodb(&revocation) <= 3, "the key, the certificate and one transaction at most: {revocation:?}");

    let read = env.per_run(|_| async { env.send("GET", &format!("/api/v1/authorities/{issuer}"), None).await; }).await;
    eprintln!("per authority read: {read:?}");
    assert_eq!(dynamodb(&read), read.get("DynamoDB.GetItem").copied().unwrap_or(0), "{read:?}");
    assert!(read.keys().all(|op| op.starts_with("DynamoDB.")), "no KMS call to authenticate or read: {read:?}");
}
