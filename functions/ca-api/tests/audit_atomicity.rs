//! Issue 9 item 8: a Puppet operation (submit, sign, reject, withdraw, revoke) and its audit record
//! are one transaction, and a certificate an operator signs records who requested it; on the
//! embedded backend and on moto.

mod support;

use std::sync::Arc;
use support::{csr, Backend};
use trustplane_core::domain::Certname;
use trustplane_core::on_both_backends;
use trustplane_core::ports::{Condition, Item, Page, Query, Store, Write};
use trustplane_core::services::pki::Channel;
use trustplane_core::services::puppet_ca::{CsrState, OperationKind, Outcome, PuppetCa};
use trustplane_core::{Error, Result};

on_both_backends!(
    every_successful_operation_is_audited_even_when_lone_audit_writes_fail,
    an_operation_whose_audit_record_cannot_be_committed_does_not_happen,
    a_certificate_an_operator_signs_records_the_operator_as_its_requester,
    a_revocation_is_audited_in_its_own_transaction_and_does_not_happen_without_its_record,
);

const AUDIT_PREFIX: &str = "AUDIT#";

/// A store that refuses audit records written on their own (`lone`) or within a transaction.
struct AuditRefusing {
    inner: Arc<dyn Store>,
    lone: bool,
}

fn is_audit(write: &Write) -> bool {
    matches!(write, Write::Put { item, .. } if item.pk.starts_with(AUDIT_PREFIX))
}

fn refused() -> Error {
    Error::Unavailable("the audit partition is throttled".into())
}

#[async_trait::async_trait]
impl Store for AuditRefusing {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        self.inner.get(pk, sk).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        if self.lone && item.pk.starts_with(AUDIT_PREFIX) {
            return Err(refused());
        }
        self.inner.put(item, condition).await
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        self.inner.delete(pk, sk, condition).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<()> {
        if !self.lone && writes.iter().any(is_audit) {
            return Err(refused());
        }
        self.inner.transact(writes).await
    }

    async fn query(&self, query: Query) -> Result<Page> {
        self.inner.query(query).await
    }
}

/// The CA over `b`'s store wrapped in [`AuditRefusing`].
fn refusing_ca(b: &Backend, lone: bool) -> PuppetCa {
    let mut ports = b.state.ports.clone();
    ports.store = Arc::new(AuditRefusing { inner: ports.store.clone(), lone });
    PuppetCa::new(ports, Arc::clone(&b.state.config))
}

fn certname(raw: &str) -> Certname {
    Certname::parse(raw).unwrap()
}

async fn every_successful_operation_is_audited_even_when_lone_audit_writes_fail(b: Backend) {
    let ca = refusing_ca(&b, true);
    for name in ["signed.example.com", "rejected.example.com", "withdrawn.example.com"] {
        ca.submit(&certname(name), &csr(name).1).await.unwrap();
    }
    ca.sign(&certname("signed.example.com"), None, "operator").await.unwrap();
    ca.reject(&certname("rejected.example.com"), Some("unknown host".into()), "operator").await.unwrap();
    ca.delete_request(&certname("withdrawn.example.com"), "operator").await.unwrap();

    let trail = b.ca().audit_trail(100).await.unwrap();
    let recorded = |kind: OperationKind, name: &str| trail.iter().any(|op| op.kind == kind && op.certname.as_deref() == Some(name) && op.status == Outcome::Success);
    for name in ["signed.example.com", "rejected.example.com", "withdrawn.example.com"] {
        assert!(recorded(OperationKind::Submit, name), "submission of {name} missing from {trail:?}");
    }
    assert!(recorded(OperationKind::Sign, "signed.example.com"), "{trail:?}");
    assert!(recorded(OperationKind::Reject, "rejected.example.com"), "{trail:?}");
    assert!(recorded(OperationKind::DeleteRequest, "withdrawn.example.com"), "{trail:?}");
}

async fn an_operation_whose_audit_record_cannot_be_committed_does_not_happen(b: Backend) {
    for name in ["sign.example.com", "reject.example.com", "withdraw.example.com"] {
        b.ca().submit(&certname(name), &csr(name).1).await.unwrap();
    }
    let ca = refusing_ca(&b, false);
    assert!(ca.sign(&certname("sign.example.com"), None, "operator").await.is_err());
    assert!(ca.reject(&certname("reject.example.com"), None, "operator").await.is_err());
    assert!(ca.delete_request(&certname("withdraw.example.com"), "operator").await.is_err());
    assert!(ca.submit(&certname("submit.example.com"), &csr("submit.example.com").1).await.is_err());

    for name in ["sign.example.com", "reject.example.com", "withdraw.example.com"] {
        let still = b.ca().pending_request(&certname(name)).await.unwrap();
        assert_eq!(still.status, CsrState::Pending, "{name}");
    }
    assert!(b.ca().pending_request(&certname("submit.example.com")).await.is_err());
    assert!(b.pki().certificates_named(Channel::Puppet, "sign.example.com").await.unwrap().is_empty());
}

async fn a_certificate_an_operator_signs_records_the_operator_as_its_requester(b: Backend) {
    let name = certname("node.example.com");
    b.ca().submit(&name, &csr("node.example.com").1).await.unwrap();
    let signed = b.ca().sign(&name, None, "operator-key-id").await.unwrap();
    assert_eq!(signed.requested_by.as_deref(), Some("operator-key-id"));
    let stored = b.pki().certificates_named(Channel::Puppet, "node.example.com").await.unwrap();
    assert_eq!(stored.iter().map(|c| c.requested_by.as_deref()).collect::<Vec<_>>(), vec![Some("operator-key-id")]);
}

async fn a_revocation_is_audited_in_its_own_transaction_and_does_not_happen_without_its_record(b: Backend) {
    for name in ["kept.example.com", "revoked.example.com"] {
        b.ca().submit(&certname(name), &csr(name).1).await.unwrap();
        b.ca().sign(&certname(name), None, "operator").await.unwrap();
    }
    let refused = refusing_ca(&b, false).revoke(&certname("kept.example.com"), None, "operator").await;
    assert!(refused.is_err(), "{refused:?}");
    let kept = b.pki().certificates_named(Channel::Puppet, "kept.example.com").await.unwrap();
    assert!(kept.iter().all(|c| c.revoked_at.is_none()), "{kept:?}");

    refusing_ca(&b, true).revoke(&certname("revoked.example.com"), Some("key compromise".into()), "operator").await.unwrap();
    let trail = b.ca().audit_trail(100).await.unwrap();
    let recorded = trail.iter().any(|op| op.kind == OperationKind::Revoke && op.certname.as_deref() == Some("revoked.example.com") && op.status == Outcome::Success);
    assert!(recorded, "{trail:?}");
}
