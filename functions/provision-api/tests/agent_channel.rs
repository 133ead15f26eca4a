//! Provisioned agents live in the `agent` channel of the inventory, on the embedded backend
//! (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use http::StatusCode;
use serde_json::json;
use support::{csr_pem, mint, post, Backend};
use trustplane_core::on_both_backends;
use trustplane_core::services::pki::Channel;

on_both_backends!(an_agent_certificate_is_in_the_agent_channel_and_names_its_provision_key);

async fn an_agent_certificate_is_in_the_agent_channel_and_names_its_provision_key(b: Backend) {
    let key = mint(&b, "agent-channel", 600).await;
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("agent-channel") }), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let issued = b.pki().certificates_named(Channel::Agent, "agent-channel").await.unwrap();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].channel(), Channel::Agent);
    assert_eq!(issued[0].requested_by.as_deref(), Some(&key[..11]));
    assert!(b.pki().certificates_named(Channel::Puppet, "agent-channel").await.unwrap().is_empty());
}
