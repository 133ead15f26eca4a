//! One test environment per backend (embedded, or the AWS adapters on moto), API helpers,
//! OpenSSL and a scan of everything persisted outside key custody.

#![allow(dead_code)]

use axum::Router;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use trustplane_core::config::Config;
use trustplane_core::http::AppState;
use trustplane_core::services::pki::Pki;
use trustplane_core::testkit::{call, mint_key, moto, Reply};

/// Every log line of this test process (DEBUG and up).
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let writer = LogSink(sink.clone());
        let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_ansi(false).with_writer(move || writer.clone()).try_init();
        sink
    });
}

/// What the process has logged so far.
pub fn logs() -> String {
    LOGS.get().map(|l| String::from_utf8_lossy(&l.lock().unwrap()).into_owned()).unwrap_or_default()
}

pub enum Backend {
    Local { _dir: tempfile::TempDir, data_dir: PathBuf },
    Moto { sdk: Box<aws_config::SdkConfig> },
}

/// A backend with the pki-api app over it and an admin key.
pub struct Env {
    pub state: AppState,
    pub app: Router,
    pub admin: String,
    pub backend: Backend,
}

impl Env {
    /// The embedded backend in a temp dir.
    pub async fn local() -> Env {
        capture_logs();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.data_dir = dir.path().to_path_buf();
        let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
        let data_dir = dir.path().to_path_buf();
        Env::over(AppState::new(config, ports), Backend::Local { _dir: dir, data_dir }).await
    }

    /// The AWS adapters on moto, with a fresh table, bucket and queue.
    pub async fn moto() -> Env {
        capture_logs();
        let config = moto::fresh_config().await;
        let sdk = moto::sdk_config().await;
        let ports = trustplane_core::wiring::aws_ports_with(&sdk, &config).unwrap();
        Env::over(AppState::new(config, ports), Backend::Moto { sdk: Box::new(sdk) }).await
    }

    async fn over(state: AppState, backend: Backend) -> Env {
        let admin = mint_key(&state, &["pki:read", "pki:issue", "pki:admin", "pki:revoke"]).await;
        Env { app: pki_api::app(state.clone()), state, admin, backend }
    }

    pub fn pki(&self) -> Pki {
        Pki::new(self.state.ports.clone(), self.state.config.clone())
    }

    pub fn worker(&self) -> crl_publisher::CrlWorker {
        crl_publisher::CrlWorker::new(self.pki())
    }

    pub async fn key(&self, scopes: &[&str]) -> String {
        mint_key(&self.state, scopes).await
    }

    /// One request; `key` None sends no `X-API-Key`.
    pub async fn request(&self, method: &str, path: &str, key: Option<&str>, body: Option<&Value>, accept: Option<&str>) -> Reply {
        let mut builder = http::Request::builder().method(method).uri(path);
        if let Some(key) = key {
            builder = builder.header("x-api-key", key);
        }
        if let Some(accept) = accept {
            builder = builder.header("accept", accept);
        }
        let body = match body {
            Some(v) => {
                builder = builder.header("content-type", "application/json");
                axum::body::Body::from(v.to_string())
            }
            None => axum::body::Body::empty(),
        };
        call(&self.app, builder.body(body).unwrap()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request("POST", path, Some(&self.admin), Some(&body), None).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, Some(&self.admin), None, None).await
    }

    pub async fn get_as(&self, path: &str, accept: &str) -> Reply {
        self.request("GET", path, Some(&self.admin), None, Some(accept)).await
    }

    /// A new subject's id.
    pub async fn subject(&self, cn: &str) -> String {
        let reply = self.post("/api/v1/subjects", json!({ "commonName": cn, "organization": "Trustplane Test", "country": "DE" })).await;
        assert_eq!(reply.status, 201, "{:?}", String::from_utf8_lossy(&reply.body));
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    /// A root authority with `keySpec` (algorithm, size), allowed to sign leaves too.
    pub async fn root(&self, spec: (&str, u32)) -> Value {
        let subject = self.subject("Test Root CA").await;
        let body = json!({ "subjectId": subject, "type": "ROOT", "keySpec": { "algorithm": spec.0, "size": spec.1 }, "policy": { "validityYears": 10, "allowLeafIssuance": true } });
        let reply = self.post("/api/v1/authorities", body).await;
        assert_eq!(reply.status, 201, "{}", reply.json());
        reply.json()
    }

    /// An intermediate under `parent` with pathLenConstraint 0.
    pub async fn intermediate(&self, parent: &Value, spec: (&str, u32)) -> Value {
        let subject = self.subject("Test Issuing CA").await;
        let body = json!({
            "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": parent["id"],
            "keySpec": { "algorithm": spec.0, "size": spec.1 }, "policy": { "validityYears": 5, "pathLenConstraint": 0 },
        });
        let reply = self.post("/api/v1/authorities", body).await;
        assert_eq!(reply.status, 201, "{}", reply.json());
        reply.json()
    }

    /// A TLS_SERVER certificate for `www.example.com` from `issuer`, with a generated key.
    pub async fn leaf(&self, issuer: &Value) -> Value {
        let subject = self.subject("www.example.com").await;
        let body = json!({ "subjectId": subject, "template": "TLS_SERVER", "validityDays": 90, "san": { "dnsNames": ["www.example.com"] } });
        let reply = self.post(&format!("/api/v1/issuers/{}/certificates", issuer["id"].as_str().unwrap()), body).await;
        assert_eq!(reply.status, 200, "{}", reply.json());
        reply.json()
    }

    /// The job bodies queued so far, with message ids, removed from the queue.
    pub async fn take_jobs(&self) -> Vec<(String, String)> {
        match &self.backend {
            Backend::Local { .. } => take_local_jobs(&self.state).await,
            Backend::Moto { sdk } => take_sqs_jobs(sdk, &self.state.config.job_queue_url).await,
        }
    }

    /// Takes the queued jobs and hands them to the CRL worker as one SQS event (JSON, as
    /// Lambda delivers it); returns the worker's answer.
    pub async fn run_jobs(&self) -> Value {
        let records: Vec<Value> = self.take_jobs().await.into_iter().map(|(id, body)| json!({ "messageId": id, "body": body, "eventSource": "aws:sqs" })).collect();
        let event: crl_publisher::WorkerEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
        serde_json::to_value(self.worker().handle_event(event).await.unwrap()).unwrap()
    }

    /// Everything persisted outside key custody: data dir files except `keys/` (embedded), or
    /// every DynamoDB item and S3 object (moto).
    pub async fn persisted(&self) -> String {
        match &self.backend {
            Backend::Local { data_dir, .. } => local_files(data_dir, &data_dir.join("keys")),
            Backend::Moto { sdk } => moto_contents(sdk, &self.state.config).await,
        }
    }

    /// Searchable renderings (hex, base64 at every byte alignment) of every CA key file's
    /// secret numbers (EC scalar; RSA d, p, q), embedded custody only. Public parts of a key
    /// (modulus, point) are left out: they legitimately appear in certificates.
    pub fn ca_key_lines(&self) -> Vec<String> {
        let Backend::Local { data_dir, .. } = &self.backend else { return Vec::new() };
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(data_dir.join("keys")).unwrap() {
            for secret in pkcs8_secrets(&std::fs::read_to_string(entry.unwrap().path()).unwrap()) {
                lines.extend(renderings(&secret));
            }
        }
        lines
    }
}

/// The secret integers of a PKCS#8 PEM key (RFC 5208 / RFC 5915 / RFC 8017 A.1.2).
pub fn pkcs8_secrets(pem: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    use x509_parser::der_parser::parse_der;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    let (_, info) = parse_der(&der).unwrap();
    let inner = info.as_sequence().unwrap()[2].as_slice().unwrap();
    let (_, key) = parse_der(inner).unwrap();
    let fields = key.as_sequence().unwrap();
    if fields.len() >= 9 {
        [3, 4, 5].iter().map(|i| fields[*i].as_slice().unwrap().to_vec()).collect()
    } else {
        vec![fields[1].as_slice().unwrap().to_vec()]
    }
}

/// Hex and base64 (at each of the three byte alignments) renderings of `secret`.
pub fn renderings(secret: &[u8]) -> Vec<String> {
    use base64::Engine;
    let mut out = vec![hex_upper(secret), hex_upper(secret).to_ascii_lowercase()];
    for skip in 0..3 {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&secret[skip..]);
        out.push(b64[..b64.len().saturating_sub(4)].to_owned());
    }
    out
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

async fn take_local_jobs(state: &AppState) -> Vec<(String, String)> {
    use trustplane_core::adapters::local::QUEUE_PARTITION;
    use trustplane_core::ports::{Condition, Query};
    let page = state.ports.store.query(Query::partition(QUEUE_PARTITION)).await.unwrap();
    let mut jobs = Vec::new();
    for item in page.items {
        state.ports.store.delete(&item.pk, &item.sk, Condition::Always).await.unwrap();
        jobs.push((item.sk.clone(), item.data["body"].as_str().unwrap().to_owned()));
    }
    jobs
}

async fn take_sqs_jobs(sdk: &aws_config::SdkConfig, queue_url: &str) -> Vec<(String, String)> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut jobs = Vec::new();
    loop {
        let out = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return jobs;
        }
        for m in messages {
            sqs.delete_message().queue_url(queue_url).receipt_handle(m.receipt_handle.clone().unwrap()).send().await.unwrap();
            jobs.push((m.message_id.unwrap(), m.body.unwrap()));
        }
    }
}

fn local_files(dir: &Path, skip: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path == skip {
            continue;
        }
        if path.is_dir() {
            all.push_str(&local_files(&path, skip));
        } else {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    all
}

async fn moto_contents(sdk: &aws_config::SdkConfig, config: &Config) -> String {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let mut all = String::new();
    let mut start = None;
    loop {
        let out = dynamodb.scan().table_name(&config.table_name).set_exclusive_start_key(start).send().await.unwrap();
        for item in out.items.unwrap_or_default() {
            all.push_str(&format!("{item:?}\n"));
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    let listed = s3.list_objects_v2().bucket(&config.blob_bucket).send().await.unwrap();
    for object in listed.contents.unwrap_or_default() {
        let got = s3.get_object().bucket(&config.blob_bucket).key(object.key.unwrap()).send().await.unwrap();
        all.push_str(&String::from_utf8_lossy(&got.body.collect().await.unwrap().into_bytes()));
    }
    all
}

/// The published CRL object on S3 (moto).
pub async fn s3_crl(sdk: &aws_config::SdkConfig, config: &Config, authority_id: &str) -> Vec<u8> {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    let got = s3.get_object().bucket(&config.blob_bucket).key(format!("crl/{authority_id}.crl")).send().await.unwrap();
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

/// Files for OpenSSL in a temp dir.
pub struct Files(pub tempfile::TempDir);

impl Files {
    pub fn new() -> Files {
        Files(tempfile::tempdir().unwrap())
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.0.path().join(name), bytes).unwrap();
        self
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.path().join(name)).unwrap()
    }

    /// Runs `openssl args` in the directory: (success, stdout + stderr).
    pub fn openssl(&self, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new("openssl").args(args).current_dir(self.0.path()).output().expect("openssl");
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

/// Runs each `name => scenario` as `local::name` (embedded backend) and `moto::name`.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident => $scenario:expr;)*) => {
        mod local {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                ($scenario)(Env::local().await).await
            })*
        }
        mod moto {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                ($scenario)(Env::moto().await).await
            })*
        }
    };
}

pub fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

pub fn pem(v: &Value) -> &str {
    v["certificateContent"].as_str().unwrap()
}

pub fn issue_path(issuer: &Value) -> String {
    format!("/api/v1/issuers/{}/certificates", id(issuer))
}

/// Hex without separators, leading zeros or case, as OpenSSL and the API may differ on them.
pub fn norm_serial(hex: &str) -> String {
    hex.chars().filter(|c| c.is_ascii_hexdigit()).collect::<String>().trim_start_matches('0').to_ascii_uppercase()
}

/// The CRL Number `openssl crl -text` shows.
pub fn crl_number(text: &str) -> u64 {
    let mut lines = text.lines().skip_while(|l| !l.contains("X509v3 CRL Number"));
    lines.nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or_else(|| panic!("no CRL number in {text}"))
}

pub fn crl_serials(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.trim().strip_prefix("Serial Number:")).map(norm_serial).collect()
}

pub async fn revoke(env: &Env, cert: &Value, reason: &str) -> Reply {
    env.post(&format!("/api/v1/certificates/{}/revocation", id(cert)), json!({ "reason": reason, "comment": "disk was not wiped" })).await
}
