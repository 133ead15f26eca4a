//! `POST /provision/tenants/confirm`: the token's `jti` is consumed and the tenant moves
//! `PENDING_VALIDATION → QUEUED` in one transaction, so one token confirms exactly once.
//! The job is enqueued after the commit; if that send fails, the sweep re-enqueues.

use super::init::clear_pending;
use super::records::{self, TenantStatus};
use super::token::{self, invalid_token, TokenPolicy};
use super::{now, Tenants};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Item, Write};

/// The seed's 401 "Missing Authorization".
pub fn missing_authorization() -> Error {
    Error::Unauthorized("Authorization header with Bearer token is required".into()).titled("Missing Authorization")
}

fn jti_pk(jti: &uuid::Uuid) -> String {
    format!("JTI#{jti}")
}

impl Tenants {
    /// Seed 003 confirm: verifies `bearer` and queues the tenant; returns its id.
    pub async fn confirm(&self, bearer: &str) -> Result<uuid::Uuid> {
        let cfg = &self.config.tenants;
        let policy = TokenPolicy { issuer: cfg.token_issuer.clone(), audience: cfg.token_audience.clone() };
        let claims = token::verify(self.token_key.as_ref(), &policy, bearer).await?;
        if self.store.get(&jti_pk(&claims.jti), "JTI").await?.is_some() {
            return Err(invalid_token());
        }
        let (item, mut record) = self.load(&claims.tenant_id).await?.ok_or_else(invalid_token)?;
        if record.slug != claims.slug {
            return Err(invalid_token());
        }
        if record.status != TenantStatus::PendingValidation {
            let detail = format!("Tenant is {}; only a PENDING_VALIDATION tenant can be confirmed", record.status.as_str());
            return Err(Error::Conflict(detail).titled("Invalid Tenant State"));
        }
        record.status = TenantStatus::Queued;
        record.updated_at = now();
        let mut used = Item::new(jti_pk(&claims.jti), "JTI", serde_json::json!({ "tenantId": record.id }));
        used.expires_at = Some(claims.exp);
        let writes = vec![
            Write::Put { item: used, condition: Condition::Absent },
            Write::Put { item: records::encode(&record, item.version + 1)?, condition: Condition::Version(item.version) },
            Write::Put { item: records::slug_item(&record), condition: Condition::Exists },
            clear_pending(&record),
        ];
        match self.store.transact(writes).await {
            Err(Error::Conflict(_)) => return Err(invalid_token()),
            other => other?,
        }
        tracing::info!(
            TenantId = %record.id, Slug = %record.slug,
            "Tenant provisioning confirmed and queued. TenantId: {}, Slug: {}", record.id, record.slug
        );
        if let Err(e) = self.enqueue(Job::ProvisionTenant { tenant_id: record.id.to_string() }).await {
            tracing::error!(TenantId = %record.id, error = %e, "enqueueing the provisioning job failed; the sweep will retry");
        }
        Ok(record.id)
    }
}
