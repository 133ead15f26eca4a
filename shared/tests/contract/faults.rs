//! Services on a store that behaves as DynamoDB may and moto and SQLite never do (throttled,
//! transactions cancelled for conflicts, lost successes, short and empty pages, a lagging
//! GSI: [`FaultyStore`]), and the raw store adapters' answers to forged cursors and oversized
//! pages, below the sealed cursors.

use crate::backend::{Backend, Kind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use trustplane_core::adapters::{aws::DynamoStore, local::SqliteStore};
use trustplane_core::config::Config;
use trustplane_core::domain::{AgentId, Scopes};
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::SubjectName;
use trustplane_core::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Store};
use trustplane_core::services::api_keys::{ApiKeys, KeyName, NewApiKey};
use trustplane_core::services::default_issuer::ensure_default_hierarchy;
use trustplane_core::services::pki::{CrlOutcome, IssueRequest, Pki};
use trustplane_core::services::provisioning::{Provisioning, TtlSeconds};
use trustplane_core::testkit::faults::FaultyStore;
use trustplane_core::Error;
use x509_parser::num_bigint::BigUint;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// The backend's store without the sealed-cursor layer.
fn raw_store(b: &Backend) -> Arc<dyn Store> {
    match &b.kind {
        Kind::Sqlite { .. } => Arc::new(SqliteStore::open(&b.config.data_dir.join("trustplane.db")).expect("open SQLite")),
        Kind::Moto { .. } => {
            let client = aws_sdk_dynamodb::Client::new(b.sdk.as_ref().expect("moto SDK configuration"));
            Arc::new(DynamoStore::new(client, b.config.table_name.clone()))
        }
    }
}

fn encoded(value: serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
}

pub async fn raw_stores_refuse_forged_cursors_and_oversized_pages_as_invalid_requests(b: Backend) {
    let store = raw_store(&b);
    for n in 0..3 {
        let item = Item { gsi1: Some(IndexKey { pk: "LIST".into(), sk: format!("a{n}") }), ..Item::new(format!("ITEM#{n}"), "ITEM", json!({})) };
        store.put(item, Condition::Always).await.expect("put");
    }
    let forged = [
        ("not base64url", "garbage!".to_owned()),
        ("only a table key", encoded(json!({ "PK": "ITEM#1", "SK": "ITEM" }))),
        ("a partial key", encoded(json!({ "PK": "ITEM#1" }))),
        ("a list of the wrong length", encoded(json!(["a1"]))),
        ("a key outside the range", encoded(json!({ "PK": "ITEM#9", "SK": "ITEM", "GSI1PK": "LIST", "GSI1SK": "z9" }))),
        ("empty keys", encoded(json!({ "PK": "", "SK": "", "GSI1PK": "LIST", "GSI1SK": "" }))),
    ];
    let mut wrong = Vec::new();
    for (what, cursor) in forged {
        let query = Query { index: Index::Gsi1, range: SkRange::BeginsWith("a".into()), cursor: Some(cursor), ..Query::partition("LIST") };
        match store.query(query).await {
            Err(Error::Validation(message)) if message == "invalid pagination cursor" => {}
            other => wrong.push(format!("{what}: {:?}", other.map(|page| page.items.len()))),
        }
    }
    for limit in [0, 1001] {
        match store.query(Query { index: Index::Gsi1, limit, ..Query::partition("LIST") }).await {
            Err(Error::Validation(message)) if message == "query limit must be between 1 and 1000" => {}
            other => wrong.push(format!("limit {limit}: {:?}", other.map(|page| page.items.len()))),
        }
    }
    assert!(wrong.is_empty(), "answered other than a validation error:\n{}", wrong.join("\n"));
}

async fn mint(keys: &ApiKeys) -> NewApiKey {
    let scopes = Scopes::parse(&["pki:read".to_owned()]).expect("scopes");
    keys.create(KeyName::parse("faults").unwrap(), scopes).await.expect("create API key")
}

async fn assert_key_refused(keys: &ApiKeys, key: &NewApiKey) {
    let result = keys.authenticate(&key.secret).await;
    assert!(matches!(result, Err(Error::Unauthorized(_))), "the revoked key still authenticates: {result:?}");
}

pub async fn revoking_an_api_key_twice_under_gsi_lag_is_harmless(b: Backend) {
    let faults = Arc::new(FaultyStore::new(b.ports.store.clone()));
    let keys = ApiKeys::new(faults.clone());
    let key = mint(&keys).await;
    faults.lag_gsi();
    keys.revoke(&key.record.id).await.expect("first revocation");
    keys.revoke(&key.record.id).await.expect("second revocation, while the index still shows the key active");
    assert!(faults.fired().stale_index_items >= 1, "the index never lagged: {:?}", faults.fired());
    assert_key_refused(&keys, &key).await;
}

pub async fn an_api_key_revocation_retried_after_a_lost_success_reports_success(b: Backend) {
    let faults = Arc::new(FaultyStore::new(b.ports.store.clone()));
    let keys = ApiKeys::new(faults.clone());
    let key = mint(&keys).await;
    faults.lag_gsi();
    faults.lose_successes(1);
    let lost = keys.revoke(&key.record.id).await;
    assert!(matches!(lost, Err(Error::Unavailable(_))), "the first answer should be lost: {lost:?}");
    keys.revoke(&key.record.id).await.expect("the caller's retry");
    assert_eq!(faults.fired().lost_successes, 1);
    assert_key_refused(&keys, &key).await;
}

pub async fn an_api_key_is_revoked_by_id_past_empty_and_short_pages(b: Backend) {
    let faults = Arc::new(FaultyStore::new(b.ports.store.clone()));
    let keys = ApiKeys::new(faults.clone());
    let key = mint(&keys).await;
    faults.empty_pages();
    faults.short_pages(1);
    keys.revoke(&key.record.id).await.expect("revocation past an empty page");
    assert!(faults.fired().empty_pages >= 1, "no empty page was served: {:?}", faults.fired());
    assert_key_refused(&keys, &key).await;
}

/// The backend's configuration with no default issuer, so provisioning fails after the claim.
fn without_default_issuer(b: &Backend) -> Arc<Config> {
    let mut config = b.config.clone();
    config.default_issuer_id = None;
    Arc::new(config)
}

fn provisioning(b: &Backend) -> (Provisioning, Arc<FaultyStore>, Pki) {
    let (ports, faults) = FaultyStore::install(&b.ports);
    let config = without_default_issuer(b);
    let pki = Pki::new(ports, config.clone());
    (Provisioning::new(faults.clone(), pki.clone(), config), faults, pki)
}

fn csr(agent: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, agent);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

async fn new_provision_key(provisioning: &Provisioning, agent: &str) -> (String, String) {
    let agent = AgentId::parse(agent).unwrap();
    let (record, secret) = provisioning.create_key(agent, TtlSeconds::parse(3600).unwrap()).await.expect("create provision key");
    (record.key_prefix, secret)
}

pub async fn a_provision_key_whose_claim_was_released_under_gsi_lag_can_be_revoked(b: Backend) {
    let (provisioning, faults, _) = provisioning(&b);
    let (prefix, secret) = new_provision_key(&provisioning, "agent-lag").await;
    faults.lag_gsi();
    let failed = provisioning.provision(&secret, &csr("agent-lag")).await;
    assert!(matches!(failed, Err(Error::Unavailable(_))), "without an issuer the claim is taken, then released: {failed:?}");
    provisioning.revoke_key(&prefix).await.expect("revocation while the index shows the key before its claim");
    assert!(faults.fired().stale_index_items >= 1, "the index never lagged: {:?}", faults.fired());
    match provisioning.provision(&secret, &csr("agent-lag")).await {
        Err(Error::Unauthorized(message)) => assert_eq!(message, "invalid provision key"),
        other => panic!("the revoked key should be refused, got {:?}", other.map(|p| p.agent_id)),
    }
}

pub async fn a_provision_key_is_revoked_by_prefix_past_empty_pages(b: Backend) {
    let (provisioning, faults, _) = provisioning(&b);
    let (prefix, secret) = new_provision_key(&provisioning, "agent-pages").await;
    faults.empty_pages();
    provisioning.revoke_key(&prefix).await.expect("revocation past an empty page");
    assert!(faults.fired().empty_pages >= 1, "no empty page was served: {:?}", faults.fired());
    match provisioning.provision(&secret, &csr("agent-pages")).await {
        Err(Error::Unauthorized(message)) => assert_eq!(message, "invalid provision key"),
        other => panic!("the revoked key should be refused, got {:?}", other.map(|p| p.agent_id)),
    }
}

pub async fn a_provisioning_whose_commit_was_cancelled_by_a_transaction_conflict_succeeds_when_retried(b: Backend) {
    let (provisioning, faults, pki) = provisioning(&b);
    ensure_default_hierarchy(&pki, &b.config, faults.as_ref()).await.expect("default hierarchy");
    let (_, secret) = new_provision_key(&provisioning, "agent-retry").await;
    faults.conflict_transactions(1);
    let cancelled = provisioning.provision(&secret, &csr("agent-retry")).await;
    assert!(matches!(cancelled, Err(Error::Unavailable(_))), "the commit should be cancelled: {:?}", cancelled.map(|p| p.agent_id));
    assert_eq!(faults.fired().conflicts, 1);
    let provisioned = provisioning.provision(&secret, &csr("agent-retry")).await.expect("the retry provisions");
    assert_eq!(provisioned.agent_id, "agent-retry");
}

pub async fn a_crl_lists_every_revocation_when_pages_come_back_short_or_empty(b: Backend) {
    let (_, faults, pki) = provisioning(&b);
    let issuer = ensure_default_hierarchy(&pki, &b.config, faults.as_ref()).await.expect("default hierarchy");
    let subject = pki.create_subject(SubjectName::common_name_only("faults.example").unwrap()).await.expect("subject");
    let mut revoked = BTreeSet::new();
    for _ in 0..5 {
        let request = IssueRequest { issuer_id: issuer.clone(), subject_id: Some(subject.id.clone()), template: Some("TLS_CLIENT".into()), ..IssueRequest::default() };
        let cert = pki.issue(request).await.expect("issue").issued.record;
        pki.revoke(&cert.id, RevocationReason::KeyCompromise, None).await.expect("revoke");
        revoked.insert(BigUint::parse_bytes(cert.serial_number.as_bytes(), 16).expect("hex serial"));
    }
    faults.short_pages(2);
    faults.empty_pages();
    let Ok(CrlOutcome::Published { der, .. }) = pki.publish_crl(&issuer, None).await else { panic!("no CRL published") };
    let (_, crl) = CertificateRevocationList::from_der(&der).expect("CRL DER");
    let listed: BTreeSet<BigUint> = crl.iter_revoked_certificates().map(|r| r.user_certificate.clone()).collect();
    assert_eq!(listed, revoked);
    let fired = faults.fired();
    assert!(fired.short_pages >= 1 && fired.empty_pages >= 1, "the pages were never cut: {fired:?}");
}
