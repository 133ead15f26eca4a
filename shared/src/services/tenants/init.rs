//! `POST /provision/tenants/init`: rate-limited sign-up; the tenant, its slug and its per-IP
//! pending marker are written in one transaction conditioned on the slug being free.

use super::records::{self, StepName, StepRecord, StepStatus, TenantRecord, TenantStatus};
use super::token::{self, Claims, LIFETIME_SECONDS, TOKEN_TYPE};
use super::{now, Tenants};
use crate::domain::{Plan, Slug, TenantName};
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Query, Write};
use crate::services::rate_limit::{Rate, RateLimiter};

/// A validated sign-up.
#[derive(Clone, Debug)]
pub struct InitRequest {
    pub name: TenantName,
    pub slug: Slug,
    pub plan: Plan,
    /// The client's IP (API Gateway's source IP, the socket, or a trusted proxy's header).
    pub client_ip: String,
}

/// The seed's 200 body.
#[derive(Clone, Debug)]
pub struct Initialized {
    pub provisioning_id: uuid::Uuid,
    pub confirm_token: String,
}

/// The seed's step log for `Init`.
pub const INIT_LOG: &str = "Provisioning initialized, waiting for confirmation";

fn slug_taken(slug: &Slug) -> Error {
    Error::Conflict(format!("A tenant with slug '{slug}' already exists")).titled("Slug Already Exists")
}

fn pending_pk(ip: &str) -> String {
    format!("IPPENDING#{ip}")
}

impl Tenants {
    /// Seed 003 init: rate limit, pending cap, one conditional transaction, a signed token.
    pub async fn init(&self, request: InitRequest) -> Result<Initialized> {
        let cfg = &self.config.tenants;
        let rate = Rate { burst: cfg.init_burst, per_minute: cfg.init_per_minute };
        RateLimiter::new(self.store.clone(), "tenant-init", rate).take(&request.client_ip).await?;
        self.check_pending_cap(&request.client_ip).await?;
        let record = new_record(&request);
        let token = self.token_for(&record).await?;
        let mut marker = Item::new(pending_pk(&request.client_ip), record.id.to_string(), serde_json::json!({}));
        marker.expires_at = Some(record.token_expires_at);
        let writes = vec![
            Write::Put { item: records::slug_item(&record), condition: Condition::Absent },
            Write::Put { item: records::encode(&record, 1)?, condition: Condition::Absent },
            Write::Put { item: marker, condition: Condition::Absent },
        ];
        match self.store.transact(writes).await {
            Err(Error::Conflict(_)) => return Err(slug_taken(&record.slug)),
            other => other?,
        }
        tracing::info!(
            TenantId = %record.id, Slug = %record.slug, Plan = record.plan.as_str(),
            "Tenant provisioning initialized. TenantId: {}, Slug: {}, Plan: {}", record.id, record.slug, record.plan.as_str()
        );
        Ok(Initialized { provisioning_id: record.id, confirm_token: token })
    }

    async fn check_pending_cap(&self, ip: &str) -> Result<()> {
        let cap = self.config.tenants.max_pending_per_ip as usize;
        let mut query = Query::partition(pending_pk(ip));
        query.limit = u32::try_from(cap.min(1000)).unwrap_or(1000).max(1);
        let mut pending = Vec::new();
        while pending.len() < cap {
            let page = self.store.query(query.clone()).await?;
            pending.extend(page.items);
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => break,
            }
        }
        if pending.len() < cap {
            return Ok(());
        }
        let soonest = pending.iter().filter_map(|i| i.expires_at).min().unwrap_or(0);
        let wait = (soonest - now().unix_timestamp()).max(1) as u64;
        Err(Error::TooManyRequests { message: format!("At most {cap} unconfirmed tenants per address; confirm or wait"), retry_after_secs: wait })
    }

    async fn token_for(&self, record: &TenantRecord) -> Result<String> {
        let cfg = &self.config.tenants;
        let iat = record.created_at.unix_timestamp();
        let claims = Claims {
            sub: record.id.to_string(),
            slug: record.slug.to_string(),
            kind: TOKEN_TYPE.into(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat,
            exp: record.token_expires_at,
            iss: cfg.token_issuer.clone(),
            aud: cfg.token_audience.clone(),
        };
        token::issue(self.token_key.as_ref(), &claims).await
    }
}

fn new_record(request: &InitRequest) -> TenantRecord {
    let created_at = now();
    let init = StepRecord {
        step: StepName::Init,
        status: StepStatus::Success,
        started_at: created_at,
        completed_at: Some(created_at),
        log: Some(INIT_LOG.into()),
        error_message: None,
        run: 1,
        lease_until: None,
    };
    TenantRecord {
        id: uuid::Uuid::now_v7(),
        name: request.name.as_str().to_owned(),
        slug: request.slug.clone(),
        plan: request.plan,
        status: TenantStatus::PendingValidation,
        db_name: request.slug.db_name(),
        created_at,
        updated_at: created_at,
        steps: vec![init],
        run: 1,
        client_ip: request.client_ip.clone(),
        token_expires_at: created_at.unix_timestamp() + LIFETIME_SECONDS,
        slug_released: false,
        rollback_pending: false,
        notice_pending: false,
    }
}

/// Deletes the per-IP pending marker of `record` (inside the confirm transaction).
pub(super) fn clear_pending(record: &TenantRecord) -> Write {
    Write::Delete { pk: pending_pk(&record.client_ip), sk: record.id.to_string(), condition: Condition::Always }
}
