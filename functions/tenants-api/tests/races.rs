//! Exactly-once under concurrency: 40 requests spawned on the multi-thread runtime behind a
//! barrier, on SQLite and on DynamoDB (moto).

mod support;

use std::sync::Arc;
use support::*;
use tokio::sync::Barrier;
use trustplane_core::on_both_backends;

on_both_backends!(forty_concurrent_inits_of_one_slug_yield_one_tenant, forty_concurrent_confirms_of_one_token_queue_once_and_run_the_worker_once);

const RACERS: usize = 40;

async fn race<F, Fut>(b: &Arc<Backend>, run: F) -> Vec<u16>
where
    F: Fn(Arc<Backend>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = u16> + Send,
{
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (b, barrier, run) = (b.clone(), barrier.clone(), run.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                run(b, i).await
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    codes
}

async fn forty_concurrent_inits_of_one_slug_yield_one_tenant(b: Backend) {
    let b = Arc::new(b);
    let s = slug("race");
    let s2 = s.clone();
    let codes = race(&b, move |b, i| {
        let s = s2.clone();
        async move { init(&b, &format!("Racer {i}"), &s, "Basic").await.status.as_u16() }
    })
    .await;
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), RACERS - 1, "{codes:?}");
    let listed = admin(&b, "GET", "/api/v1/tenants?status=PENDING_VALIDATION&limit=100").await.json();
    let same: Vec<_> = listed["data"].as_array().unwrap().iter().filter(|t| t["slug"] == s.as_str()).collect();
    assert_eq!(same.len(), 1, "exactly one tenant holds the slug");
}

async fn forty_concurrent_confirms_of_one_token_queue_once_and_run_the_worker_once(b: Backend) {
    let b = Arc::new(b);
    let reply = init(&b, "Acme Corporation", &slug("race"), "Enterprise").await;
    let id = reply.json()["provisioningId"].as_str().unwrap().to_owned();
    let token = reply.json()["confirmToken"].as_str().unwrap().to_owned();
    let codes = race(&b, move |b, _| {
        let token = token.clone();
        async move { confirm(&b, &token).await.status.as_u16() }
    })
    .await;
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| [200, 401, 409].contains(c)), "{codes:?}");
    let deliveries = b.pump().await;
    assert_eq!(deliveries, 2, "one provisioning job and one notification job were queued");
    let done = status_json(&b, &id).await;
    assert_eq!(done["status"], "Active");
    let steps: Vec<&str> = done["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["Init", "CreateDatabase", "ApplyMigrations", "SeedData"], "each step ran once");
}
