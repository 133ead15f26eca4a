//! Every `events/tenants-api/` fixture, in a realistic order, in-process on SQLite and through
//! the built bootstrap under the Lambda Runtime Interface Emulator on moto.

mod support;

use serde_json::{json, Value};
use support::{slug, Backend};
use trustplane_core::testkit::{fixture_text, replay_in_process, replay_through_rie, rie::Rie, Answer};

const FN: &str = "tenants-api";

async fn replay_all<F, Fut>(admin: &str, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let s = slug("fixture");
    let ev = |name: &str, subs: &[(&str, &str)]| {
        let mut all = vec![("ADMIN_KEY", admin), ("SLUG", s.as_str()), ("SOURCE_IP", "203.0.113.7")];
        all.extend_from_slice(subs);
        fixture_text(FN, name, &all)
    };
    let (status, created) = invoke(ev("init", &[])).await;
    assert_eq!(status, 200, "{created}");
    let id = created["provisioningId"].as_str().unwrap().to_owned();
    let token = created["confirmToken"].as_str().unwrap().to_owned();
    let subs = [("PROVISIONING_ID", id.as_str()), ("TOKEN", token.as_str())];
    let invalid_token = json!({ "type": "https://tools.ietf.org/html/rfc7235#section-3.1", "title": "Invalid Token", "status": 401, "detail": "The confirmation token is invalid or has expired" });
    let cases: Vec<(&str, u16, Option<Value>)> = vec![
        ("init", 409, Some(json!({ "type": "https://tools.ietf.org/html/rfc7231#section-6.5.8", "title": "Slug Already Exists", "status": 409, "detail": format!("A tenant with slug '{s}' already exists") }))),
        ("init-invalid-plan", 400, Some(json!({ "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1", "title": "Invalid Plan", "status": 400, "detail": "Plan 'InvalidPlan' is not allowed. Allowed plans: Basic, Premium, Enterprise" }))),
        ("init-invalid-fields", 400, None),
        ("init-malformed-json", 400, None),
        ("confirm-missing-authorization", 401, Some(json!({ "type": "https://tools.ietf.org/html/rfc7235#section-3.1", "title": "Missing Authorization", "status": 401, "detail": "Authorization header with Bearer token is required" }))),
        ("confirm-invalid-token", 401, Some(invalid_token.clone())),
        ("status", 200, None),
        ("status-unknown", 404, None),
        ("status-not-a-uuid", 400, None),
        ("confirm", 200, Some(json!({ "provisioningId": id, "status": "QUEUED", "message": "Provisioning confirmed and queued for processing", "statusEndpoint": format!("/provision/tenants/{id}/status") }))),
        ("confirm", 401, Some(invalid_token)),
        ("list-tenants", 200, None),
        ("list-tenants-no-key", 401, None),
        ("get-tenant", 200, None),
        ("delete-tenant", 409, None),
        ("retry-tenant", 409, None),
    ];
    for (name, want, body) in cases {
        let (status, got) = invoke(ev(name, &subs)).await;
        assert_eq!(status, want, "{name}: {got}");
        if let Some(body) = body {
            assert_eq!(got, body, "{name}");
        }
        if status >= 400 {
            assert_eq!(got["status"], status, "{name}: a problem document: {got}");
        }
    }
    let (_, fields) = invoke(ev("init-invalid-fields", &[])).await;
    assert!(fields["errors"]["name"].is_array() && fields["errors"]["slug"].is_array(), "{fields}");
    let (_, listed) = invoke(ev("list-tenants", &[])).await;
    assert!(listed["data"].as_array().unwrap().iter().any(|t| t["provisioningId"] == id.as_str()), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_in_process_on_sqlite() {
    let b = Backend::sqlite().await;
    replay_all(&b.admin.clone(), |event| {
        let app = b.app.clone();
        async move { replay_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_through_the_lambda_emulator_on_moto() {
    let b = Backend::moto().await;
    let rie = std::sync::Arc::new(Rie::start(env!("CARGO_BIN_EXE_tenants-api"), &trustplane_core::testkit::moto::lambda_env(&b.state.config)));
    replay_all(&b.admin.clone(), |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_through_rie(&rie, &event)) }
    })
    .await;
}
