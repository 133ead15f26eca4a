//! Issue 9 item 8: revoking an authority records the acting key's id, on the embedded backend
//! (`local::…`) and on the AWS adapters against moto (`moto::…`).

#[macro_use]
mod common;

use common::*;
use serde_json::json;

on_both_backends! {
    revoking_an_authority_records_the_key_that_revoked_it => revoked_by;
}

async fn revoked_by(env: Env) {
    let operator = env.state.api_keys.authenticate(&env.admin).await.unwrap().id;
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let reply = env.post(&format!("/api/v1/authorities/{}/revocation", id(&int)), json!({ "reason": "KEY_COMPROMISE" })).await;
    assert_eq!(reply.status, 202, "{}", reply.json());
    let stored = env.pki().get_authority(id(&int)).await.unwrap();
    let revocation = stored.revocation.expect("a revocation");
    assert_eq!(revocation.revoked_by.as_deref(), Some(operator.as_str()));
    let shown = env.get(&format!("/api/v1/authorities/{}", id(&int))).await.json();
    assert_eq!(shown["revocation"]["revokedBy"], operator.as_str(), "the authority view names who revoked it: {shown}");
}
