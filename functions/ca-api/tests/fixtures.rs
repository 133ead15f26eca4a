//! Every `events/ca-api/` fixture, in a realistic order that produces every route's success
//! and every seed 001 error code, in-process on SQLite and through the built bootstrap under
//! the Lambda Runtime Interface Emulator on moto.

mod ops;
mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use support::{csr, Backend};
use trustplane_core::jobs::Job;
use trustplane_core::testkit::{call, events_dir, fixture_text, rie::Rie};

const FN: &str = "ca-api";

/// A fixture's answer: status and body text.
type Answer = (u16, String);

/// The node whose certificate the steps sign, fetch, revoke and find in the CRL.
const NODE: &str = "fixture-node.example.com";

/// The first 200 body of each `(fixture, certname)`.
type Bodies = BTreeMap<(&'static str, &'static str), String>;

/// Which deployment a step goes to: the working one, or one whose CA authority is missing.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Ca,
    Unavailable,
}

/// `(deployment, fixture, certname, expected status, expected code or text in the body)`.
const STEPS: &[(To, &str, &str, u16, &str)] = &[
    (To::Ca, "put-certificate-request", "fixture-node.example.com", 200, ""),
    (To::Ca, "put-certificate-request-not-a-csr", "fixture-node.example.com", 400, "VALIDATION_FAILED"),
    (To::Ca, "get-certificate-request", "fixture-node.example.com", 200, "BEGIN CERTIFICATE REQUEST"),
    (To::Ca, "get-certificate-request-unknown", "", 404, "CSR_NOT_FOUND"),
    (To::Ca, "list-requests", "", 200, "fixture-node.example.com"),
    (To::Ca, "list-requests-bad-limit", "", 400, "VALIDATION_FAILED"),
    (To::Ca, "ca-status-no-key", "", 401, "UNAUTHORIZED"),
    (To::Ca, "sign-reader-key", "fixture-node.example.com", 403, "PERMISSION_DENIED"),
    (To::Ca, "sign-unknown", "", 404, "CSR_NOT_FOUND"),
    (To::Ca, "sign", "fixture-node.example.com", 200, "\"status\":\"valid\""),
    (To::Ca, "sign", "fixture-node.example.com", 409, "CERT_ALREADY_SIGNED"),
    (To::Ca, "get-certificate", "fixture-node.example.com", 200, "BEGIN CERTIFICATE"),
    (To::Ca, "get-certificate-unknown", "", 404, "CERT_NOT_FOUND"),
    (To::Ca, "get-ca-certificate", "", 200, "BEGIN CERTIFICATE"),
    (To::Ca, "put-certificate-request", "fixture-rejected.example.com", 200, ""),
    (To::Ca, "reject", "fixture-rejected.example.com", 200, "Certificate request rejected"),
    (To::Ca, "sign", "fixture-rejected.example.com", 409, "INVALID_OPERATION"),
    (To::Ca, "put-certificate-request", "fixture-withdrawn.example.com", 200, ""),
    (To::Ca, "delete-certificate-request", "fixture-withdrawn.example.com", 204, ""),
    (To::Ca, "list-certificates", "", 200, "fixture-node.example.com"),
    (To::Ca, "list-certificates-bad-sort", "", 400, "VALIDATION_FAILED"),
    (To::Ca, "get-certificate-details", "fixture-node.example.com", 200, "extendedKeyUsage"),
    (To::Ca, "get-certificate-details-unknown", "", 404, "CERT_NOT_FOUND"),
    (To::Ca, "revoke", "fixture-node.example.com", 200, "Node decommissioned"),
    (To::Ca, "revoke", "fixture-node.example.com", 409, "CERT_ALREADY_REVOKED"),
    (To::Ca, "get-crl", "", 200, "BEGIN X509 CRL"),
    (To::Ca, "renew", "", 200, "CA certificate renewal initiated"),
    (To::Ca, "renew-reader-key", "", 403, "PERMISSION_DENIED"),
    (To::Ca, "create-autosign-token", "", 201, "\"certname_pattern\":\"*.lab.example.com\""),
    (To::Ca, "ca-status", "", 200, "\"type\":\"renew\""),
    (To::Ca, "put-certificate-request", "fixture-pending.example.com", 200, ""),
    (To::Unavailable, "sign", "fixture-pending.example.com", 503, "CA_UNAVAILABLE"),
    (To::Unavailable, "ca-status", "", 200, "\"service_status\":\"unavailable\""),
];

const SEED_CODES: [&str; 9] = [
    "CSR_NOT_FOUND", "CERT_NOT_FOUND", "CERT_ALREADY_SIGNED", "CERT_ALREADY_REVOKED", "CA_UNAVAILABLE",
    "PERMISSION_DENIED", "INVALID_OPERATION", "VALIDATION_FAILED", "UNAUTHORIZED",
];

/// `s` escaped to sit inside a JSON string (a text/plain event body).
fn escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Replays every step through `invoke`; `run_jobs` runs the queued CRL jobs as the worker
/// does (before the CRL is fetched, so that it carries the revocation).
async fn replay_all<F, Fut, J, JFut>(admin: &str, reader: &str, run_jobs: J, invoke: F)
where
    F: Fn(To, String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
    J: Fn() -> JFut,
    JFut: std::future::Future<Output = Vec<Job>>,
{
    let (mut codes, mut replayed, mut bodies) = (BTreeSet::new(), BTreeSet::new(), Bodies::new());
    let mut node_key = None;
    for (to, name, certname, want, expect) in STEPS {
        if *name == "get-crl" {
            let ran = run_jobs().await;
            assert!(ran.iter().any(|job| matches!(job, Job::PublishCrl { .. })), "the revocation queued its CRL job: {ran:?}");
        }
        let (key, pem) = csr(certname);
        let event = fixture_text(FN, name, &[("ADMIN_KEY", admin), ("READER_KEY", reader), ("CERTNAME", certname), ("CSR_PEM", &escaped(&pem))]);
        let (status, body) = invoke(*to, event).await;
        assert_eq!(status, *want, "{name} {certname}: {body}");
        assert!(body.replace(": ", ":").contains(expect), "{name} {certname}: expected {expect:?} in {body}");
        if status >= 400 {
            let error: Value = serde_json::from_str(&body).unwrap();
            assert!(error["error"].is_string() && error["details"]["timestamp"].is_string(), "{name}: {error}");
            codes.insert(error["code"].as_str().unwrap().to_owned());
        }
        if (*name, *certname) == ("put-certificate-request", NODE) && node_key.is_none() {
            node_key = Some(key);
        }
        if status == 200 {
            bodies.entry((*name, *certname)).or_insert(body);
        }
        replayed.insert(name.to_string());
    }
    assert_node_certificate_and_crl(&bodies, &node_key.expect("the node's CSR was submitted"));
    assert_eq!(codes, SEED_CODES.iter().map(|c| c.to_string()).collect(), "every error code of seed 001");
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir().join(FN)).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".json").to_owned()).collect();
    assert_eq!(replayed, on_disk, "every fixture is replayed");
}

/// Runs openssl in a temporary directory holding `files`; returns success and all output.
fn openssl(files: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The PEM blocks of `label` in `bundle`, in order.
fn blocks(bundle: &str, label: &str) -> Vec<String> {
    let end = format!("-----END {label}-----");
    bundle.split_inclusive(&end).filter_map(|b| b.find(&format!("-----BEGIN {label}-----")).map(|at| format!("{}\n", &b[at..]))).collect()
}

/// The CA chain verifies (the root's own signature included); the node's certificate is
/// signed under it for the key of the node's CSR; every CRL of the chain verifies under it,
/// and the CA's CRL revokes the node's certificate.
fn assert_node_certificate_and_crl(bodies: &Bodies, node_key: &rcgen::KeyPair) {
    let (chain, cert, crls) = (&bodies[&("get-ca-certificate", "")], &bodies[&("get-certificate", NODE)], &bodies[&("get-crl", "")]);
    let files = [("chain.pem", chain.as_str()), ("node.pem", cert.as_str()), ("crls.pem", crls.as_str())];
    let (ok, out) = openssl(&files, &["verify", "-check_ss_sig", "-CAfile", "chain.pem", "node.pem"]);
    assert!(ok && out.contains("node.pem: OK"), "the node's certificate verifies under the CA chain: {out}");
    let (ok, out) = openssl(&files, &["x509", "-in", "node.pem", "-noout", "-pubkey", "-subject", "-nameopt", "RFC2253"]);
    assert!(ok && out.contains(node_key.public_key_pem().trim()), "the node's CSR key is certified: {out}");
    assert!(out.contains(&format!("subject=CN={NODE}")), "{out}");
    let each = blocks(crls, "X509 CRL");
    assert_eq!(each.len(), blocks(chain, "CERTIFICATE").len(), "one CRL per CA of the chain: {crls}");
    for crl in &each {
        let (ok, out) = openssl(&[("chain.pem", chain), ("crl.pem", crl)], &["crl", "-in", "crl.pem", "-CAfile", "chain.pem", "-noout"]);
        assert!(ok && out.contains("verify OK"), "{out}");
    }
    let (ok, out) = openssl(&files, &["verify", "-crl_check_all", "-CAfile", "chain.pem", "-CRLfile", "crls.pem", "node.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "the CRL revokes the node's certificate: {out}");
}

fn unknown_authority() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_in_process_on_sqlite() {
    let b = Backend::sqlite().await;
    let unavailable = b.app_with(|config, _| config.default_issuer_id = Some(unknown_authority()));
    replay_all(&b.admin, &b.reader, || ops::run_crl_jobs(&b.state, false), |to, event| {
        let app = if to == To::Ca { b.app.clone() } else { unavailable.clone() };
        async move {
            let reply = call(&app, lambda_http::request::from_str(&event).expect("an API Gateway event")).await;
            (reply.status.as_u16(), String::from_utf8_lossy(&reply.body).into_owned())
        }
    })
    .await;
}

/// One emulator at a time (each binds the runtime API port): the one for `to`, started on
/// first use and replaced when the steps move to the other deployment.
struct Emulators {
    env: Vec<(String, String)>,
    broken_env: Vec<(String, String)>,
    running: std::sync::Mutex<Option<(bool, Rie)>>,
}

impl Emulators {
    fn invoke(&self, to: To, event: &str) -> Answer {
        let mut running = self.running.lock().unwrap();
        let wanted = to == To::Ca;
        if running.as_ref().is_none_or(|(ca, _)| *ca != wanted) {
            running.take();
            let env = if wanted { &self.env } else { &self.broken_env };
            *running = Some((wanted, Rie::start("ca-api", env)));
        }
        let reply = running.as_ref().unwrap().1.invoke(event);
        assert_ne!(reply["isBase64Encoded"], true, "text and JSON bodies stay text: {reply}");
        (reply["statusCode"].as_u64().unwrap_or(0) as u16, reply["body"].as_str().unwrap_or_default().to_owned())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_the_seed_says_through_the_lambda_emulator_on_moto() {
    let b = Backend::moto().await;
    let env = trustplane_core::testkit::moto::lambda_env(&b.state.config);
    let mut broken_env = env.clone();
    broken_env.push(("DEFAULT_ISSUER_ID".into(), unknown_authority()));
    let emulators = std::sync::Arc::new(Emulators { env, broken_env, running: std::sync::Mutex::new(None) });
    replay_all(&b.admin, &b.reader, || ops::run_crl_jobs(&b.state, true), |to, event| {
        let emulators = emulators.clone();
        async move { tokio::task::block_in_place(|| emulators.invoke(to, &event)) }
    })
    .await;
}
