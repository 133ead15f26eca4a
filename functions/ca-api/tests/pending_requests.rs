//! Issue 9 item 3: `PUPPET_MAX_PENDING` caps pending requests, and requests stored before
//! the per-state index (GSI1 partition `CSRS`) are still listed, counted and decided; on the
//! embedded backend and on moto.

mod support;

use std::sync::Arc;
use support::{csr, Backend};
use trustplane_core::config::Config;
use trustplane_core::domain::Certname;
use trustplane_core::on_both_backends;
use trustplane_core::ports::{Condition, IndexKey, Item};
use trustplane_core::services::puppet_ca::{codes, CsrRecord, CsrState, PuppetCa, RequestQuery};

on_both_backends!(
    puppet_max_pending_in_the_configuration_caps_the_pending_requests,
    a_request_stored_under_the_legacy_index_is_listed_counted_and_signable,
);

fn certname(raw: &str) -> Certname {
    Certname::parse(raw).unwrap()
}

fn config_with(pairs: &[(&str, &str)]) -> trustplane_core::Result<Config> {
    Config::from_lookup(|k| pairs.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned()))
}

#[test]
fn puppet_max_pending_defaults_to_ten_thousand_and_must_be_positive() {
    assert_eq!(config_with(&[]).unwrap().puppet_max_pending, 10_000);
    assert_eq!(config_with(&[("PUPPET_MAX_PENDING", "25")]).unwrap().puppet_max_pending, 25);
    assert!(config_with(&[("PUPPET_MAX_PENDING", "0")]).is_err());
    assert!(config_with(&[("PUPPET_MAX_PENDING", "many")]).is_err());
}

async fn puppet_max_pending_in_the_configuration_caps_the_pending_requests(b: Backend) {
    let config = Config { puppet_max_pending: 2, ..(*b.state.config).clone() };
    let ca = PuppetCa::new(b.state.ports.clone(), Arc::new(config));
    for name in ["one.example.com", "two.example.com"] {
        ca.submit(&certname(name), &csr(name).1).await.unwrap();
    }
    let refused = ca.submit(&certname("three.example.com"), &csr("three.example.com").1).await.unwrap_err();
    assert_eq!(refused.code(), Some(codes::TOO_MANY_PENDING));
    ca.reject(&certname("one.example.com"), None, "operator").await.unwrap();
    ca.submit(&certname("three.example.com"), &csr("three.example.com").1).await.unwrap();
}

async fn a_request_stored_under_the_legacy_index_is_listed_counted_and_signable(b: Backend) {
    let name = "legacy.example.com";
    let record = CsrRecord {
        certname: name.into(),
        fingerprint: "AB:".repeat(31) + "AB",
        request_time: time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
        csr: csr(name).1,
        reason: None,
        decided_at: None,
        history: Vec::new(),
        status: CsrState::Pending,
    };
    let mut item = Item::new(format!("CSR#{name}"), "CSR", serde_json::to_value(&record).unwrap());
    item.gsi1 = Some(IndexKey { pk: "CSRS".into(), sk: name.into() });
    item.state = Some("pending".into());
    item.version = 1;
    b.state.ports.store.put(item, Condition::Absent).await.unwrap();

    let ca = b.ca();
    let (listed, total) = ca.requests(&RequestQuery::default()).await.unwrap();
    assert_eq!((listed.iter().map(|r| r.certname.as_str()).collect::<Vec<_>>(), total), (vec![name], 1));
    assert_eq!(ca.status().await.unwrap().pending_requests, 1);
    ca.sign(&certname(name), None, "operator").await.unwrap();
    let (pending, total) = ca.requests(&RequestQuery::default()).await.unwrap();
    assert!(pending.is_empty() && total == 0, "{pending:?}");
    let signed = RequestQuery { status: CsrState::Signed, ..RequestQuery::default() };
    assert_eq!(ca.requests(&signed).await.unwrap().1, 1);
}
