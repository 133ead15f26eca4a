//! Sessions, a scripted gateway, the device queue pump and openssl checks for the session,
//! gateway and batch tests (helper A2), over `envelope_kit`'s backends.
#![allow(dead_code)]

use super::envelope_kit::{data, Backend};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use device_worker::DeviceWorker;
use serde_json::{json, Value};
use trustplane_core::adapters::local::LocalQueue;
use trustplane_core::jobs::JobHandler;
use trustplane_core::services::default_issuer::ensure_default_hierarchy;
use trustplane_core::services::devices::Devices;
use trustplane_core::services::pki::{Channel, Pki};
use trustplane_core::testkit::Reply;

pub const BATCH: &str = "/api/v1/provisioning/batch";
pub const SESSIONS: &str = "/api/v1/provisioning/sessions";
pub const GATEWAY: &str = "/api/v1/provisioning/gateway/sessions";

/// The device service of the backend.
pub fn devices(b: &Backend) -> Devices {
    Devices::new(&b.state.ports, b.state.config.clone())
}

pub fn worker(b: &Backend) -> DeviceWorker {
    DeviceWorker::new(devices(b))
}

/// The PKI service of the backend.
pub fn pki(b: &Backend) -> Pki {
    Pki::new(b.state.ports.clone(), b.state.config.clone())
}

/// Creates the default hierarchy (as `serve` does at start); returns (root PEM, issuer PEM).
pub async fn hierarchy(b: &Backend) -> (String, String) {
    let pki = pki(b);
    let issuer = ensure_default_hierarchy(&pki, &b.state.config, b.state.ports.store.as_ref()).await.unwrap();
    let chain = pki.chain(&issuer).await.unwrap();
    let pem = |der: &Vec<u8>| trustplane_core::pki::chain::cert_pem(der);
    (pem(chain.last().unwrap()), pem(&chain[0]))
}

/// The `i`-th test MAC, canonical.
pub fn mac(i: usize) -> String {
    format!("02:00:5E:00:{:02X}:{:02X}", i / 256, i % 256)
}

/// A PEM PKCS#10 request for a P-256 key made on "the device" (rcgen), CN = `cn`.
pub fn csr(cn: &str) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// Adds `mac` to the allowlist through the API.
pub async fn allow(b: &Backend, mac: &str) {
    data(&b.write("POST", "/api/v1/provisioning/allowlist", Some(json!({ "mac": mac }))).await, 201);
}

/// Starts a session the client's way; returns its id.
pub async fn start(b: &Backend) -> String {
    let body = json!({ "target_ssid": "DeliCasa-Prod", "target_password": "correct horse battery", "config": { "provisioning_timeout_seconds": 120 } });
    let d = data(&b.write("POST", &format!("{BATCH}/start"), Some(body)).await, 201);
    d["session"]["id"].as_str().unwrap().to_owned()
}

/// The gateway reports `devices` into session `id`.
pub async fn report(b: &Backend, id: &str, devices: Value) -> Reply {
    let key = b.gateway.clone();
    b.send("POST", &format!("{GATEWAY}/{id}/devices"), Some(&key), Some(json!({ "devices": devices }))).await
}

/// A gateway call on a device of session `id`.
pub async fn gateway_call(b: &Backend, method: &str, id: &str, mac: &str, action: &str, body: Option<Value>) -> Reply {
    let key = b.gateway.clone();
    b.send(method, &format!("{GATEWAY}/{id}/devices/{mac}/{action}"), Some(&key), body).await
}

/// One discovered device's report.
pub fn seen(mac: &str, csr: Option<String>) -> Value {
    let mut d = json!({ "mac": mac, "ip": "192.168.4.23", "rssi": -61, "firmware_version": "1.4.2" });
    if let Some(csr) = csr {
        d["csr"] = json!(csr);
    }
    d
}

/// The session as GET `/batch/{id}` shows it.
pub async fn session(b: &Backend, id: &str) -> Value {
    data(&b.get(&format!("{BATCH}/{id}")).await, 200)
}

/// Device `mac` of session `id` as listed.
pub async fn device(b: &Backend, id: &str, mac: &str) -> Value {
    let d = data(&b.get(&format!("{BATCH}/{id}/devices")).await, 200);
    d["devices"].as_array().unwrap().iter().find(|d| d["mac"] == mac).cloned().unwrap_or_else(|| panic!("no {mac} in {d}"))
}

/// Certificates in the inventory for `mac`, device channel.
pub async fn certificates(b: &Backend, mac: &str) -> usize {
    pki(b).certificates_named(Channel::Device, mac).await.unwrap().len()
}

/// Runs queued device jobs through `worker` until none is left; returns deliveries made.
pub async fn pump_with(b: &Backend, worker: &dyn JobHandler) -> usize {
    let mut deliveries = 0;
    for _ in 0..200 {
        let n = match &b.dir {
            Some(_) => {
                let queue = LocalQueue::new(b.state.ports.store.clone());
                let r = queue.drain_once(worker).await.unwrap();
                r.processed + r.failed + r.dead_lettered
            }
            None => sqs_round(b, worker).await,
        };
        if n == 0 {
            return deliveries;
        }
        deliveries += n;
    }
    panic!("the device queue never emptied");
}

/// [`pump_with`] the device worker.
pub async fn pump(b: &Backend) -> usize {
    pump_with(b, &worker(b)).await
}

/// One SQS receive → one Lambda-style batch → delete the successes, release the failures.
async fn sqs_round(b: &Backend, worker: &dyn JobHandler) -> usize {
    let sdk = trustplane_core::testkit::moto::sdk_config().await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let url = b.state.config.device_queue_url.clone();
    let out = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    let messages = out.messages.unwrap_or_default();
    if messages.is_empty() {
        return 0;
    }
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.body = m.body.clone();
            let count = m.attributes().and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)).cloned();
            record.attributes.insert("ApproximateReceiveCount".into(), count.unwrap_or_else(|| "1".into()));
            record
        })
        .collect();
    let response = trustplane_core::jobs::process_sqs_batch(event, worker).await;
    let failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    for m in &messages {
        let handle = m.receipt_handle().unwrap();
        if failed.iter().any(|id| Some(id.as_str()) == m.message_id()) {
            client.change_message_visibility().queue_url(&url).receipt_handle(handle).visibility_timeout(0).send().await.unwrap();
        } else {
            client.delete_message().queue_url(&url).receipt_handle(handle).send().await.unwrap();
        }
    }
    messages.len()
}

/// Drops every queued device job unprocessed (a lost message, a killed process).
pub async fn purge(b: &Backend) {
    struct Drop;
    #[async_trait::async_trait]
    impl JobHandler for Drop {
        async fn handle(&self, _: &str) -> trustplane_core::Result<()> {
            Ok(())
        }
    }
    pump_with(b, &Drop).await;
}

/// Runs `openssl` with files written to a temp dir first (`{name}` in an argument is that
/// file's path); `(success, output)`.
pub fn openssl(args: &[&str], files: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| files.iter().fold(a.to_string(), |acc, (name, _)| acc.replace(&format!("{{{name}}}"), &dir.path().join(name).display().to_string())))
        .collect();
    let out = std::process::Command::new("openssl").args(&args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `openssl verify -CAfile <root> -untrusted <chain> <cert>` says OK, as a TLS client cert.
pub fn assert_verifies(root: &str, chain: &str, cert: &str) {
    let files = [("root.pem", root), ("chain.pem", chain), ("cert.pem", cert)];
    let (ok, output) = openssl(&["verify", "-purpose", "sslclient", "-CAfile", "{root.pem}", "-untrusted", "{chain.pem}", "{cert.pem}"], &files);
    assert!(ok && output.contains(": OK"), "openssl verify: {output}");
}

/// The certificate's subject as openssl prints it (`-nameopt RFC2253`).
pub fn subject(cert: &str) -> String {
    let (ok, output) = openssl(&["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", "{c.pem}"], &[("c.pem", cert)]);
    assert!(ok, "{output}");
    output.trim().to_owned()
}

/// The public key of a certificate (`kind` `x509`), a CSR (`req`) or a private key (`pkey`), PEM.
pub fn public_key(pem: &str, kind: &str) -> String {
    let args: &[&str] = match kind {
        "pkey" => &["pkey", "-pubout", "-in", "{in.pem}"],
        _ => &[kind, "-noout", "-pubkey", "-in", "{in.pem}"],
    };
    let (ok, output) = openssl(args, &[("in.pem", pem)]);
    assert!(ok, "{output}");
    output
}

/// The same backend with `DEVICE_GATEWAY_TIMEOUT_SECONDS` set.
pub async fn with_timeout(b: Backend, secs: u64) -> Backend {
    let mut config = (*b.state.config).clone();
    config.device_gateway_timeout_secs = secs;
    let state = trustplane_core::http::AppState::new(config, b.state.ports.clone());
    Backend { app: devices_api::app(state.clone()), state, ..b }
}
