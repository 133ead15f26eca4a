//! JSON shapes: seed 003's status body and the operators' tenant view.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use trustplane_core::services::tenants::{StepRecord, StepStatus, TenantRecord, TenantStatus};

fn ts(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).unwrap_or_default()
}

fn step_view(s: &StepRecord) -> Value {
    let status = match s.status {
        StepStatus::InProgress => "InProgress",
        StepStatus::Success => "Success",
        StepStatus::Failed => "Failed",
    };
    json!({
        "step": s.step.as_str(),
        "status": status,
        "startedAt": ts(s.started_at),
        "completedAt": s.completed_at.map(ts),
        "log": s.log,
        "errorMessage": s.error_message,
    })
}

/// Seed 003's status body: `tenantSlug` and `dbName` only once `Active`.
pub fn status_view(r: &TenantRecord) -> Value {
    let active = r.status == TenantStatus::Active;
    json!({
        "status": r.status.as_str(),
        "tenantSlug": active.then(|| r.slug.to_string()),
        "dbName": active.then(|| r.db_name.to_string()),
        "steps": r.steps.iter().map(step_view).collect::<Vec<_>>(),
    })
}

/// What operators see of a tenant.
pub fn tenant_view(r: &TenantRecord) -> Value {
    json!({
        "provisioningId": r.id,
        "name": r.name,
        "slug": r.slug.as_str(),
        "plan": r.plan.as_str(),
        "status": r.status.as_str(),
        "dbName": r.db_name.as_str(),
        "run": r.run,
        "createdAt": ts(r.created_at),
        "updatedAt": ts(r.updated_at),
        "steps": r.steps.iter().map(step_view).collect::<Vec<_>>(),
        "statusEndpoint": format!("/provision/tenants/{}/status", r.id),
    })
}
