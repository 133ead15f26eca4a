//! `DELETE /api/v1/tenants/{id}`: the API deletes the tenant, frees its slug and keeps an audit
//! record in one transaction, together with a marker of the database still to drop; the
//! worker drops it (table DDL stays out of the API: deleting a DynamoDB table can take
//! minutes). Until the drop is done, a new tenant with the same slug, so the same database
//! name, waits before creating its database.
//!
//! Store layout: `DEPROVISION#<id>`/`DEPROVISION` (the database to drop; GSI1
//! `TENANTS#DEPROVISIONING`/`<id>`, for the sweep) and `DROPDB#<dbName>`/`DROPDB` (state = the
//! tenant id; the name is taken until the drop is done).

use super::records::{self, TenantRecord, TenantStatus};
use super::worker::HANDLED;
use super::{not_found, now, Tenants};
use crate::domain::DbName;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Write};

const MARKER_SK: &str = "DEPROVISION";
const DROP_SK: &str = "DROPDB";
const INDEX_PK: &str = "TENANTS#DEPROVISIONING";

fn marker_pk(id: &uuid::Uuid) -> String {
    format!("DEPROVISION#{id}")
}

fn drop_pk(db: &DbName) -> String {
    format!("DROPDB#{db}")
}

impl Tenants {
    /// Deprovisions `id` for `actor`: deletes the tenant and frees its slug, keeps an audit
    /// record (`AUDIT#tenants#<day>`), and queues the drop of its database. Not while the
    /// worker may be running (409).
    pub async fn deprovision(&self, id: &uuid::Uuid, actor: &str) -> Result<()> {
        let (item, record) = self.load(id).await?.ok_or_else(|| not_found(id))?;
        if matches!(record.status, TenantStatus::Queued | TenantStatus::Provisioning) {
            return Err(Error::Conflict(format!("Tenant is {}; wait until it is Active or Failed", record.status.as_str())).titled("Invalid Tenant State"));
        }
        let at = now();
        let mut writes = vec![
            Write::Delete { pk: item.pk.clone(), sk: item.sk.clone(), condition: Condition::Version(item.version) },
            Write::Put { item: audit_item(&record, actor, at)?, condition: Condition::Absent },
            super::init::clear_pending(&record),
        ];
        writes.extend(drop_markers(&record, at.unix_timestamp()));
        if !record.slug_released {
            writes.push(Write::Delete { pk: records::slug_pk(&record.slug), sk: records::SLUG_SK.into(), condition: Condition::Always });
        }
        match self.store.transact(writes).await {
            Err(Error::Conflict(_)) => Err(Error::Conflict("the tenant changed meanwhile; try again".into())),
            other => other,
        }?;
        tracing::info!(TenantId = %id, Slug = %record.slug, DbName = %record.db_name, actor, "tenant deprovisioned; the worker drops its database");
        if let Err(e) = self.enqueue(Job::ProvisionTenant { tenant_id: id.to_string() }).await {
            tracing::error!(TenantId = %id, error = %e, "enqueueing the database drop failed; the sweep will retry");
        }
        Ok(())
    }

    /// The worker's half, for the job of a tenant that no longer exists: drops the database a
    /// deprovisioned tenant left, then its markers. A drop that fails fails the delivery, so
    /// the queue (and, past its last delivery, the sweep) runs it again.
    pub(super) async fn drop_deprovisioned(&self, id: &uuid::Uuid) -> Result<()> {
        let Some(marker) = self.store.get(&marker_pk(id), MARKER_SK).await? else {
            tracing::warn!(TenantId = %id, "dropping the job of a tenant that no longer exists");
            return Ok(());
        };
        let db = DbName::parse(marker.data["dbName"].as_str().unwrap_or_default())?;
        if let Err(e) = self.dbs.drop_database(&db).await {
            tracing::error!(TenantId = %id, DbName = %db, error = %e, "could not drop a deprovisioned tenant's database; it will be retried");
            return Err(Error::Unavailable(format!("dropping {db}: {e}")).with_code(HANDLED));
        }
        let mut writes = vec![Write::Delete { pk: marker.pk, sk: marker.sk, condition: Condition::Always }];
        let owner = Some(id.to_string());
        if self.store.get(&drop_pk(&db), DROP_SK).await?.is_some_and(|name| name.state == owner) {
            writes.push(Write::Delete { pk: drop_pk(&db), sk: DROP_SK.into(), condition: Condition::State(id.to_string()) });
        }
        self.store.transact(writes).await?;
        tracing::info!(TenantId = %id, DbName = %db, "Database {} of deprovisioned tenant {} dropped", db, id);
        Ok(())
    }

    /// CreateDatabase's guard: while a deprovisioned tenant's database of the same name is still
    /// to drop, a transient failure, so the queue retries the step once the drop is done.
    pub(super) async fn await_pending_drop(&self, db: &DbName) -> Result<()> {
        match self.store.get(&drop_pk(db), DROP_SK).await? {
            Some(_) => Err(Error::Unavailable(format!("database {db} of a deprovisioned tenant is still being dropped"))),
            None => Ok(()),
        }
    }

    /// Deprovisioned tenants whose database has been waiting to be dropped since before
    /// `cutoff` (unix seconds).
    pub(super) async fn undropped_since(&self, cutoff: i64) -> Result<Vec<uuid::Uuid>> {
        let mut query = Query { index: Index::Gsi1, pk: INDEX_PK.into(), range: SkRange::All, limit: 100, cursor: None, descending: false };
        let mut ids = Vec::new();
        loop {
            let page = self.store.query(query.clone()).await?;
            let stuck = page.items.iter().filter(|i| i.data["requestedAt"].as_i64().is_some_and(|t| t < cutoff));
            ids.extend(stuck.filter_map(|i| i.data["tenantId"].as_str().and_then(|t| uuid::Uuid::parse_str(t).ok())));
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => return Ok(ids),
            }
        }
    }
}

/// The two markers of a database to drop: by tenant (for the worker and the sweep) and by
/// name (for CreateDatabase's guard).
fn drop_markers(record: &TenantRecord, requested_at: i64) -> [Write; 2] {
    let data = serde_json::json!({ "tenantId": record.id, "dbName": record.db_name, "requestedAt": requested_at });
    let mut marker = Item::new(marker_pk(&record.id), MARKER_SK, data);
    marker.gsi1 = Some(IndexKey { pk: INDEX_PK.into(), sk: record.id.to_string() });
    let mut name = Item::new(drop_pk(&record.db_name), DROP_SK, serde_json::json!({ "tenantId": record.id }));
    name.state = Some(record.id.to_string());
    [Write::Put { item: marker, condition: Condition::Always }, Write::Put { item: name, condition: Condition::Always }]
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
