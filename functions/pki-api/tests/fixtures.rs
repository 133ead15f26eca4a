//! Every `events/pki-api/` fixture, in a realistic order, in-process on the embedded backend
//! and through the built bootstrap under the Lambda Runtime Interface Emulator on moto. Binary
//! answers (DER CRLs, P7B chains) keep their bytes: chains, certificates and CRLs are checked
//! with openssl, the CSR-based certificate against the CSR's key.

mod common;

use common::Env;
use serde_json::Value;
use trustplane_core::testkit::{embed_in_event_body, fixture_text, moto, replay_raw_in_process, replay_raw_through_rie, rie::Rie, RawAnswer};

const FN: &str = "pki-api";

fn csr_pem(key: &rcgen::KeyPair) -> String {
    let params = rcgen::CertificateParams::new(vec!["ignored.example".to_owned()]).unwrap();
    params.serialize_request(key).unwrap().pem().unwrap()
}

/// Runs openssl in a temporary directory holding `files`; returns success and all output.
fn openssl(files: &[(&str, &[u8])], args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let out = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

struct Ids {
    subs: Vec<(&'static str, String)>,
}

impl Ids {
    fn event(&self, name: &str) -> String {
        let subs: Vec<(&str, &str)> = self.subs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fixture_text(FN, name, &subs)
    }

    fn set(&mut self, key: &'static str, value: &Value) {
        self.subs.retain(|(k, _)| *k != key);
        self.subs.push((key, value.as_str().expect("an id").to_owned()));
    }
}

async fn raw<F, Fut>(ids: &Ids, invoke: &F, name: &str, status: u16) -> RawAnswer
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    let answer = invoke(ids.event(name)).await;
    assert_eq!(answer.status, status, "{name}: {}", String::from_utf8_lossy(&answer.body));
    if status >= 400 {
        assert_eq!(answer.json()["status"], u64::from(status), "{name}: problem+json body: {}", String::from_utf8_lossy(&answer.body));
    }
    answer
}

async fn expect<F, Fut>(ids: &Ids, invoke: &F, name: &str, status: u16) -> Value
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    raw(ids, invoke, name, status).await.json()
}

/// The page's `data` holds each of `created` (by `id`).
fn assert_lists(page: &Value, created: &[&Value]) {
    let listed: Vec<&Value> = page["data"].as_array().unwrap_or_else(|| panic!("a page: {page}")).iter().map(|item| &item["id"]).collect();
    for item in created {
        assert!(item["id"].is_string() && listed.contains(&&item["id"]), "{} is listed: {page}", item["id"]);
    }
}

/// The PEM chain (authority first, root last) verifies, the root's own signature included;
/// returns both certificates as one PEM bundle.
fn assert_chain_verifies(chain: &[u8]) -> String {
    let text = String::from_utf8(chain.to_vec()).unwrap();
    let pems: Vec<&str> = text.split_inclusive("-----END CERTIFICATE-----\n").collect();
    assert_eq!(pems.len(), 2, "intermediate then root: {text}");
    let files = [("int.pem", pems[0].as_bytes()), ("root.pem", pems[1].as_bytes())];
    let (ok, out) = openssl(&files, &["verify", "-check_ss_sig", "-CAfile", "root.pem", "int.pem"]);
    assert!(ok && out.contains("int.pem: OK"), "{out}");
    text
}

fn assert_issued_verifies(issued: &Value, ca_bundle: &str) {
    let cert = issued["certificateContent"].as_str().unwrap();
    let files = [("ca.pem", ca_bundle.as_bytes()), ("leaf.pem", cert.as_bytes())];
    let (ok, out) = openssl(&files, &["verify", "-CAfile", "ca.pem", "leaf.pem"]);
    assert!(ok && out.contains("leaf.pem: OK"), "{out}");
}

/// The DER certificates of a PEM bundle (text around them ignored), in order.
fn ders(bundle: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(bundle).map(|pem| pem.expect("a PEM block").contents).collect()
}

fn public_key_of(cert_pem: &str) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
    pem.parse_x509().unwrap().public_key().raw.to_vec()
}

fn serial_of(cert_pem: &str) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
    pem.parse_x509().unwrap().raw_serial().to_vec()
}

/// The CRL (DER or PEM) is signed by the intermediate and lists `revoked`.
fn assert_crl_lists(crl: &RawAnswer, der: bool, ca_bundle: &str, revoked: &[u8]) {
    let inform = if der { "DER" } else { "PEM" };
    let files = [("crl", crl.body.as_slice()), ("ca.pem", ca_bundle.as_bytes())];
    let (ok, out) = openssl(&files, &["crl", "-inform", inform, "-in", "crl", "-CAfile", "ca.pem", "-noout"]);
    assert!(ok && out.contains("verify OK"), "{inform} CRL: {out}");
    let der_bytes = if der { crl.body.clone() } else { x509_parser::pem::parse_x509_pem(&crl.body).unwrap().1.contents };
    let (_, parsed) = <x509_parser::revocation_list::CertificateRevocationList as x509_parser::prelude::FromDer<_>>::from_der(&der_bytes).unwrap();
    assert!(parsed.iter_revoked_certificates().any(|r| r.raw_serial() == revoked), "the revoked serial is listed");
}

async fn replay_all<F, Fut>(env: &Env, reader: &str, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = RawAnswer>,
{
    let admin = env.admin.as_str();
    let csr_key = rcgen::KeyPair::generate().unwrap();
    let mut ids = Ids { subs: vec![("API_KEY", admin.to_owned()), ("READER_KEY", reader.to_owned()), ("CSR_PEM", embed_in_event_body(&csr_pem(&csr_key)))] };
    let subject = expect(&ids, &invoke, "create-subject", 201).await;
    ids.set("SUBJECT_ID", &subject["id"]);
    for (name, status) in [("create-subject-bad-country", 400), ("create-subject-no-key", 401), ("get-subject", 200), ("get-subject-unknown", 404)] {
        expect(&ids, &invoke, name, status).await;
    }
    assert_lists(&expect(&ids, &invoke, "list-subjects", 200).await, &[&subject]);
    let root = expect(&ids, &invoke, "create-root", 201).await;
    ids.set("AUTHORITY_ID", &root["id"]);
    for (name, status) in [("create-authority-unknown-subject", 422), ("create-authority-weak-key", 400), ("create-authority-reader-key", 403)] {
        expect(&ids, &invoke, name, status).await;
    }
    let intermediate = expect(&ids, &invoke, "create-intermediate", 201).await;
    assert_eq!(intermediate["hierarchy"]["pathLenConstraint"], 0);
    ids.set("AUTHORITY_ID", &intermediate["id"]);
    assert_eq!(expect(&ids, &invoke, "get-authority", 200).await["id"], intermediate["id"]);
    assert_lists(&expect(&ids, &invoke, "list-authorities", 200).await, &[&root, &intermediate]);
    let bundle = assert_chain_verifies(&raw(&ids, &invoke, "get-chain", 200).await.body);
    let p7b = raw(&ids, &invoke, "get-chain-p7b", 200).await;
    let (ok, printed) = openssl(&[("chain.p7b", &p7b.body)], &["pkcs7", "-inform", "DER", "-in", "chain.p7b", "-print_certs"]);
    assert!(ok, "a DER P7B: {printed}");
    assert_eq!(ders(printed.as_bytes()), ders(bundle.as_bytes()), "the P7B holds the chain's two certificates, in order: {printed}");
    let issued = expect(&ids, &invoke, "issue-certificate", 200).await;
    assert!(issued["privateKeyContent"].as_str().is_some_and(|k| k.contains("PRIVATE KEY")));
    assert_issued_verifies(&issued, &bundle);
    ids.set("CERT_ID", &issued["id"]);
    let with_csr = expect(&ids, &invoke, "issue-certificate-with-csr", 200).await;
    assert!(with_csr.get("privateKeyContent").is_none_or(Value::is_null), "no key is generated for a CSR");
    assert_issued_verifies(&with_csr, &bundle);
    use rcgen::PublicKeyData;
    assert_eq!(public_key_of(with_csr["certificateContent"].as_str().unwrap()), csr_key.subject_public_key_info(), "the CSR's key is certified");
    assert_lists(&expect(&ids, &invoke, "list-certificates", 200).await, &[&issued, &with_csr]);
    for (name, status) in [
        ("issue-certificate-server-without-san", 400),
        ("issue-certificate-reader-key", 403),
        ("issue-certificate-no-key", 401),
        ("get-certificate", 200),
        ("get-certificate-unknown", 404),
        ("revoke-certificate-bad-reason", 400),
        ("revoke-certificate", 202),
        ("revoke-certificate", 409),
    ] {
        expect(&ids, &invoke, name, status).await;
    }
    let ran = env.run_jobs().await;
    assert_eq!(ran["batchItemFailures"], serde_json::json!([]), "the CRL job the revocation queued ran: {ran}");
    let revoked = serial_of(issued["certificateContent"].as_str().unwrap());
    assert_crl_lists(&raw(&ids, &invoke, "get-crl", 200).await, true, &bundle, &revoked);
    assert_crl_lists(&raw(&ids, &invoke, "get-crl-pem", 200).await, false, &bundle, &revoked);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_documented_in_process_on_the_embedded_backend() {
    let env = Env::local().await;
    let reader = env.key(&["pki:read"]).await;
    let app = env.app.clone();
    replay_all(&env, &reader, |event| {
        let app = app.clone();
        async move { replay_raw_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_answers_as_documented_through_the_lambda_emulator_on_moto() {
    let env = Env::moto().await;
    let reader = env.key(&["pki:read"]).await;
    let rie = std::sync::Arc::new(Rie::start("pki-api", &moto::lambda_env(&env.state.config)));
    replay_all(&env, &reader, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_raw_through_rie(&rie, &event)) }
    })
    .await;
    assert_emitted(&rie.output(), "CertificatesIssued", "pki", 2);
    assert_emitted(&rie.output(), "CertificatesRevoked", "pki", 1);
}

/// The function's log holds `times` CloudWatch EMF documents counting `metric` for `channel`,
/// each declaring it in the Trustplane namespace per stack and channel.
fn assert_emitted(log: &str, metric: &str, channel: &str, times: usize) {
    let documents: Vec<Value> = log.lines().filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok()).filter(|doc| doc.get("_aws").is_some()).collect();
    let counted: Vec<&Value> = documents.iter().filter(|doc| doc[metric] == 1.0 && doc["Channel"] == channel).collect();
    assert_eq!(counted.len(), times, "{metric} documents in the function's log: {documents:?}");
    let directive = &counted[0]["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "Trustplane");
    assert_eq!(directive["Dimensions"], serde_json::json!([["Stack"], ["Stack", "Channel"]]));
    assert_eq!(directive["Metrics"][0]["Name"], metric);
}
