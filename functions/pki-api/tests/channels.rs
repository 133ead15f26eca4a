//! Channels and provenance in the seed 004 inventory: every certificate names the channel it
//! was issued through and the key that asked for it, the inventory filters by channel, and a
//! revocation names the key that revoked. On the embedded backend and on moto.

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};

on_both_backends! {
    an_issued_certificate_shows_the_pki_channel_and_the_key_that_requested_it => issued_shows_channel_and_requester;
    a_revocation_shows_the_key_that_revoked => revocation_shows_revoker;
    the_inventory_lists_only_the_channel_asked_for_and_refuses_unknown_channels => inventory_filters_by_channel;
}

async fn admin_key_id(env: &Env) -> String {
    env.state.api_keys.authenticate(&env.admin).await.unwrap().id
}

async fn issued_shows_channel_and_requester(env: Env) {
    let issuer = env.intermediate(&env.root(("EC", 256)).await, ("EC", 256)).await;
    let leaf = env.leaf(&issuer).await;
    let shown = env.get(&format!("/api/v1/certificates/{}", id(&leaf))).await;
    assert_eq!(shown.status, 200, "{}", shown.json());
    let body = shown.json();
    assert_eq!(body["channel"], "pki");
    assert_eq!(body["requestedBy"], json!(admin_key_id(&env).await));
    assert_eq!(body["revokedBy"], json!(null));
}

async fn revocation_shows_revoker(env: Env) {
    let issuer = env.intermediate(&env.root(("EC", 256)).await, ("EC", 256)).await;
    let leaf = env.leaf(&issuer).await;
    let revoker = env.key(&["pki:read", "pki:revoke"]).await;
    let revoker_id = env.state.api_keys.authenticate(&revoker).await.unwrap().id;
    let path = format!("/api/v1/certificates/{}/revocation", id(&leaf));
    let reply = env.request("POST", &path, Some(&revoker), Some(&json!({ "reason": "SUPERSEDED" })), None).await;
    assert_eq!(reply.status, 202, "{}", reply.json());
    assert_eq!(reply.json()["revokedBy"], json!(revoker_id));
    let shown = env.get(&format!("/api/v1/certificates/{}", id(&leaf))).await.json();
    assert_eq!((shown["revokedBy"].clone(), shown["requestedBy"].clone()), (json!(revoker_id), json!(admin_key_id(&env).await)));
}

async fn inventory_filters_by_channel(env: Env) {
    let issuer = env.intermediate(&env.root(("EC", 256)).await, ("EC", 256)).await;
    let leaf = env.leaf(&issuer).await;
    let issuer = issuer["id"].as_str().unwrap();
    let pki = env.get(&format!("/api/v1/certificates?issuerId={issuer}&channel=pki")).await;
    assert_eq!(pki.status, 200, "{}", pki.json());
    let ids: Vec<Value> = pki.json()["data"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, vec![leaf["id"].clone()]);
    let agents = env.get(&format!("/api/v1/certificates?issuerId={issuer}&channel=agent")).await;
    assert_eq!(agents.status, 200, "{}", agents.json());
    assert_eq!(agents.json()["data"], json!([]));
    let bogus = env.get("/api/v1/certificates?channel=everything").await;
    assert_eq!(bogus.status, 400, "{}", bogus.json());
    assert!(bogus.json()["detail"].as_str().unwrap_or_default().contains("channel"), "{}", bogus.json());
}
