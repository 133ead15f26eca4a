//! Every `events/provision-api/` fixture, in a realistic order, in-process on SQLite and
//! through the built bootstrap under the Lambda Runtime Interface Emulator on moto.

mod support;

use rcgen::PublicKeyData;
use serde_json::{json, Value};
use support::profile::{assert_agent_profile, assert_ca_cert_order};
use support::Backend;
use trustplane_core::testkit::{embed_in_event_body, fixture_text, replay_in_process, replay_through_rie, rie::Rie, Answer};

const FN: &str = "provision-api";

/// A CSR for `key` whose (ignored) common name is `fixture`.
fn csr_pem(key: &rcgen::KeyPair) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "fixture");
    params.serialize_request(key).unwrap().pem().unwrap()
}

/// Replays every fixture through `invoke`; `days` is the deployment's AGENT_CERT_VALIDITY_DAYS.
async fn replay_all<F, Fut>(admin: &str, days: u32, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let agent_key = rcgen::KeyPair::generate().unwrap();
    let csr = embed_in_event_body(&csr_pem(&agent_key));
    let ev = |name: &str, subs: &[(&str, &str)]| {
        let mut all = vec![("ADMIN_KEY", admin), ("CSR_PEM", csr.as_str())];
        all.extend_from_slice(subs);
        fixture_text(FN, name, &all)
    };
    let (status, created) = invoke(ev("create-provision-key", &[])).await;
    assert_eq!(status, 201, "{created}");
    let key = created["provision_key"].as_str().unwrap().to_owned();
    let expect = |name: &'static str, want: u16, body: Option<Value>| (name, want, body);
    let cases = [
        expect("create-provision-key-no-key", 401, None),
        expect("create-provision-key-bad-agent", 400, None),
        expect("create-provision-key-bad-ttl", 400, None),
        expect("list-provision-keys", 200, None),
        expect("provision-missing-key", 400, Some(json!({ "error": "provision_key is required" }))),
        expect("provision-missing-csr", 400, Some(json!({ "error": "csr is required" }))),
        expect("provision-invalid-key", 401, Some(json!({ "error": "invalid provision key" }))),
        expect("provision-malformed-csr", 400, None),
        expect("provision-malformed-json", 400, None),
        expect("provision", 200, None),
        expect("provision", 401, Some(json!({ "error": "provision key already used" }))),
    ];
    for (name, want, body) in cases {
        let (status, got) = invoke(ev(name, &[("PROVISION_KEY", &key)])).await;
        assert_eq!(status, want, "{name}: {got}");
        if let Some(body) = body {
            assert_eq!(got, body, "{name}");
        }
        if status >= 400 {
            let keys: Vec<&String> = got.as_object().map(|o| o.keys().collect()).unwrap_or_default();
            assert_eq!(keys, ["error"], "{name}: seed 000 errors are exactly {{\"error\": \"...\"}}: {got}");
            assert!(got["error"].is_string(), "{name}: {got}");
        }
        if status == 200 && name == "provision" {
            let (ca, cert) = (got["ca_cert"].as_str().unwrap(), got["agent_cert"].as_str().unwrap());
            let subject = support::openssl_verify(ca, cert);
            assert!(subject.contains("CN=agent-5") || subject.contains("CN = agent-5"), "{subject}");
            assert_eq!(got["agent_id"], "agent-5");
            assert_ca_cert_order(ca, cert);
            assert_agent_profile(cert, &agent_key.subject_public_key_info(), days);
        }
    }
    let (_, second) = invoke(ev("create-provision-key", &[])).await;
    let prefix = second["key_prefix"].as_str().unwrap().to_owned();
    assert_eq!(invoke(ev("delete-provision-key", &[("KEY_PREFIX", &prefix)])).await.0, 204);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_in_process_on_sqlite() {
    let b = Backend::sqlite().await;
    replay_all(&b.admin.clone(), b.state.config.agent_cert_validity_days, |event| {
        let app = b.app.clone();
        async move { replay_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_through_the_lambda_emulator_on_moto() {
    let b = Backend::moto().await;
    let rie = std::sync::Arc::new(Rie::start("provision-api", &trustplane_core::testkit::moto::lambda_env(&b.state.config)));
    replay_all(&b.admin.clone(), b.state.config.agent_cert_validity_days, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_through_rie(&rie, &event)) }
    })
    .await;
    let provisions: Vec<Value> = rie.metrics().into_iter().filter(|doc| doc["Provisions"] == 1.0).collect();
    let outcomes: Vec<&str> = provisions.iter().map(|doc| doc["Outcome"].as_str().unwrap_or_default()).collect();
    assert_eq!(outcomes, ["invalid_key", "invalid_csr", "provisioned", "key_used"], "one Provisions document per attempt the service saw");
    assert_eq!(provisions[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Stack"], ["Stack", "Outcome"]]));
}
