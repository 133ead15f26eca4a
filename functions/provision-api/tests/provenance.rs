//! What a provision key produced and what an issuer's end of life does to agent certificates,
//! on the embedded backend (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use http::StatusCode;
use serde_json::json;
use support::{csr_pem, get, mint, post, Backend};
use trustplane_core::http::AppState;
use trustplane_core::on_both_backends;

on_both_backends!(
    a_used_provision_key_names_the_certificate_it_produced_and_still_refuses_reuse,
    an_issuer_ending_before_the_agent_validity_clips_the_agent_certificate_to_it,
);

async fn a_used_provision_key_names_the_certificate_it_produced_and_still_refuses_reuse(b: Backend) {
    let key = mint(&b, "agent-link", 600).await;
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("agent-link") }), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let issued = b.pki().certificates_by_common_name("agent-link").await.unwrap();
    let listed = get(&b, "/api/v1/provision-keys?agent_id=agent-link", Some(&b.admin)).await.json();
    assert_eq!(listed["data"][0]["state"], "used");
    assert_eq!(listed["data"][0]["certificate_id"], json!(issued[0].id));
    let again = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("agent-link") }), None).await;
    assert_eq!((again.status, again.json()), (StatusCode::UNAUTHORIZED, json!({ "error": "provision key already used" })));
}

async fn an_issuer_ending_before_the_agent_validity_clips_the_agent_certificate_to_it(b: Backend) {
    let mut config = (*b.state.config).clone();
    config.agent_cert_validity_days = 3650;
    let app = provision_api::app(AppState::new(config, b.state.ports.clone()));
    let key = mint(&b, "agent-late", 600).await;
    let body = json!({ "provision_key": key, "csr": csr_pem("agent-late") });
    let request = http::Request::builder().method("POST").uri("/api/v1/provision").header("content-type", "application/json");
    let reply = trustplane_core::testkit::call(&app, request.body(axum::body::Body::from(body.to_string())).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let issued = &b.pki().certificates_by_common_name("agent-late").await.unwrap()[0];
    let issuer = b.pki().get_authority(&issued.issuer_id).await.unwrap();
    assert!(issued.not_after <= issuer.not_after, "{} outlasts its issuer's {}", issued.not_after, issuer.not_after);
    assert!(issuer.not_after - issued.not_after <= time::Duration::minutes(5), "clipped to the issuer, not shortened further");
}
