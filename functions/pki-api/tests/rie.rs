//! The built `pki-api` bootstrap under the Lambda Runtime Interface Emulator, on the AWS
//! adapters against moto: JSON in and out, and binary bodies (DER CRL, P7B) base64-encoded,
//! decoded and checked with openssl (the CRL verifies under its issuer, the P7B is the chain).

mod common;

use base64::Engine;
use common::{crl_number, Files};
use serde_json::{json, Value};
use std::sync::Arc;
use trustplane_core::wiring::aws_ports_with as ports_with;
use trustplane_core::domain::Scopes;
use trustplane_core::services::api_keys::{ApiKeys, KeyName};
use trustplane_core::testkit::{moto, rie::Rie};

/// An API Gateway HTTP API (payload 2.0) event.
fn event(method: &str, path: &str, key: &str, accept: &str, body: Option<Value>) -> String {
    let mut headers = json!({ "accept": accept, "host": "api.example.com", "x-api-key": key });
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    trustplane_core::testkit::api_gateway_event(method, path, headers, body.map(|b| b.to_string()).as_deref())
}

fn body_json(reply: &Value) -> Value {
    serde_json::from_str(reply["body"].as_str().unwrap()).unwrap()
}

fn body_bytes(reply: &Value) -> Vec<u8> {
    assert_eq!(reply["isBase64Encoded"], true, "{reply}");
    base64::engine::general_purpose::STANDARD.decode(reply["body"].as_str().unwrap()).unwrap()
}

/// The DER certificates of a PEM bundle (text around them ignored), in order.
fn ders(bundle: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(bundle).map(|pem| pem.expect("a PEM block").contents).collect()
}

/// Splits a PEM bundle into its certificates' PEM texts, in order.
fn pems(bundle: &str) -> Vec<String> {
    bundle.split_inclusive("-----END CERTIFICATE-----").filter_map(|p| p.find("-----BEGIN").map(|at| p[at..].to_owned() + "\n")).collect()
}

/// The DER CRL verifies under `issuer_pem` and is numbered 1 (the authority's first CRL).
fn assert_first_crl_verifies(der: &[u8], issuer_pem: &str) {
    let files = Files::new();
    files.write("crl.der", der).write("issuer.pem", issuer_pem);
    let (ok, text) = files.openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "issuer.pem", "-noout", "-text"]);
    assert!(ok && text.contains("verify OK"), "the CRL verifies under its issuer: {text}");
    assert_eq!(crl_number(&text), 1, "{text}");
}

/// The DER P7B holds exactly the PEM chain's certificates, in order, and they form a chain:
/// the intermediate verifies under the self-signed root.
fn assert_p7b_is_the_chain(der: &[u8], chain: &[String]) {
    let files = Files::new();
    files.write("chain.p7b", der);
    let (ok, printed) = files.openssl(&["pkcs7", "-inform", "DER", "-in", "chain.p7b", "-print_certs"]);
    assert!(ok, "a DER PKCS#7: {printed}");
    let chain_ders: Vec<Vec<u8>> = chain.iter().flat_map(|pem| ders(pem.as_bytes())).collect();
    assert_eq!(ders(printed.as_bytes()), chain_ders, "the P7B carries the chain, in order: {printed}");
    files.write("int.pem", &chain[0]).write("root.pem", &chain[1]);
    let (ok, out) = files.openssl(&["verify", "-check_ss_sig", "-CAfile", "root.pem", "int.pem"]);
    assert!(ok && out.contains("int.pem: OK"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn subjects_authorities_chains_and_crls_answer_through_the_lambda_runtime_emulator() {
    let config = moto::fresh_config().await;
    let ports = ports_with(&moto::sdk_config().await, &config).unwrap();
    let admin = ApiKeys::new(Arc::clone(&ports.store)).create(KeyName::parse("rie").unwrap(), Scopes::all()).await.unwrap().secret;
    let rie = Rie::start("pki-api", &moto::lambda_env(&config));
    let invoke = |e: String| tokio::task::block_in_place(|| rie.invoke(&e));
    let create = |path: &str, body: Value| {
        let reply = invoke(event("POST", path, &admin, "application/json", Some(body)));
        assert_eq!(reply["statusCode"], 201, "{reply}");
        body_json(&reply)["id"].as_str().unwrap().to_owned()
    };

    let root_subject = create("/api/v1/subjects", json!({ "commonName": "RIE Root" }));
    let root = create("/api/v1/authorities", json!({ "subjectId": root_subject, "type": "ROOT", "keySpec": { "algorithm": "EC", "size": 256 } }));
    let int_subject = create("/api/v1/subjects", json!({ "commonName": "RIE Issuing CA" }));
    let id = create("/api/v1/authorities", json!({ "subjectId": int_subject, "type": "INTERMEDIATE", "parentAuthorityId": root, "policy": { "pathLenConstraint": 0 } }));

    let pem = invoke(event("GET", &format!("/api/v1/authorities/{id}/chain"), &admin, "*/*", None));
    let chain = pems(std::str::from_utf8(&body_bytes(&pem)).unwrap());
    assert_eq!(chain.len(), 2, "API Gateway decodes the PEM chain for the client, intermediate then root: {pem}");
    let crl = invoke(event("GET", &format!("/api/v1/issuers/{id}/crl"), &admin, "application/pkix-crl", None));
    assert_eq!(crl["statusCode"], 200, "{crl}");
    assert_first_crl_verifies(&body_bytes(&crl), &chain[0]);
    let p7b = invoke(event("GET", &format!("/api/v1/authorities/{id}/chain"), &admin, "application/pkcs7-mime", None));
    assert_eq!(p7b["statusCode"], 200, "{p7b}");
    assert_p7b_is_the_chain(&body_bytes(&p7b), &chain);
    let forbidden = invoke(event("POST", "/api/v1/subjects", "tp_unknown", "application/json", Some(json!({ "commonName": "x" }))));
    assert_eq!(forbidden["statusCode"], 401);
    assert_eq!(body_json(&forbidden)["status"], 401);
}
