//! The operators' view (`tenants:read`/`tenants:write`): list, retry a failed tenant,
//! deprovision, and the sweep that re-enqueues tenants stuck in `QUEUED`/`Provisioning`.

use super::records::{self, TenantRecord, TenantStatus};
use super::{not_found, now, Tenants};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Index, Item, Query, SkRange, Write};

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
        self.enqueue(Job::ProvisionTenant { tenant_id: id.to_string() }).await?;
        Ok(record)
    }

    /// Deprovisions: drops the tenant database, deletes the tenant and frees its slug, and
    /// keeps an audit record (`AUDIT#tenants#<day>`). Not while the worker may be running.
    pub async fn deprovision(&self, id: &uuid::Uuid, actor: &str) -> Result<()> {
        let (item, record) = self.load(id).await?.ok_or_else(|| not_found(id))?;
        if matches!(record.status, TenantStatus::Queued | TenantStatus::Provisioning) {
            return Err(Error::Conflict(format!("Tenant is {}; wait until it is Active or Failed", record.status.as_str())).titled("Invalid Tenant State"));
        }
        self.dbs.drop_database(&record.db_name).await?;
        let at = now();
        let audit = audit_item(&record, actor, at)?;
        let mut writes = vec![
            Write::Delete { pk: item.pk.clone(), sk: item.sk.clone(), condition: Condition::Version(item.version) },
            Write::Put { item: audit, condition: Condition::Absent },
            super::init::clear_pending(&record),
        ];
        if !record.slug_released {
            writes.push(Write::Delete { pk: records::slug_pk(&record.slug), sk: records::SLUG_SK.into(), condition: Condition::Always });
        }
        match self.store.transact(writes).await {
            Err(Error::Conflict(_)) => Err(Error::Conflict("the tenant changed meanwhile; try again".into())),
            other => other,
        }?;
        tracing::info!(TenantId = %id, Slug = %record.slug, DbName = %record.db_name, actor, "tenant deprovisioned");
        Ok(())
    }

    /// Re-enqueues every tenant `QUEUED` or `Provisioning` for longer than the threshold
    /// (a lost send, a crashed worker); returns how many. The worker is idempotent.
    pub async fn sweep(&self) -> Result<usize> {
        let cutoff = now().unix_timestamp() - i64::from(self.config.tenants.stuck_after_seconds);
        let mut requeued = 0;
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

fn audit_item(record: &TenantRecord, actor: &str, at: time::OffsetDateTime) -> Result<Item> {
    let stamp = at.format(&time::format_description::well_known::Rfc3339).map_err(Error::internal)?;
    let day = &stamp[..10];
    let data = serde_json::json!({
        "action": "deprovision", "tenantId": record.id, "slug": record.slug, "dbName": record.db_name,
        "plan": record.plan, "statusBefore": record.status, "actor": actor, "at": stamp,
    });
    Ok(Item::new(format!("AUDIT#tenants#{day}"), format!("{stamp}#{}", uuid::Uuid::new_v4()), data))
}
