//! A fault-injecting [`TenantDatabases`]: runs the real database, then fails one step.

use async_trait::async_trait;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;
use trustplane_core::domain::{DbName, Plan};
use trustplane_core::ports::{TenantDatabases, TenantDbInfo, TenantTags};
use trustplane_core::services::tenants::StepName;
use trustplane_core::{Error, Result};

/// How the chosen step fails.
#[derive(Clone)]
pub enum Fault {
    /// After doing its work, the step fails for good.
    Permanent,
    /// The step's first `n` calls fail as a backend outage would.
    Transient(u32),
    /// The step never returns (a worker killed mid-step); `started` is notified when it begins.
    Hang(Arc<Notify>),
}

/// The real databases with `fault` injected into `step`.
pub struct Faulty {
    pub inner: Arc<dyn TenantDatabases>,
    pub step: StepName,
    pub fault: Fault,
    pub calls: AtomicU32,
}

impl Faulty {
    pub fn new(inner: Arc<dyn TenantDatabases>, step: StepName, fault: Fault) -> Arc<Self> {
        Arc::new(Faulty { inner, step, fault, calls: AtomicU32::new(0) })
    }

    async fn after(&self, step: StepName) -> Result<()> {
        if step != self.step {
            return Ok(());
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        match &self.fault {
            Fault::Permanent => Err(Error::Validation(format!("injected failure in {}", step.as_str()))),
            Fault::Transient(times) if n < *times => Err(Error::Unavailable("injected outage".into())),
            Fault::Transient(_) => Ok(()),
            Fault::Hang(started) => {
                started.notify_one();
                std::future::pending().await
            }
        }
    }
}

#[async_trait]
impl TenantDatabases for Faulty {
    async fn create(&self, db: &DbName, tags: &TenantTags) -> Result<()> {
        self.inner.create(db, tags).await?;
        self.after(StepName::CreateDatabase).await
    }
    async fn migrate(&self, db: &DbName) -> Result<u32> {
        let v = self.inner.migrate(db).await?;
        self.after(StepName::ApplyMigrations).await.map(|()| v)
    }
    async fn seed(&self, db: &DbName, plan: Plan) -> Result<()> {
        self.inner.seed(db, plan).await?;
        self.after(StepName::SeedData).await
    }
    async fn drop_database(&self, db: &DbName) -> Result<()> {
        self.inner.drop_database(db).await
    }
    async fn inspect(&self, db: &DbName) -> Result<Option<TenantDbInfo>> {
        self.inner.inspect(db).await
    }
}

/// Databases (e.g. a [`Faulty`]) whose `drop_database` also fails, as DynamoDB's
/// `ResourceInUseException` does, its first `failures` times.
pub struct DropFails {
    pub inner: Arc<dyn TenantDatabases>,
    pub failures: AtomicU32,
}

#[async_trait]
impl TenantDatabases for DropFails {
    async fn create(&self, db: &DbName, tags: &TenantTags) -> Result<()> {
        self.inner.create(db, tags).await
    }
    async fn migrate(&self, db: &DbName) -> Result<u32> {
        self.inner.migrate(db).await
    }
    async fn seed(&self, db: &DbName, plan: Plan) -> Result<()> {
        self.inner.seed(db, plan).await
    }
    async fn drop_database(&self, db: &DbName) -> Result<()> {
        if self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(Error::Unavailable(format!("DeleteTable: ResourceInUseException: table {} is being updated", db.as_str())));
        }
        self.inner.drop_database(db).await
    }
    async fn inspect(&self, db: &DbName) -> Result<Option<TenantDbInfo>> {
        self.inner.inspect(db).await
    }
}
