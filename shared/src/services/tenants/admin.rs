//! The operators' view (`tenants:read`/`tenants:write`): list, retry a failed tenant, and the
//! sweep that re-enqueues tenants stuck in `QUEUED`/`Provisioning` and deprovisioned tenants
//! whose database is still to drop (deprovisioning itself: [`super::deprovision`]).

use super::records::{self, TenantRecord, TenantStatus};
use super::{not_found, now, Tenants};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Index, Query, SkRange, Write};

/// One page of tenants.
#[derive(Clone, Debug)]
pub struct TenantPage {
    pub tenants: Vec<TenantRecord>,
    pub next_cursor: Option<String>,
}

impl Tenants {
    /// Tenants in `status` (or all, walking each status in lifecycle order), oldest first.
    pub async fn list(&self, status: Option<TenantStatus>, limit: u32, cursor: Option<&str>) -> Result<TenantPage> {
        let statuses: Vec<TenantStatus> = status.map_or_else(|| TenantStatus::ALL.to_vec(), |s| vec![s]);
        let filter = status.map_or("all", TenantStatus::as_str);
        let (mut idx, mut inner) = match cursor {
            Some(c) => super::cursor::open(self.mac.as_ref(), filter, c, statuses.len()).await?,
            None => (0, None),
        };
        let mut tenants = Vec::new();
        while idx < statuses.len() && tenants.len() < limit as usize {
            let mut query = Query { index: Index::Gsi1, pk: records::status_index(statuses[idx]), range: SkRange::All, limit: limit - tenants.len() as u32, cursor: inner.take(), descending: false };
            query.limit = query.limit.max(1);
            let page = self.store.query(query).await?;
            for item in &page.items {
                tenants.push(records::decode(item)?);
            }
            match page.cursor {
                Some(c) => inner = Some(c),
                None => idx += 1,
            }
        }
        let next_cursor = match idx < statuses.len() {
            true => Some(super::cursor::seal(self.mac.as_ref(), filter, idx, inner.as_deref()).await?),
            false => None,
        };
        Ok(TenantPage { tenants, next_cursor })
    }

    /// Runs a `Failed` tenant again, from its first unfinished step (after a rollback that is
    /// CreateDatabase); takes its slug back if it was released (409 if another tenant has it).
    pub async fn retry(&self, id: &uuid::Uuid) -> Result<TenantRecord> {
        let (item, mut record) = self.load(id).await?.ok_or_else(|| not_found(id))?;
        if record.status != TenantStatus::Failed {
            return Err(Error::Conflict(format!("Tenant is {}; only a Failed tenant can be retried", record.status.as_str())).titled("Invalid Tenant State"));
        }
        let reclaim = record.slug_released;
        let unsent_notice = record.notice_pending.then(|| Job::NotifyTenant { tenant_id: id.to_string(), status: record.status.as_str().into(), run: record.run });
        record.notice_pending = false;
        record.status = TenantStatus::Queued;
        record.run += 1;
        record.slug_released = false;
        record.updated_at = now();
        let mut writes = vec![Write::Put { item: records::encode(&record, item.version + 1)?, condition: Condition::Version(item.version) }];
        if reclaim {
            writes.push(Write::Put { item: records::slug_item(&record), condition: Condition::Absent });
        }
        match self.store.transact(writes).await {
            Err(Error::Conflict(_)) if reclaim => {
                return Err(Error::Conflict(format!("A tenant with slug '{}' already exists", record.slug)).titled("Slug Already Exists"))
            }
            other => other?,
        }
        if let Some(job) = unsent_notice {
            if let Err(e) = self.enqueue(job).await {
                tracing::error!(TenantId = %id, error = %e, "the failed run's notification could not be queued");
            }
        }
        self.enqueue(Job::ProvisionTenant { tenant_id: id.to_string() }).await?;
        Ok(record)
    }

    /// Re-enqueues every tenant `QUEUED` or `Provisioning` for longer than the threshold
    /// (a lost send, a crashed worker, a pending rollback), and every deprovisioned tenant whose
    /// database has waited as long to be dropped; returns how many. The worker is idempotent.
    pub async fn sweep(&self) -> Result<usize> {
        let cutoff = now().unix_timestamp() - i64::from(self.config.tenants.stuck_after_seconds);
        let mut requeued = 0;
        for id in self.undropped_since(cutoff).await? {
            self.enqueue(Job::ProvisionTenant { tenant_id: id.to_string() }).await?;
            tracing::warn!(TenantId = %id, "re-enqueued the drop of a deprovisioned tenant's database");
            requeued += 1;
        }
        for status in [TenantStatus::Queued, TenantStatus::Provisioning] {
            let mut cursor = None;
            loop {
                let page = self.list(Some(status), 100, cursor.as_deref()).await?;
                for tenant in page.tenants.iter().filter(|t| t.updated_at.unix_timestamp() < cutoff) {
                    self.enqueue(Job::ProvisionTenant { tenant_id: tenant.id.to_string() }).await?;
                    tracing::warn!(TenantId = %tenant.id, status = status.as_str(), "re-enqueued a stuck tenant");
                    requeued += 1;
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        Ok(requeued)
    }
}
