//! API keys record which key minted and which key revoked them, on the embedded backend
//! (`local::…`) and on the AWS adapters against moto (`moto::…`).

#[macro_use]
mod common;

use common::*;
use trustplane_core::domain::Scopes;
use trustplane_core::services::api_keys::KeyName;

on_both_backends! {
    an_api_key_records_the_key_that_minted_it_and_the_key_that_revoked_it => key_provenance;
}

async fn key_provenance(env: Env) {
    let keys = &env.state.api_keys;
    let operator = keys.authenticate(&env.admin).await.unwrap().id;
    let scopes = Scopes::parse(&["pki:read".to_owned()]).unwrap();
    let minted = keys.create_by(KeyName::parse("dashboard").unwrap(), scopes, Some(&operator)).await.unwrap();
    assert_eq!(minted.record.created_by.as_deref(), Some(operator.as_str()));
    keys.revoke_by(&minted.record.id, Some(&operator)).await.unwrap();
    let (listed, _) = keys.list(100, None).await.unwrap();
    let stored = listed.iter().find(|k| k.id == minted.record.id).unwrap();
    assert_eq!((stored.created_by.as_deref(), stored.revoked_by.as_deref()), (Some(operator.as_str()), Some(operator.as_str())));
    assert!(stored.revoked_at.is_some());
}
