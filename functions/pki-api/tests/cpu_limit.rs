//! CPU-heavy work behind the process-wide limit (`services::pki::cpu`): with one slot and no
//! queue, concurrent RSA-4096 authority creations are either created (201) or refused at once
//! with a retryable 503 problem+json carrying `Retry-After`, and a refused one leaves neither an
//! authority record nor a key file behind. Embedded backend: its key custody generates keys on
//! this machine's cores.

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use trustplane_core::services::pki::cpu::{install, CpuLimit, RETRY_AFTER_SECS};

const BURST: usize = 4;

fn one_slot_and_no_queue() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| install(CpuLimit::new(1, 0)).expect("the limit is installed before any CPU-heavy work"));
}

fn key_files(env: &Env) -> BTreeSet<String> {
    let Backend::Local { data_dir, .. } = &env.backend else { unreachable!("embedded backend only") };
    std::fs::read_dir(data_dir.join("keys")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

fn rsa_root(subject: &str) -> Value {
    json!({ "subjectId": subject, "type": "ROOT", "keySpec": { "algorithm": "RSA", "size": 4096 }, "policy": { "validityYears": 1 } })
}

fn assert_busy(reply: &trustplane_core::testkit::Reply) {
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    assert_eq!(reply.header("retry-after"), Some(RETRY_AFTER_SECS.to_string().as_str()));
    let problem = reply.json();
    assert_eq!(problem["status"], 503, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or_default().contains("RSA key generation"), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rsa_authority_creations_beyond_the_limit_get_a_503_with_retry_after_and_leave_nothing_behind() {
    one_slot_and_no_queue();
    let env = Env::local().await;
    let subject = env.subject("Busy Root CA").await;
    let keys_before = key_files(&env);

    let replies = futures::future::join_all((0..BURST).map(|_| env.post("/api/v1/authorities", rsa_root(&subject)))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 201 || *s == 503), "{statuses:?}");
    assert!(statuses.contains(&201) && statuses.contains(&503), "one runs, the rest are refused: {statuses:?}");
    replies.iter().filter(|r| r.status == 503).for_each(assert_busy);

    let created: BTreeSet<String> = replies.iter().filter(|r| r.status == 201).map(|r| id(&r.json()).to_owned()).collect();
    let listed = env.get("/api/v1/authorities").await.json();
    let listed: BTreeSet<String> = listed["data"].as_array().unwrap().iter().map(|a| id(a).to_owned()).collect();
    assert_eq!(listed, created, "an authority record exists exactly for each 201");
    let mut their_keys = BTreeSet::new();
    for id in &created {
        their_keys.insert(env.pki().get_authority(id).await.unwrap().key.key_ref);
    }
    let new_keys: BTreeSet<String> = key_files(&env).difference(&keys_before).cloned().collect();
    assert_eq!(new_keys, their_keys, "a key file exists exactly for each created authority");

    let retried = env.post("/api/v1/authorities", rsa_root(&subject)).await;
    assert_eq!(retried.status, 201, "the slot is free again once the burst is over: {}", retried.json());
}
