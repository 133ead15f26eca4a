//! The notification of a final state is queued only after that state is committed, and a
//! notification whose send failed is queued again by the job's next delivery, once.

mod support;

use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use support::*;
use tenant_worker::TenantWorker;
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::on_both_backends;
use trustplane_core::ports::{Condition, Item, Page, Query, Queue, Store, Write};
use trustplane_core::services::tenants::Tenants;
use trustplane_core::wiring::Ports;
use trustplane_core::{Error, Result};

on_both_backends!(no_notice_is_queued_for_a_final_state_whose_commit_failed, a_notice_whose_send_failed_is_queued_by_the_next_delivery_once,);

/// The store, except that the next `failures` transactions writing a tenant's final state
/// fail as an outage would, unapplied.
struct FinalCommitFails {
    inner: Arc<dyn Store>,
    failures: AtomicU32,
}

fn is_final_commit(writes: &[Write]) -> bool {
    writes.iter().any(|w| matches!(w, Write::Put { item, .. } if item.pk.starts_with("TENANT#") && matches!(item.state.as_deref(), Some("Active" | "Failed"))))
}

#[async_trait]
impl Store for FinalCommitFails {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        self.inner.get(pk, sk).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        self.inner.put(item, condition).await
    }
    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        self.inner.delete(pk, sk, condition).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<()> {
        if is_final_commit(&writes) && self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(Error::Unavailable("injected: TransactWriteItems timed out".into()));
        }
        self.inner.transact(writes).await
    }
    async fn query(&self, query: Query) -> Result<Page> {
        self.inner.query(query).await
    }
}

/// The tenant queue, recording every job sent; refuses the first notification when told to.
struct Recorded {
    inner: Arc<dyn Queue>,
    jobs: Mutex<Vec<Job>>,
    refuse_notice: AtomicBool,
}

#[async_trait]
impl Queue for Recorded {
    async fn send(&self, body: String) -> Result<()> {
        let job = Job::from_body(&body)?;
        if matches!(job, Job::NotifyTenant { .. }) && self.refuse_notice.swap(false, Ordering::SeqCst) {
            return Err(Error::Unavailable("injected: SendMessage timed out".into()));
        }
        self.jobs.lock().unwrap().push(job);
        self.inner.send(body).await
    }
}

impl Recorded {
    fn notices(&self) -> Vec<Job> {
        self.jobs.lock().unwrap().iter().filter(|j| matches!(j, Job::NotifyTenant { .. })).cloned().collect()
    }
}

fn worker(b: &Backend, commit_failures: u32, refuse_notice: bool) -> (TenantWorker, Arc<Recorded>) {
    let ports = &b.state.ports;
    let queue = Arc::new(Recorded { inner: ports.tenant_queue.clone(), jobs: Mutex::new(Vec::new()), refuse_notice: AtomicBool::new(refuse_notice) });
    let store = Arc::new(FinalCommitFails { inner: ports.store.clone(), failures: AtomicU32::new(commit_failures) });
    let ports = Ports { store, tenant_queue: queue.clone(), ..ports.clone() };
    (TenantWorker::new(Tenants::new(&ports, b.state.config.clone())), queue)
}

fn job(id: &str) -> String {
    serde_json::to_string(&Job::ProvisionTenant { tenant_id: id.to_owned() }).unwrap()
}

fn notice(id: &str) -> Job {
    Job::NotifyTenant { tenant_id: id.to_owned(), status: "Active".into(), run: 1 }
}

async fn no_notice_is_queued_for_a_final_state_whose_commit_failed(b: Backend) {
    let (id, _) = confirmed(&b, &slug("commit"), "Basic").await;
    let (worker, queue) = worker(&b, 1, false);
    assert!(worker.handle_delivery(&job(&id), 1).await.is_err(), "the final commit failed");
    assert_eq!(status_json(&b, &id).await["status"], "Provisioning");
    assert_eq!(queue.notices(), [], "no notice for a state that was not committed");
    worker.handle_delivery(&job(&id), 2).await.unwrap();
    assert_eq!(status_json(&b, &id).await["status"], "Active");
    assert_eq!(queue.notices(), [notice(&id)]);
}

async fn a_notice_whose_send_failed_is_queued_by_the_next_delivery_once(b: Backend) {
    let (id, _) = confirmed(&b, &slug("notice"), "Basic").await;
    let (worker, queue) = worker(&b, 0, true);
    assert!(worker.handle_delivery(&job(&id), 1).await.is_err(), "the notice was not queued, so the message returns");
    assert_eq!(status_json(&b, &id).await["status"], "Active", "the state was committed first");
    assert_eq!(queue.notices(), []);
    worker.handle_delivery(&job(&id), 2).await.unwrap();
    assert_eq!(queue.notices(), [notice(&id)], "the redelivery queues the notice");
    worker.handle_delivery(&job(&id), 3).await.unwrap();
    assert_eq!(queue.notices(), [notice(&id)], "a duplicate delivery queues no second notice");
}
