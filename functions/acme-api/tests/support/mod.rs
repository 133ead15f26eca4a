//! One ACME server per backend (embedded, or the AWS adapters on moto) over the default
//! hierarchy, the job queue's consumer run on demand ([`Backend::run_jobs`]), a client signing
//! with its own account key, and an `http-01` responder on a loopback port that names under
//! `localhost` reach. Every exchange is logged ([`Backend::log`]).

#![allow(dead_code)]

pub mod jobs;

use axum::extract::{Path, State};
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trustplane_core::adapters::local::LocalQueue;
use trustplane_core::config::Config;
use trustplane_core::http::AppState;
use trustplane_core::services::acme::test_signer::{eab, TestKey};
use trustplane_core::services::acme::{AcmeSettings, Urls};
use trustplane_core::services::default_issuer;
use trustplane_core::services::pki::Pki;
use trustplane_core::testkit::{call, mint_key, moto, Reply};

pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Tokens → what the responder answers for them.
#[derive(Clone, Default)]
pub struct Responder {
    answers: Arc<Mutex<HashMap<String, String>>>,
    pub port: u16,
}

impl Responder {
    /// Serves `/.well-known/acme-challenge/{token}` on a free loopback port.
    pub async fn start() -> Responder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let responder = Responder { port: listener.local_addr().unwrap().port(), ..Responder::default() };
        let app = Router::new().route("/.well-known/acme-challenge/{token}", axum::routing::get(answer)).with_state(responder.answers.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        responder
    }

    pub fn serve(&self, token: &str, body: &str) {
        self.answers.lock().unwrap().insert(token.to_owned(), body.to_owned());
    }
}

async fn answer(State(answers): State<Arc<Mutex<HashMap<String, String>>>>, Path(token): Path<String>) -> Result<String, http::StatusCode> {
    answers.lock().unwrap().get(&token).cloned().ok_or(http::StatusCode::NOT_FOUND)
}

/// One request and its answer, as [`Backend::send`] made it.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

pub struct Backend {
    pub state: acme_api::AcmeState,
    pub app: Router,
    pub admin: String,
    pub authority: String,
    pub responder: Responder,
    pub aws: bool,
    /// The job queue's consumer, as the worker function and `serve` build it.
    pub worker: crl_publisher::CrlWorker,
    pub log: Arc<Mutex<Vec<Exchange>>>,
    queue: Option<Arc<LocalQueue>>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    pub async fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.data_dir = dir.path().to_path_buf();
        let (ports, queue) = trustplane_core::wiring::open(&config).await.unwrap();
        Backend::over(AppState::new(config, ports), queue, Some(dir)).await
    }

    pub async fn moto() -> Backend {
        let config = moto::fresh_config().await;
        let ports = trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &config).unwrap();
        Backend::over(AppState::new(config, ports), None, None).await
    }

    async fn over(app: AppState, queue: Option<Arc<LocalQueue>>, dir: Option<tempfile::TempDir>) -> Backend {
        let responder = Responder::start().await;
        let settings = AcmeSettings { http01_port: responder.port, eab_required: true, validity_days: 30, public_base_url: None };
        let pki = Pki::new(app.ports.clone(), app.config.clone());
        let authority = default_issuer::ensure_default_hierarchy(&pki, &app.config, app.ports.store.as_ref()).await.unwrap();
        let admin = mint_key(&app, &["pki:admin", "pki:read", "pki:revoke"]).await;
        let aws = app.config.backend == trustplane_core::config::Backend::Aws;
        let state = acme_api::AcmeState::new(app, settings);
        let worker = crl_publisher::CrlWorker::new(pki).with_acme(state.service());
        let log = Arc::default();
        Backend { app: acme_api::router(state.clone()), state, admin, authority, responder, aws, worker, log, queue, _dir: dir }
    }

    /// This backend with its routes enqueueing through `queue` instead.
    pub fn enqueueing_through(mut self, queue: Arc<dyn trustplane_core::ports::Queue>) -> Backend {
        self.state.app.ports.queue = queue;
        self.app = acme_api::router(self.state.clone());
        self
    }

    pub fn pki(&self) -> Pki {
        Pki::new(self.state.app.ports.clone(), self.state.app.config.clone())
    }

    pub fn urls(&self) -> Urls {
        Urls::new(&self.state.app.config.public_base_url, &self.authority)
    }

    /// The request path of an absolute URL of this server.
    pub fn path_of(&self, url: &str) -> String {
        url.strip_prefix(&self.state.app.config.public_base_url).unwrap_or(url).to_owned()
    }

    pub async fn send(&self, method: &str, url: &str, headers: &[(&str, &str)], body: Option<String>) -> Reply {
        let mut request = http::Request::builder().method(method).uri(self.path_of(url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let reply = call(&self.app, request.body(axum::body::Body::from(body.unwrap_or_default())).unwrap()).await;
        let exchange = Exchange { method: method.to_owned(), path: self.path_of(url), status: reply.status, headers: reply.headers.clone(), body: reply.body.clone() };
        self.log.lock().unwrap().push(exchange);
        reply
    }

    /// A fresh EAB key of the authority: (key id, base64url HMAC key).
    pub async fn eab_key(&self) -> (String, String) {
        let url = format!("/api/v1/authorities/{}/eab-keys", self.authority);
        let reply = self.send("POST", &url, &[("x-api-key", &self.admin), ("content-type", "application/json")], Some(json!({ "name": "test" }).to_string())).await;
        assert_eq!(reply.status, 201, "{}", text(&reply));
        let body = reply.json();
        (body["keyId"].as_str().unwrap().to_owned(), body["hmacKey"].as_str().unwrap().to_owned())
    }
}

pub fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// An ACME client of one account key.
pub struct Client<'a> {
    pub b: &'a Backend,
    pub key: TestKey,
    pub kid: Option<String>,
}

impl<'a> Client<'a> {
    pub fn new(b: &'a Backend, key: TestKey) -> Client<'a> {
        Client { b, key, kid: None }
    }

    pub async fn nonce(&self) -> String {
        let reply = self.b.send("HEAD", &self.b.urls().new_nonce(), &[], None).await;
        assert_eq!(reply.status, 200);
        reply.header("replay-nonce").expect("a Replay-Nonce").to_owned()
    }

    /// The protected header for `url`: `kid` once registered, else `jwk`.
    pub fn protected(&self, url: &str, nonce: &str) -> Value {
        match &self.kid {
            Some(kid) => json!({ "nonce": nonce, "url": url, "kid": kid }),
            None => json!({ "nonce": nonce, "url": url, "jwk": self.key.jwk() }),
        }
    }

    pub async fn post_jws(&self, url: &str, jws: &Value) -> Reply {
        self.b.send("POST", url, &[("content-type", "application/jose+json")], Some(jws.to_string())).await
    }

    /// A signed POST of `payload` (`None`: POST-as-GET) with a fresh nonce.
    pub async fn post(&self, url: &str, payload: Option<Value>) -> Reply {
        let jws = self.key.sign(self.protected(url, &self.nonce().await), payload.as_ref());
        self.post_jws(url, &jws).await
    }

    /// newAccount with a fresh EAB key; remembers the account URL as `kid`.
    pub async fn register(&mut self) -> Reply {
        let (kid, hmac) = self.b.eab_key().await;
        let url = self.b.urls().new_account();
        let binding = eab(&self.key.jwk(), &kid, &hmac, &url);
        let reply = self.post(&url, Some(json!({ "termsOfServiceAgreed": true, "contact": ["mailto:ops@example.com"], "externalAccountBinding": binding }))).await;
        assert_eq!(reply.status, 201, "{}", text(&reply));
        self.kid = Some(reply.header("location").unwrap().to_owned());
        reply
    }

    /// newOrder for `names`: the order's URL and body.
    pub async fn order(&self, names: &[&str]) -> (String, Value) {
        let identifiers: Vec<Value> = names.iter().map(|n| json!({ "type": "dns", "value": n })).collect();
        let reply = self.post(&self.b.urls().new_order(), Some(json!({ "identifiers": identifiers }))).await;
        assert_eq!(reply.status, 201, "{}", text(&reply));
        (reply.header("location").unwrap().to_owned(), reply.json())
    }

    /// The key authorization of `token` for this client's key.
    pub fn key_authorization(&self, token: &str) -> String {
        let thumbprint = trustplane_core::services::acme::AccountKey::parse(&self.key.jwk()).unwrap().thumbprint().to_owned();
        trustplane_core::services::acme::key_authorization(token, &thumbprint)
    }

    /// Answers every authorization's `http-01` challenge with `answer(token)`, asks for
    /// validation and polls until each authorization is no longer pending; their bodies.
    pub async fn validate(&self, order: &Value, answer: impl Fn(&str) -> String) -> Vec<Value> {
        let mut done = Vec::new();
        for authz_url in order["authorizations"].as_array().unwrap() {
            let authz = self.post(authz_url.as_str().unwrap(), None).await.json();
            let challenge = &authz["challenges"][0];
            assert_eq!(challenge["type"], "http-01");
            let token = challenge["token"].as_str().unwrap();
            self.b.responder.serve(token, &answer(token));
            let reply = self.post(challenge["url"].as_str().unwrap(), Some(json!({}))).await;
            assert_eq!(reply.status, 200, "{}", text(&reply));
            assert!(reply.headers.get_all("link").iter().any(|l| l.to_str().unwrap().contains("rel=\"up\"")), "{:?}", reply.headers);
            done.push(self.poll(authz_url.as_str().unwrap(), "pending").await);
        }
        done
    }

    /// Runs the queued jobs and POST-as-GETs `url` until its status is no longer `waiting`
    /// (or `processing`).
    pub async fn poll(&self, url: &str, waiting: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.b.run_jobs().await;
            let body = self.post(url, None).await.json();
            let status = body["status"].as_str().unwrap_or_default().to_owned();
            let challenge_busy = body["challenges"][0]["status"] == "processing";
            if status != waiting && status != "processing" && !challenge_busy {
                return body;
            }
            assert!(Instant::now() < deadline, "{url} stayed {status}: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Finalizes with a fresh P-256 key's CSR for `names`; the finalize answer and the key.
    pub async fn finalize(&self, order: &Value, names: &[&str]) -> (Reply, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params.serialize_request(&key).unwrap().der().to_vec();
        let reply = self.post(order["finalize"].as_str().unwrap(), Some(json!({ "csr": B64.encode(csr) }))).await;
        (reply, key)
    }

    /// The whole flow for `names`: a valid order's body.
    pub async fn issue(&self, names: &[&str]) -> Value {
        let (order_url, order) = self.order(names).await;
        self.validate(&order, |t| self.key_authorization(t)).await;
        let (reply, _) = self.finalize(&order, names).await;
        assert_eq!(reply.status, 200, "{}", text(&reply));
        self.poll(&order_url, "pending").await
    }
}

/// The ACME problem type of a reply (checking it is a problem document).
pub fn problem(reply: &Reply) -> String {
    assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{}: {}", reply.status, text(reply));
    let body = reply.json();
    assert_eq!(body["status"].as_u64(), Some(u64::from(reply.status.as_u16())), "{body}");
    body["type"].as_str().unwrap().trim_start_matches("urn:ietf:params:acme:error:").to_owned()
}

/// A certificate's RFC 9773 certID: base64url(AKI keyIdentifier) "." base64url(serial).
pub fn ari_cert_id(der: &[u8]) -> String {
    use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let aki = cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|k| k.0.to_vec()),
        _ => None,
    });
    format!("{}.{}", B64.encode(aki.expect("an AKI")), B64.encode(cert.raw_serial()))
}

/// The RFC 9773 window of `der` as the server suggests it: (start, end, Retry-After).
pub async fn renewal_window(b: &Backend, der: &[u8]) -> (time::OffsetDateTime, time::OffsetDateTime, String) {
    let reply = b.send("GET", &format!("{}/{}", b.urls().renewal_info(), ari_cert_id(der)), &[], None).await;
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let window = &reply.json()["suggestedWindow"];
    let at = |v: &Value| time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    (at(&window["start"]), at(&window["end"]), reply.header("retry-after").unwrap_or_default().to_owned())
}

/// Runs openssl in a temporary directory holding `files`; success and all output.
pub fn openssl(files: &[(&str, &[u8])], args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let out = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}
