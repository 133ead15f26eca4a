//! The admin inventory reads every channel and an explicit channel resolves a name used in
//! several, on the embedded backend (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use support::Backend;
use trustplane_core::domain::Certname;
use trustplane_core::on_both_backends;
use trustplane_core::pki::SubjectName;
use trustplane_core::services::pki::{CertStatus, Channel, IssueRequest};
use trustplane_core::services::puppet_ca::CertQuery;

on_both_backends!(
    the_admin_inventory_shows_a_shared_name_in_every_channel_and_filters_by_one,
    an_explicit_channel_picks_which_certificates_of_a_shared_name_are_shown_and_revoked,
);

async fn shared_name(b: &Backend, cn: &str) -> Certname {
    let pki = b.pki();
    let subject = pki.create_subject(SubjectName::common_name_only(cn).unwrap()).await.unwrap();
    let request = IssueRequest { issuer_id: b.ca_id().await, subject_id: Some(subject.id), template: Some("TLS_SERVER".into()), dns_names: vec![cn.to_owned()], ..IssueRequest::default() };
    pki.issue(request).await.unwrap();
    b.enrol(cn).await;
    Certname::parse(cn).unwrap()
}

async fn the_admin_inventory_shows_a_shared_name_in_every_channel_and_filters_by_one(b: Backend) {
    let certname = shared_name(&b, "both.example.com").await;
    let query = CertQuery { certname: Some(certname), ..CertQuery::default() };
    let (all, total) = b.ca().certificates(&query).await.unwrap();
    let mut channels: Vec<Channel> = all.iter().map(|c| c.channel()).collect();
    channels.sort();
    assert_eq!((channels, total), (vec![Channel::Pki, Channel::Puppet], 2));
    let (puppet, _) = b.ca().certificates_in(&query, Some(Channel::Puppet)).await.unwrap();
    assert_eq!(puppet.iter().map(|c| c.channel()).collect::<Vec<_>>(), vec![Channel::Puppet]);
}

async fn an_explicit_channel_picks_which_certificates_of_a_shared_name_are_shown_and_revoked(b: Backend) {
    let certname = shared_name(&b, "pick.example.com").await;
    let ca = b.ca();
    let ambiguous = ca.certificate_details(&certname).await.unwrap_err();
    assert_eq!(ambiguous.code(), Some("INVALID_OPERATION"), "ambiguous without a channel: {ambiguous}");
    assert_eq!(ca.certificate_details_in(&certname, Some(Channel::Pki)).await.unwrap().record.channel(), Channel::Pki);
    let revoked = ca.revoke_in(&certname, Some(Channel::Puppet), None, "operator-key").await.unwrap();
    assert_eq!(revoked.certificates.len(), 1);
    assert_eq!(revoked.certificates[0].revoked_by.as_deref(), Some("operator-key"));
    let all = b.pki().certificates_by_common_name("pick.example.com").await.unwrap();
    let status = |channel| all.iter().find(|c| c.channel() == channel).unwrap().status;
    assert_eq!((status(Channel::Pki), status(Channel::Puppet)), (CertStatus::Valid, CertStatus::Revoked));
}
