//! `serve`'s CRL refresh loop ([`super::republish_crls`]): how often it looks, and that a
//! later tick, not only the one at start-up, queues the republication of a CRL that fell due
//! meanwhile, which the CRL worker then publishes under the next number. Tokio's clock is
//! paused and advanced by hand; the CRL states' own times are moved back as in
//! `cli/tests/crl_refresh.rs`.

use super::{crl_check_period, republish_crls};
use std::time::Duration;
use trustplane_core::adapters::local::QUEUE_PARTITION;
use trustplane_core::http::AppState;
use trustplane_core::jobs::JobHandler;
use trustplane_core::pki::SubjectName;
use trustplane_core::ports::{Condition, Item, Query};
use trustplane_core::services::pki::{AuthorityType, CrlState, NewAuthority, Pki};

#[test]
fn the_check_period_is_hourly_or_an_eighth_of_the_crl_validity_when_that_is_shorter() {
    for (hours, seconds) in [(1, 450), (4, 1800), (8, 3600), (24, 3600), (744, 3600)] {
        assert_eq!(crl_check_period(hours), Duration::from_secs(seconds), "CRL_VALIDITY_HOURS={hours}");
    }
    for hours in 1..=744u32 {
        let (period, validity) = (crl_check_period(hours), Duration::from_secs(u64::from(hours) * 3600));
        assert!(period <= Duration::from_secs(3600) && period * 8 <= validity, "{hours} h: a CRL due at half its validity is replaced by five eighths of it");
    }
}

/// The job bodies queued so far, removed from the queue.
async fn take_jobs(state: &AppState) -> Vec<String> {
    let store = &state.ports.store;
    let mut bodies = Vec::new();
    for item in store.query(Query::partition(QUEUE_PARTITION)).await.unwrap().items {
        store.delete(&item.pk, &item.sk, Condition::Always).await.unwrap();
        bodies.push(item.data["body"].as_str().unwrap().to_owned());
    }
    bodies
}

/// Moves the authority's CRL state `hours` into the past, as if it had been published then.
async fn age_crl(state: &AppState, authority_id: &str, hours: u64) {
    let pk = format!("CRLSTATE#{authority_id}");
    let current = state.ports.store.get(&pk, "CRL").await.unwrap().expect("a CRL state");
    let mut crl: CrlState = serde_json::from_value(current.data.clone()).unwrap();
    crl.this_update -= Duration::from_secs(hours * 3600);
    crl.next_update -= Duration::from_secs(hours * 3600);
    let aged = Item { data: serde_json::to_value(&crl).unwrap(), version: current.version + 1, ..current.clone() };
    state.ports.store.put(aged, Condition::Version(current.version)).await.unwrap();
}

/// Lets the loop act on what the clock reached (paused time moves on by milliseconds only
/// while every task waits); returns the jobs it queued.
async fn jobs_after_settling(state: &AppState) -> Vec<String> {
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    take_jobs(state).await
}

#[tokio::test(start_paused = true)]
async fn a_later_tick_queues_a_crl_that_fell_due_after_start_up_and_the_worker_republishes_it() {
    let (state, _dir) = trustplane_core::testkit::local_state().await;
    let pki = Pki::new(state.ports.clone(), state.config.clone());
    let subject = pki.create_subject(SubjectName::common_name_only("Refresh Root").unwrap()).await.unwrap();
    let root = pki.create_authority(NewAuthority { subject_id: subject.id, kind: Some(AuthorityType::Root), ..NewAuthority::default() }).await.unwrap().id;
    take_jobs(&state).await;
    let period = crl_check_period(state.config.crl_validity_hours);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let refresh = tokio::spawn(republish_crls(pki.clone(), state.config.crl_validity_hours, stopped));
    assert_eq!(jobs_after_settling(&state).await, Vec::<String>::new(), "the first tick finds a fresh CRL");

    age_crl(&state, &root, u64::from(state.config.crl_validity_hours) / 2 + 1).await;
    tokio::time::advance(period - Duration::from_secs(1)).await;
    assert_eq!(jobs_after_settling(&state).await, Vec::<String>::new(), "no tick before the period");
    tokio::time::advance(Duration::from_secs(1)).await;
    let jobs = jobs_after_settling(&state).await;
    assert!(jobs.len() == 1 && jobs[0].contains(&root), "the second tick queued the due CRL: {jobs:?}");

    crl_publisher::CrlWorker::new(pki.clone()).handle(&jobs[0]).await.unwrap();
    let republished = pki.crl_state(&root).await.unwrap().unwrap();
    assert_eq!((republished.number, republished.published), (2, true), "{republished:?}");
    stop.send(true).unwrap();
    refresh.await.unwrap();
}
