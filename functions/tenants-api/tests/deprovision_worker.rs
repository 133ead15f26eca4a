//! Deprovisioning runs no table DDL in the API: `DELETE /api/v1/tenants/{id}` answers 204 with
//! the tenant gone and its slug free, and the tenant worker drops the database from the queue,
//! retried until it succeeds; a new tenant with the same slug waits for that drop.

mod support;

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;
use support::faults::DropFails;
use support::*;
use tenant_worker::TenantWorker;
use trustplane_core::domain::{DbName, Plan};
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::on_both_backends;
use trustplane_core::ports::TenantDbInfo;

on_both_backends!(
    delete_answers_at_once_and_the_worker_drops_the_database,
    a_new_tenant_with_the_slug_waits_for_the_old_database_to_be_dropped,
    a_failed_drop_is_retried_and_a_lost_one_is_found_by_the_sweep,
);

fn db_of(slug: &str) -> DbName {
    DbName::parse(&format!("ecom_tenant_{}", slug.replace('-', "_"))).unwrap()
}

fn job(id: &str) -> String {
    serde_json::to_string(&Job::ProvisionTenant { tenant_id: id.to_owned() }).unwrap()
}

async fn database(b: &Backend, s: &str) -> Option<TenantDbInfo> {
    b.state.ports.tenant_dbs.inspect(&db_of(s)).await.unwrap()
}

/// An `Active` tenant of slug `s`; returns its id.
async fn active(b: &Backend, s: &str) -> String {
    let (id, _) = confirmed(b, s, "Basic").await;
    b.pump().await;
    assert_eq!(status_json(b, &id).await["status"], "Active");
    id
}

async fn delete(b: &Backend, id: &str) {
    assert_eq!(admin(b, "DELETE", &format!("/api/v1/tenants/{id}")).await.status, 204);
}

async fn delete_answers_at_once_and_the_worker_drops_the_database(b: Backend) {
    let s = slug("gone");
    let id = active(&b, &s).await;
    delete(&b, &id).await;
    assert_eq!(status(&b, &id).await.status, 404, "the tenant is gone at once");
    assert!(database(&b, &s).await.is_some(), "the API dropped nothing itself");
    b.pump().await;
    assert_eq!(database(&b, &s).await, None, "the worker dropped it");
    let store = &b.state.ports.store;
    assert!(store.get(&format!("DEPROVISION#{id}"), "DEPROVISION").await.unwrap().is_none(), "the drop's markers are gone");
    assert!(store.get(&format!("DROPDB#{}", db_of(&s)), "DROPDB").await.unwrap().is_none(), "the name is free");
    b.worker().handle_delivery(&job(&id), 1).await.unwrap();
}

async fn a_new_tenant_with_the_slug_waits_for_the_old_database_to_be_dropped(b: Backend) {
    let s = slug("again");
    let old = active(&b, &s).await;
    delete(&b, &old).await;
    let (new, _) = confirmed(&b, &s, "Premium").await;
    assert!(b.worker().handle_delivery(&job(&new), 1).await.is_err(), "CreateDatabase waits while the old database is still to drop");
    assert_eq!(status_json(&b, &new).await["steps"][1]["status"], "InProgress");
    b.worker().handle_delivery(&job(&old), 1).await.unwrap();
    b.worker().handle_delivery(&job(&new), 2).await.unwrap();
    assert_eq!(status_json(&b, &new).await["status"], "Active");
    let seed = trustplane_core::adapters::tenant_data::seed_data(Plan::Premium).unwrap();
    assert_eq!(database(&b, &s).await.map(|i| i.products), Some(seed.products.len() as u64), "the new tenant's database survives the old one's drop");
    b.purge().await;
}

async fn a_failed_drop_is_retried_and_a_lost_one_is_found_by_the_sweep(_: Backend) {
    for b in [Backend::sqlite_with(|c| c.tenants.stuck_after_seconds = 1).await, Backend::moto_with(|c| c.tenants.stuck_after_seconds = 1).await] {
        let s = slug("busy");
        let id = active(&b, &s).await;
        delete(&b, &id).await;
        let failing = TenantWorker::new(b.tenants().with_databases(Arc::new(DropFails { inner: b.state.ports.tenant_dbs.clone(), failures: AtomicU32::new(u32::MAX) })));
        assert!(failing.handle_delivery(&job(&id), 1).await.is_err(), "a drop that fails fails the delivery");
        b.purge().await;
        assert!(database(&b, &s).await.is_some());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(b.tenants().sweep().await.unwrap(), 1, "the sweep re-enqueues the lost drop");
        b.pump().await;
        assert_eq!(database(&b, &s).await, None);
    }
}
