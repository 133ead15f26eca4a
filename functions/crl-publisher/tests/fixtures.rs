//! The `events/crl-publisher/` fixtures (what `sam local invoke -e` takes), through the built
//! bootstrap under the Lambda Runtime Interface Emulator on moto, and in-process locally. The
//! schedule fixture queues a job only for a CRL past half its validity.

mod common;

use serde_json::json;
use std::sync::Arc;
use trustplane_core::http::AppState;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{AuthorityType, NewAuthority, Pki};
use trustplane_core::testkit::{fixture_text, local_state, moto, rie::Rie};

async fn root(pki: &Pki) -> String {
    let subject = pki.create_subject(SubjectName::common_name_only("Fixture Root").unwrap()).await.unwrap();
    let new = NewAuthority { subject_id: subject.id, kind: Some(AuthorityType::Root), ..NewAuthority::default() };
    pki.create_authority(new).await.unwrap().id
}

fn failures(reply: &serde_json::Value) -> Vec<String> {
    let list = reply["batchItemFailures"].as_array().unwrap_or_else(|| panic!("not a batch response: {reply}"));
    list.iter().map(|f| f["itemIdentifier"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_and_schedule_fixtures_publish_once_and_report_only_unreadable_messages_through_the_emulator() {
    let config = moto::fresh_config().await;
    let ports = trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &config).unwrap();
    let pki = Pki::new(ports.clone(), Arc::new(config.clone()));
    let authority = root(&pki).await;
    let rie = Rie::start("crl-publisher", &moto::lambda_env(&config));
    let invoke = |name: &str| tokio::task::block_in_place(|| rie.invoke(&fixture_text("crl-publisher", name, &[("AUTHORITY_ID", &authority)])));

    assert_eq!(failures(&invoke("sqs-publish-crl")), Vec::<String>::new());
    assert_eq!(pki.crl_state(&authority).await.unwrap().unwrap().number, 2, "two messages for one issuer make one CRL");
    let bad = failures(&invoke("sqs-with-bad-messages"));
    assert_eq!(bad, vec!["0f4b7a8e-0003-4c1f-9a3e-5b6c7d8e9f03".to_owned()], "only the unreadable message is retried");
    let before = pki.crl_state(&authority).await.unwrap().unwrap().number;
    assert_eq!(invoke("scheduled"), json!({ "enqueued": 0 }), "a fresh CRL is not due");
    common::age_crl(ports.store.as_ref(), &authority, 13).await;
    assert_eq!(invoke("scheduled"), json!({ "enqueued": 1 }), "a CRL past half its validity is queued");
    assert_eq!(pki.crl_state(&authority).await.unwrap().unwrap().number, before, "the schedule publishes nothing itself");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sqs_fixture_runs_in_process_on_the_embedded_backend() {
    let (state, _dir): (AppState, _) = local_state().await;
    let pki = Pki::new(state.ports.clone(), state.config.clone());
    let authority = root(&pki).await;
    let worker = crl_publisher::CrlWorker::new(pki.clone());
    let event = serde_json::from_str(&fixture_text("crl-publisher", "sqs-publish-crl", &[("AUTHORITY_ID", &authority)])).unwrap();
    let reply = serde_json::to_value(worker.handle_event(event).await.unwrap()).unwrap();
    assert_eq!(failures(&reply), Vec::<String>::new());
    assert_eq!(pki.crl_state(&authority).await.unwrap().unwrap().number, 2);
}
