//! The Puppet CA's names are its own channel: a pki-api certificate with a node's name is
//! neither served to Puppet agents nor in the way of the node's enrolment, and an admin
//! revocation of a name used in two channels acts on neither. On the embedded backend
//! (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use support::{text, Backend};
use trustplane_core::on_both_backends;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{CertStatus, IssueRequest};

on_both_backends!(
    a_pki_api_certificate_named_like_a_node_is_not_served_to_puppet_agents_and_does_not_block_enrolment,
    an_admin_revocation_of_a_name_in_two_channels_is_refused_with_409_naming_them_and_revokes_nothing,
);

/// A pki-api certificate for `cn` from the CA's own authority; its PEM.
async fn pki_certificate(b: &Backend, cn: &str) -> String {
    let pki = b.pki();
    let subject = pki.create_subject(SubjectName::common_name_only(cn).unwrap()).await.unwrap();
    let request = IssueRequest { issuer_id: b.ca_id().await, subject_id: Some(subject.id), template: Some("TLS_SERVER".into()), dns_names: vec![cn.to_owned()], ..IssueRequest::default() };
    pki.issue(request).await.unwrap().issued.record.certificate_pem
}

async fn a_pki_api_certificate_named_like_a_node_is_not_served_to_puppet_agents_and_does_not_block_enrolment(b: Backend) {
    let foreign = pki_certificate(&b, "web01.example.com").await;
    let served = b.get("/puppet-ca/v1/certificate/web01.example.com", None).await;
    assert_eq!(served.status, 404, "the unauthenticated route served a pki-api certificate: {}", text(&served));
    let enrolled = b.enrol("web01.example.com").await;
    assert_ne!(enrolled.trim(), foreign.trim());
}

async fn an_admin_revocation_of_a_name_in_two_channels_is_refused_with_409_naming_them_and_revokes_nothing(b: Backend) {
    pki_certificate(&b, "shared.example.com").await;
    b.enrol("shared.example.com").await;
    let reply = b.delete("/api/v1/ca/certificates/shared.example.com", None, Some(&b.admin)).await;
    assert_eq!(reply.status, 409, "{}", text(&reply));
    let message = reply.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("pki") && message.contains("puppet"), "{message}");
    let all = b.pki().certificates_by_common_name("shared.example.com").await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|c| c.status == CertStatus::Valid), "nothing was revoked");
}
