//! The provisioning worker: `QUEUED → Provisioning → Active | Failed`, running CreateDatabase,
//! ApplyMigrations and SeedData against the tenant's own database.
//!
//! At-least-once safe: every step-state write is conditioned on the tenant's version; a step
//! that reached `Success` in the current run never runs again; a running step is leased, so a
//! second delivery waits while the lease is live and takes over once it has lapsed (a killed
//! worker). Transient faults are retried by the queue; a permanent fault, or a transient one
//! on the last allowed delivery, rolls back (drops the database) and fails the tenant
//! (see [`super::outcome`]).

use super::records::{self, StepName, StepRecord, StepStatus, TenantRecord, TenantStatus};
use super::{now, Tenants};
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, TenantTags};

/// Tags an error the worker already logged (a busy tenant, a failed step), so that only
/// the rest is logged as the seed's "Unhandled error".
pub(super) const HANDLED: &str = "TENANT_JOB_HANDLED";

/// A lost race with another delivery: retried by the queue.
pub(super) fn busy() -> Error {
    Error::Unavailable("another delivery is provisioning this tenant".into()).with_code(HANDLED)
}

impl Tenants {
    /// Handles one delivery of the tenant's job; `receive_count` is the delivery's number.
    pub async fn provision(&self, id: &uuid::Uuid, receive_count: u32) -> Result<()> {
        let outcome = self.provision_run(id, receive_count).await;
        match &outcome {
            Err(e) if e.code() == Some(HANDLED) => tracing::warn!(TenantId = %id, error = %e, "tenant job will be retried"),
            Err(e) => tracing::error!(TenantId = %id, ErrorMessage = %e, "Unhandled error processing tenant {}: {}", id, e),
            Ok(()) => {}
        }
        outcome
    }

    async fn provision_run(&self, id: &uuid::Uuid, receive_count: u32) -> Result<()> {
        let Some((mut item, mut record)) = self.load(id).await? else {
            return self.drop_deprovisioned(id).await;
        };
        match record.status {
            TenantStatus::Queued | TenantStatus::Provisioning => {}
            TenantStatus::Active | TenantStatus::Failed if record.notice_pending => return self.send_notice(&item, record).await,
            _ => return Ok(()),
        }
        if record.rollback_pending {
            return self.roll_back(item, record).await;
        }
        tracing::info!(TenantId = %id, "Processing provisioning for tenant {}", id);
        if record.status == TenantStatus::Queued {
            record.status = TenantStatus::Provisioning;
            (item, record) = self.save(&item, record).await?;
        }
        for step in StepName::WORK {
            if record.done(step) {
                continue;
            }
            (item, record) = self.begin_step(&item, record, step).await?;
            match self.run_step(&record, step).await {
                Ok(log) => (item, record) = self.end_step(&item, record, step, Ok(log)).await?,
                Err(e) => return self.step_failed(item, record, step, e, receive_count).await,
            }
        }
        self.finish(&item, record, TenantStatus::Active).await
    }

    /// Writes `record` over `item` if nobody else has; a lost race is a retryable `busy`.
    pub(super) async fn save(&self, item: &Item, mut record: TenantRecord) -> Result<(Item, TenantRecord)> {
        record.updated_at = now();
        let next = records::encode(&record, item.version + 1)?;
        match self.store.put(next.clone(), Condition::Version(item.version)).await {
            Ok(()) => Ok((next, record)),
            Err(Error::Conflict(_)) => Err(busy()),
            Err(e) => Err(e),
        }
    }

    async fn begin_step(&self, item: &Item, mut record: TenantRecord, step: StepName) -> Result<(Item, TenantRecord)> {
        let at = now();
        let lease_until = at.unix_timestamp() + i64::from(self.config.tenants.step_lease_seconds);
        match record.current_mut(step) {
            Some(s) if s.status == StepStatus::InProgress && s.lease_until.is_some_and(|l| l > at.unix_timestamp()) => {
                return Err(busy());
            }
            Some(s) if s.status == StepStatus::InProgress => s.lease_until = Some(lease_until),
            _ => {
                let run = record.run;
                let entry = StepRecord { step, status: StepStatus::InProgress, started_at: at, completed_at: None, log: None, error_message: None, run, lease_until: Some(lease_until) };
                record.steps.push(entry);
            }
        }
        self.save(item, record).await
    }

    pub(super) async fn end_step(&self, item: &Item, mut record: TenantRecord, step: StepName, outcome: Result<String, String>) -> Result<(Item, TenantRecord)> {
        if let Some(s) = record.current_mut(step) {
            s.completed_at = Some(now());
            s.lease_until = None;
            match outcome {
                Ok(log) => (s.status, s.log) = (StepStatus::Success, Some(log)),
                Err(message) => (s.status, s.error_message) = (StepStatus::Failed, Some(message)),
            }
        }
        self.save(item, record).await
    }

    async fn run_step(&self, record: &TenantRecord, step: StepName) -> Result<String> {
        let (id, db) = (record.id, &record.db_name);
        match step {
            StepName::CreateDatabase => {
                tracing::info!(TenantId = %id, DbName = %db, "Creating database {} for tenant {}", db, id);
                self.await_pending_drop(db).await?;
                let tags = TenantTags { tenant_id: id.to_string(), stack: self.config.stack_name.clone() };
                self.dbs.create(db, &tags).await?;
                tracing::info!(TenantId = %id, DbName = %db, "Database {} created for tenant {}", db, id);
                Ok(format!("Database {db} created successfully"))
            }
            StepName::ApplyMigrations => {
                tracing::info!(TenantId = %id, DbName = %db, "Applying migrations to database {} for tenant {}", db, id);
                let version = self.dbs.migrate(db).await?;
                tracing::info!(TenantId = %id, DbName = %db, version, "Migrations applied to {} for tenant {}", db, id);
                Ok("Migrations applied successfully".into())
            }
            StepName::SeedData => {
                tracing::info!(TenantId = %id, DbName = %db, "Seeding data for tenant {} in database {}", id, db);
                self.dbs.seed(db, record.plan).await?;
                tracing::info!(TenantId = %id, "Data seeded for tenant {}", id);
                Ok("Demo data seeded successfully".into())
            }
            StepName::Init => Err(Error::internal("Init is not a worker step")),
        }
    }
}
