//! Every `events/pki-api/` fixture, in a realistic order, in-process on the embedded backend
//! and through the built bootstrap under the Lambda Runtime Interface Emulator on moto.

mod common;

use common::Env;
use serde_json::Value;
use trustplane_core::testkit::{embed_in_event_body, fixture_text, moto, replay_in_process, replay_through_rie, rie::Rie, Answer};

const FN: &str = "pki-api";

fn csr_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["ignored.example".to_owned()]).unwrap();
    params.serialize_request(&key).unwrap().pem().unwrap()
}

struct Ids {
    subs: Vec<(&'static str, String)>,
}

impl Ids {
    fn event(&self, name: &str) -> String {
        let subs: Vec<(&str, &str)> = self.subs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fixture_text(FN, name, &subs)
    }

    fn set(&mut self, key: &'static str, value: &Value) {
        self.subs.retain(|(k, _)| *k != key);
        self.subs.push((key, value.as_str().expect("an id").to_owned()));
    }
}

async fn expect<F, Fut>(ids: &Ids, invoke: &F, name: &str, status: u16) -> Value
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let (got, body) = invoke(ids.event(name)).await;
    assert_eq!(got, status, "{name}: {body}");
    if got >= 400 {
        assert_eq!(body["status"], u64::from(status), "{name}: problem+json body: {body}");
    }
    body
}

async fn replay_all<F, Fut>(admin: &str, reader: &str, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let csr = embed_in_event_body(&csr_pem());
    let mut ids = Ids { subs: vec![("API_KEY", admin.to_owned()), ("READER_KEY", reader.to_owned()), ("CSR_PEM", csr)] };
    let subject = expect(&ids, &invoke, "create-subject", 201).await;
    ids.set("SUBJECT_ID", &subject["id"]);
    for (name, status) in [("create-subject-bad-country", 400), ("create-subject-no-key", 401), ("list-subjects", 200), ("get-subject", 200), ("get-subject-unknown", 404)] {
        expect(&ids, &invoke, name, status).await;
    }
    let root = expect(&ids, &invoke, "create-root", 201).await;
    ids.set("AUTHORITY_ID", &root["id"]);
    for (name, status) in [("create-authority-unknown-subject", 422), ("create-authority-weak-key", 400), ("create-authority-reader-key", 403)] {
        expect(&ids, &invoke, name, status).await;
    }
    let intermediate = expect(&ids, &invoke, "create-intermediate", 201).await;
    assert_eq!(intermediate["hierarchy"]["pathLenConstraint"], 0);
    ids.set("AUTHORITY_ID", &intermediate["id"]);
    for (name, status) in [("list-authorities", 200), ("get-authority", 200), ("get-chain", 200), ("get-chain-p7b", 200)] {
        expect(&ids, &invoke, name, status).await;
    }
    let issued = expect(&ids, &invoke, "issue-certificate", 200).await;
    assert!(issued["privateKeyContent"].as_str().is_some_and(|k| k.contains("PRIVATE KEY")));
    ids.set("CERT_ID", &issued["id"]);
    let with_csr = expect(&ids, &invoke, "issue-certificate-with-csr", 200).await;
    assert!(with_csr.get("privateKeyContent").is_none_or(Value::is_null), "no key is generated for a CSR");
    for (name, status) in [
        ("issue-certificate-server-without-san", 400),
        ("issue-certificate-reader-key", 403),
        ("issue-certificate-no-key", 401),
        ("list-certificates", 200),
        ("get-certificate", 200),
        ("get-certificate-unknown", 404),
        ("revoke-certificate-bad-reason", 400),
        ("revoke-certificate", 202),
        ("revoke-certificate", 409),
        ("get-crl", 200),
        ("get-crl-pem", 200),
    ] {
        expect(&ids, &invoke, name, status).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_its_status_in_process_on_the_embedded_backend() {
    let env = Env::local().await;
    let reader = env.key(&["pki:read"]).await;
    let app = env.app.clone();
    replay_all(&env.admin, &reader, |event| {
        let app = app.clone();
        async move { replay_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_its_status_through_the_lambda_emulator_on_moto() {
    let env = Env::moto().await;
    let reader = env.key(&["pki:read"]).await;
    let rie = std::sync::Arc::new(Rie::start(env!("CARGO_BIN_EXE_pki-api"), &moto::lambda_env(&env.state.config)));
    replay_all(&env.admin, &reader, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_through_rie(&rie, &event)) }
    })
    .await;
}
