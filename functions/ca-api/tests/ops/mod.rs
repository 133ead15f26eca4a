//! What an operator or a worker does next to the ca-api in these tests: AWS calls against moto
//! (boto3, the AWS SDK for Python installed with moto in `infra/.venv`, as this crate has no
//! Rust AWS SDK among its dev-dependencies), CRL jobs taken off the real queue and run as the
//! CRL worker runs them, and the CA's custody key made unusable for real.
#![allow(dead_code)]

use async_trait::async_trait;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use trustplane_core::adapters::local::LocalQueue;
use trustplane_core::http::AppState;
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::services::pki::Pki;
use trustplane_core::testkit::moto;
use trustplane_core::{Error, Result};

const BOTO3_CALL: &str = r#"
import boto3, json, sys
service, operation, endpoint, params = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
client = boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
print(json.dumps(getattr(client, operation)(**params), default=str))
"#;

/// `service.operation(**params)` through boto3 against moto; its JSON answer. Panics with
/// boto3's error (an AWS error code and message) when the call fails.
pub fn aws(service: &str, operation: &str, params: Value) -> Value {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/.venv/bin/python");
    let out = std::process::Command::new(&python)
        .args(["-c", BOTO3_CALL, service, operation, &moto::endpoint(), &params.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (infra/test.sh creates infra/.venv)", python.display()));
    assert!(out.status.success(), "boto3 {service}.{operation}({params}): {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("boto3 answered JSON")
}

/// Runs queued jobs exactly as `crl_publisher::CrlWorker` does (parse, then
/// `Pki::publish_crl(authority, requested_at)`, a job for an unknown authority dropped), and
/// remembers which jobs it ran.
struct CrlJobs {
    pki: Pki,
    ran: Mutex<Vec<Job>>,
}

#[async_trait]
impl JobHandler for CrlJobs {
    async fn handle(&self, body: &str) -> Result<()> {
        let job = Job::from_body(body)?;
        self.ran.lock().unwrap().push(job.clone());
        let Job::PublishCrl { authority_id, requested_at } = job else {
            return Err(Error::validation(format!("not a CRL job: {body}")));
        };
        match self.pki.publish_crl(&authority_id, requested_at).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Takes every job queued so far off the deployment's queue (the embedded store's job
/// partition through [`LocalQueue::drain_once`], as `serve` drains it; or the SQS queue on
/// moto, each message deleted once handled) and runs it as the CRL worker does. Returns the
/// jobs run; panics if one fails.
pub async fn run_crl_jobs(state: &AppState, on_moto: bool) -> Vec<Job> {
    let handler = CrlJobs { pki: Pki::new(state.ports.clone(), state.config.clone()), ran: Mutex::new(Vec::new()) };
    if on_moto {
        for (receipt, body) in take_sqs_messages(&state.config.job_queue_url) {
            handler.handle(&body).await.unwrap_or_else(|e| panic!("job {body}: {e}"));
            aws("sqs", "delete_message", json!({ "QueueUrl": state.config.job_queue_url, "ReceiptHandle": receipt }));
        }
    } else {
        let report = LocalQueue::new(state.ports.store.clone()).drain_once(&handler).await.expect("drain the job queue");
        assert_eq!((report.failed, report.dead_lettered), (0, 0), "every job ran: {report:?}");
    }
    handler.ran.into_inner().unwrap()
}

/// `(receipt handle, body)` of every message on the queue now.
fn take_sqs_messages(queue_url: &str) -> Vec<(String, String)> {
    let mut messages = Vec::new();
    loop {
        let received = aws("sqs", "receive_message", json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1 }));
        let Some(batch) = received["Messages"].as_array().filter(|m| !m.is_empty()) else { return messages };
        messages.extend(batch.iter().map(|m| (m["ReceiptHandle"].as_str().unwrap().to_owned(), m["Body"].as_str().unwrap().to_owned())));
    }
}

/// An authority's custody key taken out of service for real: on moto its KMS key is disabled
/// (`DisableKey`); embedded, its key file is moved out of the key directory (the embedded
/// custody's only way to lose a key; a running process keeps the key it has read, so the
/// embedded outage is seen by a freshly opened process).
pub struct KeyOutage {
    kms_key: Option<String>,
    moved: Option<(PathBuf, PathBuf)>,
}

impl KeyOutage {
    /// Disables the key of `key_ref` (a KMS key ARN on moto, a key file name embedded).
    pub fn begin(state: &AppState, on_moto: bool, key_ref: &str) -> KeyOutage {
        if on_moto {
            aws("kms", "disable_key", json!({ "KeyId": key_ref }));
            let described = aws("kms", "describe_key", json!({ "KeyId": key_ref }));
            assert_eq!(described["KeyMetadata"]["KeyState"], "Disabled", "{described}");
            return KeyOutage { kms_key: Some(key_ref.to_owned()), moved: None };
        }
        let file = state.config.data_dir.join("keys").join(key_ref);
        let aside = state.config.data_dir.join(format!("{key_ref}.aside"));
        std::fs::rename(&file, &aside).expect("move the key file aside");
        KeyOutage { kms_key: None, moved: Some((file, aside)) }
    }

    /// Puts the key back in service (`EnableKey`, or the key file back in place).
    pub fn end(self) {
        if let Some(key) = &self.kms_key {
            aws("kms", "enable_key", json!({ "KeyId": key }));
        }
        if let Some((file, aside)) = &self.moved {
            std::fs::rename(aside, file).expect("put the key file back");
        }
    }
}

/// The ports a freshly started process over the same deployment would have (empty key and
/// public-key caches): the embedded backend reopened, or the AWS adapters on moto.
pub async fn fresh_ports(state: &AppState, on_moto: bool) -> trustplane_core::wiring::Ports {
    match on_moto {
        true => trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &state.config).expect("AWS adapters"),
        false => trustplane_core::wiring::open(&state.config).await.expect("reopen the embedded backend").0,
    }
}
