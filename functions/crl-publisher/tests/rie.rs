//! The built `crl-publisher` bootstrap under the Lambda Runtime Interface Emulator, on the
//! AWS adapters against moto: a revocation's SQS message, then the EventBridge schedule, which
//! queues a job for the CRL past half its validity, and that job.

mod common;

use serde_json::json;
use x509_parser::prelude::FromDer;
use std::sync::Arc;
use trustplane_core::wiring::aws_ports_with as ports_with;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::leaf::Template;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{AuthorityOptions, AuthorityType, IssuancePolicy, IssueRequest, NewAuthority, Pki};
use trustplane_core::testkit::{moto, rie::Rie};

#[tokio::test(flavor = "multi_thread")]
async fn the_function_publishes_for_queued_revocations_and_on_schedule_through_the_emulator() {
    let config = moto::fresh_config().await;
    let sdk = moto::sdk_config().await;
    let ports = ports_with(&sdk, &config).unwrap();
    let pki = Pki::new(ports.clone(), Arc::new(config.clone()));
    let subject = pki.create_subject(SubjectName::common_name_only("RIE Root").unwrap()).await.unwrap();
    let new = NewAuthority { subject_id: subject.id.clone(), kind: Some(AuthorityType::Root), ..NewAuthority::default() };
    let options = AuthorityOptions { issuance: IssuancePolicy { allow_leaf_issuance: true, ..IssuancePolicy::default() }, ..AuthorityOptions::default() };
    let root = pki.create_authority_with(new, options).await.unwrap();
    let request = IssueRequest { issuer_id: root.id.clone(), subject_id: Some(subject.id), template: Some("TLS_CLIENT".into()), ..IssueRequest::default() };
    let cert = pki.issue(request).await.unwrap().issued.record;
    assert_eq!(Template::TlsClient, cert.template);
    pki.revoke(&cert.id, RevocationReason::KeyCompromise, None).await.unwrap();

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let event = sqs_event(&sqs, &config.job_queue_url).await;
    let rie = Rie::start("crl-publisher", &moto::lambda_env(&config));
    let reply = tokio::task::block_in_place(|| rie.invoke(&event.to_string()));
    assert_eq!(reply, json!({ "batchItemFailures": [] }));
    assert_eq!(pki.crl_state(&root.id).await.unwrap().unwrap().number, 2);
    let root_der = pki.chain(&root.id).await.unwrap().remove(0);
    assert_published_crl_lists(&sdk, &config.blob_bucket, &root.id, &root_der, &cert.certificate_pem);

    common::age_crl(ports.store.as_ref(), &root.id, 13).await;
    let scheduled = json!({ "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {} });
    let reply = tokio::task::block_in_place(|| rie.invoke(&scheduled.to_string()));
    assert_eq!(reply, json!({ "enqueued": 1 }));
    assert_eq!(pki.crl_state(&root.id).await.unwrap().unwrap().number, 2, "the schedule only queues");
    let queued = sqs_event(&sqs, &config.job_queue_url).await;
    let reply = tokio::task::block_in_place(|| rie.invoke(&queued.to_string()));
    assert_eq!(reply, json!({ "batchItemFailures": [] }));
    assert_eq!(pki.crl_state(&root.id).await.unwrap().unwrap().number, 3);
    let published: Vec<serde_json::Value> = rie.metrics().into_iter().filter(|doc| doc["CrlPublished"] == 1.0).collect();
    assert_eq!(published.len(), 2, "one EMF document per publication: {published:?}");
    assert!(published.iter().all(|doc| doc["AuthorityId"] == root.id.as_str() && doc["CrlEntries"] == 1.0), "{published:?}");
    assert!(published.iter().all(|doc| doc["CrlAgeSeconds"].as_f64().is_some_and(|age| age < 60.0)), "{published:?}");
}

/// The next message of the queue as the SQS event Lambda would deliver.
async fn sqs_event(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> serde_json::Value {
    let received = sqs.receive_message().queue_url(queue_url).wait_time_seconds(2).send().await.unwrap();
    let message = received.messages.unwrap_or_default().pop().expect("a queued job");
    json!({ "Records": [{
        "messageId": message.message_id, "receiptHandle": message.receipt_handle, "body": message.body,
        "eventSource": "aws:sqs", "awsRegion": "us-east-1",
    }] })
}

/// The object the function wrote to S3 is a CRL signed by the root (openssl) that lists `cert`.
fn assert_published_crl_lists(sdk: &aws_config::SdkConfig, bucket: &str, authority_id: &str, root_der: &[u8], cert_pem: &str) {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    let key = format!("crl/{authority_id}.crl");
    let object = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async { s3.get_object().bucket(bucket).key(&key).send().await.unwrap().body.collect().await.unwrap().into_bytes() })
    });
    let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&object).expect("S3 holds a DER CRL");
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
    let serial = pem.parse_x509().unwrap().raw_serial().to_vec();
    assert!(crl.iter_revoked_certificates().any(|r| r.raw_serial() == serial.as_slice()), "the revoked serial is on the published CRL");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crl.der"), &object).unwrap();
    std::fs::write(dir.path().join("root.der"), root_der).unwrap();
    let run = |args: &[&str]| std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
    assert!(run(&["x509", "-inform", "DER", "-in", "root.der", "-out", "root.pem"]).status.success());
    let verified = run(&["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "root.pem", "-noout"]);
    let text = format!("{}{}", String::from_utf8_lossy(&verified.stdout), String::from_utf8_lossy(&verified.stderr));
    assert!(verified.status.success() && text.contains("verify OK"), "openssl: {text}");
}
