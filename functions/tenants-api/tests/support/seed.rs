//! Seed 003's status bodies, whole, and a tenant's state moved behind the API's back.

use super::Backend;
use serde_json::{json, Value};
use trustplane_core::ports::Condition;
use trustplane_core::services::tenants::records::{decode, encode, tenant_pk, TENANT_SK};
use trustplane_core::services::tenants::TenantStatus;

/// The seed's `Init` step log.
pub const INIT_LOG: &str = "Provisioning initialized, waiting for confirmation";

/// One expected step: `(step, status, log, errorMessage)`.
pub type Step<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

/// `stamp`, after checking it is an RFC 3339 UTC timestamp in whole seconds, as the seed's.
fn seed_stamp(stamp: &Value) -> Value {
    let text = stamp.as_str().unwrap_or_else(|| panic!("not a timestamp: {stamp}"));
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339);
    assert!(parsed.is_ok() && text.len() == 20 && text.ends_with('Z'), "not like 2025-01-10T10:05:00Z: {text}");
    stamp.clone()
}

/// The whole status body the seed shows for `status` with `steps`, taking the timestamps of
/// `got` (checked to be the seed's format; `completedAt` null exactly while `InProgress`).
pub fn seed_status(got: &Value, status: &str, slug_and_db: Option<(&str, &str)>, steps: &[Step]) -> Value {
    let steps: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, (step, state, log, error))| {
            let completed = match *state {
                "InProgress" => Value::Null,
                _ => seed_stamp(&got["steps"][i]["completedAt"]),
            };
            json!({
                "step": step, "status": state, "startedAt": seed_stamp(&got["steps"][i]["startedAt"]),
                "completedAt": completed, "log": log, "errorMessage": error,
            })
        })
        .collect();
    json!({ "status": status, "tenantSlug": slug_and_db.map(|s| s.0), "dbName": slug_and_db.map(|s| s.1), "steps": steps })
}

/// Moves tenant `id` to `status` in the store directly (as a concurrent writer would), leaving
/// its confirm token unused.
pub async fn force_status(b: &Backend, id: &str, status: TenantStatus) {
    let id = uuid::Uuid::parse_str(id).unwrap();
    let store = &b.state.ports.store;
    let item = store.get(&tenant_pk(&id), TENANT_SK).await.unwrap().expect("the tenant is stored");
    let mut record = decode(&item).unwrap();
    record.status = status;
    store.put(encode(&record, item.version + 1).unwrap(), Condition::Version(item.version)).await.unwrap();
}
