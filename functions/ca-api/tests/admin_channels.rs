//! Issue 9 items 5 and 22 on the admin routes: `channel` (query, or the revocation's body)
//! picks which certificates of a name used in several channels are shown and revoked, and a
//! certificate is fetched and revoked by whatever common name it is listed under. On the
//! embedded backend (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use serde_json::{json, Value};
use support::{send, text, Backend, Body};
use trustplane_core::on_both_backends;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{CertStatus, Channel, IssueRequest};
use trustplane_core::testkit::Reply;

on_both_backends!(
    a_name_held_by_a_pki_and_an_agent_certificate_is_refused_with_409_naming_both_channels_without_a_channel,
    the_channel_parameter_revokes_only_that_channels_certificate_and_filters_the_list,
    the_channel_in_a_revocation_body_picks_the_channel_and_an_unknown_channel_is_400,
    a_pki_certificate_with_a_spaced_mixed_case_name_is_listed_fetched_and_revoked_by_that_name,
);

const NODE: &str = "node01.example.com";

/// A pki-api certificate for `cn` (and the DNS name `dns`) from the CA's own authority.
async fn pki_certificate(b: &Backend, cn: &str, dns: &str) {
    let pki = b.pki();
    let subject = pki.create_subject(SubjectName::common_name_only(cn).unwrap()).await.unwrap();
    let request = IssueRequest {
        issuer_id: b.ca_id().await,
        subject_id: Some(subject.id),
        template: Some("TLS_SERVER".into()),
        dns_names: vec![dns.to_owned()],
        requested_by: Some("pki-operator".into()),
        ..IssueRequest::default()
    };
    pki.issue(request).await.unwrap();
}

/// An agent certificate provisioned for the agent id `agent_id`.
async fn agent_certificate(b: &Backend, agent_id: &str) {
    let provisioning = provision_api::app(b.state.clone());
    let minted = send(&provisioning, "POST", "/api/v1/provision-keys", Some(&b.admin), Body::Json(json!({ "agent_id": agent_id, "ttl_seconds": 600 }))).await;
    assert_eq!(minted.status, 201, "{}", text(&minted));
    let key = minted.json()["provision_key"].as_str().unwrap().to_owned();
    let (_, pem) = support::csr(agent_id);
    let provisioned = send(&provisioning, "POST", "/api/v1/provision", None, Body::Json(json!({ "provision_key": key, "csr": pem }))).await;
    assert_eq!(provisioned.status.as_u16() / 100, 2, "{}", text(&provisioned));
}

/// A pki-api and an agent certificate both named [`NODE`].
async fn shared_node(b: &Backend) {
    pki_certificate(b, NODE, NODE).await;
    agent_certificate(b, NODE).await;
}

async fn statuses(b: &Backend, cn: &str) -> Vec<(Channel, CertStatus)> {
    let mut all: Vec<_> = b.pki().certificates_by_common_name(cn).await.unwrap().iter().map(|c| (c.channel(), c.status)).collect();
    all.sort_by_key(|(channel, _)| *channel);
    all
}

fn channels_of(listed: &Value) -> Vec<String> {
    listed["data"].as_array().unwrap().iter().map(|c| c["channel"].as_str().unwrap_or("none").to_owned()).collect()
}

fn assert_names_both_channels(reply: &Reply) {
    assert_eq!(reply.status, 409, "{}", text(reply));
    let message = reply.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("pki") && message.contains("agent"), "{message}");
}

async fn a_name_held_by_a_pki_and_an_agent_certificate_is_refused_with_409_naming_both_channels_without_a_channel(b: Backend) {
    shared_node(&b).await;
    let path = format!("/api/v1/ca/certificates/{NODE}");
    assert_names_both_channels(&b.get(&path, Some(&b.reader)).await);
    assert_names_both_channels(&b.delete(&path, None, Some(&b.admin)).await);
    assert_eq!(statuses(&b, NODE).await, vec![(Channel::Pki, CertStatus::Valid), (Channel::Agent, CertStatus::Valid)], "nothing was revoked");
}

async fn the_channel_parameter_revokes_only_that_channels_certificate_and_filters_the_list(b: Backend) {
    shared_node(&b).await;
    let listed = b.get(&format!("/api/v1/ca/certificates?certname={NODE}"), Some(&b.reader)).await.json();
    let mut all = channels_of(&listed);
    all.sort();
    assert_eq!(all, ["agent", "pki"], "{listed}");
    let agents = b.get(&format!("/api/v1/ca/certificates?certname={NODE}&channel=agent"), Some(&b.reader)).await.json();
    assert_eq!((channels_of(&agents), &agents["total"]), (vec!["agent".to_owned()], &json!(1)), "{agents}");
    let shown = b.get(&format!("/api/v1/ca/certificates/{NODE}?channel=pki"), Some(&b.reader)).await;
    assert_eq!(shown.status, 200, "{}", text(&shown));
    assert_eq!((&shown.json()["channel"], &shown.json()["requested_by"]), (&json!("pki"), &json!("pki-operator")), "{}", text(&shown));
    let revoked = b.delete(&format!("/api/v1/ca/certificates/{NODE}?channel=agent"), None, Some(&b.admin)).await;
    assert_eq!(revoked.status, 200, "{}", text(&revoked));
    assert_eq!(statuses(&b, NODE).await, vec![(Channel::Pki, CertStatus::Valid), (Channel::Agent, CertStatus::Revoked)]);
    let agent = b.get(&format!("/api/v1/ca/certificates?certname={NODE}&channel=agent"), Some(&b.reader)).await.json();
    assert_eq!(agent["data"][0]["status"], "revoked", "{agent}");
    assert!(agent["data"][0]["revoked_by"].as_str().is_some_and(|by| !by.is_empty()), "{agent}");
}

async fn the_channel_in_a_revocation_body_picks_the_channel_and_an_unknown_channel_is_400(b: Backend) {
    shared_node(&b).await;
    let path = format!("/api/v1/ca/certificates/{NODE}");
    for bad in ["device", "Agent", ""] {
        let reply = b.get(&format!("{path}?channel={bad}"), Some(&b.reader)).await;
        assert_eq!(reply.status, 400, "channel={bad}: {}", text(&reply));
    }
    let listed = b.get("/api/v1/ca/certificates?channel=acme", Some(&b.reader)).await;
    assert_eq!(listed.status, 400, "{}", text(&listed));
    let differing = b.delete(&format!("{path}?channel=pki"), Some(json!({ "channel": "agent" })), Some(&b.admin)).await;
    assert_eq!(differing.status, 400, "{}", text(&differing));
    let revoked = b.delete(&path, Some(json!({ "channel": "pki", "reason": "superseded" })), Some(&b.admin)).await;
    assert_eq!(revoked.status, 200, "{}", text(&revoked));
    assert_eq!(revoked.json()["channel"], "pki", "{}", text(&revoked));
    assert_eq!(statuses(&b, NODE).await, vec![(Channel::Pki, CertStatus::Revoked), (Channel::Agent, CertStatus::Valid)]);
}

async fn a_pki_certificate_with_a_spaced_mixed_case_name_is_listed_fetched_and_revoked_by_that_name(b: Backend) {
    pki_certificate(&b, "Web Server 01", "web01.example.com").await;
    let listed = b.get("/api/v1/ca/certificates?channel=pki", Some(&b.reader)).await.json();
    let names: Vec<&str> = listed["data"].as_array().unwrap().iter().filter_map(|c| c["certname"].as_str()).collect();
    assert!(names.contains(&"Web Server 01"), "{listed}");
    let path = "/api/v1/ca/certificates/Web%20Server%2001?channel=pki";
    let shown = b.get(path, Some(&b.reader)).await;
    assert_eq!(shown.status, 200, "{}", text(&shown));
    assert_eq!(shown.json()["certname"], "Web Server 01");
    let revoked = b.delete(path, None, Some(&b.admin)).await;
    assert_eq!(revoked.status, 200, "{}", text(&revoked));
    assert_eq!(revoked.json()["certname"], "Web Server 01");
    assert_eq!(statuses(&b, "Web Server 01").await, vec![(Channel::Pki, CertStatus::Revoked)]);
    let control = b.get("/api/v1/ca/certificates/Web%0AServer?channel=pki", Some(&b.reader)).await;
    assert_eq!(control.status, 400, "{}", text(&control));
}
