//! AWS adapters against the moto server the test harness (`infra/test.sh`) starts.

use crate::config::{Backend, Config};

/// The environment variable naming moto's endpoint.
pub const ENDPOINT_VAR: &str = "TRUSTPLANE_TEST_AWS_ENDPOINT";

/// moto's endpoint; panics (never skips) when the harness did not start it.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| panic!("{ENDPOINT_VAR} is not set: run the tests through infra/test.sh, which starts moto"))
}

/// An SDK configuration pointing at moto with test credentials.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "trustplane-tests");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(credentials)
        .load()
        .await
}

/// A configuration with fresh, uniquely named table, bucket and queue created on moto.
pub async fn fresh_config() -> Config {
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.backend = Backend::Aws;
    config.table_name = format!("tp-{suffix}");
    config.blob_bucket = format!("tp-{suffix}");
    config.job_queue_url = String::new();
    config.kms_alias_prefix = format!("alias/tp-{suffix}");
    config.stack_name = format!("tp-{suffix}");
    config.s3_force_path_style = true;
    crate::adapters::aws::bootstrap::create_resources_with(&sdk_config().await, &config).await.expect("create moto resources")
}

/// The process environment a Lambda binary needs to use `config` against moto.
pub fn lambda_env(config: &Config) -> Vec<(String, String)> {
    [
        ("TRUSTPLANE_BACKEND", "aws"),
        ("TABLE_NAME", &config.table_name),
        ("CRL_BUCKET", &config.blob_bucket),
        ("JOB_QUEUE_URL", &config.job_queue_url),
        ("TENANT_QUEUE_URL", &config.tenants.queue_url),
        ("DEVICE_QUEUE_URL", &config.device_queue_url),
        ("TENANT_TOKEN_KEY_ID", &config.tenants.token_key_id),
        ("DEPLOYMENT_MAC_KEY_ID", &config.mac_key_id),
        ("KMS_ALIAS_PREFIX", &config.kms_alias_prefix),
        ("STACK_NAME", &config.stack_name),
        ("S3_FORCE_PATH_STYLE", "true"),
        ("AWS_ENDPOINT_URL", &endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// An [`AppState`](crate::http::AppState) over the AWS adapters on fresh moto resources.
pub async fn state() -> crate::http::AppState {
    let config = fresh_config().await;
    let ports = crate::wiring::aws_ports_with(&sdk_config().await, &config).expect("AWS adapters");
    crate::http::AppState::new(config, ports)
}
