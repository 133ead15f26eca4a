//! The tenant record (seed 003's `admin.Tenants` + `admin.TenantProvisionings`) and its items.
//!
//! Store layout: `TENANT#<id>`/`TENANT` (state = status, GSI1 `TENANTS#<status>`/`<id>`, `ttl` =
//! the confirm token's expiry while `PENDING_VALIDATION`), `SLUG#<slug>`/`SLUG` (uniqueness,
//! same `ttl` while pending), `JTI#<jti>`/`JTI` (a used token, `ttl` = its expiry),
//! `IPPENDING#<ip>`/`<id>` (unconfirmed tenants per client IP, same `ttl`).

use crate::domain::{DbName, Plan, Slug};
use crate::error::{Error, Result};
use crate::ports::{IndexKey, Item};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Seed 003's tenant states, spelled as the seed spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TenantStatus {
    #[serde(rename = "PENDING_VALIDATION")]
    PendingValidation,
    #[serde(rename = "QUEUED")]
    Queued,
    Provisioning,
    Active,
    Failed,
}

impl TenantStatus {
    /// Every state, in lifecycle order.
    pub const ALL: [TenantStatus; 5] =
        [TenantStatus::PendingValidation, TenantStatus::Queued, TenantStatus::Provisioning, TenantStatus::Active, TenantStatus::Failed];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::PendingValidation => "PENDING_VALIDATION",
            TenantStatus::Queued => "QUEUED",
            TenantStatus::Provisioning => "Provisioning",
            TenantStatus::Active => "Active",
            TenantStatus::Failed => "Failed",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self> {
        TenantStatus::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            Error::validation("status must be PENDING_VALIDATION, QUEUED, Provisioning, Active or Failed")
        })
    }
}

/// Seed 003's steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StepName {
    Init,
    CreateDatabase,
    ApplyMigrations,
    SeedData,
}

impl StepName {
    /// The worker's steps, in order.
    pub const WORK: [StepName; 3] = [StepName::CreateDatabase, StepName::ApplyMigrations, StepName::SeedData];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Init => "Init",
            StepName::CreateDatabase => "CreateDatabase",
            StepName::ApplyMigrations => "ApplyMigrations",
            StepName::SeedData => "SeedData",
        }
    }
}

/// A step's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    InProgress,
    Success,
    Failed,
}

/// One recorded step (seed 003 `steps[]`), plus the run it belongs to and the lease of the
/// worker running it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: StepName,
    pub status: StepStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub log: Option<String>,
    pub error_message: Option<String>,
    /// The provisioning run (1, then +1 per operator retry).
    pub run: u32,
    /// Unix seconds until which the running worker owns an `InProgress` step.
    pub lease_until: Option<i64>,
}

/// A tenant and its provisioning history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: uuid::Uuid,
    pub name: String,
    pub slug: Slug,
    pub plan: Plan,
    pub status: TenantStatus,
    pub db_name: DbName,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub steps: Vec<StepRecord>,
    pub run: u32,
    pub client_ip: String,
    /// Unix seconds when the confirm token expires (and an unconfirmed tenant vanishes).
    pub token_expires_at: i64,
    /// True once a `Failed` tenant has given its slug back (`TENANT_FREE_SLUG_ON_FAILURE`).
    pub slug_released: bool,
    /// True from a step's permanent failure until its run's database is dropped; the tenant
    /// stays `Provisioning` (and the sweep re-enqueues it) until then.
    #[serde(default)]
    pub rollback_pending: bool,
    /// True from the commit of a final state until its notification is queued.
    #[serde(default)]
    pub notice_pending: bool,
}

impl TenantRecord {
    /// True when `step` succeeded in the current run.
    pub fn done(&self, step: StepName) -> bool {
        self.current(step).is_some_and(|s| s.status == StepStatus::Success)
    }

    /// The current run's latest record of `step`.
    pub fn current(&self, step: StepName) -> Option<&StepRecord> {
        self.steps.iter().rev().find(|s| s.step == step && s.run == self.run)
    }

    /// The current run's latest record of `step`, mutably.
    pub fn current_mut(&mut self, step: StepName) -> Option<&mut StepRecord> {
        let run = self.run;
        self.steps.iter_mut().rev().find(|s| s.step == step && s.run == run)
    }
}

/// Partition key of a tenant.
pub fn tenant_pk(id: &uuid::Uuid) -> String {
    format!("TENANT#{id}")
}

/// Sort key of a tenant.
pub const TENANT_SK: &str = "TENANT";

/// Partition key of a slug's uniqueness item.
pub fn slug_pk(slug: &Slug) -> String {
    format!("SLUG#{slug}")
}

/// Sort key of a slug item.
pub const SLUG_SK: &str = "SLUG";

/// GSI1 partition of the tenants in `status`.
pub fn status_index(status: TenantStatus) -> String {
    format!("TENANTS#{}", status.as_str())
}

/// The tenant's item at `version`: pending tenants expire with their token.
pub fn encode(record: &TenantRecord, version: u64) -> Result<Item> {
    let data = serde_json::to_value(record).map_err(Error::internal)?;
    let mut item = Item::new(tenant_pk(&record.id), TENANT_SK, data);
    item.version = version;
    item.state = Some(record.status.as_str().to_owned());
    item.gsi1 = Some(IndexKey { pk: status_index(record.status), sk: record.id.to_string() });
    if record.status == TenantStatus::PendingValidation {
        item.expires_at = Some(record.token_expires_at);
    }
    Ok(item)
}

/// The record inside a tenant item.
pub fn decode(item: &Item) -> Result<TenantRecord> {
    serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("corrupt tenant {}: {e}", item.pk)))
}

/// The slug's uniqueness item, pointing at its tenant.
pub fn slug_item(record: &TenantRecord) -> Item {
    let mut item = Item::new(slug_pk(&record.slug), SLUG_SK, serde_json::json!({ "tenantId": record.id }));
    if record.status == TenantStatus::PendingValidation {
        item.expires_at = Some(record.token_expires_at);
    }
    item
}
