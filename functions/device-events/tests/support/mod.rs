//! A real HTTP server around the device-events router on each backend, and an SSE client
//! that parses the wire format (blocks separated by a blank line, `field:value` lines).
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::time::Duration;
use trustplane_core::config::Config;
use trustplane_core::http::AppState;
use trustplane_core::services::devices::events::{self, DeviceEvent, EventKind};
use trustplane_core::services::devices::sessions::StartSession;
use trustplane_core::services::devices::Devices;
use trustplane_core::testkit::{mint_key, moto};

/// The router served on 127.0.0.1, over one backend, with a `devices:read` key.
pub struct Backend {
    pub state: AppState,
    pub addr: SocketAddr,
    pub key: String,
    pub dir: Option<tempfile::TempDir>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Test timings: fast polls and a short settle, no heartbeat in the way.
pub fn quick(config: &mut Config) {
    config.device_events.poll = Duration::from_millis(20);
    // Wider than a loaded moto's commit latency: an event committed later than this behind its
    // id would be read past (the settle window is the log's ordering assumption).
    config.device_events.settle = Duration::from_millis(250);
    config.device_events.heartbeat = Duration::from_secs(600);
}

impl Backend {
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
        quick(&mut config);
        change(&mut config);
        let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
        Self::start(AppState::new(config, ports), Some(dir)).await
    }

    pub async fn moto_with(change: impl FnOnce(&mut Config)) -> Self {
        let mut config = moto::fresh_config().await;
        quick(&mut config);
        change(&mut config);
        let ports = trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &config).unwrap();
        Self::start(AppState::new(config, ports), None).await
    }

    async fn start(state: AppState, dir: Option<tempfile::TempDir>) -> Self {
        let key = mint_key(&state, &["devices:read"]).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = device_events::app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Backend { state, addr, key, dir, server }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// Appends one event as the services do: its write in a transaction.
    pub async fn append(&self, kind: EventKind, session: Option<&str>, payload: serde_json::Value) -> DeviceEvent {
        let event = DeviceEvent::new(kind, session, payload, trustplane_core::clock::now());
        self.state.ports.store.transact(vec![event.write().unwrap()]).await.unwrap();
        event
    }

    /// A session started through the service, and the id of the event its start logged (a
    /// filtered stream resumed past it sees only what the test appends).
    pub async fn session(&self) -> (String, String) {
        let devices = Devices::new(&self.state.ports, self.state.config.clone());
        let started = devices.start(StartSession { target_ssid: Some("Onboarding".into()), ..Default::default() }).await.unwrap();
        let logged = events::read_through(self.state.ports.store.as_ref(), Some(&started.id), None, "~", 1000).await.unwrap();
        (started.id, logged.last().expect("the start is logged").id.clone())
    }

    /// Opens the stream at `path_and_query` with `headers`.
    pub async fn open(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Opened {
        open_url(&self.url(path_and_query), headers).await
    }

    /// Opens the stream with the test key.
    pub async fn open_keyed(&self, path_and_query: &str, extra: &[(&str, &str)]) -> Opened {
        let mut headers = vec![("x-api-key", self.key.as_str())];
        headers.extend_from_slice(extra);
        self.open(path_and_query, &headers).await
    }

    /// POSTs `body` (or nothing) to `path` with `key`; returns status and JSON.
    pub async fn post(&self, path: &str, key: Option<&str>, body: Option<&str>) -> (u16, serde_json::Value) {
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut request = http::Request::post(self.url(path)).header("content-type", "application/json");
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or("").to_owned()))).unwrap();
        let response = client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }
}

/// GETs `url` with `headers`, returning once the response head has come.
pub async fn open_url(url: &str, headers: &[(&str, &str)]) -> Opened {
    let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = http::Request::get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request.body(Empty::new()).unwrap()))
        .await
        .expect("the stream answers within 30 s")
        .expect("the stream answers");
    let (parts, body) = response.into_parts();
    Opened { status: parts.status.as_u16(), headers: parts.headers, reader: SseReader { body: Some(body), buf: Vec::new() } }
}

/// A response to a stream request.
pub struct Opened {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub reader: SseReader,
}

impl Opened {
    /// The whole body as JSON (error responses).
    pub async fn json(mut self) -> serde_json::Value {
        let bytes = self.reader.body.take().unwrap().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    }
}

/// One SSE block as sent: its raw text (without the blank line) and its fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub raw: String,
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
    pub retry: Option<u64>,
}

impl Block {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.data.as_deref().expect("a data line")).expect("JSON data")
    }

    /// The type the client sees: `event:` or, unnamed, the envelope's `type`.
    pub fn kind(&self) -> String {
        self.event.clone().unwrap_or_else(|| self.json()["type"].as_str().unwrap_or_default().to_owned())
    }
}

/// Reads blocks off a streamed body.
pub struct SseReader {
    body: Option<hyper::body::Incoming>,
    buf: Vec<u8>,
}

fn parse(raw: &str) -> Block {
    let mut block = Block { raw: raw.to_owned(), ..Block::default() };
    for line in raw.split('\n') {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "id" => block.id = Some(value),
            "event" => block.event = Some(value),
            "data" => block.data = Some(block.data.map(|d| format!("{d}\n{value}")).unwrap_or(value)),
            "retry" => block.retry = value.parse().ok(),
            _ => {}
        }
    }
    block
}

impl SseReader {
    /// The next block, `None` when the stream ended or nothing came within `wait`.
    pub async fn block(&mut self, wait: Duration) -> Option<Block> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw = String::from_utf8(self.buf[..at].to_vec()).expect("UTF-8 stream");
                self.buf.drain(..at + 2);
                return Some(parse(&raw));
            }
            let body = self.body.as_mut()?;
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Err(_) => return None,
                Ok(None) => {
                    self.body = None;
                    return None;
                }
                Ok(Some(frame)) => {
                    if let Ok(data) = frame.expect("a body frame").into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// The next block carrying data (an event), skipping comment and `retry:`-only blocks.
    pub async fn event(&mut self, wait: Duration) -> Option<Block> {
        loop {
            let block = self.block(wait).await?;
            if block.data.is_some() {
                return Some(block);
            }
        }
    }

    /// Logged events (with an `id:`) until `n` have come or `wait` passes without one;
    /// heartbeats are skipped.
    pub async fn logged(&mut self, n: usize, wait: Duration) -> Vec<Block> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.event(wait).await {
                Some(b) if b.id.is_some() => out.push(b),
                Some(_) => {}
                None => break,
            }
        }
        out
    }

    /// Whether the body has ended.
    pub fn ended(&self) -> bool {
        self.body.is_none()
    }
}
