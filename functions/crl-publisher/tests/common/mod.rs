//! One environment per backend (SQLite + directory, or the AWS adapters on moto), CRL helpers
//! and blob-store fault hooks that pause or watch a publisher at its upload.

#![allow(dead_code)]

pub mod hooks;

use std::sync::Arc;
use trustplane_core::config::Config;
use trustplane_core::http::AppState;
use trustplane_core::pki::SubjectName;
use trustplane_core::ports::{Condition, Item, Query, Store};
use trustplane_core::services::pki::{blob_key, AuthorityOptions, AuthorityType, CrlState, IssuancePolicy, NewAuthority, Pki};
use trustplane_core::testkit::{local_state, moto};
use trustplane_core::wiring::Ports;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// A backend and the configuration over it; `_dir` keeps the embedded data alive.
pub struct Env {
    pub ports: Ports,
    pub config: Arc<Config>,
    pub sdk: Option<aws_config::SdkConfig>,
    _dir: Option<tempfile::TempDir>,
}

impl Env {
    /// SQLite, key files and a blob directory in a temp dir.
    pub async fn local() -> Env {
        let (state, dir): (AppState, _) = local_state().await;
        Env { ports: state.ports, config: state.config, sdk: None, _dir: Some(dir) }
    }

    /// DynamoDB, KMS, SQS and S3 on moto, in fresh resources.
    pub async fn moto() -> Env {
        let config = moto::fresh_config().await;
        let sdk = moto::sdk_config().await;
        let ports = trustplane_core::wiring::aws_ports_with(&sdk, &config).unwrap();
        Env { ports, config: Arc::new(config), sdk: Some(sdk), _dir: None }
    }

    pub fn pki(&self) -> Pki {
        Pki::new(self.ports.clone(), self.config.clone())
    }

    /// The service over these ports with `blobs` in place of the real blob store.
    pub fn pki_with_blobs(&self, blobs: Arc<dyn trustplane_core::ports::Blobs>) -> Pki {
        Pki::new(Ports { blobs, ..self.ports.clone() }, self.config.clone())
    }

    /// A root authority (its first CRL, number 1, is published on creation).
    pub async fn root(&self, cn: &str) -> String {
        root(&self.pki(), cn).await
    }

    /// The CRL number of the object in the blob store, read straight from the real store.
    pub async fn stored_number(&self, authority_id: &str) -> Option<u64> {
        let der = self.ports.blobs.get(&blob_key(authority_id).unwrap()).await.unwrap()?;
        Some(crl_number(&der))
    }

    pub async fn state(&self, authority_id: &str) -> CrlState {
        self.pki().crl_state(authority_id).await.unwrap().expect("a CRL state")
    }

    /// Moves the authority's CRL state back in time by `hours`, as if it had been published then.
    pub async fn age_crl(&self, authority_id: &str, hours: u64) {
        age_crl(self.ports.store.as_ref(), authority_id, hours).await
    }

    /// The job bodies waiting in the CRL queue, removed from it.
    pub async fn take_jobs(&self) -> Vec<String> {
        match &self.sdk {
            None => take_local_jobs(&self.ports).await,
            Some(sdk) => take_sqs_jobs(sdk, &self.config.job_queue_url).await,
        }
    }
}

/// Moves the authority's CRL state back in time by `hours`, as if it had been published then.
pub async fn age_crl(store: &dyn Store, authority_id: &str, hours: u64) {
    let pk = format!("CRLSTATE#{authority_id}");
    let current = store.get(&pk, "CRL").await.unwrap().expect("a CRL state item");
    let mut state: CrlState = serde_json::from_value(current.data.clone()).unwrap();
    let shift = std::time::Duration::from_secs(hours * 3600);
    state.this_update -= shift;
    state.next_update -= shift;
    let aged = Item { data: serde_json::to_value(&state).unwrap(), version: current.version + 1, ..current.clone() };
    store.put(aged, Condition::Version(current.version)).await.unwrap();
}

/// A root authority created through `pki`, allowed to sign leaves (`allowLeafIssuance`).
pub async fn root(pki: &Pki, cn: &str) -> String {
    let subject = pki.create_subject(SubjectName::common_name_only(cn).unwrap()).await.unwrap();
    let new = NewAuthority { subject_id: subject.id, kind: Some(AuthorityType::Root), ..NewAuthority::default() };
    let options = AuthorityOptions { issuance: IssuancePolicy { allow_leaf_issuance: true, ..IssuancePolicy::default() }, ..AuthorityOptions::default() };
    pki.create_authority_with(new, options).await.unwrap().id
}

async fn take_local_jobs(ports: &Ports) -> Vec<String> {
    let page = ports.store.query(Query::partition(trustplane_core::adapters::local::QUEUE_PARTITION)).await.unwrap();
    let mut jobs = Vec::new();
    for item in page.items {
        ports.store.delete(&item.pk, &item.sk, Condition::Always).await.unwrap();
        jobs.push(item.data["body"].as_str().unwrap().to_owned());
    }
    jobs
}

async fn take_sqs_jobs(sdk: &aws_config::SdkConfig, queue_url: &str) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut jobs = Vec::new();
    loop {
        let out = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return jobs;
        }
        for m in messages {
            sqs.delete_message().queue_url(queue_url).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
            jobs.push(m.body.unwrap());
        }
    }
}

/// The CRL Number extension (RFC 5280 §5.2.3) of a DER CRL.
pub fn crl_number(der: &[u8]) -> u64 {
    let (_, crl) = CertificateRevocationList::from_der(der).expect("a DER CRL");
    let number = crl.crl_number().expect("a CRL number");
    u64::try_from(number).expect("a CRL number that fits 64 bits")
}

/// Runs each `name => scenario` as `local::name` (embedded backend) and `moto::name`.
#[macro_export]
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
