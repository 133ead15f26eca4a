//! Every `events/tenants-api/` fixture, in a realistic order, in-process on SQLite and through
//! the built bootstrap under the Lambda Runtime Interface Emulator on moto: the seed's answers,
//! the operators' routes, a tenant taken to `Active` and deprovisioned, one taken to `Failed`
//! and retried, a confirm refused because the tenant moved on, and an address over its init
//! limit. Both run with the same limits ([`LIMITS`]); the emulated function reads them from its
//! environment, and the worker runs in the test against the same store and queue.

mod support;

use serde_json::{json, Value};
use support::faults::{Fault, Faulty};
use support::seed::{force_status, seed_status, INIT_LOG};
use support::{slug, Backend};
use tenant_worker::TenantWorker;
use trustplane_core::config::Config;
use trustplane_core::services::tenants::{StepName, TenantStatus};
use trustplane_core::testkit::{fixture_text, mint_key, replay_in_process, replay_through_rie, rie::Rie, Answer};

const FN: &str = "tenants-api";

/// Init burst, refill per minute and pending cap per client address during the replay.
const LIMITS: [(&str, u32); 3] = [("TENANT_INIT_BURST", 3), ("TENANT_INIT_PER_MINUTE", 1), ("TENANT_MAX_PENDING_PER_IP", 100)];

fn limited(c: &mut Config) {
    (c.tenants.init_burst, c.tenants.init_per_minute, c.tenants.max_pending_per_ip) = (LIMITS[0].1, LIMITS[1].1, LIMITS[2].1);
}

fn invalid_token() -> Value {
    json!({ "type": "https://tools.ietf.org/html/rfc7235#section-3.1", "title": "Invalid Token", "status": 401, "detail": "The confirmation token is invalid or has expired" })
}

/// Fixtures sent one way (in-process or through the emulator) to one backend.
struct Replay<'a, F> {
    b: &'a Backend,
    invoke: F,
    reader: String,
}

impl<F, Fut> Replay<'_, F>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    /// Replays fixture `name`; `subs` fill its placeholders before the defaults do.
    async fn send(&self, name: &str, subs: &[(&str, &str)]) -> Answer {
        let mut all = subs.to_vec();
        all.extend([("ADMIN_KEY", self.b.admin.as_str()), ("READ_KEY", self.reader.as_str()), ("SOURCE_IP", "203.0.113.7")]);
        (self.invoke)(fixture_text(FN, name, &all)).await
    }

    /// Replays `name`, expecting status `want` and, when given, exactly `body`; an error is a
    /// problem document carrying its status. Returns the body.
    async fn expect(&self, name: &str, subs: &[(&str, &str)], want: u16, body: Option<Value>) -> Value {
        let (status, got) = self.send(name, subs).await;
        assert_eq!(status, want, "{name}: {got}");
        if let Some(body) = body {
            assert_eq!(got, body, "{name}");
        }
        if status >= 400 {
            assert_eq!(got["status"], status, "{name}: a problem document: {got}");
        }
        got
    }

    /// `init` of `slug` from `ip`: (provisioningId, confirmToken).
    async fn init(&self, slug: &str, ip: &str) -> (String, String) {
        let created = self.expect("init", &[("SLUG", slug), ("SOURCE_IP", ip)], 200, None).await;
        (created["provisioningId"].as_str().unwrap().to_owned(), created["confirmToken"].as_str().unwrap().to_owned())
    }
}

async fn replay_all<F, Fut>(b: &Backend, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let r = Replay { b, invoke, reader: mint_key(&b.state, &["tenants:read"]).await };
    let s = slug("fixture");
    let id = public_routes(&r, &s).await;
    operator_routes(&r, &id).await;
    active_then_deprovisioned(&r, &s, &id).await;
    failed_then_retried(&r).await;
    confirm_after_the_tenant_moved_on(&r).await;
    an_address_over_its_init_limit(&r).await;
}

/// The seed's examples, answer by answer; returns the confirmed tenant's id.
async fn public_routes<F, Fut>(r: &Replay<'_, F>, s: &str) -> String
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let (id, token) = r.init(s, "203.0.113.7").await;
    let subs = [("SLUG", s), ("PROVISIONING_ID", id.as_str()), ("TOKEN", token.as_str())];
    let taken = json!({ "type": "https://tools.ietf.org/html/rfc7231#section-6.5.8", "title": "Slug Already Exists", "status": 409, "detail": format!("A tenant with slug '{s}' already exists") });
    r.expect("init", &subs, 409, Some(taken)).await;
    let plan = json!({ "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1", "title": "Invalid Plan", "status": 400, "detail": "Plan 'InvalidPlan' is not allowed. Allowed plans: Basic, Premium, Enterprise" });
    r.expect("init-invalid-plan", &subs, 400, Some(plan)).await;
    let fields = r.expect("init-invalid-fields", &subs, 400, None).await;
    assert!(fields["errors"]["name"].is_array() && fields["errors"]["slug"].is_array(), "{fields}");
    r.expect("init-malformed-json", &subs, 400, None).await;
    let missing = json!({ "type": "https://tools.ietf.org/html/rfc7235#section-3.1", "title": "Missing Authorization", "status": 401, "detail": "Authorization header with Bearer token is required" });
    r.expect("confirm-missing-authorization", &subs, 401, Some(missing)).await;
    r.expect("confirm-invalid-token", &subs, 401, Some(invalid_token())).await;
    let pending = r.expect("status", &subs, 200, None).await;
    assert_eq!(pending, seed_status(&pending, "PENDING_VALIDATION", None, &[("Init", "Success", Some(INIT_LOG), None)]));
    r.expect("status-unknown", &subs, 404, None).await;
    r.expect("status-not-a-uuid", &subs, 400, None).await;
    let queued = json!({ "provisioningId": id, "status": "QUEUED", "message": "Provisioning confirmed and queued for processing", "statusEndpoint": format!("/provision/tenants/{id}/status") });
    r.expect("confirm", &subs, 200, Some(queued)).await;
    r.expect("confirm", &subs, 401, Some(invalid_token())).await;
    id
}

/// The operators' routes while tenant `id` is `QUEUED`.
async fn operator_routes<F, Fut>(r: &Replay<'_, F>, id: &str)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let subs = [("PROVISIONING_ID", id)];
    let listed = r.expect("list-tenants", &subs, 200, None).await;
    assert!(listed["data"].as_array().unwrap().iter().any(|t| t["provisioningId"] == id), "{listed}");
    r.expect("list-tenants-no-key", &subs, 401, None).await;
    assert_eq!(r.expect("get-tenant", &subs, 200, None).await["status"], "QUEUED");
    let forbidden = r.expect("retry-tenant-wrong-scope", &subs, 403, None).await;
    assert_eq!((forbidden["title"].as_str(), forbidden["type"].as_str()), (Some("Forbidden"), Some("about:blank")), "{forbidden}");
    let unknown = r.expect("get-tenant-unknown", &subs, 404, None).await;
    assert_eq!((unknown["title"].as_str(), unknown["type"].as_str()), (Some("Not Found"), Some("about:blank")), "{unknown}");
    r.expect("delete-tenant", &subs, 409, None).await;
    r.expect("retry-tenant", &subs, 409, None).await;
}

/// The worker takes tenant `id` to the seed's `Active` body; deprovisioning answers 204, then
/// the tenant is gone from both APIs.
async fn active_then_deprovisioned<F, Fut>(r: &Replay<'_, F>, s: &str, id: &str)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    r.b.pump().await;
    let subs = [("PROVISIONING_ID", id)];
    let db = format!("ecom_tenant_{}", s.replace('-', "_"));
    let active = r.expect("status-active", &subs, 200, None).await;
    let created = format!("Database {db} created successfully");
    let steps = [
        ("Init", "Success", Some(INIT_LOG), None),
        ("CreateDatabase", "Success", Some(created.as_str()), None),
        ("ApplyMigrations", "Success", Some("Migrations applied successfully"), None),
        ("SeedData", "Success", Some("Demo data seeded successfully"), None),
    ];
    assert_eq!(active, seed_status(&active, "Active", Some((s, db.as_str())), &steps));
    assert_eq!(r.send("delete-tenant", &subs).await, (204, Value::Null));
    r.expect("get-tenant", &subs, 404, None).await;
    r.expect("status", &subs, 404, None).await;
}

/// A database server that stays unreachable through the last delivery: the seed's `Failed`
/// body; an operator's retry answers 202 and queues the next run.
async fn failed_then_retried<F, Fut>(r: &Replay<'_, F>)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let (id, token) = r.init(&slug("failing"), "198.51.100.21").await;
    r.expect("confirm", &[("TOKEN", token.as_str())], 200, None).await;
    let down = Faulty::new(r.b.state.ports.tenant_dbs.clone(), StepName::CreateDatabase, Fault::Transient(u32::MAX));
    r.b.pump_with(&TenantWorker::new(r.b.tenants().with_databases(down))).await;
    let subs = [("PROVISIONING_ID", id.as_str())];
    let failed = r.expect("status-failed", &subs, 200, None).await;
    let steps = [("Init", "Success", Some(INIT_LOG), None), ("CreateDatabase", "Failed", None, Some("Failed to connect to database server"))];
    assert_eq!(failed, seed_status(&failed, "Failed", None, &steps));
    let retried = r.expect("retry-tenant", &subs, 202, None).await;
    assert_eq!((retried["provisioningId"].as_str(), retried["status"].as_str(), retried["run"].as_u64()), (Some(id.as_str()), Some("QUEUED"), Some(2)));
}

/// A tenant that left `PENDING_VALIDATION` while its token was unused: confirm is 409.
async fn confirm_after_the_tenant_moved_on<F, Fut>(r: &Replay<'_, F>)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let (id, token) = r.init(&slug("moved"), "198.51.100.22").await;
    force_status(r.b, &id, TenantStatus::Failed).await;
    let conflict = json!({ "type": "https://tools.ietf.org/html/rfc7231#section-6.5.8", "title": "Invalid Tenant State", "status": 409, "detail": "Tenant is Failed; only a PENDING_VALIDATION tenant can be confirmed" });
    r.expect("confirm-not-pending", &[("TOKEN", token.as_str())], 409, Some(conflict)).await;
}

/// One API Gateway source address, claiming a new `X-Forwarded-For` each time: the burst
/// passes, the next init is 429 (the header is not trusted by default).
async fn an_address_over_its_init_limit<F, Fut>(r: &Replay<'_, F>)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let burst = LIMITS[0].1;
    for i in 0..=burst {
        let (s, forwarded) = (slug("busy"), format!("192.0.2.{i}"));
        let subs = [("SLUG", s.as_str()), ("SOURCE_IP", "198.51.100.60"), ("FORWARDED_FOR", forwarded.as_str())];
        if i < burst {
            r.expect("init-rate-limited", &subs, 200, None).await;
            continue;
        }
        let limited = json!({ "type": "https://tools.ietf.org/html/rfc6585#section-4", "title": "Too Many Requests", "status": 429, "detail": "Too many requests from this address; retry later" });
        r.expect("init-rate-limited", &subs, 429, Some(limited)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_in_process_on_sqlite() {
    let b = Backend::sqlite_with(limited).await;
    replay_all(&b, |event| {
        let app = b.app.clone();
        async move { replay_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_through_the_lambda_emulator_on_moto() {
    let b = Backend::moto_with(limited).await;
    let mut env = trustplane_core::testkit::moto::lambda_env(&b.state.config);
    env.extend(LIMITS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let rie = std::sync::Arc::new(Rie::start("tenants-api", &env));
    replay_all(&b, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_through_rie(&rie, &event)) }
    })
    .await;
}
