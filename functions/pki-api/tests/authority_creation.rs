//! Authority creation without duplicates or untracked keys (issue 9 item 11): a retried
//! request with the same `clientToken` answers the first authority and creates no second key;
//! a key whose authority could not be stored is marked orphan in custody.

#[macro_use]
mod common;

use common::*;
use serde_json::json;
use trustplane_core::services::pki::{AuthorityType, NewAuthority, Pki};
use trustplane_core::testkit::faults::FaultyStore;
use trustplane_core::Error;

on_both_backends! {
    a_retried_creation_with_the_same_client_token_answers_the_first_authority_and_creates_one_key => retried_creation;
    a_key_whose_authority_could_not_be_stored_is_tagged_orphan_listed_and_discarded_without_touching_live_keys => orphan_key;
}

async fn keys_of(env: &Env, owner: &str) -> Vec<trustplane_core::ports::CustodyKey> {
    env.state.ports.custody.list_keys().await.unwrap().into_iter().filter(|k| k.owner.as_deref() == Some(owner)).collect()
}

async fn retried_creation(env: Env) {
    let subject = env.subject("Idempotent Root").await;
    let body = json!({ "subjectId": subject, "type": "ROOT", "clientToken": "create-root-1" });
    let first = env.post("/api/v1/authorities", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.json());
    let again = env.post("/api/v1/authorities", body.clone()).await;
    assert_eq!(again.status, 201, "{}", again.json());
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(env.get("/api/v1/authorities").await.json()["data"].as_array().unwrap().len(), 1);
    assert_eq!(keys_of(&env, id(&first.json())).await.len(), 1);
    let other = json!({ "subjectId": subject, "type": "ROOT", "clientToken": "create-root-1", "policy": { "validityYears": 3 } });
    let conflict = env.post("/api/v1/authorities", other).await;
    assert_eq!((conflict.status.as_u16(), conflict.header("content-type")), (409, Some("application/problem+json")), "{}", conflict.json());
    let bad = env.post("/api/v1/authorities", json!({ "subjectId": subject, "type": "ROOT", "clientToken": "a b" })).await;
    assert_eq!(bad.status, 400, "{}", bad.json());
}

async fn orphan_key(env: Env) {
    let subject = env.subject("Doomed Root").await;
    let (ports, faults) = FaultyStore::install(&env.state.ports);
    faults.conflict_transactions(1);
    let pki = Pki::new(ports, env.state.config.clone());
    let new = NewAuthority { subject_id: subject, kind: Some(AuthorityType::Root), ..NewAuthority::default() };
    assert!(matches!(pki.create_authority(new).await, Err(Error::Unavailable(_))));
    assert_eq!(env.get("/api/v1/authorities").await.json()["data"], json!([]));
    let keys = env.state.ports.custody.list_keys().await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.orphan).count(), 1, "{keys:?}");
    let root = env.root(("EC", 256)).await;
    let orphans = env.pki().orphan_keys().await.unwrap();
    assert_eq!(orphans.iter().map(|o| o.reason).collect::<Vec<_>>(), vec!["tagged"], "{orphans:?}");
    assert!(orphans.iter().all(|o| o.key.owner.as_deref() != Some(id(&root))));
    let discarded = env.pki().discard_tagged_orphans().await.unwrap();
    assert_eq!(discarded, orphans);
    assert_eq!(env.pki().orphan_keys().await.unwrap(), vec![]);
    assert_eq!(env.leaf(&env.intermediate(&root, ("EC", 256)).await).await["format"], "PEM");
}
