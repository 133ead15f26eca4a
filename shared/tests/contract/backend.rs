//! One fresh set of adapters per test: the embedded family in a temporary directory, or the
//! AWS family against moto with uniquely named resources (so tests run in parallel).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use std::collections::HashMap;
use std::sync::Arc;
use trustplane_core::adapters::{aws, local};
use trustplane_core::config::Config;
use trustplane_core::wiring::Ports;

/// The variable naming the moto server's URL (set by `infra/test.sh`).
pub const ENDPOINT_VAR: &str = "TRUSTPLANE_TEST_AWS_ENDPOINT";

/// A backend under test: its ports plus what a test needs to look behind them.
pub struct Backend {
    pub ports: Ports,
    pub kind: Kind,
    /// The configuration the ports were built from (on moto, as bootstrap completed it).
    pub config: Config,
    /// moto's SDK configuration, for tests that inspect AWS resources directly.
    pub sdk: Option<SdkConfig>,
}

/// The backend family and its extra handles.
pub enum Kind {
    /// The embedded adapters; the queue is drained in process.
    Sqlite { queue: Arc<local::LocalQueue>, _dir: tempfile::TempDir },
    /// The AWS adapters on moto; the test receives from the queue with the SDK.
    Moto { sqs: aws_sdk_sqs::Client, queue_url: String },
}

impl Backend {
    /// The embedded adapters under a new temporary data directory.
    pub async fn sqlite() -> Backend {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().display().to_string();
        let config = config(&[("TRUSTPLANE_BACKEND", "local"), ("TRUSTPLANE_DATA_DIR", &data_dir), ("QUEUE_RETRY_BACKOFF", "false")]);
        let (ports, queue) = trustplane_core::wiring::open_local(&config).expect("open embedded backend");
        Backend { ports, kind: Kind::Sqlite { queue, _dir: dir }, config, sdk: None }
    }

    /// The AWS adapters on moto, with a table, bucket, queues and KMS alias prefix of their own.
    pub async fn moto() -> Backend {
        let sdk = moto_sdk_config().await;
        let run = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("tp-{run}");
        let alias_prefix = format!("alias/{name}");
        let config = config(&[
            ("TRUSTPLANE_BACKEND", "aws"),
            ("TABLE_NAME", &name),
            ("CRL_BUCKET", &name),
            ("STACK_NAME", &name),
            ("KMS_ALIAS_PREFIX", &alias_prefix),
            ("S3_FORCE_PATH_STYLE", "true"),
        ]);
        let config = aws::bootstrap::create_resources_with(&sdk, &config).await.expect("create moto resources");
        let ports = trustplane_core::wiring::aws_ports_with(&sdk, &config).expect("AWS adapters");
        let kind = Kind::Moto { sqs: aws_sdk_sqs::Client::new(&sdk), queue_url: config.job_queue_url.clone() };
        Backend { ports, kind, config, sdk: Some(sdk) }
    }
}

fn config(pairs: &[(&str, &str)]) -> Config {
    let map: HashMap<&str, &str> = pairs.iter().copied().collect();
    Config::from_lookup(|k| map.get(k).map(|v| v.to_string())).expect("test configuration")
}

/// Explicit test credentials and region, and moto's endpoint; never the developer's profile.
async fn moto_sdk_config() -> SdkConfig {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "{ENDPOINT_VAR} is not set: the moto contract tests need a moto server. Run infra/test.sh, or start \
         `infra/.venv/bin/python infra/moto_launcher.py --port 5055` and export {ENDPOINT_VAR}=http://127.0.0.1:5055"
    );
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "contract-tests"))
        .load()
        .await
}
