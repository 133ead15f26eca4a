//! Authority lifecycle (issue 9 item 6): disabling, re-enabling and revoking authorities, a
//! revoked intermediate's every serial on its root's CRL, checked with OpenSSL; on the embedded
//! backend and on moto.

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};

on_both_backends! {
    revoking_an_intermediate_puts_every_serial_it_had_on_the_roots_crl_and_openssl_rejects_its_leaves => revoked_intermediate;
    a_revoked_authority_issues_nothing_cannot_be_revoked_again_or_re_enabled_and_only_admins_revoke => revoked_is_final;
    a_disabled_authority_issues_nothing_but_still_publishes_its_crl_and_can_be_enabled_again => disabled_authority;
    the_schedule_republishes_the_crl_of_a_disabled_authority_but_not_of_a_revoked_one => schedule_skips_only_revoked;
}

/// Moves the authority's CRL state back past its whole validity, so the schedule finds it due.
async fn age_crl(env: &Env, authority: &Value) {
    use trustplane_core::ports::{Condition, Item};
    let store = &env.state.ports.store;
    let pk = format!("CRLSTATE#{}", id(authority));
    let current = store.get(&pk, "CRL").await.unwrap().expect("a CRL state");
    let mut state: trustplane_core::services::pki::CrlState = serde_json::from_value(current.data.clone()).unwrap();
    let shift = time::Duration::hours(i64::from(env.state.config.crl_validity_hours) + 1);
    (state.this_update, state.next_update) = (state.this_update - shift, state.next_update - shift);
    let aged = Item { data: serde_json::to_value(&state).unwrap(), version: current.version + 1, ..current.clone() };
    store.put(aged, Condition::Version(current.version)).await.unwrap();
}

fn problem(reply: &trustplane_core::testkit::Reply, status: u16, detail: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.json());
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    assert!(reply.json()["detail"].as_str().unwrap_or_default().contains(detail), "{}", reply.json());
}

async fn crl_pem(env: &Env, authority: &Value) -> Vec<u8> {
    let reply = env.get_as(&format!("/api/v1/issuers/{}/crl", id(authority)), "application/x-pem-file").await;
    assert_eq!(reply.status, 200);
    reply.body
}

async fn revoke_authority(env: &Env, authority: &Value) -> trustplane_core::testkit::Reply {
    env.post(&format!("/api/v1/authorities/{}/revocation", id(authority)), json!({ "reason": "CA_COMPROMISE", "comment": "HSM stolen" })).await
}

async fn revoked_intermediate(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let first_serial = int["serialNumber"].as_str().unwrap().to_owned();
    let renewed = env.pki().renew_authority(id(&int), false).await.unwrap().new;
    let int = env.get(&format!("/api/v1/authorities/{}", id(&int))).await.json();
    assert_eq!(int["serialNumber"].as_str(), Some(renewed.serial_number.as_str()));
    let leaf = env.leaf(&int).await;
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("int.pem", pem(&int)).write("leaf.pem", pem(&leaf));
    files.write("root-crl.pem", crl_pem(&env, &root).await).write("int-crl.pem", crl_pem(&env, &int).await);
    let verify = ["verify", "-crl_check_all", "-CAfile", "root.pem", "-untrusted", "int.pem", "-CRLfile", "root-crl.pem", "-CRLfile", "int-crl.pem", "leaf.pem"];
    let (ok, out) = files.openssl(&verify);
    assert!(ok, "before the revocation the leaf verifies: {out}");

    let reply = revoke_authority(&env, &int).await;
    assert_eq!(reply.status, 202, "{}", reply.json());
    let body = reply.json();
    assert_eq!((body["status"].as_str(), body["revocation"]["reason"].as_str()), (Some("REVOKED"), Some("CA_COMPROMISE")));
    assert_eq!(body["revocation"]["serialNumbers"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(env.run_jobs().await, json!({ "batchItemFailures": [] }));

    files.write("root-crl.pem", crl_pem(&env, &root).await);
    let (ok, text) = files.openssl(&["crl", "-in", "root-crl.pem", "-noout", "-text", "-CAfile", "root.pem"]);
    assert!(ok && text.contains("verify OK"), "{text}");
    let mut listed = crl_serials(&text);
    listed.sort();
    let mut expected = vec![norm_serial(&first_serial), norm_serial(&renewed.serial_number)];
    expected.sort();
    assert_eq!(listed, expected, "{text}");
    assert!(text.contains("CA Compromise"), "{text}");
    let (ok, out) = files.openssl(&verify);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
}

async fn revoked_is_final(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let reader = env.key(&["pki:read", "pki:issue", "pki:revoke"]).await;
    let forbidden = env.request("POST", &format!("/api/v1/authorities/{}/revocation", id(&int)), Some(&reader), Some(&json!({})), None).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.json());
    assert_eq!(revoke_authority(&env, &int).await.status, 202);
    problem(&revoke_authority(&env, &int).await, 409, "already revoked");
    let subject = env.subject("www.example.com").await;
    let issue = json!({ "subjectId": subject, "template": "TLS_SERVER", "san": { "dnsNames": ["www.example.com"] } });
    problem(&env.post(&issue_path(&int), issue).await, 409, "REVOKED");
    problem(&env.post(&format!("/api/v1/authorities/{}/status", id(&int)), json!({ "status": "ACTIVE" })).await, 409, "REVOKED");
    let child = json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(&int) });
    assert_eq!(env.post("/api/v1/authorities", child).await.status, 409);
    problem(&revoke_authority(&env, &json!({ "id": uuid::Uuid::now_v7().to_string() })).await, 404, "authority");
    let bad = env.post(&format!("/api/v1/authorities/{}/revocation", id(&root)), json!({ "reason": "BORED" })).await;
    assert_eq!(bad.status, 400, "{}", bad.json());
    let shown = env.get(&format!("/api/v1/authorities/{}", id(&int))).await.json();
    assert_eq!((shown["status"].as_str(), shown["revocation"]["comment"].as_str()), (Some("REVOKED"), Some("HSM stolen")));
}

async fn disabled_authority(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let leaf = env.leaf(&int).await;
    let status_path = format!("/api/v1/authorities/{}/status", id(&int));
    let disabled = env.post(&status_path, json!({ "status": "DISABLED" })).await;
    assert_eq!((disabled.status.as_u16(), disabled.json()["status"].as_str()), (200, Some("DISABLED")), "{}", disabled.json());
    let subject = env.subject("www.example.com").await;
    let issue = json!({ "subjectId": subject, "template": "TLS_SERVER", "san": { "dnsNames": ["www.example.com"] } });
    problem(&env.post(&issue_path(&int), issue.clone()).await, 409, "DISABLED");
    problem(&env.post(&status_path, json!({ "status": "REVOKED" })).await, 400, "revocation");
    assert_eq!(revoke(&env, &leaf, "KEY_COMPROMISE").await.status, 202);
    assert_eq!(env.run_jobs().await, json!({ "batchItemFailures": [] }));
    let files = Files::new();
    files.write("int.pem", pem(&int)).write("crl.pem", crl_pem(&env, &int).await);
    let (ok, text) = files.openssl(&["crl", "-in", "crl.pem", "-noout", "-text", "-CAfile", "int.pem"]);
    assert!(ok && crl_serials(&text) == vec![norm_serial(leaf["serialNumber"].as_str().unwrap())], "{text}");
    let enabled = env.post(&status_path, json!({ "status": "ACTIVE" })).await;
    assert_eq!(enabled.json()["status"], "ACTIVE");
    assert_eq!(env.post(&issue_path(&int), issue).await.status, 200);
}

async fn schedule_skips_only_revoked(env: Env) {
    let root = env.root(("EC", 256)).await;
    let (disabled, revoked) = (env.intermediate(&root, ("EC", 256)).await, env.intermediate(&root, ("EC", 256)).await);
    assert_eq!(env.post(&format!("/api/v1/authorities/{}/status", id(&disabled)), json!({ "status": "DISABLED" })).await.status, 200);
    assert_eq!(revoke_authority(&env, &revoked).await.status, 202);
    env.take_jobs().await;
    for authority in [&disabled, &revoked] {
        age_crl(&env, authority).await;
    }
    assert_eq!(env.pki().enqueue_due_crls().await.unwrap(), 1);
    let jobs = env.take_jobs().await;
    assert!(jobs.len() == 1 && jobs[0].1.contains(id(&disabled)), "{jobs:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_and_revocation_fixtures_disable_and_revoke_an_intermediate_through_the_lambda_event_path() {
    use trustplane_core::testkit::{fixture_text, replay_raw_in_process};
    let env = Env::local().await;
    let int = env.intermediate(&env.root(("EC", 256)).await, ("EC", 256)).await;
    let subs = [("API_KEY", env.admin.as_str()), ("AUTHORITY_ID", id(&int))];
    let disabled = replay_raw_in_process(&env.app, &fixture_text("pki-api", "set-authority-status", &subs)).await;
    assert_eq!((disabled.status, disabled.json()["status"].as_str()), (200, Some("DISABLED")));
    let revoked = replay_raw_in_process(&env.app, &fixture_text("pki-api", "revoke-authority", &subs)).await;
    assert_eq!((revoked.status, revoked.json()["revocation"]["reason"].as_str()), (202, Some("CA_COMPROMISE")));
    let again = replay_raw_in_process(&env.app, &fixture_text("pki-api", "revoke-authority", &subs)).await;
    assert_eq!((again.status, again.content_type.as_deref()), (409, Some("application/problem+json")));
}
