//! `trustplane admin create-key` against an AWS deployment's table (moto here).

use std::process::Command;
use trustplane_core::wiring::aws_ports_with as ports_with;
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
fn admin_create_key_refuses_unknown_scopes_and_leaves_the_data_dir_unwritten() {
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["admin", "create-key", "--scopes", "root:everything", "--data-dir"])
        .arg(&data_dir)
        .env("TRUSTPLANE_BACKEND", "local")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data_dir.exists(), "a refused command created {}: {:?}", data_dir.display(), std::fs::read_dir(&data_dir).map(|d| d.map(|e| e.unwrap().file_name()).collect::<Vec<_>>()));
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_create_key_refuses_unknown_scopes_and_leaves_the_table_empty() {
    let config = moto::fresh_config().await;
    assert_eq!(table_items(&config.table_name), 0, "a fresh table");
    let out = Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["admin", "create-key", "--name", "ops", "--scopes", "admin,root:everything"])
        .envs(moto::lambda_env(&config))
        .output()
        .expect("run trustplane admin");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "no key printed: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(table_items(&config.table_name), 0, "a refused command wrote to the table");
}

/// How many items DynamoDB holds in `table` (a consistent scan through boto3, the AWS SDK for
/// Python installed with moto in infra/.venv: this crate has no Rust AWS SDK).
fn table_items(table: &str) -> u64 {
    const SCAN: &str = r#"
import boto3, sys
client = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
pages = client.get_paginator("scan").paginate(TableName=sys.argv[2], Select="COUNT", ConsistentRead=True)
print(sum(page["Count"] for page in pages))
"#;
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/.venv/bin/python");
    let out = Command::new(&python).args(["-c", SCAN, &moto::endpoint(), table]).output().expect("run boto3 (infra/test.sh creates infra/.venv)");
    assert!(out.status.success(), "scan {table}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("an item count")
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_init_ca_creates_a_kms_backed_default_issuer_that_the_functions_find() {
    let config = moto::fresh_config().await;
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_trustplane")).args(["admin", "init-ca"]).envs(moto::lambda_env(&config)).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = tokio::task::block_in_place(run);
    assert_eq!(first["chain_length"], 2, "issuing intermediate and root");
    let again = tokio::task::block_in_place(run);
    assert_eq!(again["default_issuer_id"], first["default_issuer_id"], "init-ca is idempotent");
    let ports = ports_with(&moto::sdk_config().await, &config).unwrap();
    let found = trustplane_core::services::default_issuer::default_issuer(&config, ports.store.as_ref()).await.unwrap();
    assert_eq!(serde_json::json!(found), first["default_issuer_id"]);
    let pki = trustplane_core::services::pki::Pki::new(ports, std::sync::Arc::new(config));
    let issuer = pki.get_authority(&found).await.unwrap();
    assert!(issuer.key.key_ref.starts_with("arn:aws:kms:"), "the CA key lives in KMS: {}", issuer.key.key_ref);
}
