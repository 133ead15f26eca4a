//! Rollback is retried: a step that failed for good leaves the tenant `Provisioning` until its
//! database is really dropped (the delivery fails and returns; past the last delivery the
//! sweep re-enqueues it), and only then `Failed`, with nothing left behind.

mod support;

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Duration;
use support::faults::{DropFails, Fault, Faulty};
use support::*;
use tenant_worker::TenantWorker;
use trustplane_core::domain::DbName;
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::on_both_backends;
use trustplane_core::services::tenants::StepName;

on_both_backends!(a_drop_that_fails_returns_the_message_until_the_rollback_completes, a_rollback_past_the_last_delivery_is_finished_after_the_sweep,);


fn failing_drop(b: &Backend, step: StepName, failures: u32) -> TenantWorker {
    let faulty = Faulty::new(b.state.ports.tenant_dbs.clone(), step, Fault::Permanent);
    TenantWorker::new(b.tenants().with_databases(Arc::new(DropFails { inner: faulty, failures: AtomicU32::new(failures) })))
}

fn db_of(slug: &str) -> DbName {
    DbName::parse(&format!("ecom_tenant_{}", slug.replace('-', "_"))).unwrap()
}

fn job(id: &str) -> String {
    serde_json::to_string(&Job::ProvisionTenant { tenant_id: id.to_owned() }).unwrap()
}

async fn assert_failed_and_gone(b: &Backend, id: &str, s: &str, step: StepName, steps: usize) {
    let status = status_json(b, id).await;
    assert_eq!(status["status"], "Failed");
    assert_eq!(status["steps"].as_array().unwrap().len(), steps, "no step recorded twice: {status}");
    let failed = &status["steps"][steps - 1];
    assert_eq!((failed["step"].as_str(), failed["status"].as_str()), (Some(step.as_str()), Some("Failed")));
    assert_eq!(failed["errorMessage"], format!("injected failure in {}", step.as_str()));
    assert_eq!(b.state.ports.tenant_dbs.inspect(&db_of(s)).await.unwrap(), None, "nothing is left behind");
}

async fn a_drop_that_fails_returns_the_message_until_the_rollback_completes(b: Backend) {
    let s = slug("inuse");
    let (id, _) = confirmed(&b, &s, "Basic").await;
    let worker = failing_drop(&b, StepName::ApplyMigrations, 2);
    assert!(worker.handle_delivery(&job(&id), 1).await.is_err(), "the rollback failed, so the delivery fails and the message returns");
    let status = status_json(&b, &id).await;
    assert_eq!(status["status"], "Provisioning", "not Failed while its database is still there");
    assert_eq!(status["steps"][2]["status"], "Failed");
    assert!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap().is_some(), "the drop really failed");
    let deliveries = b.pump_with(&worker).await;
    assert!(deliveries >= 2, "the queued message fails once more, then rolls back: {deliveries}");
    assert_failed_and_gone(&b, &id, &s, StepName::ApplyMigrations, 3).await;
}

async fn a_rollback_past_the_last_delivery_is_finished_after_the_sweep(_: Backend) {
    let config = |c: &mut trustplane_core::config::Config| {
        c.tenants.max_receives = 2;
        c.tenants.stuck_after_seconds = 1;
    };
    for b in [Backend::sqlite_with(config).await, Backend::moto_with(config).await] {
        let s = slug("stuck");
        let (id, _) = confirmed(&b, &s, "Premium").await;
        let worker = failing_drop(&b, StepName::SeedData, u32::MAX);
        assert!(worker.handle_delivery(&job(&id), 1).await.is_err());
        assert!(worker.handle_delivery(&job(&id), 2).await.is_err(), "the last delivery fails too, so the message is dead-lettered");
        b.purge().await;
        assert_eq!(status_json(&b, &id).await["status"], "Provisioning", "the tenant waits for its rollback");
        assert!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(b.tenants().sweep().await.unwrap(), 1, "the sweep re-enqueues the pending rollback");
        b.pump().await;
        assert_failed_and_gone(&b, &id, &s, StepName::SeedData, 4).await;
    }
}
