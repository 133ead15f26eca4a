//! Issue 9 item 3: the CA's counts (pending, signed, revoked) live in one counter item moved
//! by the transactions that change them, so `GET /api/v1/ca/status` reads no certificate
//! inventory; on the embedded backend and on moto.

mod support;

use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use support::{csr, send, text, Backend, Body};
use trustplane_core::domain::Certname;
use trustplane_core::on_both_backends;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::SubjectName;
use trustplane_core::ports::{Condition, Item, Page, Query, Store};
use trustplane_core::services::pki::counts::{self, CaCounts};
use trustplane_core::services::pki::IssueRequest;
use trustplane_core::services::puppet_ca::{CaStatus, PuppetCa};
use trustplane_core::Result;

on_both_backends!(
    eight_concurrent_signs_move_eight_requests_from_pending_to_signed_without_an_inventory_scan,
    an_agent_a_pki_leaf_and_a_revocation_from_the_ca_authority_are_counted,
    a_deployment_without_a_counter_gets_one_built_by_its_first_status_read,
    a_stale_pending_count_is_recounted_from_the_pending_requests,
);

const INVENTORY_PREFIX: &str = "CERTS#";

/// A store counting the queries it runs per partition prefix (the partition key up to its
/// first `#`).
struct QueryCounting {
    inner: Arc<dyn Store>,
    queries: Mutex<HashMap<String, usize>>,
}

#[async_trait::async_trait]
impl Store for QueryCounting {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        self.inner.get(pk, sk).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        self.inner.put(item, condition).await
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        self.inner.delete(pk, sk, condition).await
    }

    async fn transact(&self, writes: Vec<trustplane_core::ports::Write>) -> Result<()> {
        self.inner.transact(writes).await
    }

    async fn query(&self, query: Query) -> Result<Page> {
        let prefix = query.pk.split_inclusive('#').next().unwrap_or_default().to_owned();
        *self.queries.lock().unwrap().entry(prefix).or_default() += 1;
        self.inner.query(query).await
    }
}

/// The CA's status read through a [`QueryCounting`] store, and the queries it ran.
async fn counted_status(b: &Backend) -> (CaStatus, HashMap<String, usize>) {
    let counting = Arc::new(QueryCounting { inner: b.state.ports.store.clone(), queries: Mutex::default() });
    let mut ports = b.state.ports.clone();
    ports.store = counting.clone();
    let status = PuppetCa::new(ports, Arc::clone(&b.state.config)).status().await.unwrap();
    let queries = counting.queries.lock().unwrap().clone();
    (status, queries)
}

/// The CA's status, which must not have queried the certificate inventory.
async fn status_without_inventory_scan(b: &Backend) -> CaStatus {
    let (status, queries) = counted_status(b).await;
    assert_eq!(queries.get(INVENTORY_PREFIX), None, "status queried the inventory: {queries:?}");
    status
}

async fn counter(b: &Backend) -> Option<CaCounts> {
    match counts::read(b.state.ports.store.as_ref(), &b.ca_id().await).await.unwrap() {
        counts::Counter::Counted(_, c) => Some(c),
        _ => None,
    }
}

fn certname(raw: &str) -> Certname {
    Certname::parse(raw).unwrap()
}

async fn eight_concurrent_signs_move_eight_requests_from_pending_to_signed_without_an_inventory_scan(b: Backend) {
    b.ca().status().await.unwrap();
    let names: Vec<String> = (0..8).map(|i| format!("node{i}.example.com")).collect();
    for name in &names {
        b.ca().submit(&certname(name), &csr(name).1).await.unwrap();
    }
    let before = status_without_inventory_scan(&b).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(names.len()));
    let signs: Vec<_> = names
        .iter()
        .map(|name| {
            let (ca, barrier, name) = (b.ca(), Arc::clone(&barrier), certname(name));
            tokio::spawn(async move {
                barrier.wait().await;
                ca.sign(&name, None, "operator").await
            })
        })
        .collect();
    for sign in signs {
        sign.await.unwrap().unwrap();
    }
    let after = status_without_inventory_scan(&b).await;
    assert_eq!((before.pending_requests, before.signed_certificates), (8, 0));
    assert_eq!((after.pending_requests, after.signed_certificates), (0, 8));
}

async fn pki_leaf(b: &Backend, cn: &str) -> String {
    let pki = b.pki();
    let subject = pki.create_subject(SubjectName::common_name_only(cn).unwrap()).await.unwrap();
    let request = IssueRequest { issuer_id: b.ca_id().await, subject_id: Some(subject.id), template: Some("TLS_SERVER".into()), dns_names: vec![cn.to_owned()], ..IssueRequest::default() };
    pki.issue(request).await.unwrap().issued.record.id
}

async fn provision_agent(b: &Backend, agent_id: &str) {
    let provisioning = provision_api::app(b.state.clone());
    let minted = send(&provisioning, "POST", "/api/v1/provision-keys", Some(&b.admin), Body::Json(json!({ "agent_id": agent_id, "ttl_seconds": 600 }))).await;
    assert_eq!(minted.status, 201, "{}", text(&minted));
    let key = minted.json()["provision_key"].as_str().unwrap().to_owned();
    let provisioned = send(&provisioning, "POST", "/api/v1/provision", None, Body::Json(json!({ "provision_key": key, "csr": csr(agent_id).1 }))).await;
    assert_eq!(provisioned.status.as_u16() / 100, 2, "{}", text(&provisioned));
}

async fn an_agent_a_pki_leaf_and_a_revocation_from_the_ca_authority_are_counted(b: Backend) {
    b.ca().status().await.unwrap();
    provision_agent(&b, "agent-7").await;
    let leaf = pki_leaf(&b, "api.example.com").await;
    assert_eq!(status_without_inventory_scan(&b).await.signed_certificates, 2);

    b.pki().revoke(&leaf, RevocationReason::KeyCompromise, None).await.unwrap();
    assert_eq!(status_without_inventory_scan(&b).await.signed_certificates, 1);
    let counted = counter(&b).await.expect("a counter");
    assert_eq!((counted.signed, counted.revoked), (2, 1));
}

async fn a_deployment_without_a_counter_gets_one_built_by_its_first_status_read(b: Backend) {
    b.ca().submit(&certname("waiting.example.com"), &csr("waiting.example.com").1).await.unwrap();
    let leaf = pki_leaf(&b, "old.example.com").await;
    pki_leaf(&b, "older.example.com").await;
    b.pki().revoke(&leaf, RevocationReason::Superseded, None).await.unwrap();
    b.state.ports.store.delete(&format!("CACOUNT#{}", b.ca_id().await), "COUNT", Condition::Always).await.unwrap();

    let (built, _) = counted_status(&b).await;
    assert_eq!((built.pending_requests, built.signed_certificates), (1, 1));
    let counted = counter(&b).await.expect("a counter built by the status read");
    assert_eq!((counted.pending, counted.signed, counted.revoked), (1, 2, 1));
    assert_eq!(status_without_inventory_scan(&b).await.signed_certificates, 1);
}

async fn a_stale_pending_count_is_recounted_from_the_pending_requests(b: Backend) {
    b.ca().status().await.unwrap();
    b.ca().submit(&certname("real.example.com"), &csr("real.example.com").1).await.unwrap();
    let id = b.ca_id().await;
    let counts::Counter::Counted(version, mut drifted) = counts::read(b.state.ports.store.as_ref(), &id).await.unwrap() else { panic!("no counter") };
    drifted.pending = 5;
    drifted.pending_counted_at -= time::Duration::minutes(11);
    assert!(counts::store_recount(b.state.ports.store.as_ref(), &id, Some(version), &drifted).await.unwrap());

    assert_eq!(status_without_inventory_scan(&b).await.pending_requests, 1);
    assert_eq!(counter(&b).await.map(|c| c.pending), Some(1));
}
