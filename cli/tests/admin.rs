//! `trustplane admin create-key` against an AWS deployment's table (moto here).

use std::process::Command;
use trustplane_core::adapters::aws::ports_with;
use trustplane_core::domain::Scope;
use trustplane_core::services::api_keys::ApiKeys;
use trustplane_core::testkit::moto;

#[tokio::test(flavor = "multi_thread")]
async fn admin_create_key_mints_a_working_key_in_dynamodb_with_aws_credentials() {
    let config = moto::fresh_config().await;
    let out = Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["admin", "create-key", "--name", "ops", "--scopes", "admin"])
        .envs(moto::lambda_env(&config))
        .output()
        .expect("run trustplane admin");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let secret = printed["key"].as_str().expect("key printed once");
    let ports = ports_with(&moto::sdk_config().await, &config).unwrap();
    let record = ApiKeys::new(ports.store).authenticate(secret).await.expect("the key authenticates against DynamoDB");
    assert!(record.scopes.grants(Scope::PkiAdmin));
    assert_eq!(record.name, "ops");
}

#[test]
fn admin_create_key_refuses_unknown_scopes_without_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["admin", "create-key", "--scopes", "root:everything", "--data-dir"])
        .arg(dir.path())
        .env("TRUSTPLANE_BACKEND", "local")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope"));
}
