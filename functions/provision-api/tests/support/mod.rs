//! Backends, requests and openssl checks for the provision-api tests.
#![allow(dead_code)]

pub mod profile;

use axum::Router;
use std::sync::Arc;
use trustplane_core::http::AppState;
use trustplane_core::services::default_issuer::ensure_default_hierarchy;
use trustplane_core::services::pki::Pki;
use trustplane_core::testkit::{call, local_state, mint_key, moto, Reply};

/// An app over one backend family, with a default issuing hierarchy and an admin key.
pub struct Backend {
    pub state: AppState,
    pub app: Router,
    pub admin: String,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    async fn finish(state: AppState, dir: Option<tempfile::TempDir>) -> Self {
        let pki = Pki::new(state.ports.clone(), state.config.clone());
        ensure_default_hierarchy(&pki, &state.config, state.ports.store.as_ref()).await.expect("default hierarchy");
        let admin = mint_key(&state, &["admin"]).await;
        Backend { app: provision_api::app(state.clone()), state, admin, _dir: dir }
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

    pub async fn key_with(&self, scopes: &[&str]) -> String {
        mint_key(&self.state, scopes).await
    }
}

fn request(method: &str, path: &str, body: Option<serde_json::Value>, key: Option<&str>) -> http::Request<axum::body::Body> {
    let mut builder = http::Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    match body {
        Some(body) => builder.header("content-type", "application/json").body(axum::body::Body::from(body.to_string())).unwrap(),
        None => builder.body(axum::body::Body::empty()).unwrap(),
    }
}

pub async fn post(b: &Backend, path: &str, body: serde_json::Value, key: Option<&str>) -> Reply {
    call(&b.app, request("POST", path, Some(body), key)).await
}

pub async fn get(b: &Backend, path: &str, key: Option<&str>) -> Reply {
    call(&b.app, request("GET", path, None, key)).await
}

pub async fn delete(b: &Backend, path: &str, key: Option<&str>) -> Reply {
    call(&b.app, request("DELETE", path, None, key)).await
}

/// Mints a provision key through the API.
pub async fn mint(b: &Backend, agent: &str, ttl: i64) -> String {
    let reply = post(b, "/api/v1/provision-keys", serde_json::json!({ "agent_id": agent, "ttl_seconds": ttl }), Some(&b.admin)).await;
    assert_eq!(reply.status, http::StatusCode::CREATED, "{:?}", reply.json());
    let key = reply.json()["provision_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_") && key.len() >= 3 + 22);
    key
}

/// A P-256 CSR with `cn` as its (ignored) common name.
pub fn csr_pem(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// A CSR asking for BasicConstraints CA=TRUE.
pub fn ca_csr_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// `openssl verify -CAfile ca cert` must say OK; returns the certificate's subject line.
pub fn openssl_verify(ca_pem: &str, cert_pem: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert) = (dir.path().join("ca.pem"), dir.path().join("agent.pem"));
    std::fs::write(&ca, ca_pem).unwrap();
    std::fs::write(&cert, cert_pem).unwrap();
    let out = std::process::Command::new("openssl").arg("verify").arg("-CAfile").arg(&ca).arg(&cert).output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains(": OK"), "openssl verify: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let subject = std::process::Command::new("openssl").args(["x509", "-noout", "-subject", "-in"]).arg(&cert).output().unwrap();
    String::from_utf8_lossy(&subject.stdout).into_owned()
}
