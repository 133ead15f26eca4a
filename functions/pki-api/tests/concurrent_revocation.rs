//! Two revocations of one certificate at once (seed 004 §4.1), each spawned on the
//! multi-thread runtime behind a barrier, on the embedded backend (`local::…`) and on the AWS
//! adapters against moto (`moto::…`): one 202, one 409, exactly one revocation entry, and the
//! serial once on the CRL the queued jobs publish.

#[macro_use]
mod common;

use common::*;
use serde_json::Value;
use std::sync::Arc;
use trustplane_core::ports::Query;

/// How many certificates are each revoked twice at once (more rounds, more interleavings).
const ROUNDS: usize = 4;

on_both_backends! {
    two_concurrent_revocations_of_one_certificate_give_one_202_one_409_and_one_revocation_entry => concurrent_revocations;
}

async fn concurrent_revocations(env: Env) {
    let env = Arc::new(env);
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let mut serials = Vec::new();
    for round in 0..ROUNDS {
        let cert = env.leaf(&int).await;
        let replies = revoke_twice_at_once(&env, &cert).await;
        let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [202, 409], "round {round}: {:?}", replies.iter().map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect::<Vec<_>>());
        let conflict = replies.iter().find(|r| r.status == 409).unwrap();
        assert_eq!(conflict.header("content-type"), Some("application/problem+json"));
        let serial = cert["serialNumber"].as_str().unwrap().to_owned();
        let entries = revocation_entries(&env, id(&int)).await;
        assert_eq!(entries.iter().filter(|sk| norm_serial(sk) == norm_serial(&serial)).count(), 1, "round {round}: one revocation entry: {entries:?}");
        let shown = env.get(&format!("/api/v1/certificates/{}", id(&cert))).await.json();
        assert_eq!(shown["status"], "REVOKED", "{shown}");
        serials.push(norm_serial(&serial));
    }
    assert_eq!(revocation_entries(&env, id(&int)).await.len(), ROUNDS, "one entry per revoked certificate, no more");

    let worker = env.run_jobs().await;
    assert_eq!(worker["batchItemFailures"], serde_json::json!([]), "{worker}");
    let crl = env.get_as(&format!("/api/v1/issuers/{}/crl", id(&int)), "application/x-pem-file").await;
    assert_eq!(crl.status, 200);
    let files = Files::new();
    files.write("crl.pem", &crl.body).write("int.pem", pem(&int));
    let (ok, text) = files.openssl(&["crl", "-in", "crl.pem", "-CAfile", "int.pem", "-noout", "-text"]);
    assert!(ok && text.contains("verify OK"), "{text}");
    let mut listed = crl_serials(&text);
    listed.sort();
    serials.sort();
    assert_eq!(listed, serials, "each revoked serial is on the CRL exactly once");
}

/// Two `POST /certificates/{id}/revocation` for `cert`, released together.
async fn revoke_twice_at_once(env: &Arc<Env>, cert: &Value) -> Vec<trustplane_core::testkit::Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = ["KEY_COMPROMISE", "SUPERSEDED"]
        .into_iter()
        .map(|reason| {
            let (env, barrier, cert) = (env.clone(), barrier.clone(), cert.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                revoke(&env, &cert, reason).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

/// The sort keys (serials) of the issuer's revocation entries (`REVOKED#<issuerId>`).
async fn revocation_entries(env: &Env, issuer_id: &str) -> Vec<String> {
    let mut query = Query::partition(format!("REVOKED#{issuer_id}"));
    let mut serials = Vec::new();
    loop {
        let page = env.state.ports.store.query(query.clone()).await.unwrap();
        serials.extend(page.items.into_iter().map(|item| item.sk));
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return serials,
        }
    }
}
