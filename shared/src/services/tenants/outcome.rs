//! How a provisioning run ends: a step that failed for good is rolled back (its database
//! dropped) before the tenant is `Failed`, and the final state is committed before its
//! notification is queued.

use super::records::{self, StepName, TenantRecord, TenantStatus};
use super::worker::{busy, HANDLED};
use super::{now, Tenants};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Item, Write};

/// What a failed step shows in `errorMessage` (never internals; the cause is logged).
fn public_step_error(e: &Error) -> String {
    match e {
        Error::Unavailable(_) => "Failed to connect to database server".into(),
        Error::Internal(_) => "Unexpected error; see the service logs".into(),
        other => other.public_message(),
    }
}

impl Tenants {
    /// `step` failed with `e` on delivery `receive_count`: a transient fault before the last
    /// allowed delivery is left to the queue's retry; anything else records the step `Failed`
    /// and rolls the run back.
    pub(super) async fn step_failed(&self, item: Item, mut record: TenantRecord, step: StepName, e: Error, receive_count: u32) -> Result<()> {
        let transient = matches!(e, Error::Unavailable(_));
        if transient && receive_count < self.config.tenants.max_receives {
            tracing::warn!(TenantId = %record.id, step = step.as_str(), receive_count, error = %e, "transient step failure; the queue retries");
            if let Some(s) = record.current_mut(step) {
                s.lease_until = None;
            }
            let _ = self.save(&item, record).await;
            return Err(e.with_code(HANDLED));
        }
        let (id, slug) = (record.id, record.slug.clone());
        tracing::error!(TenantId = %id, Slug = %slug, ErrorMessage = %e, "Error provisioning tenant {} ({}): {}", id, slug, e);
        record.rollback_pending = true;
        let (item, record) = self.end_step(&item, record, step, Err(public_step_error(&e))).await?;
        self.roll_back(item, record).await?;
        match transient {
            true => Err(e.with_code(HANDLED)),
            false => Ok(()),
        }
    }

    /// Drops what the run created, then fails the tenant. While the drop fails, the tenant
    /// stays `Provisioning` with its rollback pending and the delivery fails, so the queue
    /// brings the job back (and, past the last delivery, the sweep re-enqueues it): a tenant
    /// is `Failed` only once nothing of it is left behind.
    pub(super) async fn roll_back(&self, item: Item, mut record: TenantRecord) -> Result<()> {
        if let Err(e) = self.dbs.drop_database(&record.db_name).await {
            tracing::error!(TenantId = %record.id, DbName = %record.db_name, error = %e, "rollback could not drop the tenant database; it will be retried");
            return Err(Error::Unavailable(format!("rolling back tenant {}: {e}", record.id)).with_code(HANDLED));
        }
        record.rollback_pending = false;
        self.finish(&item, record, TenantStatus::Failed).await
    }

    /// Commits the final state (freeing a failed tenant's slug if so configured) with its
    /// notification marked pending, then queues the notification: a notice only ever follows
    /// a committed state.
    pub(super) async fn finish(&self, item: &Item, mut record: TenantRecord, status: TenantStatus) -> Result<()> {
        record.status = status;
        record.updated_at = now();
        record.notice_pending = true;
        let release = status == TenantStatus::Failed && self.config.tenants.free_slug_on_failure;
        record.slug_released = release;
        let next = records::encode(&record, item.version + 1)?;
        let mut writes = vec![Write::Put { item: next.clone(), condition: Condition::Version(item.version) }];
        if release {
            writes.push(Write::Delete { pk: records::slug_pk(&record.slug), sk: records::SLUG_SK.into(), condition: Condition::Always });
        }
        match self.store.transact(writes).await {
            Err(Error::Conflict(_)) => return Err(busy()),
            other => other?,
        }
        if status == TenantStatus::Active {
            tracing::info!(TenantId = %record.id, "Provisioning completed successfully for tenant {}", record.id);
        }
        self.send_notice(&next, record).await
    }

    /// Queues the notification of `record`'s committed final state, then clears its pending
    /// mark. A failed send fails the delivery, so the job comes back and sends it again.
    pub(super) async fn send_notice(&self, item: &Item, mut record: TenantRecord) -> Result<()> {
        let job = Job::NotifyTenant { tenant_id: record.id.to_string(), status: record.status.as_str().into(), run: record.run };
        if let Err(e) = self.enqueue(job).await {
            tracing::error!(TenantId = %record.id, error = %e, "enqueueing the notification failed; the job's next delivery queues it again");
            return Err(e.with_code(HANDLED));
        }
        let id = record.id;
        record.notice_pending = false;
        if let Err(e) = self.save(item, record).await {
            tracing::warn!(TenantId = %id, error = %e, "the notification is queued but still marked pending; a redelivery may queue it again");
        }
        Ok(())
    }
}
