//! The published CRL never goes backwards (RFC 5280 §5.2.3: CRL numbers increase), whatever
//! the interleaving of publishers: two of them are interleaved deterministically by a fault
//! hook at the blob store, on SQLite + a directory and on DynamoDB + S3 (moto); and a
//! revocation committed while a CRL is being built reaches the CRL its own job publishes.

mod common;

use common::hooks::{Hooked, Pause, Seen};
use common::*;
use std::time::{Duration, Instant};
use trustplane_core::jobs::JobHandler;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{blob_key, CrlOutcome, IssueRequest};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

on_both_backends! {
    a_publisher_paused_before_its_upload_never_puts_an_older_crl_over_a_newer_one => paused_publisher;
    a_publisher_that_dies_right_after_a_late_upload_leaves_no_false_up_to_date => dying_publisher;
    a_job_is_up_to_date_only_when_the_published_object_carries_the_states_crl_number => stale_object;
    a_crl_never_uploaded_is_published_even_where_a_missing_object_reads_as_access_denied => missing_object;
    a_revocation_committed_while_a_crl_is_built_reaches_the_crl_its_job_publishes => revocation_during_build;
}

/// Publisher A builds and claims CRL 2, then waits before its upload; B builds and uploads
/// CRL 3; A goes on. The store must never hold a lower number than it held before.
async fn paused_publisher(env: Env) {
    let authority = env.root("Ordering Root").await;
    let (seen, pause) = (Seen::default(), Pause::new());
    let a = env.pki_with_blobs(Hooked::watching(env.ports.blobs.clone(), &seen).pausing(&pause).into_blobs());
    let b = env.pki_with_blobs(Hooked::watching(env.ports.blobs.clone(), &seen).into_blobs());
    let id = authority.clone();
    let slow = tokio::spawn(async move { a.publish_crl(&id, None).await });
    pause.reached().await;
    assert_eq!(env.state(&authority).await.number, 2, "A claimed CRL 2 before pausing");
    match b.publish_crl(&authority, None).await.unwrap() {
        CrlOutcome::Published { number: 3, .. } => {}
        other => panic!("B did not publish CRL 3: {other:?}"),
    }
    pause.release();
    slow.await.unwrap().unwrap();
    let numbers = seen.numbers();
    assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "the stored CRL went backwards: {numbers:?}");
    let state = env.state(&authority).await;
    assert_eq!(env.stored_number(&authority).await, Some(state.number), "{state:?}");
    assert!(state.published && state.number >= 3, "{state:?}");
}

/// As above, but A dies right after any write it makes; then a job whose revocation any CRL
/// covers arrives. It may answer `UpToDate` only if the store holds the state's number.
async fn dying_publisher(env: Env) {
    let authority = env.root("Ordering Root").await;
    let (seen, pause) = (Seen::default(), Pause::new());
    let hooked = Hooked::watching(env.ports.blobs.clone(), &seen).pausing(&pause).dying_after_write();
    let a = env.pki_with_blobs(hooked.into_blobs());
    let id = authority.clone();
    let slow = tokio::spawn(async move { a.publish_crl(&id, None).await });
    pause.reached().await;
    assert!(matches!(env.pki().publish_crl(&authority, None).await.unwrap(), CrlOutcome::Published { number: 3, .. }));
    pause.release();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !slow.is_finished() && seen.numbers().is_empty() {
        assert!(Instant::now() < deadline, "A neither wrote nor finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    slow.abort();
    let outcome = env.pki().publish_crl(&authority, Some(0)).await.unwrap();
    let stored = env.stored_number(&authority).await.expect("a stored CRL");
    match outcome {
        CrlOutcome::UpToDate { number } | CrlOutcome::Published { number, .. } => {
            assert_eq!(number, stored, "{outcome:?} while the store holds CRL {stored}")
        }
        other => panic!("{other:?}"),
    }
    assert!(stored >= 3 && stored == env.state(&authority).await.number, "stored {stored}");
}

/// A store that already went backwards (CRL 2 over 3, as last-writer-wins uploads left it)
/// is not `UpToDate`: the next job publishes a CRL numbered above both.
async fn stale_object(env: Env) {
    let authority = env.root("Ordering Root").await;
    let pki = env.pki();
    let CrlOutcome::Published { der: older, .. } = pki.publish_crl(&authority, None).await.unwrap() else { panic!("not published") };
    pki.publish_crl(&authority, None).await.unwrap();
    env.ports.blobs.put(&blob_key(&authority).unwrap(), older, "application/pkix-crl").await.unwrap();
    let outcome = pki.publish_crl(&authority, Some(0)).await.unwrap();
    assert!(matches!(outcome, CrlOutcome::Published { number: 4, .. }), "{outcome:?}");
    assert_eq!(env.stored_number(&authority).await, Some(4));
    let covered = pki.publish_crl(&authority, Some(0)).await.unwrap();
    assert_eq!(covered, CrlOutcome::UpToDate { number: 4 });
}

/// The first CRLs could not be uploaded (the store was down), and the store answers a read
/// of a missing object with 403, as S3 does for a role without `s3:ListBucket`: "missing" comes
/// from the CRL state, so a download publishes, and so does the queued job.
async fn missing_object(env: Env) {
    let down = env.pki_with_blobs(Hooked::watching(env.ports.blobs.clone(), &Seen::default()).failing_writes().into_blobs());
    let (downloaded, queued) = (root(&down, "Downloaded Root").await, root(&down, "Queued Root").await);
    assert_eq!(env.stored_number(&downloaded).await, None, "nothing reached the store");
    let denying = env.pki_with_blobs(Hooked::watching(env.ports.blobs.clone(), &Seen::default()).denying_missing().into_blobs());
    let der = denying.current_crl(&downloaded).await.expect("the CRL downloads");
    assert_eq!(Some(crl_number(&der)), env.stored_number(&downloaded).await);
    let jobs: Vec<String> = env.take_jobs().await.into_iter().filter(|j| j.contains(&queued)).collect();
    assert_eq!(jobs.len(), 1, "the failed first publication queued a job");
    crl_publisher::CrlWorker::new(denying).handle(&jobs[0]).await.expect("the queued first CRL is published");
    let state = env.state(&queued).await;
    assert!(state.published, "{state:?}");
    assert_eq!(env.stored_number(&queued).await, Some(state.number));
}

/// Publisher A has read the revoked entries and claimed CRL 2 when a certificate is revoked;
/// A then stores its CRL 2 without it. The revocation's job must not take CRL 2 for one that
/// covers it: it publishes CRL 3, which lists the serial.
async fn revocation_during_build(env: Env) {
    let authority = env.root("Ordering Root").await;
    let pki = env.pki();
    let subject = pki.create_subject(SubjectName::common_name_only("client.example").unwrap()).await.unwrap();
    let request = IssueRequest { issuer_id: authority.clone(), subject_id: Some(subject.id), template: Some("TLS_CLIENT".into()), ..IssueRequest::default() };
    let cert = pki.issue(request).await.unwrap().issued.record;
    env.take_jobs().await;
    let pause = Pause::new();
    let a = env.pki_with_blobs(Hooked::watching(env.ports.blobs.clone(), &Seen::default()).pausing(&pause).into_blobs());
    let id = authority.clone();
    let slow = tokio::spawn(async move { a.publish_crl(&id, None).await });
    pause.reached().await;
    pki.revoke(&cert.id, RevocationReason::KeyCompromise, None).await.unwrap();
    pause.release();
    let CrlOutcome::Published { number: 2, der } = slow.await.unwrap().unwrap() else { panic!("A did not publish CRL 2") };
    assert!(!lists(&der, &cert.serial_number), "A read the revoked entries before the revocation");
    let jobs = env.take_jobs().await;
    assert!(jobs.len() == 1 && jobs[0].contains(&authority), "the revocation queued one job: {jobs:?}");
    crl_publisher::CrlWorker::new(env.pki()).handle(&jobs[0]).await.expect("the revocation's job runs");
    let stored = env.ports.blobs.get(&blob_key(&authority).unwrap()).await.unwrap().expect("a stored CRL");
    let state = env.state(&authority).await;
    assert_eq!((crl_number(&stored), state.number, state.published), (3, 3, true), "the job published CRL 3, not UpToDate with CRL 2");
    assert!(lists(&stored, &cert.serial_number), "the stored CRL lists the serial revoked during the build");
}

/// True if the DER CRL lists `serial` (hex, as the inventory keeps it).
fn lists(der: &[u8], serial: &str) -> bool {
    let (_, crl) = CertificateRevocationList::from_der(der).unwrap();
    let wanted = serial.trim_start_matches('0').to_ascii_uppercase();
    let listed = crl.iter_revoked_certificates().any(|r| r.raw_serial_as_string().replace(':', "").trim_start_matches('0').to_ascii_uppercase() == wanted);
    listed
}
