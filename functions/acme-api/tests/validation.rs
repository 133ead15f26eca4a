//! RFC 8555 §7.5.1: the challenge POST is answered at once with the challenge `processing`,
//! and its `http-01` validation is a job ([`Job::ValidateAcmeChallenge`]) that the job queue's
//! worker runs later (`serve`'s in-process queue; SQS and the worker function on AWS). On the
//! embedded backend and on the AWS adapters (moto).

mod support;

use serde_json::{json, Value};
use support::jobs::SwitchQueue;
use support::{problem, text, Backend, Client};
use trustplane_core::jobs::Job;
use trustplane_core::on_both_backends;
use trustplane_core::services::acme::test_signer::TestKey;

on_both_backends!(
    a_challenge_post_answers_processing_at_once_and_the_queued_job_records_the_outcome_once,
    a_validation_that_cannot_be_queued_leaves_the_challenge_pending_for_the_client_to_ask_again,
);

/// An order for `name`: the URL of its authorization and its challenge, answered correctly.
async fn answered_challenge(client: &Client<'_>, name: &str) -> (String, String) {
    let (_, order) = client.order(&[name]).await;
    let authz_url = order["authorizations"][0].as_str().unwrap().to_owned();
    let challenge = client.post(&authz_url, None).await.json()["challenges"][0].clone();
    let token = challenge["token"].as_str().unwrap();
    client.b.responder.serve(token, &client.key_authorization(token));
    (authz_url, challenge["url"].as_str().unwrap().to_owned())
}

fn validations(jobs: &[Job]) -> Vec<String> {
    jobs.iter().filter_map(|job| if let Job::ValidateAcmeChallenge { authz_id, .. } = job { Some(authz_id.clone()) } else { None }).collect()
}

fn challenge_status(authz: &Value) -> &str {
    authz["challenges"][0]["status"].as_str().unwrap()
}

async fn a_challenge_post_answers_processing_at_once_and_the_queued_job_records_the_outcome_once(b: Backend) {
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let (authz_url, challenge_url) = answered_challenge(&client, "queued.acme.localhost").await;
    let authz_id = authz_url.rsplit('/').next().unwrap().to_owned();
    let asked = client.post(&challenge_url, Some(json!({}))).await;
    assert_eq!((asked.status.as_u16(), asked.json()["status"].as_str()), (200, Some("processing")), "{}", text(&asked));
    assert_eq!(asked.header("retry-after"), Some("1"));
    let waiting = client.post(&authz_url, None).await.json();
    assert_eq!((waiting["status"].as_str(), challenge_status(&waiting)), (Some("pending"), "processing"), "nothing validates until a worker runs: {waiting}");
    let again = client.post(&challenge_url, Some(json!({}))).await;
    assert_eq!(again.json()["status"], "processing");

    let ran = b.run_jobs().await;
    assert_eq!(ran.iter().filter(|job| matches!(job, Job::ValidateAcmeChallenge { authority_id, .. } if *authority_id == b.authority)).count(), 1, "{ran:?}");
    assert_eq!(validations(&ran), vec![authz_id.clone()], "one job, though the client asked twice");
    let valid = client.post(&authz_url, None).await.json();
    assert_eq!((valid["status"].as_str(), challenge_status(&valid)), (Some("valid"), "valid"), "{valid}");

    b.worker.validate(&authz_id).await.unwrap();
    assert_eq!(client.post(&authz_url, None).await.json(), valid, "a redelivered job changes nothing");
    client.post(&challenge_url, Some(json!({}))).await;
    assert!(validations(&b.run_jobs().await).is_empty(), "a valid challenge is not validated again");
    b.worker.validate("0190a1b2-0000-7000-8000-00000000dead").await.expect("a job for an unknown authorization is dropped");
}

async fn a_validation_that_cannot_be_queued_leaves_the_challenge_pending_for_the_client_to_ask_again(b: Backend) {
    let switch = SwitchQueue::over(b.state.app.ports.queue.clone());
    let b = b.enqueueing_through(switch.clone());
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let (authz_url, challenge_url) = answered_challenge(&client, "unqueued.acme.localhost").await;
    switch.refuse(true);
    let refused = client.post(&challenge_url, Some(json!({}))).await;
    assert_eq!((refused.status.as_u16(), problem(&refused).as_str()), (503, "serverInternal"), "{}", text(&refused));
    assert_eq!(challenge_status(&client.post(&authz_url, None).await.json()), "pending", "not stuck processing with no job");
    switch.refuse(false);
    assert_eq!(client.post(&challenge_url, Some(json!({}))).await.json()["status"], "processing");
    assert_eq!(validations(&b.run_jobs().await).len(), 1);
    assert_eq!(client.post(&authz_url, None).await.json()["status"], "valid");
}
