//! The built `pki-api` bootstrap under the Lambda Runtime Interface Emulator, on the AWS
//! adapters against moto: JSON in and out, and binary bodies (DER CRL, P7B) base64-encoded.

use base64::Engine;
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

#[tokio::test(flavor = "multi_thread")]
async fn subjects_authorities_chains_and_crls_answer_through_the_lambda_runtime_emulator() {
    let config = moto::fresh_config().await;
    let ports = ports_with(&moto::sdk_config().await, &config).unwrap();
    let admin = ApiKeys::new(Arc::clone(&ports.store)).create(KeyName::parse("rie").unwrap(), Scopes::all()).await.unwrap().secret;
    let rie = Rie::start(env!("CARGO_BIN_EXE_pki-api"), &moto::lambda_env(&config));
    let invoke = |e: String| tokio::task::block_in_place(|| rie.invoke(&e));

    let subject = invoke(event("POST", "/api/v1/subjects", &admin, "application/json", Some(json!({ "commonName": "RIE Root" }))));
    assert_eq!(subject["statusCode"], 201, "{subject}");
    let root_body = json!({ "subjectId": body_json(&subject)["id"], "type": "ROOT", "keySpec": { "algorithm": "EC", "size": 256 } });
    let root = invoke(event("POST", "/api/v1/authorities", &admin, "application/json", Some(root_body)));
    assert_eq!(root["statusCode"], 201, "{root}");
    let id = body_json(&root)["id"].as_str().unwrap().to_owned();

    let crl = invoke(event("GET", &format!("/api/v1/issuers/{id}/crl"), &admin, "application/pkix-crl", None));
    assert_eq!(crl["statusCode"], 200, "{crl}");
    assert_eq!(body_bytes(&crl).first(), Some(&0x30), "a DER SEQUENCE");
    let p7b = invoke(event("GET", &format!("/api/v1/authorities/{id}/chain"), &admin, "application/pkcs7-mime", None));
    assert_eq!(body_bytes(&p7b).first(), Some(&0x30));
    let pem = invoke(event("GET", &format!("/api/v1/authorities/{id}/chain"), &admin, "*/*", None));
    assert!(body_bytes(&pem).starts_with(b"-----BEGIN CERTIFICATE-----"), "API Gateway decodes it for the client: {pem}");
    let forbidden = invoke(event("POST", "/api/v1/subjects", "tp_unknown", "application/json", Some(json!({ "commonName": "x" }))));
    assert_eq!(forbidden["statusCode"], 401);
    assert_eq!(body_json(&forbidden)["status"], 401);
}
