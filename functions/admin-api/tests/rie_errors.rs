//! Error-format parity on the AWS path: 404, 405, 413 and 415 from the built `admin-api`
//! bootstrap under the Lambda Runtime Interface Emulator (on moto) are RFC 9457
//! `application/problem+json` documents, exactly as the same requests answer in-process.

use trustplane_core::domain::Scopes;
use trustplane_core::http::AppState;
use trustplane_core::services::api_keys::KeyName;
use trustplane_core::testkit::parity::{self, Case};
use trustplane_core::testkit::{moto, rie::Rie};

/// The body limit both deployments get, so that a 413 needs no megabyte event.
const MAX_BODY_BYTES: usize = 4096;

/// A well-formed id naming nothing.
const ID: &str = "0190f5a6-7b8c-7d9e-8f00-112233445566";

fn cases() -> Vec<Case> {
    let oversized = format!(r#"{{"name":"{}","scopes":["pki:read"]}}"#, "x".repeat(MAX_BODY_BYTES));
    let key = r#"{"name":"dashboard","scopes":["pki:read"]}"#.to_owned();
    vec![
        ("GET", "/api/v1/nothing".into(), None, None, 404, "NOT_FOUND"),
        ("GET", format!("/api/v1/api-keys/{ID}/extra"), None, None, 404, "NOT_FOUND"),
        ("PUT", "/api/v1/api-keys".into(), Some("application/json"), Some(key.clone()), 405, "METHOD_NOT_ALLOWED"),
        ("GET", format!("/api/v1/api-keys/{ID}"), None, None, 405, "METHOD_NOT_ALLOWED"),
        ("POST", "/api/v1/api-keys".into(), Some("application/json"), Some(oversized), 413, "PAYLOAD_TOO_LARGE"),
        ("POST", "/api/v1/api-keys".into(), Some("text/plain"), Some(key.clone()), 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("POST", "/api/v1/api-keys".into(), Some("application/x-www-form-urlencoded"), Some(key), 415, "UNSUPPORTED_MEDIA_TYPE"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_through_the_lambda_emulator_are_problem_documents_identical_to_in_process() {
    let state = moto::state().await;
    let key = state.api_keys.create(KeyName::parse("rie").unwrap(), Scopes::all()).await.unwrap().secret;
    let mut config = (*state.config).clone();
    config.max_body_bytes = MAX_BODY_BYTES;
    let app = admin_api::app(AppState::new(config, state.ports.clone()));
    let mut env = moto::lambda_env(&state.config);
    env.push(("MAX_BODY_BYTES".into(), MAX_BODY_BYTES.to_string()));
    let rie = Rie::start("admin-api", &env);
    parity::problems_match(&app, &rie, &key, cases()).await;
}
