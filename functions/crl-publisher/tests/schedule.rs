//! CRL freshness (RFC 5280 §5.1.2.4-5): the schedule fans out one job per authority whose
//! CRL is past half its validity and the SQS path publishes them; a revocation whose job was
//! lost still reaches the CRL that way; every CRL's nextUpdate − thisUpdate is exactly
//! `CRL_VALIDITY_HOURS`. On SQLite + a directory and on DynamoDB + SQS + S3 (moto).

mod common;

use common::hooks::DownQueue;
use common::*;
use crl_publisher::{CrlWorker, WorkerEvent};
use serde_json::{json, Value};
use std::sync::Arc;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{blob_key, IssueRequest, Pki};
use trustplane_core::wiring::Ports;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

on_both_backends! {
    the_schedule_enqueues_one_job_per_authority_past_half_its_crl_validity_and_publishes_nothing_itself => fan_out;
    a_revocation_whose_job_was_lost_reaches_the_crl_through_the_schedule => lost_job;
    every_crl_is_valid_for_exactly_crl_validity_hours => validity;
}

fn scheduled() -> WorkerEvent {
    serde_json::from_value(json!({ "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {} })).unwrap()
}

/// Hands `bodies` to the worker as one SQS batch; returns its answer.
async fn deliver(worker: &CrlWorker, bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies.iter().enumerate().map(|(i, b)| json!({ "messageId": format!("m{i}"), "body": b, "eventSource": "aws:sqs" })).collect();
    let event = serde_json::from_value(json!({ "Records": records })).unwrap();
    serde_json::to_value(worker.handle_event(event).await.unwrap()).unwrap()
}

async fn fan_out(env: Env) {
    let (young, old) = (env.root("Young Root").await, env.root("Old Root").await);
    env.take_jobs().await;
    env.age_crl(&young, 11).await;
    env.age_crl(&old, 13).await;
    let worker = CrlWorker::new(env.pki());
    let answer = serde_json::to_value(worker.handle_event(scheduled()).await.unwrap()).unwrap();
    assert_eq!(answer, json!({ "enqueued": 1 }));
    assert_eq!((env.state(&young).await.number, env.state(&old).await.number), (1, 1), "the schedule itself publishes nothing");
    let jobs = env.take_jobs().await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(jobs[0].contains(&old) && !jobs[0].contains(&young), "{jobs:?}");
    assert_eq!(deliver(&worker, &jobs).await, json!({ "batchItemFailures": [] }));
    assert_eq!((env.state(&young).await.number, env.state(&old).await.number), (1, 2));
    assert_eq!(env.stored_number(&old).await, Some(2));
}

async fn lost_job(env: Env) {
    let authority = env.root("Lost Job Root").await;
    let pki = env.pki();
    let subject = pki.create_subject(SubjectName::common_name_only("client.example").unwrap()).await.unwrap();
    let request = IssueRequest { issuer_id: authority.clone(), subject_id: Some(subject.id), template: Some("TLS_CLIENT".into()), ..IssueRequest::default() };
    let cert = pki.issue(request).await.unwrap().issued.record;
    env.take_jobs().await;
    let no_queue = Pki::new(Ports { queue: Arc::new(DownQueue), ..env.ports.clone() }, env.config.clone());
    no_queue.revoke(&cert.id, RevocationReason::KeyCompromise, None).await.expect("the revocation stands without its job");
    assert!(env.take_jobs().await.is_empty());
    assert!(!listed(&env, &authority, &cert.serial_number).await, "nothing published the revocation yet");
    env.age_crl(&authority, 13).await;
    let worker = CrlWorker::new(pki);
    assert_eq!(serde_json::to_value(worker.handle_event(scheduled()).await.unwrap()).unwrap(), json!({ "enqueued": 1 }));
    assert_eq!(deliver(&worker, &env.take_jobs().await).await, json!({ "batchItemFailures": [] }));
    assert!(listed(&env, &authority, &cert.serial_number).await, "the scheduled republication lists the revoked serial");
}

/// True if the stored CRL lists `serial` (hex).
async fn listed(env: &Env, authority_id: &str, serial: &str) -> bool {
    let der = env.ports.blobs.get(&blob_key(authority_id).unwrap()).await.unwrap().expect("a stored CRL");
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    let wanted = serial.trim_start_matches('0').to_ascii_uppercase();
    let found = crl.iter_revoked_certificates().any(|r| r.raw_serial_as_string().replace(':', "").trim_start_matches('0').to_ascii_uppercase() == wanted);
    found
}

async fn validity(env: Env) {
    let config = trustplane_core::config::Config { crl_validity_hours: 7, ..(*env.config).clone() };
    let pki = Pki::new(env.ports.clone(), Arc::new(config));
    let authority = root(&pki, "Seven Hour Root").await;
    pki.publish_crl(&authority, None).await.unwrap();
    let der = env.ports.blobs.get(&blob_key(&authority).unwrap()).await.unwrap().expect("a stored CRL");
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    let this_update = crl.last_update().timestamp();
    let next_update = crl.next_update().expect("nextUpdate (RFC 5280 §5.1.2.5)").timestamp();
    assert_eq!(next_update - this_update, 7 * 3600);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - 60..=now).contains(&this_update), "thisUpdate {this_update} is not now ({now})");
    let state = pki.crl_state(&authority).await.unwrap().unwrap();
    assert_eq!((state.this_update.unix_timestamp(), state.next_update.unix_timestamp()), (this_update, next_update));
}
