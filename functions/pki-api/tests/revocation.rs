//! Seed 004 revocation and CRLs through `pki_api::app` and the CRL worker, each scenario on
//! the embedded backend (`local::…`) and on the AWS adapters against moto (`moto::…`), checked
//! with OpenSSL; and no CA private key outside custody.

#[macro_use]
mod common;

use common::*;
use serde_json::json;
use trustplane_core::services::pki::CrlOutcome;

on_both_backends! {
    a_revocation_reaches_a_crl_that_openssl_verifies_and_that_revokes_the_leaf => revocation_reaches_the_crl;
    revoking_twice_is_409_and_unknown_certificates_are_404 => revoke_twice_and_unknown;
    the_crl_number_strictly_increases_across_publications => crl_number_increases;
    concurrent_publications_never_reuse_a_crl_number_never_serve_a_lower_one_and_leave_the_highest_published => concurrent_publications;
    two_revocations_in_one_sqs_batch_produce_one_new_crl => one_crl_per_batch;
    no_ca_private_key_is_ever_written_to_the_store_a_log_or_the_blobs => no_private_key_persisted;
}

async fn revocation_reaches_the_crl(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 384)).await;
    let leaf = env.leaf(&int).await;
    let reply = revoke(&env, &leaf, "KEY_COMPROMISE").await;
    assert_eq!(reply.status, 202, "{}", reply.json());
    let body = reply.json();
    assert_eq!((body["id"].as_str(), body["status"].as_str(), body["reason"].as_str()), (Some(id(&leaf)), Some("REVOKED"), Some("KEY_COMPROMISE")));
    assert!(body["revokedAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(env.run_jobs().await, json!({ "batchItemFailures": [] }));
    let crl_path = format!("/api/v1/issuers/{}/crl", id(&int));
    let der = env.get(&crl_path).await;
    assert_eq!((der.status.as_u16(), der.header("content-type")), (200, Some("application/pkix-crl")));
    if let Backend::Moto { sdk } = &env.backend {
        assert_eq!(common::s3_crl(sdk, &env.state.config, id(&int)).await, der.body, "S3 holds the CRL the API serves");
    }
    let pem_crl = env.get_as(&crl_path, "application/x-pem-file").await;
    assert_eq!(pem_crl.header("content-type"), Some("application/x-pem-file"));
    let files = Files::new();
    files.write("crl.der", &der.body).write("crl.pem", &pem_crl.body).write("int.pem", pem(&int)).write("leaf.pem", pem(&leaf));
    files.write("bundle.pem", format!("{}{}", pem(&root), pem(&int)));
    let text = crl_text(&files, "int.pem");
    assert_eq!(crl_serials(&text), vec![norm_serial(leaf["serialNumber"].as_str().unwrap())], "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    let (ok, out) = files.openssl(&["verify", "-crl_check", "-CAfile", "bundle.pem", "-CRLfile", "crl.pem", "leaf.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let shown = env.get(&format!("/api/v1/certificates/{}", id(&leaf))).await.json();
    assert_eq!((shown["status"].as_str(), shown["revocationReason"].as_str()), (Some("REVOKED"), Some("KEY_COMPROMISE")));
    assert_eq!(shown["comment"], "disk was not wiped");
}

async fn revoke_twice_and_unknown(env: Env) {
    let root = env.root(("EC", 256)).await;
    let leaf = env.leaf(&env.intermediate(&root, ("EC", 256)).await).await;
    assert_eq!(revoke(&env, &leaf, "SUPERSEDED").await.status, 202);
    let again = revoke(&env, &leaf, "KEY_COMPROMISE").await;
    assert_eq!(again.status, 409, "{}", again.json());
    assert!(again.json()["detail"].as_str().unwrap().contains("already revoked"));
    let unknown = json!({ "id": uuid::Uuid::now_v7().to_string() });
    assert_eq!(revoke(&env, &unknown, "UNSPECIFIED").await.status, 404);
    assert_eq!(revoke(&env, &json!({ "id": "not-an-id" }), "UNSPECIFIED").await.status, 404);
    let bad_reason = revoke(&env, &env.leaf(&root).await, "BORED").await;
    assert_eq!(bad_reason.status, 400);
    assert_eq!(env.get(&format!("/api/v1/certificates/{}", uuid::Uuid::now_v7())).await.status, 404);
}

async fn crl_number_increases(env: Env) {
    let root = env.root(("EC", 256)).await;
    let pki = env.pki();
    let first = pki.crl_state(id(&root)).await.unwrap().expect("a new authority has a CRL");
    assert_eq!((first.number, first.published), (1, true));
    let mut numbers = vec![first.number];
    for _ in 0..2 {
        match pki.publish_crl(id(&root), None).await.unwrap() {
            CrlOutcome::Published { number, .. } => numbers.push(number),
            other => panic!("not published: {other:?}"),
        }
    }
    assert!(numbers.windows(2).all(|w| w[1] > w[0]), "{numbers:?}");
    let files = Files::new();
    files.write("crl.der", env.get(&format!("/api/v1/issuers/{}/crl", id(&root))).await.body).write("root.pem", pem(&root));
    let text = crl_text(&files, "root.pem");
    assert_eq!(crl_number(&text), numbers[2], "{text}");
    let stale = pki.publish_crl(id(&root), Some(0)).await.unwrap();
    assert_eq!(stale, CrlOutcome::UpToDate { number: numbers[2] });
}

/// Six publishers race while the served CRL is downloaded over and over: every number is
/// used once, the numbers a relying party sees never decrease, and the highest ends up served.
async fn concurrent_publications(env: Env) {
    let root = env.root(("EC", 256)).await;
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let (pki, authority) = (env.pki(), id(&root).to_owned());
            tokio::spawn(async move { pki.publish_crl(&authority, None).await })
        })
        .collect();
    let crl_path = format!("/api/v1/issuers/{}/crl", id(&root));
    let mut served = Vec::new();
    while !runs.iter().all(|run| run.is_finished()) {
        served.push(served_number(&env, &crl_path).await);
    }
    let mut numbers = Vec::new();
    for run in futures::future::join_all(runs).await {
        match run.unwrap().unwrap() {
            CrlOutcome::Published { number, .. } => numbers.push(number),
            CrlOutcome::Superseded { number, by } => assert!(by > number, "superseded {number} by {by}"),
            other => panic!("not published: {other:?}"),
        }
    }
    served.push(served_number(&env, &crl_path).await);
    assert!(served.windows(2).all(|w| w[0] <= w[1]), "the served CRL went backwards: {served:?}");
    let mut unique = numbers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), numbers.len(), "a CRL number was reused: {numbers:?}");
    let state = env.pki().crl_state(id(&root)).await.unwrap().unwrap();
    assert!(state.published && state.number == 7 && state.number == *unique.last().unwrap(), "{state:?} {numbers:?}");
    let files = Files::new();
    files.write("crl.der", env.get(&crl_path).await.body).write("root.pem", pem(&root));
    let text = crl_text(&files, "root.pem");
    assert_eq!(crl_number(&text), state.number, "the published CRL is the highest numbered one");
}

/// `openssl crl -text` of the DER `crl.der` in `files`, whose signature must verify under the
/// issuer certificate in the file `issuer`.
fn crl_text(files: &Files, issuer: &str) -> String {
    let (ok, text) = files.openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", issuer, "-noout", "-text"]);
    assert!(ok && text.contains("verify OK"), "the CRL parses and verifies under {issuer}: {text}");
    text
}

/// The CRL Number (RFC 5280 §5.2.3) of the CRL the API serves now.
async fn served_number(env: &Env, crl_path: &str) -> u64 {
    use x509_parser::prelude::FromDer;
    let reply = env.get(crl_path).await;
    assert_eq!(reply.status, 200);
    let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&reply.body).expect("a DER CRL");
    u64::try_from(crl.crl_number().expect("a CRL number")).unwrap()
}

async fn one_crl_per_batch(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let (a, b) = (env.leaf(&int).await, env.leaf(&int).await);
    env.take_jobs().await;
    let before = env.pki().crl_state(id(&int)).await.unwrap().unwrap().number;
    assert_eq!(revoke(&env, &a, "KEY_COMPROMISE").await.status, 202);
    assert_eq!(revoke(&env, &b, "CESSATION_OF_OPERATION").await.status, 202);
    assert_eq!(env.run_jobs().await, json!({ "batchItemFailures": [] }));
    let after = env.pki().crl_state(id(&int)).await.unwrap().unwrap().number;
    assert_eq!(after, before + 1, "one CRL for the batch");
    let files = Files::new();
    files.write("crl.der", env.get(&format!("/api/v1/issuers/{}/crl", id(&int))).await.body).write("int.pem", pem(&int));
    let text = crl_text(&files, "int.pem");
    let mut listed = crl_serials(&text);
    let mut expected = vec![norm_serial(a["serialNumber"].as_str().unwrap()), norm_serial(b["serialNumber"].as_str().unwrap())];
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected, "{text}");
}

async fn no_private_key_persisted(env: Env) {
    let root = env.root(("RSA", 2048)).await;
    let int = env.intermediate(&root, ("EC", 384)).await;
    let leaf = env.leaf(&int).await;
    assert_eq!(revoke(&env, &leaf, "KEY_COMPROMISE").await.status, 202);
    env.run_jobs().await;
    let persisted = env.persisted().await;
    assert!(persisted.contains(id(&int)), "the scan sees the records");
    assert!(!persisted.contains("PRIVATE KEY"), "a private key was persisted");
    let ca_lines = env.ca_key_lines();
    assert_eq!(matches!(env.backend, Backend::Local { .. }), !ca_lines.is_empty());
    let logs = common::logs();
    assert!(logs.contains("CRL published"), "the log capture works");
    assert!(!logs.contains("PRIVATE KEY"), "a private key was logged");
    for line in &ca_lines {
        assert!(!persisted.contains(line), "a CA key line is outside custody");
        assert!(!logs.contains(line), "a CA key line was logged");
    }
}
