//! The confirm token's key is its own: a token MACed by the deployment's MAC key (which every
//! function holds, for cursors and device secrets) confirms nothing. And what confirm answers
//! is what the OpenAPI document says it answers.

mod support;

use std::collections::BTreeSet;
use support::*;
use trustplane_core::on_both_backends;
use trustplane_core::ports::MacKey;
use trustplane_core::services::tenants::token::{issue, Claims, LIFETIME_SECONDS, TOKEN_TYPE};

on_both_backends!(a_token_maced_by_the_deployment_key_confirms_nothing, confirm_answers_exactly_the_statuses_its_document_lists,);

fn claims(id: &str, slug: &str) -> Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Claims {
        sub: id.to_owned(),
        slug: slug.to_owned(),
        kind: TOKEN_TYPE.into(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        exp: now + LIFETIME_SECONDS,
        iss: "ecommerce-api".into(),
        aud: "ecommerce-provisioning".into(),
    }
}

async fn minted(key: &dyn MacKey, id: &str, slug: &str) -> String {
    issue(key, &claims(id, slug)).await.unwrap()
}

async fn pending(b: &Backend, s: &str) -> String {
    let reply = init(b, "Acme Corporation", s, "Basic").await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    reply.json()["provisioningId"].as_str().unwrap().to_owned()
}

async fn a_token_maced_by_the_deployment_key_confirms_nothing(b: Backend) {
    let s = slug("custody");
    let id = pending(&b, &s).await;
    let ports = &b.state.ports;
    let forged = confirm(&b, &minted(ports.mac.as_ref(), &id, &s).await).await;
    assert_eq!((forged.status.as_u16(), forged.json()["title"].as_str()), (401, Some("Invalid Token")));
    assert_eq!(status_json(&b, &id).await["status"], "PENDING_VALIDATION");
    let genuine = confirm(&b, &minted(ports.token_key.as_ref(), &id, &s).await).await;
    assert_eq!(genuine.status, 200, "the same claims under the token key confirm: {:?}", genuine.json());
}

fn documented_confirm_statuses() -> BTreeSet<String> {
    let doc = serde_json::to_value(tenants_api::openapi::document()).unwrap();
    let responses = doc["paths"]["/provision/tenants/confirm"]["post"]["responses"].as_object().unwrap();
    responses.keys().filter(|k| *k != "default").cloned().collect()
}

async fn confirm_answers_exactly_the_statuses_its_document_lists(b: Backend) {
    let s = slug("doc");
    let id = pending(&b, &s).await;
    let key = b.state.ports.token_key.clone();
    let token = minted(key.as_ref(), &id, &s).await;
    let unknown = minted(key.as_ref(), &uuid::Uuid::new_v4().to_string(), &s).await;
    let mut seen = BTreeSet::new();
    let unknown_reply = confirm(&b, &unknown).await;
    assert_eq!(unknown_reply.status, 401, "an unknown tenant is the seed's Invalid Token, not 404");
    seen.insert(unknown_reply.status.as_u16().to_string());
    seen.insert(confirm(&b, "not-a-token").await.status.as_u16().to_string());
    seen.insert(confirm(&b, &token).await.status.as_u16().to_string());
    seen.insert(confirm(&b, &token).await.status.as_u16().to_string());
    seen.insert(confirm(&b, &minted(key.as_ref(), &id, &s).await).await.status.as_u16().to_string());
    assert_eq!(seen, BTreeSet::from(["200".to_owned(), "401".to_owned(), "409".to_owned()]));
    assert_eq!(documented_confirm_statuses(), seen, "the document lists what confirm answers, no more and no less");
}
