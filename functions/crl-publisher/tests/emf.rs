//! The EMF documents a CRL publication emits through the worker `serve` and the Lambda drive
//! alike, which the template's `CrlAgeAlarm` watches (namespace `Trustplane`, metric
//! `CrlAgeSeconds`, dimension `Stack`).

mod common;

use crl_publisher::CrlWorker;
use serde_json::{json, Value};
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::metrics;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::services::pki::{IssueRequest, Pki};
use trustplane_core::testkit::local_state;

/// A root that may issue leaves, with one revoked certificate.
async fn root_with_one_revocation(pki: &Pki) -> String {
    let root = common::root(pki, "EMF Root").await;
    let subject = pki.get_authority(&root).await.unwrap().subject_id;
    let request = IssueRequest { issuer_id: root.clone(), subject_id: Some(subject), template: Some("TLS_CLIENT".into()), ..IssueRequest::default() };
    let cert = pki.issue(request).await.unwrap().issued.record;
    pki.revoke(&cert.id, RevocationReason::KeyCompromise, None).await.unwrap();
    root
}

fn publications_of(documents: &[Value], authority_id: &str) -> Vec<Value> {
    documents.iter().filter(|doc| doc["AuthorityId"] == authority_id && doc["CrlPublished"] == 1.0).cloned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queued_publication_reports_its_age_and_entries_per_authority_in_embedded_metric_format() {
    let (state, _dir) = local_state().await;
    let store = state.ports.store.clone();
    let pki = Pki::new(state.ports, state.config);
    let captured = metrics::capture();
    let root = root_with_one_revocation(&pki).await;
    common::age_crl(store.as_ref(), &root, 1).await;
    let requested_at = trustplane_core::clock::now().unix_timestamp() - 90;
    let job = serde_json::to_string(&Job::PublishCrl { authority_id: root.clone(), requested_at: Some(requested_at) }).unwrap();
    CrlWorker::new(pki.clone()).handle(&job).await.unwrap();

    let published = publications_of(&captured.documents(), &root);
    let queued = published.last().expect("the queued job's publication was counted");
    let directive = &queued["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Trustplane");
    assert_eq!(directive["Dimensions"], json!([["Stack"], ["Stack", "AuthorityId"]]));
    let names: Vec<&str> = directive["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["CrlPublished", "CrlAgeSeconds", "CrlEntries"]);
    assert_eq!(queued["CrlEntries"], 1.0, "{queued}");
    let age = queued["CrlAgeSeconds"].as_f64().unwrap();
    assert!((90.0..120.0).contains(&age), "requested 90 s ago, published after {age} s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publication_nobody_requested_reports_age_zero_and_a_job_the_stored_crl_covers_reports_nothing() {
    let (state, _dir) = local_state().await;
    let pki = Pki::new(state.ports, state.config);
    let captured = metrics::capture();
    let root = root_with_one_revocation(&pki).await;
    let first = publications_of(&captured.documents(), &root);
    assert!(first.iter().all(|doc| doc["CrlAgeSeconds"] == 0.0), "{first:?}");
    let before = first.len();
    let covered = serde_json::to_string(&Job::PublishCrl { authority_id: root.clone(), requested_at: Some(0) }).unwrap();
    CrlWorker::new(pki.clone()).handle(&covered).await.unwrap();
    assert_eq!(publications_of(&captured.documents(), &root).len(), before, "an up-to-date CRL is not published again");
}
