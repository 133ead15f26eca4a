//! Lists, status and the audit trail, CA renewal, and certificates from other endpoint
//! groups in the CA's lists, on the embedded backend (`::sqlite`) and on the AWS adapters
//! against moto (`::moto`).

mod ops;
mod support;

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};
use trustplane_core::ports::{Condition, Item, Page, Query, Store, Write};
use trustplane_core::on_both_backends;
use support::{assert_error, assert_verifies, openssl, send, text, Backend, Body};
use trustplane_core::domain::BlobKey;
use trustplane_core::pki::Serial;
use trustplane_core::services::puppet_ca::{Operation, OperationKind, Outcome};

on_both_backends!(
    certificate_lists_filter_search_sort_and_page_and_refuse_bad_parameters,
    status_counts_pending_and_signed_certificates_and_reports_the_last_operation,
    renewing_the_ca_keeps_its_key_and_subject_so_certificates_and_crls_verify_under_the_old_and_the_new_ca_certificate,
    renewing_an_intermediate_ca_never_outlasts_its_root,
    a_sign_racing_a_renewal_completes_both_and_its_certificate_verifies_under_both_ca_certificates,
    a_certificate_from_agent_provisioning_shows_up_in_the_ca_lists_but_not_on_the_puppet_agent_routes,
);

fn certnames(page: &Value) -> Vec<&str> {
    page["data"].as_array().unwrap().iter().map(|c| c["certname"].as_str().unwrap()).collect()
}

async fn certificate_lists_filter_search_sort_and_page_and_refuse_bad_parameters(b: Backend) {
    for certname in ["b-db.example.com", "a-web.example.com", "c-web.lab"] {
        b.enrol(certname).await;
    }
    let list = |query: &'static str| {
        let b = &b;
        async move { b.get(&format!("/api/v1/ca/certificates{query}"), Some(&b.reader)).await }
    };
    let all = list("").await.json();
    assert_eq!(certnames(&all), ["a-web.example.com", "b-db.example.com", "c-web.lab"]);
    assert_eq!((all["total"].as_u64(), all["limit"].as_u64(), all["offset"].as_u64()), (Some(3), Some(50), Some(0)));
    let first = &all["data"][0];
    assert_eq!(first["status"], "valid");
    assert!(first["days_until_expiry"].as_i64().is_some_and(|d| (1000..=3650).contains(&d)), "{first}");
    assert_eq!(first["fingerprint"].as_str().unwrap().len(), 32 * 3 - 1);
    assert_eq!(certnames(&list("?sort_order=desc").await.json()), ["c-web.lab", "b-db.example.com", "a-web.example.com"]);
    assert_eq!(certnames(&list("?sort_by=not_before&sort_order=desc").await.json())[0], "c-web.lab");
    assert_eq!(certnames(&list("?search=*.example.com").await.json()), ["a-web.example.com", "b-db.example.com"]);
    assert_eq!(certnames(&list("?search=web").await.json()), ["a-web.example.com", "c-web.lab"]);
    assert_eq!(certnames(&list("?certname=c-web.lab").await.json()), ["c-web.lab"]);
    let paged = list("?limit=1&offset=1").await.json();
    assert_eq!((certnames(&paged), paged["total"].as_u64(), paged["limit"].as_u64()), (vec!["b-db.example.com"], Some(3), Some(1)));
    assert_eq!(list("?offset=10").await.json()["data"], json!([]));
    for bad in ["?limit=0", "?limit=1001", "?limit=ten", "?offset=-1", "?sort_by=serial", "?sort_order=up", "?status=active", "?search=a/b", "?limit=5&limit=6", "?certname=UPPER"] {
        assert_error(&list(bad).await, 400, "VALIDATION_FAILED", None);
    }
    for bad in ["?limit=5000", "?status=valid", "?sort_by=not_after", "?certname=a/b"] {
        assert_error(&b.get(&format!("/api/v1/ca/requests{bad}"), Some(&b.reader)).await, 400, "VALIDATION_FAILED", None);
    }
}

async fn status_counts_pending_and_signed_certificates_and_reports_the_last_operation(b: Backend) {
    let fresh = b.get("/api/v1/ca/status", Some(&b.reader)).await.json();
    assert_eq!(fresh["service_status"], "running");
    assert_eq!((fresh["pending_requests"].as_u64(), fresh["signed_certificates"].as_u64()), (Some(0), Some(0)));
    assert!(fresh["last_operation"].is_null());
    let ca = b.pki().get_authority(&b.ca_id().await).await.unwrap();
    assert_eq!(fresh["ca_certificate"]["not_after"], ca.not_after.format(&time::format_description::well_known::Rfc3339).unwrap());
    assert!(fresh["ca_certificate"]["not_before"].is_string());

    b.enrol("one.example.com").await;
    b.enrol("two.example.com").await;
    b.submit("three.example.com").await;
    b.delete("/api/v1/ca/certificates/two.example.com", None, Some(&b.admin)).await;
    b.sign("three.example.com").await;
    let status = b.get("/api/v1/ca/status", Some(&b.reader)).await.json();
    assert_eq!((status["pending_requests"].as_u64(), status["signed_certificates"].as_u64()), (Some(0), Some(2)));
    let last = &status["last_operation"];
    assert_eq!((last["type"].as_str(), last["certname"].as_str(), last["status"].as_str()), (Some("sign"), Some("three.example.com"), Some("success")));
    assert!(last["timestamp"].as_str().unwrap().ends_with('Z'));

    b.post("/api/v1/ca/sign/ghost.example.com", None, Some(&b.admin)).await;
    let failed = b.get("/api/v1/ca/status", Some(&b.reader)).await.json();
    assert_eq!((failed["last_operation"]["type"].as_str(), failed["last_operation"]["status"].as_str()), (Some("sign"), Some("failure")));
    let trail: Vec<Operation> = b.ca().audit_trail(100).await.unwrap();
    let revoke = trail.iter().find(|op| op.kind == OperationKind::Revoke).unwrap();
    assert_eq!((revoke.status, revoke.certname.as_deref(), revoke.detail.as_deref()), (Outcome::Success, Some("two.example.com"), Some("unspecified")));
    let admin_id = b.state.api_keys.authenticate(&b.admin).await.unwrap().id;
    assert!(trail.iter().filter(|op| op.kind == OperationKind::Sign).all(|op| op.actor == admin_id));
    assert_eq!(trail[0].detail.as_deref().map(|d| d.starts_with("CSR_NOT_FOUND")), Some(true));
}

async fn renewing_the_ca_keeps_its_key_and_subject_so_certificates_and_crls_verify_under_the_old_and_the_new_ca_certificate(b: Backend) {
    let before = b.enrol("early.example.com").await;
    let old_ca = b.ca_pem().await;
    let renewed = b.post("/api/v1/ca/renew", Some(json!({ "backup": true })), Some(&b.admin)).await;
    assert_eq!(renewed.status, 200, "{}", text(&renewed));
    let r = renewed.json();
    assert_eq!(r["message"], "CA certificate renewal initiated");
    assert_ne!(r["old_certificate"]["fingerprint"], r["new_certificate"]["fingerprint"]);
    assert!(r["new_certificate"]["not_after"].as_str().unwrap() >= r["old_certificate"]["not_after"].as_str().unwrap());
    let new_ca = b.ca_pem().await;
    assert_ne!(new_ca.split("-----END").next(), old_ca.split("-----END").next(), "the CA certificate changed");
    assert_eq!(x509_fact(&new_ca, "-subject"), x509_fact(&old_ca, "-subject"));
    assert_eq!(x509_fact(&new_ca, "-pubkey"), x509_fact(&old_ca, "-pubkey"));
    assert_ne!(x509_fact(&new_ca, "-serial"), x509_fact(&old_ca, "-serial"));
    assert_verifies(&new_ca, &before);
    let after = b.enrol("late.example.com").await;
    assert_verifies(&new_ca, &after);
    assert_verifies(&old_ca, &after);

    let revoked = b.delete("/api/v1/ca/certificates/late.example.com", None, Some(&b.admin)).await;
    assert_eq!(revoked.status, 200, "{}", text(&revoked));
    assert_eq!(ops::run_crl_jobs(&b.state, b.on_moto).await.len(), 1, "the revocation queued one CRL job");
    let crl = b.get("/puppet-ca/v1/certificate_revocation_list/ca", None).await;
    assert_eq!(crl.status, 200, "{}", text(&crl));
    let crl = text(&crl);
    let (ok, output) = openssl(&["crl", "-noout", "-CAfile", "{ca.pem}", "-in", "{crl.pem}"], &[("ca.pem", &old_ca), ("crl.pem", &crl)]);
    assert!(ok && output.contains("verify OK"), "the post-renewal CRL verifies under the old CA certificate: {output}");
    let under_old = |cert: &str| openssl(&["verify", "-crl_check", "-CAfile", "{ca.pem}", "-CRLfile", "{crl.pem}", "{cert.pem}"], &[("ca.pem", &old_ca), ("crl.pem", &crl), ("cert.pem", cert)]);
    let (ok, output) = under_old(&after);
    assert!(!ok && output.contains("certificate revoked"), "{output}");
    let (ok, output) = under_old(&before);
    assert!(ok && output.contains(": OK"), "{output}");

    let path = r["backup_path"].as_str().unwrap();
    let old_serial = Serial::parse_hex(x509_fact(&old_ca, "-serial").trim().trim_start_matches("serial=")).unwrap().to_hex().to_ascii_lowercase();
    let key = BlobKey::parse(&format!("backups/ca/{}/{old_serial}.pem", b.ca_id().await)).unwrap();
    let backed_up = String::from_utf8(b.state.ports.blobs.get(&key).await.unwrap().expect("backup blob")).unwrap();
    assert_eq!(backed_up.trim(), old_ca.split_inclusive("-----END CERTIFICATE-----").next().unwrap().trim());
    match b.on_moto {
        true => assert_eq!(path, format!("s3://{}/{key}", b.state.config.blob_bucket)),
        false => assert!(b.state.config.data_dir.join(path).ends_with(key.as_str()) && b.state.config.data_dir.join(path).exists(), "{path}"),
    }
    let no_backup = b.post("/api/v1/ca/renew", Some(json!({ "backup": false })), Some(&b.admin)).await.json();
    assert!(no_backup["backup_path"].is_null());
    assert_error(&b.post("/api/v1/ca/renew", Some(json!({ "backups": true })), Some(&b.admin)).await, 400, "VALIDATION_FAILED", None);
    let last = b.get("/api/v1/ca/status", Some(&b.reader)).await.json()["last_operation"].clone();
    assert_eq!((last["type"].as_str(), last["status"].as_str()), (Some("renew"), Some("success")));
}

/// One fact `openssl x509 -noout <what>` prints about the first certificate of `pem`.
fn x509_fact(pem: &str, what: &str) -> String {
    let (ok, output) = openssl(&["x509", "-noout", what, "-in", "{c.pem}"], &[("c.pem", pem)]);
    assert!(ok, "openssl x509 {what}: {output}");
    output
}

/// The certificates of a PEM chain, in order.
fn certificates(chain: &str) -> Vec<String> {
    chain.split_inclusive("-----END CERTIFICATE-----\n").filter(|c| c.contains("BEGIN CERTIFICATE")).map(str::to_owned).collect()
}

async fn renewing_an_intermediate_ca_never_outlasts_its_root(b: Backend) {
    let ca_id = b.ca_id().await;
    let root_id = b.pki().get_authority(&ca_id).await.unwrap().parent_authority_id.expect("the CA is an intermediate");
    let root = b.pki().get_authority(&root_id).await.unwrap();
    // Its policy now asks for more than the root has left, as every intermediate's does once its root has aged.
    let stored = b.state.ports.store.get(&format!("AUTH#{ca_id}"), "AUTH").await.unwrap().unwrap();
    let mut aged = stored.clone();
    aged.data["policy"]["validityYears"] = json!(30);
    aged.version += 1;
    b.state.ports.store.put(aged, Condition::Version(stored.version)).await.unwrap();

    let renewed = b.post("/api/v1/ca/renew", None, Some(&b.admin)).await;
    assert_eq!(renewed.status, 200, "{}", text(&renewed));
    let root_end = root.not_after.format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(renewed.json()["new_certificate"]["not_after"].as_str(), Some(root_end.as_str()), "capped at the root's notAfter");
    assert_eq!(b.pki().get_authority(&ca_id).await.unwrap().not_after, root.not_after);
    let chain = certificates(&b.ca_pem().await);
    assert_eq!(chain.len(), 2, "the CA and its root");
    assert_eq!(x509_fact(&chain[0], "-enddate"), x509_fact(&chain[1], "-enddate"));
    let (ok, output) = openssl(&["verify", "-x509_strict", "-CAfile", "{root.pem}", "{ca.pem}"], &[("root.pem", &chain[1]), ("ca.pem", &chain[0])]);
    assert!(ok && output.contains(": OK"), "the renewed CA certificate verifies under its root: {output}");
    assert_verifies(&b.ca_pem().await, &b.enrol("after-cap.example.com").await);
}

async fn a_sign_racing_a_renewal_completes_both_and_its_certificate_verifies_under_both_ca_certificates(b: Backend) {
    let ca_id = b.ca_id().await;
    for (round, hold) in [Hold::BeforeWrite, Hold::AfterWrite].into_iter().enumerate() {
        let certname = format!("race{round}.example.com");
        b.submit(&certname).await;
        let old_ca = b.ca_pem().await;
        let held = Arc::new(HeldWrite::new(b.state.ports.store.clone(), format!("AUTH#{ca_id}"), hold));
        let renewing = b.app_with(|_, ports| ports.store = held.clone());
        let admin = b.admin.clone();
        let renewal = tokio::spawn(async move { send(&renewing, "POST", "/api/v1/ca/renew", Some(&admin), Body::None).await });
        held.reached.notified().await;
        let sign = b.post(&format!("/api/v1/ca/sign/{certname}"), None, Some(&b.admin)).await;
        assert_eq!(sign.status, 200, "{hold:?}: a sign while the renewal commits: {}", text(&sign));
        held.release.add_permits(1);
        let renewal = renewal.await.unwrap();
        assert_eq!(renewal.status, 200, "{hold:?}: {}", text(&renewal));
        let new_ca = b.ca_pem().await;
        assert_ne!(certificates(&new_ca)[0], certificates(&old_ca)[0], "{hold:?}: renewed");
        let cert = b.get(&format!("/puppet-ca/v1/certificate/{certname}"), None).await;
        assert_eq!(cert.status, 200, "{}", text(&cert));
        assert_verifies(&old_ca, &text(&cert));
        assert_verifies(&new_ca, &text(&cert));
    }
    assert_eq!(b.get("/api/v1/ca/status", Some(&b.reader)).await.json()["signed_certificates"], 2);
}

/// Where [`HeldWrite`] holds the first write to its item.
#[derive(Clone, Copy, Debug)]
enum Hold {
    /// Before it lands: a sign then reads the authority as it was.
    BeforeWrite,
    /// After it lands, before the writer goes on: a sign then reads whatever the writer left.
    AfterWrite,
}

/// The deployment's store, holding the first write (put, delete or transaction) that touches
/// partition `pk` until `release` gets a permit, and announcing through `reached` that it holds
/// it: a renewal caught in the middle of committing.
struct HeldWrite {
    inner: Arc<dyn Store>,
    pk: String,
    hold: Hold,
    armed: AtomicBool,
    reached: Notify,
    release: Semaphore,
}

impl HeldWrite {
    fn new(inner: Arc<dyn Store>, pk: String, hold: Hold) -> Self {
        HeldWrite { inner, pk, hold, armed: AtomicBool::new(true), reached: Notify::new(), release: Semaphore::new(0) }
    }

    /// Runs `write`, held as configured if it is the first write to the item.
    async fn write<T>(&self, touches: bool, write: impl std::future::Future<Output = trustplane_core::Result<T>>) -> trustplane_core::Result<T> {
        if !(touches && self.armed.swap(false, Ordering::SeqCst)) {
            return write.await;
        }
        if let Hold::BeforeWrite = self.hold {
            self.pause().await;
            return write.await;
        }
        let result = write.await;
        self.pause().await;
        result
    }

    async fn pause(&self) {
        self.reached.notify_one();
        self.release.acquire().await.expect("release").forget();
    }
}

#[async_trait::async_trait]
impl Store for HeldWrite {
    async fn get(&self, pk: &str, sk: &str) -> trustplane_core::Result<Option<Item>> {
        self.inner.get(pk, sk).await
    }

    async fn put(&self, item: Item, condition: Condition) -> trustplane_core::Result<()> {
        let touches = item.pk == self.pk;
        self.write(touches, self.inner.put(item, condition)).await
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> trustplane_core::Result<()> {
        self.write(pk == self.pk, self.inner.delete(pk, sk, condition)).await
    }

    async fn transact(&self, writes: Vec<Write>) -> trustplane_core::Result<()> {
        let touches = writes.iter().any(|w| match w {
            Write::Put { item, .. } => item.pk == self.pk,
            Write::Delete { pk, .. } | Write::Check { pk, .. } => *pk == self.pk,
        });
        self.write(touches, self.inner.transact(writes)).await
    }

    async fn query(&self, query: Query) -> trustplane_core::Result<Page> {
        self.inner.query(query).await
    }
}

async fn a_certificate_from_agent_provisioning_shows_up_in_the_ca_lists_but_not_on_the_puppet_agent_routes(b: Backend) {
    let provisioning = provision_api::app(b.state.clone());
    let minted = send(&provisioning, "POST", "/api/v1/provision-keys", Some(&b.admin), Body::Json(json!({ "agent_id": "agent-7", "ttl_seconds": 600 }))).await;
    assert_eq!(minted.status, 201, "{}", text(&minted));
    let key = minted.json()["provision_key"].as_str().unwrap().to_owned();
    let (_, pem) = support::csr("agent-7");
    let provisioned = send(&provisioning, "POST", "/api/v1/provision", None, Body::Json(json!({ "provision_key": key, "csr": pem }))).await;
    assert_eq!(provisioned.status, 200, "{}", text(&provisioned));

    let listed = b.get("/api/v1/ca/certificates?certname=agent-7", Some(&b.reader)).await.json();
    assert_eq!((listed["total"].as_u64(), listed["data"][0]["certname"].as_str()), (Some(1), Some("agent-7")));
    assert_eq!(listed["data"][0]["status"], "valid");
    let served = b.get("/puppet-ca/v1/certificate/agent-7", None).await;
    assert_eq!(served.status, 404, "the Puppet agent routes serve only the puppet channel: {}", text(&served));
    let accepted = b.put_csr("agent-7", &support::csr("agent-7").1).await;
    assert_eq!(accepted.status, 200, "an agent name does not block a Puppet node of that name: {}", text(&accepted));
}
