//! The provisioning worker: `QUEUED → Provisioning → Active | Failed`, running CreateDatabase,
//! ApplyMigrations and SeedData against the tenant's own database.
//!
//! At-least-once safe: every step-state write is conditioned on the tenant's version; a step
//! that reached `Success` in the current run never runs again; a running step is leased, so a
//! second delivery waits while the lease is live and takes over once it has lapsed (a killed
//! worker). Transient faults are retried by the queue; a permanent fault, or a transient one
//! on the last allowed delivery, rolls back (drops the database) and fails the tenant.

use super::records::{self, StepName, StepRecord, StepStatus, TenantRecord, TenantStatus};
use super::{now, Tenants};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Item, TenantTags, Write};

/// Tags an error the worker already logged (a busy tenant, a failed step), so that only
/// the rest is logged as the seed's "Unhandled error".
const HANDLED: &str = "TENANT_JOB_HANDLED";

fn busy() -> Error {
    Error::Unavailable("another delivery is provisioning this tenant".into()).with_code(HANDLED)
}

/// What a failed step shows in `errorMessage` (never internals; the cause is logged).
fn public_step_error(e: &Error) -> String {
    match e {
        Error::Unavailable(_) => "Failed to connect to database server".into(),
        Error::Internal(_) => "Unexpected error; see the service logs".into(),
        other => other.public_message(),
    }
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
            tracing::warn!(TenantId = %id, "dropping the job of a tenant that no longer exists");
            return Ok(());
        };
        match record.status {
            TenantStatus::Queued | TenantStatus::Provisioning => {}
            _ => return Ok(()),
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
    async fn save(&self, item: &Item, mut record: TenantRecord) -> Result<(Item, TenantRecord)> {
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

    async fn end_step(&self, item: &Item, mut record: TenantRecord, step: StepName, outcome: Result<String, String>) -> Result<(Item, TenantRecord)> {
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

    async fn step_failed(&self, item: Item, mut record: TenantRecord, step: StepName, e: Error, receive_count: u32) -> Result<()> {
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
        if let Err(drop_error) = self.dbs.drop_database(&record.db_name).await {
            tracing::error!(TenantId = %id, DbName = %record.db_name, error = %drop_error, "rollback could not drop the tenant database");
        }
        let (item, record) = self.end_step(&item, record, step, Err(public_step_error(&e))).await?;
        self.finish(&item, record, TenantStatus::Failed).await?;
        if transient {
            return Err(e.with_code(HANDLED));
        }
        Ok(())
    }

    /// Notifies, then commits the final state (and frees the slug of a failed tenant if so
    /// configured), so a notification is never lost to a crash between the two.
    async fn finish(&self, item: &Item, mut record: TenantRecord, status: TenantStatus) -> Result<()> {
        let job = Job::NotifyTenant { tenant_id: record.id.to_string(), status: status.as_str().into(), run: record.run };
        if let Err(e) = self.enqueue(job).await {
            tracing::error!(TenantId = %record.id, error = %e, "enqueueing the notification failed");
        }
        record.status = status;
        record.updated_at = now();
        let release = status == TenantStatus::Failed && self.config.tenants.free_slug_on_failure;
        record.slug_released = release;
        let mut writes = vec![Write::Put { item: records::encode(&record, item.version + 1)?, condition: Condition::Version(item.version) }];
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
        Ok(())
    }
}
