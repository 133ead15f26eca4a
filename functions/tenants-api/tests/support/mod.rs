//! Backends, requests and the queue pump for the tenants-api tests.
#![allow(dead_code)]

pub mod faults;
pub mod seed;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tenant_worker::{TenantWorker, WorkerEvent, WorkerResponse};
use trustplane_core::adapters::local::LocalQueue;
use trustplane_core::config::Config;
use trustplane_core::http::AppState;
use trustplane_core::jobs::JobHandler;
use trustplane_core::services::tenants::Tenants;
use trustplane_core::testkit::{call, mint_key, moto, Reply};

/// Where queued jobs wait: the embedded queue, or an SQS queue on moto.
pub enum Pump {
    Local(Arc<LocalQueue>),
    Sqs { client: aws_sdk_sqs::Client, url: String },
}

/// The tenants API over one backend family, with an admin key.
pub struct Backend {
    pub state: AppState,
    pub app: Router,
    pub admin: String,
    pub pump: Pump,
    pub dir: Option<tempfile::TempDir>,
}

/// Test defaults: no rate limit in the way unless a test sets one.
fn relaxed(config: &mut Config) {
    config.tenants.init_burst = 100_000;
    config.tenants.init_per_minute = 100_000;
    config.tenants.max_pending_per_ip = 100_000;
}

impl Backend {
    async fn finish(state: AppState, pump: Pump, dir: Option<tempfile::TempDir>) -> Self {
        let admin = mint_key(&state, &["admin"]).await;
        Backend { app: tenants_api::app(state.clone()), state, admin, pump, dir }
    }

    pub async fn sqlite() -> Self {
        Self::sqlite_with(|_| {}).await
    }

    pub async fn moto() -> Self {
        Self::moto_with(|_| {}).await
    }

    pub async fn sqlite_with(change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.data_dir = dir.path().to_path_buf();
        relaxed(&mut config);
        config.queue_retry_backoff = false;
        change(&mut config);
        let (ports, queue) = trustplane_core::wiring::open(&config).await.unwrap();
        let queue = queue.expect("the embedded backend has a local queue");
        Self::finish(AppState::new(config, ports), Pump::Local(queue), Some(dir)).await
    }

    pub async fn moto_with(change: impl FnOnce(&mut Config)) -> Self {
        let mut config = moto::fresh_config().await;
        relaxed(&mut config);
        change(&mut config);
        let sdk = moto::sdk_config().await;
        let ports = trustplane_core::wiring::aws_ports_with(&sdk, &config).unwrap();
        let pump = Pump::Sqs { client: aws_sdk_sqs::Client::new(&sdk), url: config.tenants.queue_url.clone() };
        Self::finish(AppState::new(config, ports), pump, None).await
    }

    pub fn tenants(&self) -> Tenants {
        Tenants::new(&self.state.ports, self.state.config.clone())
    }

    pub fn worker(&self) -> TenantWorker {
        TenantWorker::new(self.tenants())
    }

    pub fn is_moto(&self) -> bool {
        matches!(self.pump, Pump::Sqs { .. })
    }

    /// Runs queued jobs through `worker` until none is left; returns deliveries made.
    pub async fn pump_with(&self, worker: &TenantWorker) -> usize {
        let mut deliveries = 0;
        for _ in 0..100 {
            let n = match &self.pump {
                Pump::Local(queue) => {
                    let r = queue.drain_once(worker as &dyn JobHandler).await.unwrap();
                    r.processed + r.failed + r.dead_lettered
                }
                Pump::Sqs { client, url } => sqs_round(client, url, worker).await,
            };
            if n == 0 {
                return deliveries;
            }
            deliveries += n;
        }
        panic!("the tenant queue never emptied");
    }

    /// [`Backend::pump_with`] the normal worker.
    pub async fn pump(&self) -> usize {
        self.pump_with(&self.worker()).await
    }

    /// Drops every queued job unprocessed (a lost message).
    pub async fn purge(&self) {
        match &self.pump {
            Pump::Local(queue) => {
                struct Drop;
                #[async_trait::async_trait]
                impl JobHandler for Drop {
                    async fn handle(&self, _: &str) -> trustplane_core::Result<()> {
                        Ok(())
                    }
                }
                queue.drain_once(&Drop).await.unwrap();
            }
            Pump::Sqs { client, url } => {
                while let Some(messages) = receive(client, url).await {
                    for m in messages {
                        client.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
                    }
                }
            }
        }
    }
}

async fn receive(client: &aws_sdk_sqs::Client, url: &str) -> Option<Vec<aws_sdk_sqs::types::Message>> {
    let out = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    out.messages.filter(|m| !m.is_empty())
}

/// One SQS receive → one Lambda-style batch → delete the successes, release the failures.
async fn sqs_round(client: &aws_sdk_sqs::Client, url: &str, worker: &TenantWorker) -> usize {
    let Some(messages) = receive(client, url).await else { return 0 };
    let records = messages
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
    let mut event = SqsEvent::default();
    event.records = records;
    let WorkerResponse::Sqs(response) = worker.handle_event(WorkerEvent::Sqs(event)).await.unwrap() else { panic!("not an SQS answer") };
    let failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    for m in &messages {
        let handle = m.receipt_handle().unwrap();
        if failed.iter().any(|id| Some(id.as_str()) == m.message_id()) {
            client.change_message_visibility().queue_url(url).receipt_handle(handle).visibility_timeout(0).send().await.unwrap();
        } else {
            client.delete_message().queue_url(url).receipt_handle(handle).send().await.unwrap();
        }
    }
    messages.len()
}

/// A request from `ip` (the socket address `serve` would see).
pub fn request(method: &str, path: &str, body: Option<String>, headers: &[(&str, &str)], ip: Option<&str>) -> http::Request<axum::body::Body> {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let mut req = builder.body(body.map_or_else(axum::body::Body::empty, axum::body::Body::from)).unwrap();
    if let Some(ip) = ip {
        let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    }
    req
}

pub async fn init(b: &Backend, name: &str, slug: &str, plan: &str) -> Reply {
    init_from(b, name, slug, plan, None).await
}

pub async fn init_from(b: &Backend, name: &str, slug: &str, plan: &str, ip: Option<&str>) -> Reply {
    let body = serde_json::json!({ "name": name, "slug": slug, "plan": plan }).to_string();
    call(&b.app, request("POST", "/provision/tenants/init", Some(body), &[("content-type", "application/json")], ip)).await
}

pub async fn confirm(b: &Backend, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    call(&b.app, request("POST", "/provision/tenants/confirm", None, &[("authorization", &auth)], None)).await
}

pub async fn status(b: &Backend, id: &str) -> Reply {
    call(&b.app, request("GET", &format!("/provision/tenants/{id}/status"), None, &[], None)).await
}

pub async fn admin(b: &Backend, method: &str, path: &str) -> Reply {
    call(&b.app, request(method, path, None, &[("x-api-key", &b.admin)], None)).await
}

/// The queued provisioning job of tenant `id`, as confirm sends it.
pub fn job(id: &str) -> String {
    serde_json::to_string(&trustplane_core::jobs::Job::ProvisionTenant { tenant_id: id.to_owned() }).unwrap()
}

/// A unique slug.
pub fn slug(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Init + confirm; returns (provisioningId, token).
pub async fn confirmed(b: &Backend, slug: &str, plan: &str) -> (String, String) {
    let reply = init(b, "Acme Corporation", slug, plan).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    let (id, token) = (reply.json()["provisioningId"].as_str().unwrap().to_owned(), reply.json()["confirmToken"].as_str().unwrap().to_owned());
    let reply = confirm(b, &token).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    (id, token)
}

/// The tenant's status body.
pub async fn status_json(b: &Backend, id: &str) -> serde_json::Value {
    let reply = status(b, id).await;
    assert_eq!(reply.status, 200, "{:?}", reply.json());
    reply.json()
}
