//! The batch end to end (issue 10, "Done when"), on SQLite and DynamoDB (moto): a scripted
//! gateway discovers 50 devices, provision-all provisions exactly the allowlisted ones once
//! the device worker drains its queue, with certificates `openssl verify` accepts; 50
//! concurrent provision calls and duplicate deliveries give one certificate.

mod batch_kit;
mod envelope_kit;

use batch_kit::*;
use envelope_kit::*;
use serde_json::json;
use std::sync::Arc;
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::on_both_backends;

on_both_backends!(
    a_scripted_gateway_discovers_fifty_devices_and_provision_all_provisions_exactly_the_allowlisted_ones,
    fifty_concurrent_provision_calls_on_one_device_give_exactly_one_certificate,
    duplicate_deliveries_of_a_device_job_give_exactly_one_certificate,
    a_device_whose_issuance_keeps_failing_ends_failed_with_its_error_and_a_retry_starts_a_new_attempt,
);

/// 50 devices: every fifth is not allowlisted, every third sent a CSR made on the device.
async fn a_scripted_gateway_discovers_fifty_devices_and_provision_all_provisions_exactly_the_allowlisted_ones(b: Backend) {
    let (root, issuer) = hierarchy(&b).await;
    let id = start(&b).await;
    let allowlisted = |i: usize| !i.is_multiple_of(5);
    let (mut reports, mut csrs) = (Vec::new(), Vec::new());
    for i in 0..50 {
        if allowlisted(i) {
            allow(&b, &mac(i)).await;
        }
        csrs.push((i % 3 == 0).then(|| csr(&mac(i))));
        reports.push(seen(&mac(i), csrs[i].clone()));
    }
    for chunk in reports.chunks(25) {
        let d = data(&report(&b, &id, json!(chunk)).await, 200);
        assert_eq!(d["count"], 25);
    }
    let d = data(&b.write("POST", &format!("{BATCH}/{id}/provision-all"), Some(json!({ "only_allowlisted": true }))).await, 202);
    assert_eq!((d["initiated_count"].as_u64(), d["skipped_count"].as_u64()), (Some(40), Some(10)), "{d}");
    assert!(pump(&b).await >= 40);
    let listed = data(&b.get(&format!("{BATCH}/{id}/devices")).await, 200);
    assert_eq!(listed["count"], 50);
    for device in listed["devices"].as_array().unwrap() {
        let i = (0..50).find(|i| device["mac"] == mac(*i)).unwrap();
        let want = if allowlisted(i) { "provisioned" } else { "discovered" };
        assert_eq!(device["state"], want, "{device}");
        assert_eq!(device["in_allowlist"], allowlisted(i), "{device}");
    }
    let s = session(&b, &id).await["session"].clone();
    assert_eq!((s["device_count"].as_u64(), s["provisioned_count"].as_u64(), s["verified_count"].as_u64(), s["failed_count"].as_u64()), (Some(50), Some(40), Some(0), Some(0)), "{s}");
    for i in (0..50).filter(|i| allowlisted(*i)) {
        let bundle = data(&gateway_call(&b, "GET", &id, &mac(i), "bundle", None).await, 200)["bundle"].clone();
        let cert = bundle["certificate_pem"].as_str().unwrap();
        assert_verifies(&root, &issuer, cert);
        assert_eq!(subject(cert), format!("subject=CN={}", mac(i)), "CN is the canonical MAC");
        if let Some(csr) = &csrs[i] {
            assert_eq!(public_key(cert, "x509"), public_key(csr, "req"), "the certificate is for the key of the device's CSR");
        }
        assert_eq!(bundle["private_key_pem"].is_string(), i % 3 != 0, "a key only when the device sent no CSR: {bundle}");
        if let Some(key) = bundle["private_key_pem"].as_str() {
            assert_eq!(public_key(cert, "x509"), public_key(key, "pkey"), "the generated key is the certificate's");
        }
        assert_eq!(certificates(&b, &mac(i)).await, 1, "{}", mac(i));
    }
    for i in (0..50).filter(|i| !allowlisted(*i)) {
        assert_eq!(certificates(&b, &mac(i)).await, 0);
    }
    let entry = data(&b.get(&format!("/api/v1/provisioning/allowlist/{}", mac(1))).await, 200);
    assert_eq!(entry["entry"]["used"], true, "{entry}");
}

async fn fifty_concurrent_provision_calls_on_one_device_give_exactly_one_certificate(b: Backend) {
    hierarchy(&b).await;
    let id = start(&b).await;
    allow(&b, &mac(7)).await;
    data(&report(&b, &id, json!([seen(&mac(7), None)])).await, 200);
    let b = Arc::new(b);
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (b, barrier, id) = (b.clone(), barrier.clone(), id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                b.write("POST", &format!("{BATCH}/{id}/devices/{}/provision", mac(7)), None).await
            })
        })
        .collect();
    let mut accepted = 0;
    for call in calls {
        let reply = call.await.unwrap();
        match reply.status.as_u16() {
            202 => accepted += 1,
            _ => {
                failure(&reply, 409, "CONFLICT");
            }
        }
    }
    assert_eq!(accepted, 1, "exactly one call starts the provisioning");
    // The same race below the HTTP layer (whose per-key rate limit staggers requests).
    allow(&b, &mac(8)).await;
    data(&report(&b, &id, json!([seen(&mac(8), None)])).await, 200);
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (devices, barrier, id) = (devices(&b), barrier.clone(), id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                devices.provision(&id, &trustplane_core::domain::MacAddress::parse(&mac(8)).unwrap()).await
            })
        })
        .collect();
    let mut started = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => started += 1,
            Err(e) => assert!(matches!(e, trustplane_core::Error::Conflict(_)), "{e:?}"),
        }
    }
    assert_eq!(started, 1, "exactly one service call starts the provisioning");
    pump(&b).await;
    for m in [mac(7), mac(8)] {
        assert_eq!(certificates(&b, &m).await, 1);
        assert_eq!(device(&b, &id, &m).await["state"], "provisioned");
    }
    assert_eq!(session(&b, &id).await["session"]["provisioned_count"], 2);
}

async fn duplicate_deliveries_of_a_device_job_give_exactly_one_certificate(b: Backend) {
    hierarchy(&b).await;
    let id = start(&b).await;
    allow(&b, &mac(9)).await;
    data(&report(&b, &id, json!([seen(&mac(9), Some(csr(&mac(9))))])).await, 200);
    let d = data(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/provision", mac(9)), None).await, 202);
    assert_eq!((d["mac"].as_str(), d["state"].as_str()), (Some(mac(9).as_str()), Some("provisioning")), "{d}");
    let job = serde_json::to_string(&Job::ProvisionDevice { session_id: id.clone(), mac: mac(9), attempt: 1 }).unwrap();
    let worker = Arc::new(worker(&b));
    let deliveries: Vec<_> = (0..8)
        .map(|_| {
            let (worker, job) = (worker.clone(), job.clone());
            tokio::spawn(async move { worker.handle_delivery(&job, 1).await })
        })
        .collect();
    for delivery in deliveries {
        let _ = delivery.await.unwrap();
    }
    pump(&b).await;
    worker.handle_delivery(&job, 1).await.unwrap();
    assert_eq!(certificates(&b, &mac(9)).await, 1, "one certificate per device per attempt");
    let s = session(&b, &id).await["session"].clone();
    assert_eq!((s["provisioned_count"].as_u64(), s["failed_count"].as_u64()), (Some(1), Some(0)), "{s}");
}

async fn a_device_whose_issuance_keeps_failing_ends_failed_with_its_error_and_a_retry_starts_a_new_attempt(b: Backend) {
    let id = start(&b).await;
    allow(&b, &mac(3)).await;
    data(&report(&b, &id, json!([seen(&mac(3), None)])).await, 200);
    data(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/provision", mac(3)), None).await, 202);
    pump(&b).await;
    let failed = device(&b, &id, &mac(3)).await;
    assert_eq!(failed["state"], "failed", "no issuing authority exists: {failed}");
    assert!(failed["error_message"].as_str().unwrap().starts_with("provisioning failed"), "{failed}");
    assert_eq!(failed["retry_count"], 0);
    assert_eq!(session(&b, &id).await["session"]["failed_count"], 1);
    hierarchy(&b).await;
    let d = data(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/retry", mac(3)), None).await, 202);
    assert_eq!(d["state"], "provisioning");
    pump(&b).await;
    let done = device(&b, &id, &mac(3)).await;
    assert_eq!((done["state"].as_str(), done["retry_count"].as_u64()), (Some("provisioned"), Some(1)), "{done}");
    assert!(done.get("error_message").is_none(), "{done}");
    let s = session(&b, &id).await["session"].clone();
    assert_eq!((s["provisioned_count"].as_u64(), s["failed_count"].as_u64()), (Some(1), Some(0)), "{s}");
    assert_eq!(certificates(&b, &mac(3)).await, 1);
}
