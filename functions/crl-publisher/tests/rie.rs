//! The built `crl-publisher` bootstrap under the Lambda Runtime Interface Emulator, on the
//! AWS adapters against moto: a revocation's SQS message, then the EventBridge schedule.

use serde_json::json;
use std::sync::Arc;
use trustplane_core::adapters::aws::ports_with;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::leaf::Template;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{AuthorityType, IssueRequest, NewAuthority, Pki};
use trustplane_core::testkit::{moto, rie::Rie};

#[tokio::test(flavor = "multi_thread")]
async fn the_function_publishes_for_queued_revocations_and_on_schedule_through_the_emulator() {
    let config = moto::fresh_config().await;
    let sdk = moto::sdk_config().await;
    let pki = Pki::new(ports_with(&sdk, &config).unwrap(), Arc::new(config.clone()));
    let subject = pki.create_subject(SubjectName::common_name_only("RIE Root").unwrap()).await.unwrap();
    let new = NewAuthority { subject_id: subject.id.clone(), kind: Some(AuthorityType::Root), ..NewAuthority::default() };
    let root = pki.create_authority(new).await.unwrap();
    let request = IssueRequest { issuer_id: root.id.clone(), subject_id: Some(subject.id), template: Some("TLS_CLIENT".into()), ..IssueRequest::default() };
    let cert = pki.issue(request).await.unwrap().issued.record;
    assert_eq!(Template::TlsClient, cert.template);
    pki.revoke(&cert.id, RevocationReason::KeyCompromise, None).await.unwrap();

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let received = sqs.receive_message().queue_url(&config.job_queue_url).wait_time_seconds(2).send().await.unwrap();
    let message = received.messages.unwrap_or_default().pop().expect("the revocation queued a job");
    let event = json!({ "Records": [{
        "messageId": message.message_id, "receiptHandle": message.receipt_handle, "body": message.body,
        "eventSource": "aws:sqs", "awsRegion": "us-east-1",
    }] });
    let rie = Rie::start(env!("CARGO_BIN_EXE_crl-publisher"), &moto::lambda_env(&config));
    let reply = tokio::task::block_in_place(|| rie.invoke(&event.to_string()));
    assert_eq!(reply, json!({ "batchItemFailures": [] }));
    assert_eq!(pki.crl_state(&root.id).await.unwrap().unwrap().number, 2);

    let scheduled = json!({ "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {} });
    let reply = tokio::task::block_in_place(|| rie.invoke(&scheduled.to_string()));
    assert_eq!(reply, json!({ "republished": 1 }));
    assert_eq!(pki.crl_state(&root.id).await.unwrap().unwrap().number, 3);
}
