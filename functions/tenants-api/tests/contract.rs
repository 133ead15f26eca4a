//! Seed 003's examples, answer by answer, on SQLite and on DynamoDB/KMS/SQS (moto).

mod support;

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::faults::{Fault, Faulty};
use support::seed::{force_status, seed_status, INIT_LOG};
use support::*;
use trustplane_core::jobs::JobHandler;
use trustplane_core::services::tenants::{StepName, TenantStatus};
use trustplane_core::on_both_backends;

on_both_backends!(
    init_returns_the_seeds_200_body,
    init_of_a_taken_slug_returns_the_seeds_409,
    init_with_an_unknown_plan_returns_the_seeds_400,
    init_reports_every_invalid_field_at_once,
    init_with_malformed_json_is_a_400_problem,
    confirm_queues_once_and_a_reused_token_is_401_invalid_token,
    confirm_without_a_bearer_token_is_401_missing_authorization,
    confirm_with_a_forged_or_tampered_token_is_401_invalid_token,
    confirm_of_a_tenant_no_longer_pending_validation_is_409_and_leaves_the_token_unused,
    status_shows_pending_then_active_with_the_seeds_steps,
    status_while_a_step_runs_is_the_seeds_in_progress_body_whole,
    status_of_an_unknown_id_is_404_and_of_a_non_uuid_400,
    operators_list_get_and_need_tenant_scopes,
);

async fn init_returns_the_seeds_200_body(b: Backend) {
    let reply = init(&b, "Acme Corporation", &slug("acme"), "Premium").await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert!(uuid::Uuid::parse_str(body["provisioningId"].as_str().unwrap()).is_ok());
    assert!(body["confirmToken"].as_str().unwrap().starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    assert_eq!(body["next"], "/provision/tenants/confirm");
    assert_eq!(body["message"], "Provisioning initialized. Use the confirmation token within 15 minutes to proceed.");
}

async fn init_of_a_taken_slug_returns_the_seeds_409(b: Backend) {
    let s = slug("acme");
    assert_eq!(init(&b, "Acme Corporation", &s, "Premium").await.status, 200);
    let reply = init(&b, "Other Corp", &s, "Basic").await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    let want = json!({
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.8",
        "title": "Slug Already Exists",
        "status": 409,
        "detail": format!("A tenant with slug '{s}' already exists"),
    });
    assert_eq!(reply.json(), want);
}

async fn init_with_an_unknown_plan_returns_the_seeds_400(b: Backend) {
    let reply = init(&b, "Acme Corporation", &slug("acme"), "InvalidPlan").await;
    let want = json!({
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        "title": "Invalid Plan",
        "status": 400,
        "detail": "Plan 'InvalidPlan' is not allowed. Allowed plans: Basic, Premium, Enterprise",
    });
    assert_eq!((reply.status.as_u16(), reply.json()), (400, want));
    assert_eq!(init(&b, "Acme Corporation", &slug("acme"), "premium").await.json()["title"], "Invalid Plan");
}

async fn init_reports_every_invalid_field_at_once(b: Backend) {
    let reply = init(&b, "ab", "Not A Slug!", "Premium").await;
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(body["type"], "https://tools.ietf.org/html/rfc7231#section-6.5.1");
    assert_eq!(body["title"], "One or more validation errors occurred.");
    assert!(body["errors"]["name"][0].as_str().unwrap().contains("between 3 and 200"), "{body}");
    assert!(body["errors"]["slug"][0].as_str().unwrap().contains("^[a-z0-9-]+$"), "{body}");
    let long_name = "é".repeat(200);
    assert_eq!(init(&b, &long_name, &slug("ok"), "Basic").await.status, 200, "200 characters of 2 bytes each are allowed");
    let reply = init(&b, &"é".repeat(201), &"a".repeat(51), "Basic").await;
    assert_eq!(reply.json()["errors"].as_object().unwrap().len(), 2, "{:?}", reply.json());
}

async fn init_with_malformed_json_is_a_400_problem(b: Backend) {
    let req = request("POST", "/provision/tenants/init", Some("{\"name\": \"Acme\"".into()), &[("content-type", "application/json")], None);
    let reply = trustplane_core::testkit::call(&b.app, req).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    assert_eq!(reply.json()["status"], 400);
    let req = request("PUT", "/provision/tenants/init", None, &[], None);
    let reply = trustplane_core::testkit::call(&b.app, req).await;
    assert_eq!((reply.status.as_u16(), reply.json()["status"].as_u64()), (405, Some(405)));
}

async fn confirm_queues_once_and_a_reused_token_is_401_invalid_token(b: Backend) {
    let reply = init(&b, "Acme Corporation", &slug("acme"), "Premium").await;
    let (id, token) = (reply.json()["provisioningId"].as_str().unwrap().to_owned(), reply.json()["confirmToken"].as_str().unwrap().to_owned());
    let first = confirm(&b, &token).await;
    let want = json!({
        "provisioningId": id,
        "status": "QUEUED",
        "message": "Provisioning confirmed and queued for processing",
        "statusEndpoint": format!("/provision/tenants/{id}/status"),
    });
    assert_eq!((first.status.as_u16(), first.json()), (200, want));
    let again = confirm(&b, &token).await;
    assert_eq!(again.status, 401);
    assert_eq!(again.json()["title"], "Invalid Token");
}

async fn confirm_without_a_bearer_token_is_401_missing_authorization(b: Backend) {
    let want = json!({
        "type": "https://tools.ietf.org/html/rfc7235#section-3.1",
        "title": "Missing Authorization",
        "status": 401,
        "detail": "Authorization header with Bearer token is required",
    });
    for headers in [vec![], vec![("authorization", "Basic dXNlcjpwYXNz")], vec![("authorization", "Bearer ")]] {
        let reply = trustplane_core::testkit::call(&b.app, request("POST", "/provision/tenants/confirm", None, &headers, None)).await;
        assert_eq!((reply.status.as_u16(), reply.json()), (401, want.clone()), "{headers:?}");
    }
}

async fn confirm_with_a_forged_or_tampered_token_is_401_invalid_token(b: Backend) {
    let want = json!({
        "type": "https://tools.ietf.org/html/rfc7235#section-3.1",
        "title": "Invalid Token",
        "status": 401,
        "detail": "The confirmation token is invalid or has expired",
    });
    let token = init(&b, "Acme Corporation", &slug("acme"), "Premium").await.json()["confirmToken"].as_str().unwrap().to_owned();
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let flip = |s: &str, i: usize| {
        let mut bytes = s.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    let forged = [
        format!("{}.{payload}.{signature}", flip(header, 3)),
        format!("{header}.{}.{signature}", flip(payload, payload.len() / 2)),
        format!("{header}.{payload}.{}", flip(signature, 5)),
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}."),
        "not-a-jwt".to_owned(),
    ];
    for bad in forged {
        let reply = confirm(&b, &bad).await;
        assert_eq!((reply.status.as_u16(), reply.json()), (401, want.clone()), "{bad}");
    }
    assert_eq!(confirm(&b, &token).await.status, 200, "the genuine token still works after the forgeries");
}

async fn confirm_of_a_tenant_no_longer_pending_validation_is_409_and_leaves_the_token_unused(b: Backend) {
    let reply = init(&b, "Acme Corporation", &slug("moved"), "Premium").await;
    let (id, token) = (reply.json()["provisioningId"].as_str().unwrap().to_owned(), reply.json()["confirmToken"].as_str().unwrap().to_owned());
    force_status(&b, &id, TenantStatus::Provisioning).await;
    let want = json!({
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.8",
        "title": "Invalid Tenant State",
        "status": 409,
        "detail": "Tenant is Provisioning; only a PENDING_VALIDATION tenant can be confirmed",
    });
    let reply = confirm(&b, &token).await;
    assert_eq!((reply.status.as_u16(), reply.header("content-type"), reply.json()), (409, Some("application/problem+json"), want));
    force_status(&b, &id, TenantStatus::PendingValidation).await;
    assert_eq!(confirm(&b, &token).await.status, 200, "the refused confirm did not use the token up");
    assert_eq!(b.pump().await, 2, "one provisioning job (and its notification): the 409 queued nothing");
}

async fn status_while_a_step_runs_is_the_seeds_in_progress_body_whole(b: Backend) {
    let s = slug("busy");
    let (id, _) = confirmed(&b, &s, "Premium").await;
    let started = Arc::new(tokio::sync::Notify::new());
    let hang = Faulty::new(b.state.ports.tenant_dbs.clone(), StepName::CreateDatabase, Fault::Hang(started.clone()));
    let worker = tenant_worker::TenantWorker::new(b.tenants().with_databases(hang));
    let body = job(&id);
    let running = tokio::spawn(async move { worker.handle_delivery(&body, 1).await });
    tokio::time::timeout(Duration::from_secs(60), started.notified()).await.expect("CreateDatabase started");
    let got = status_json(&b, &id).await;
    running.abort();
    let steps = [("Init", "Success", Some(INIT_LOG), None), ("CreateDatabase", "InProgress", None, None)];
    assert_eq!(got, seed_status(&got, "Provisioning", None, &steps));
    let db = trustplane_core::domain::DbName::parse(&format!("ecom_tenant_{}", s.replace('-', "_"))).unwrap();
    b.state.ports.tenant_dbs.drop_database(&db).await.unwrap();
}

async fn status_shows_pending_then_active_with_the_seeds_steps(b: Backend) {
    let s = slug("acme");
    let reply = init(&b, "Acme Corporation", &s, "Premium").await;
    let id = reply.json()["provisioningId"].as_str().unwrap().to_owned();
    let pending = status_json(&b, &id).await;
    assert_eq!((pending["status"].as_str(), &pending["tenantSlug"], &pending["dbName"]), (Some("PENDING_VALIDATION"), &json!(null), &json!(null)));
    assert_eq!(pending["steps"][0], json!({
        "step": "Init", "status": "Success", "startedAt": pending["steps"][0]["startedAt"], "completedAt": pending["steps"][0]["completedAt"],
        "log": "Provisioning initialized, waiting for confirmation", "errorMessage": null,
    }));
    assert!(pending["steps"][0]["startedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(confirm(&b, reply.json()["confirmToken"].as_str().unwrap()).await.status, 200);
    assert_eq!(status_json(&b, &id).await["status"], "QUEUED");
    b.pump().await;
    let active = status_json(&b, &id).await;
    let db = format!("ecom_tenant_{}", s.replace('-', "_"));
    assert_eq!((active["status"].as_str(), active["tenantSlug"].as_str(), active["dbName"].as_str()), (Some("Active"), Some(s.as_str()), Some(db.as_str())));
    let steps: Vec<(&str, &str, &str)> = active["steps"].as_array().unwrap().iter().map(|s| (s["step"].as_str().unwrap(), s["status"].as_str().unwrap(), s["log"].as_str().unwrap())).collect();
    let created = format!("Database {db} created successfully");
    assert_eq!(steps, [
        ("Init", "Success", "Provisioning initialized, waiting for confirmation"),
        ("CreateDatabase", "Success", created.as_str()),
        ("ApplyMigrations", "Success", "Migrations applied successfully"),
        ("SeedData", "Success", "Demo data seeded successfully"),
    ]);
    let info = b.state.ports.tenant_dbs.inspect(&trustplane_core::domain::DbName::parse(&db).unwrap()).await.unwrap().expect("the tenant database exists");
    let seed = trustplane_core::adapters::tenant_data::seed_data(trustplane_core::domain::Plan::Premium).unwrap();
    assert_eq!((info.schema_version, info.products, info.settings), (2, seed.products.len() as u64, seed.settings.len() as u64));
}

async fn status_of_an_unknown_id_is_404_and_of_a_non_uuid_400(b: Backend) {
    let reply = status(&b, "3fa85f64-5717-4562-b3fc-2c963f66afa6").await;
    assert_eq!((reply.status.as_u16(), reply.json()["type"].as_str()), (404, Some("https://tools.ietf.org/html/rfc7231#section-6.5.4")));
    let reply = status(&b, "not-a-uuid").await;
    assert_eq!((reply.status.as_u16(), reply.json()["title"].as_str()), (400, Some("Bad Request")));
}

async fn operators_list_get_and_need_tenant_scopes(b: Backend) {
    let (id, _) = confirmed(&b, &slug("ops"), "Basic").await;
    let pending = init(&b, "Pending Corp", &slug("pend"), "Basic").await.json()["provisioningId"].as_str().unwrap().to_owned();
    let queued = admin(&b, "GET", "/api/v1/tenants?status=QUEUED").await.json();
    let ids: Vec<&str> = queued["data"].as_array().unwrap().iter().map(|t| t["provisioningId"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()]);
    let all = admin(&b, "GET", "/api/v1/tenants?limit=1").await.json();
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    let rest = admin(&b, "GET", &format!("/api/v1/tenants?limit=1&cursor={}", all["next_cursor"].as_str().unwrap())).await.json();
    let seen = [all["data"][0]["provisioningId"].as_str().unwrap(), rest["data"][0]["provisioningId"].as_str().unwrap()];
    assert!(seen.contains(&pending.as_str()) && seen.contains(&id.as_str()), "{seen:?}");
    assert_eq!(admin(&b, "GET", &format!("/api/v1/tenants/{id}")).await.json()["status"], "QUEUED");
    assert_eq!(admin(&b, "GET", "/api/v1/tenants?status=Nope").await.status, 400);
    let reader = trustplane_core::testkit::mint_key(&b.state, &["tenants:read"]).await;
    let req = request("POST", &format!("/api/v1/tenants/{id}/retry"), None, &[("x-api-key", &reader)], None);
    assert_eq!(trustplane_core::testkit::call(&b.app, req).await.status, 403);
    let req = request("GET", "/api/v1/tenants", None, &[], None);
    let reply = trustplane_core::testkit::call(&b.app, req).await;
    assert_eq!((reply.status.as_u16(), reply.header("content-type")), (401, Some("application/problem+json")));
}
