//! The worker: rollback at each step, transient retries, dead-lettering (by SQS itself on
//! moto), duplicates, a killed worker's lease, operator retry and deprovisioning, expiry and
//! the sweep, on both backends.

mod support;

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use support::faults::{Fault, Faulty};
use support::*;
use tenant_worker::TenantWorker;
use trustplane_core::domain::{DbName, Plan};
use trustplane_core::jobs::JobHandler;
use trustplane_core::on_both_backends;
use trustplane_core::ports::{Condition, Query};
use trustplane_core::services::tenants::StepName;

on_both_backends!(
    a_permanent_failure_at_each_step_rolls_back_and_fails_the_tenant,
    transient_failures_are_retried_until_the_step_succeeds,
    a_transient_failure_on_the_last_delivery_fails_the_tenant_and_dead_letters,
    a_duplicate_message_leaves_the_same_state,
    a_worker_killed_mid_step_is_taken_over_once_its_lease_lapses,
    retry_runs_a_failed_tenant_again_to_active,
    deprovision_drops_the_database_frees_the_slug_and_is_audited,
    an_unconfirmed_tenant_expires_and_frees_its_slug,
    the_sweep_requeues_a_tenant_whose_job_was_lost,
    a_failed_tenant_frees_its_slug_when_configured,
    failures_are_logged_with_the_seeds_error_lines,
);

fn db_of(slug: &str) -> DbName {
    DbName::parse(&format!("ecom_tenant_{}", slug.replace('-', "_"))).unwrap()
}

fn faulty(b: &Backend, step: StepName, fault: Fault) -> TenantWorker {
    TenantWorker::new(b.tenants().with_databases(Faulty::new(b.state.ports.tenant_dbs.clone(), step, fault)))
}

fn step_states(status: &Value) -> Vec<(String, String)> {
    status["steps"].as_array().unwrap().iter().map(|s| (s["step"].as_str().unwrap().to_owned(), s["status"].as_str().unwrap().to_owned())).collect()
}

async fn a_permanent_failure_at_each_step_rolls_back_and_fails_the_tenant(b: Backend) {
    for (n, step) in StepName::WORK.into_iter().enumerate() {
        let s = slug("fail");
        let (id, _) = confirmed(&b, &s, "Basic").await;
        b.pump_with(&faulty(&b, step, Fault::Permanent)).await;
        let status = status_json(&b, &id).await;
        assert_eq!((status["status"].as_str(), &status["tenantSlug"], &status["dbName"]), (Some("Failed"), &Value::Null, &Value::Null));
        let states = step_states(&status);
        assert_eq!(states.len(), n + 2, "{states:?}");
        assert!(states[1..=n].iter().all(|(_, st)| st == "Success"), "{states:?}");
        assert_eq!(states[n + 1], (step.as_str().to_owned(), "Failed".to_owned()));
        let failed = &status["steps"][n + 1];
        assert_eq!(failed["errorMessage"], format!("injected failure in {}", step.as_str()));
        assert!(failed["completedAt"].is_string() && failed["log"].is_null());
        assert_eq!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap(), None, "{step:?}: nothing is left behind");
        assert_eq!(init(&b, "Other", &s, "Basic").await.status, 409, "the slug stays taken by default");
    }
}

async fn transient_failures_are_retried_until_the_step_succeeds(b: Backend) {
    let s = slug("flaky");
    let (id, _) = confirmed(&b, &s, "Basic").await;
    let deliveries = b.pump_with(&faulty(&b, StepName::CreateDatabase, Fault::Transient(2))).await;
    assert!(deliveries >= 3, "two failed deliveries, then success: {deliveries}");
    let status = status_json(&b, &id).await;
    assert_eq!(status["status"], "Active");
    assert_eq!(step_states(&status).len(), 4, "each step recorded once");
}

async fn a_transient_failure_on_the_last_delivery_fails_the_tenant_and_dead_letters(_: Backend) {
    for b in [Backend::sqlite_with(|c| c.tenants.max_receives = 2).await, Backend::moto_with(|c| c.tenants.max_receives = 2).await] {
        let s = slug("down");
        let (id, _) = confirmed(&b, &s, "Basic").await;
        let worker = faulty(&b, StepName::ApplyMigrations, Fault::Transient(u32::MAX));
        assert!(worker.handle_delivery(&job(&id), 1).await.is_err());
        assert_eq!(status_json(&b, &id).await["status"], "Provisioning", "the first delivery leaves it to a retry");
        assert!(worker.handle_delivery(&job(&id), 2).await.is_err(), "the last delivery still fails, so SQS dead-letters it");
        let status = status_json(&b, &id).await;
        assert_eq!(status["status"], "Failed");
        assert_eq!(status["steps"][2]["errorMessage"], "Failed to connect to database server");
        assert_eq!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap(), None);
        b.purge().await;
    }
    let b = Backend::sqlite_with(|c| c.tenants.max_receives = 2).await;
    let (id, _) = confirmed(&b, &slug("dlq"), "Basic").await;
    b.pump_with(&faulty(&b, StepName::SeedData, Fault::Transient(u32::MAX))).await;
    assert_eq!(status_json(&b, &id).await["status"], "Failed");
    let dead = b.state.ports.store.query(Query::partition(trustplane_core::adapters::local::DEAD_LETTER_PARTITION)).await.unwrap();
    assert_eq!(dead.items.len(), 1, "the embedded queue dead-letters after TENANT_MAX_RECEIVES deliveries");
}

/// The tenant queue's dead-letter queue, as bootstrap (and `template.yaml`) names it.
async fn dead_letter_url(client: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    let name = format!("{}-dlq", queue_url.rsplit('/').next().unwrap());
    client.get_queue_url().queue_name(name).send().await.unwrap().queue_url.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_dead_letters_a_job_still_failing_at_max_receive_count_and_the_tenant_ends_failed() {
    let b = Backend::moto().await;
    let Pump::Sqs { client, url } = &b.pump else { unreachable!("moto pumps SQS") };
    let s = slug("dlq");
    let (id, _) = confirmed(&b, &s, "Basic").await;
    let down = Faulty::new(b.state.ports.tenant_dbs.clone(), StepName::ApplyMigrations, Fault::Transient(u32::MAX));
    b.pump_with(&TenantWorker::new(b.tenants().with_databases(down.clone()))).await;
    let receives = trustplane_core::adapters::aws::bootstrap::MAX_RECEIVE_COUNT;
    assert_eq!(down.calls.load(std::sync::atomic::Ordering::SeqCst), receives, "one attempt per SQS delivery, up to the queue's maxReceiveCount");
    let status = status_json(&b, &id).await;
    let states: Vec<(&str, &str)> = status["steps"].as_array().unwrap().iter().map(|s| (s["step"].as_str().unwrap(), s["status"].as_str().unwrap())).collect();
    assert_eq!((status["status"].as_str(), states), (Some("Failed"), vec![("Init", "Success"), ("CreateDatabase", "Success"), ("ApplyMigrations", "Failed")]));
    assert_eq!(status["steps"][2]["errorMessage"], "Failed to connect to database server");
    assert_eq!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap(), None, "rolled back");
    let dlq = dead_letter_url(client, url).await;
    let out = client.receive_message().queue_url(&dlq).max_number_of_messages(10).wait_time_seconds(2).send().await.unwrap();
    let bodies: Vec<&str> = out.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, [job(&id).as_str()], "SQS moved the job to the tenant DLQ after its last receive");
    let left = client.receive_message().queue_url(url).wait_time_seconds(1).send().await.unwrap();
    assert!(left.messages().is_empty(), "nothing is left on the tenant queue");
}

async fn a_duplicate_message_leaves_the_same_state(b: Backend) {
    let s = slug("dup");
    let (id, _) = confirmed(&b, &s, "Premium").await;
    b.pump().await;
    let before = status_json(&b, &id).await;
    let info = b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap();
    for n in 1..=3 {
        b.worker().handle_delivery(&job(&id), n).await.unwrap();
    }
    assert_eq!(status_json(&b, &id).await, before);
    assert_eq!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap(), info);
}

async fn a_worker_killed_mid_step_is_taken_over_once_its_lease_lapses(_: Backend) {
    for b in [Backend::sqlite_with(|c| c.tenants.step_lease_seconds = 4).await, Backend::moto_with(|c| c.tenants.step_lease_seconds = 4).await] {
        let s = slug("kill");
        let (id, _) = confirmed(&b, &s, "Enterprise").await;
        let started = Arc::new(tokio::sync::Notify::new());
        let hanging = faulty(&b, StepName::SeedData, Fault::Hang(started.clone()));
        let body = job(&id);
        let task = tokio::spawn(async move { hanging.handle_delivery(&body, 1).await });
        tokio::time::timeout(Duration::from_secs(30), started.notified()).await.expect("SeedData started");
        task.abort();
        let running = status_json(&b, &id).await;
        assert_eq!(running["steps"][3]["status"], "InProgress");
        assert!(b.worker().handle_delivery(&job(&id), 2).await.is_err(), "a live lease keeps a second delivery out");
        tokio::time::sleep(Duration::from_millis(4100)).await;
        b.worker().handle_delivery(&job(&id), 3).await.unwrap();
        let done = status_json(&b, &id).await;
        assert_eq!(done["status"], "Active");
        assert_eq!(step_states(&done).len(), 4, "the taken-over step is the same record");
        let seed = trustplane_core::adapters::tenant_data::seed_data(Plan::Enterprise).unwrap();
        let info = b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap().unwrap();
        assert_eq!((info.schema_version, info.products), (2, seed.products.len() as u64), "seeding twice wrote no duplicates");
        b.purge().await;
    }
}

async fn retry_runs_a_failed_tenant_again_to_active(b: Backend) {
    let (id, _) = confirmed(&b, &slug("retry"), "Basic").await;
    assert_eq!(admin(&b, "POST", &format!("/api/v1/tenants/{id}/retry")).await.status, 409, "only a Failed tenant can be retried");
    b.pump_with(&faulty(&b, StepName::ApplyMigrations, Fault::Permanent)).await;
    assert_eq!(status_json(&b, &id).await["status"], "Failed");
    let retried = admin(&b, "POST", &format!("/api/v1/tenants/{id}/retry")).await;
    assert_eq!((retried.status.as_u16(), retried.json()["status"].as_str()), (202, Some("QUEUED")));
    b.pump().await;
    let status = status_json(&b, &id).await;
    assert_eq!(status["status"], "Active");
    let states: Vec<(String, String)> = step_states(&status);
    let tail: Vec<&str> = states[3..].iter().map(|(s, st)| if st == "Success" { s.as_str() } else { "?" }).collect();
    assert_eq!(states[2], ("ApplyMigrations".to_owned(), "Failed".to_owned()), "the failed run stays in the history");
    assert_eq!(tail, ["CreateDatabase", "ApplyMigrations", "SeedData"], "the new run starts after the rollback");
}

async fn deprovision_drops_the_database_frees_the_slug_and_is_audited(b: Backend) {
    let s = slug("bye");
    let (id, _) = confirmed(&b, &s, "Basic").await;
    assert_eq!(admin(&b, "DELETE", &format!("/api/v1/tenants/{id}")).await.status, 409, "not while queued");
    b.pump().await;
    assert!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap().is_some());
    assert_eq!(admin(&b, "DELETE", &format!("/api/v1/tenants/{id}")).await.status, 204);
    b.pump().await;
    assert_eq!(b.state.ports.tenant_dbs.inspect(&db_of(&s)).await.unwrap(), None, "the worker drops the database");
    assert_eq!(status(&b, &id).await.status, 404);
    assert_eq!(init(&b, "Acme Again", &s, "Basic").await.status, 200, "the slug is free again");
    let day = time::OffsetDateTime::now_utc().date();
    let audit = b.state.ports.store.query(Query::partition(format!("AUDIT#tenants#{day}"))).await.unwrap();
    assert!(audit.items.iter().any(|i| i.data["tenantId"] == id.as_str() && i.data["action"] == "deprovision"), "{:?}", audit.items);
}

async fn an_unconfirmed_tenant_expires_and_frees_its_slug(b: Backend) {
    let s = slug("late");
    let reply = init(&b, "Acme Corporation", &s, "Basic").await;
    let id = reply.json()["provisioningId"].as_str().unwrap().to_owned();
    let store = &b.state.ports.store;
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    for (pk, sk) in [(format!("TENANT#{id}"), "TENANT"), (format!("SLUG#{s}"), "SLUG")] {
        let mut item = store.get(&pk, sk).await.unwrap().expect("pending items exist");
        assert!(item.expires_at.is_some(), "{pk} expires with the token");
        item.expires_at = Some(past);
        store.put(item, Condition::Always).await.unwrap();
    }
    assert_eq!(status(&b, &id).await.status, 404);
    assert_eq!(init(&b, "Acme Corporation", &s, "Basic").await.status, 200);
    let token = reply.json()["confirmToken"].as_str().unwrap().to_owned();
    assert_eq!(confirm(&b, &token).await.status, 401, "the expired tenant's token confirms nothing");
}

async fn the_sweep_requeues_a_tenant_whose_job_was_lost(_: Backend) {
    for b in [Backend::sqlite_with(|c| c.tenants.stuck_after_seconds = 1).await, Backend::moto_with(|c| c.tenants.stuck_after_seconds = 1).await] {
        let (id, _) = confirmed(&b, &slug("lost"), "Basic").await;
        b.purge().await;
        assert_eq!(b.tenants().sweep().await.unwrap(), 0, "not stuck yet");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(b.tenants().sweep().await.unwrap(), 1);
        b.pump().await;
        assert_eq!(status_json(&b, &id).await["status"], "Active");
        assert_eq!(b.tenants().sweep().await.unwrap(), 0);
    }
}

async fn a_failed_tenant_frees_its_slug_when_configured(_: Backend) {
    for b in [Backend::sqlite_with(|c| c.tenants.free_slug_on_failure = true).await, Backend::moto_with(|c| c.tenants.free_slug_on_failure = true).await] {
        let s = slug("free");
        let (id, _) = confirmed(&b, &s, "Basic").await;
        b.pump_with(&faulty(&b, StepName::SeedData, Fault::Permanent)).await;
        assert_eq!(status_json(&b, &id).await["status"], "Failed");
        let other = init(&b, "Someone Else", &s, "Basic").await;
        assert_eq!(other.status, 200, "the slug was released");
        let retried = admin(&b, "POST", &format!("/api/v1/tenants/{id}/retry")).await;
        assert_eq!((retried.status.as_u16(), retried.json()["title"].as_str()), (409, Some("Slug Already Exists")));
    }
}

async fn failures_are_logged_with_the_seeds_error_lines(b: Backend) {
    let logs = trustplane_core::testkit::logs::Captured::default();
    let _guard = logs.install();
    let s = slug("logs");
    let (id, _) = confirmed(&b, &s, "Basic").await;
    b.pump_with(&faulty(&b, StepName::ApplyMigrations, Fault::Permanent)).await;
    let lines = logs.lines();
    let message = format!("Error provisioning tenant {id} ({s}): injected failure in ApplyMigrations");
    let line = lines.iter().find(|l| l["message"] == message.as_str()).unwrap_or_else(|| panic!("no {message:?} in {lines:?}"));
    assert_eq!((line["level"].as_str(), line["TenantId"].as_str(), line["Slug"].as_str()), (Some("ERROR"), Some(id.as_str()), Some(s.as_str())));
    assert_eq!(line["ErrorMessage"], "injected failure in ApplyMigrations");
    let corrupt = uuid::Uuid::new_v4();
    let item = trustplane_core::ports::Item::new(format!("TENANT#{corrupt}"), "TENANT", serde_json::json!({ "not": "a tenant" }));
    b.state.ports.store.put(item, Condition::Absent).await.unwrap();
    assert!(b.worker().handle_delivery(&job(&corrupt.to_string()), 1).await.is_err());
    let prefix = format!("Unhandled error processing tenant {corrupt}: ");
    let lines = logs.lines();
    let line = lines.iter().find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(&prefix))).unwrap_or_else(|| panic!("no {prefix:?}"));
    assert_eq!((line["level"].as_str(), line["TenantId"].as_str()), (Some("ERROR"), Some(corrupt.to_string().as_str())));
    assert!(line["ErrorMessage"].is_string());
}
