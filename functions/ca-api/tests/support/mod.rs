//! Backends, requests, CSRs and openssl checks for the ca-api tests.
#![allow(dead_code)]

use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use trustplane_core::config::Config;
use trustplane_core::custody::CaSigner;
use trustplane_core::http::AppState;
use trustplane_core::ports::{KeyAlgorithm, KeyCustody, KeyHandle};
use trustplane_core::services::default_issuer::ensure_default_hierarchy;
use trustplane_core::services::pki::Pki;
use trustplane_core::services::puppet_ca::PuppetCa;
use trustplane_core::testkit::{call, local_state, mint_key, moto, Reply};
use trustplane_core::wiring::Ports;
use trustplane_core::{Error, Result};

/// The ca-api app over one backend family, with a default issuing hierarchy, an admin key
/// and a `ca:read` key.
pub struct Backend {
    pub state: AppState,
    pub app: Router,
    pub admin: String,
    pub reader: String,
    pub on_moto: bool,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    async fn finish(state: AppState, dir: Option<tempfile::TempDir>) -> Self {
        let pki = Pki::new(state.ports.clone(), state.config.clone());
        ensure_default_hierarchy(&pki, &state.config, state.ports.store.as_ref()).await.expect("default hierarchy");
        let admin = mint_key(&state, &["admin"]).await;
        let reader = mint_key(&state, &["ca:read"]).await;
        let on_moto = dir.is_none();
        Backend { app: ca_api::app(state.clone()), state, admin, reader, on_moto, _dir: dir }
    }

    pub async fn sqlite() -> Self {
        let (state, dir) = local_state().await;
        Self::finish(state, Some(dir)).await
    }

    pub async fn moto() -> Self {
        Self::finish(moto::state().await, None).await
    }

    pub fn pki(&self) -> Pki {
        Pki::new(self.state.ports.clone(), Arc::clone(&self.state.config))
    }

    pub fn ca(&self) -> PuppetCa {
        PuppetCa::new(self.state.ports.clone(), Arc::clone(&self.state.config))
    }

    pub async fn key_with(&self, scopes: &[&str]) -> String {
        mint_key(&self.state, scopes).await
    }

    /// The CA's authority id.
    pub async fn ca_id(&self) -> String {
        trustplane_core::services::default_issuer::default_issuer(&self.state.config, self.state.ports.store.as_ref()).await.unwrap()
    }

    /// Another ca-api app over the same store, with `edit` applied to its configuration and ports.
    pub fn app_with(&self, edit: impl FnOnce(&mut Config, &mut Ports)) -> Router {
        let (mut config, mut ports) = ((*self.state.config).clone(), self.state.ports.clone());
        edit(&mut config, &mut ports);
        ca_api::app(AppState::new(config, ports))
    }

    /// The app with key custody that never signs (a disabled KMS key).
    pub fn app_with_silent_custody(&self) -> Router {
        self.app_with(|_, ports| ports.custody = Arc::new(SilentCustody))
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Reply {
        send(&self.app, "GET", path, key, Body::None).await
    }

    pub async fn post(&self, path: &str, body: Option<Value>, key: Option<&str>) -> Reply {
        send(&self.app, "POST", path, key, body.map_or(Body::None, Body::Json)).await
    }

    pub async fn delete(&self, path: &str, body: Option<Value>, key: Option<&str>) -> Reply {
        send(&self.app, "DELETE", path, key, body.map_or(Body::None, Body::Json)).await
    }

    /// `PUT /puppet-ca/v1/certificate_request/{certname}` with `pem` as text/plain.
    pub async fn put_csr(&self, certname: &str, pem: &str) -> Reply {
        send(&self.app, "PUT", &format!("/puppet-ca/v1/certificate_request/{certname}"), None, Body::Text(pem.to_owned())).await
    }

    /// Submits a fresh CSR for `certname` (200 asserted); returns its key and PEM.
    pub async fn submit(&self, certname: &str) -> (rcgen::KeyPair, String) {
        let (key, pem) = csr(certname);
        let reply = self.put_csr(certname, &pem).await;
        assert_eq!(reply.status, 200, "{}", text(&reply));
        (key, pem)
    }

    /// Signs the pending request of `certname` with the admin key (200 asserted).
    pub async fn sign(&self, certname: &str) -> Value {
        let reply = self.post(&format!("/api/v1/ca/sign/{certname}"), None, Some(&self.admin)).await;
        assert_eq!(reply.status, 200, "{}", text(&reply));
        reply.json()
    }

    /// Submits and signs; returns the certificate PEM served to the agent.
    pub async fn enrol(&self, certname: &str) -> String {
        self.submit(certname).await;
        self.sign(certname).await;
        let cert = self.get(&format!("/puppet-ca/v1/certificate/{certname}"), None).await;
        assert_eq!(cert.status, 200, "{}", text(&cert));
        text(&cert)
    }

    /// `GET /puppet-ca/v1/certificate/ca`.
    pub async fn ca_pem(&self) -> String {
        let reply = self.get("/puppet-ca/v1/certificate/ca", None).await;
        assert_eq!(reply.status, 200, "{}", text(&reply));
        text(&reply)
    }
}

/// Key custody that answers nothing: `signer` fails as a disabled KMS key does.
pub struct SilentCustody;

#[async_trait::async_trait]
impl KeyCustody for SilentCustody {
    async fn create_key(&self, _: &str, _: KeyAlgorithm) -> Result<KeyHandle> {
        Err(Error::Unavailable("custody is down".into()))
    }

    async fn signer(&self, _: &KeyHandle) -> Result<CaSigner> {
        Err(Error::internal("Sign: DisabledException: the key is disabled"))
    }
}

pub enum Body {
    None,
    Json(Value),
    Text(String),
}

/// One request through `app`.
pub async fn send(app: &Router, method: &str, path: &str, key: Option<&str>, body: Body) -> Reply {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    let request = match body {
        Body::None => builder.body(axum::body::Body::empty()),
        Body::Json(v) => builder.header("content-type", "application/json").body(axum::body::Body::from(v.to_string())),
        Body::Text(t) => builder.header("content-type", "text/plain").body(axum::body::Body::from(t)),
    };
    call(app, request.unwrap()).await
}

/// The body as text.
pub fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// Asserts a seed 001 error: status, code, a message, `details.timestamp` (RFC 3339) and
/// `details.certname` (the path's certname on the admin API, else null).
pub fn assert_error(reply: &Reply, status: u16, code: &str, certname: Option<&str>) {
    assert_eq!(reply.status.as_u16(), status, "{}", text(reply));
    let body = reply.json();
    assert_eq!(body["code"], code, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    let at = body["details"]["timestamp"].as_str().unwrap_or_default();
    assert!(time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(), "{body}");
    assert_eq!(body["details"]["certname"].as_str(), certname, "{body}");
}

/// A P-256 CSR whose subject is `CN=<cn>`: `(key, PEM)`.
pub fn csr(cn: &str) -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let pem = params.serialize_request(&key).unwrap().pem().unwrap();
    (key, pem)
}

/// An RSA-1024 CSR made by `openssl req` (a weak key).
pub fn weak_csr(cn: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("openssl")
        .args(["req", "-new", "-newkey", "rsa:1024", "-nodes", "-subj", &format!("/CN={cn}"), "-keyout"])
        .arg(dir.path().join("key.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `openssl` with the given arguments, files named in `files` written to a temp dir
/// first (`{name}` in an argument is replaced by that file's path); `(success, output)`.
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

/// `openssl verify -CAfile <ca chain> cert` says OK.
pub fn assert_verifies(ca_pem: &str, cert_pem: &str) {
    let (ok, output) = openssl(&["verify", "-CAfile", "{ca.pem}", "{cert.pem}"], &[("ca.pem", ca_pem), ("cert.pem", cert_pem)]);
    assert!(ok && output.contains(": OK"), "openssl verify: {output}");
}
