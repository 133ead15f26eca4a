//! Real KMS failures on the AWS adapters against moto: a disabled CA key makes issuance a 503
//! until it is enabled again, so does a key pending deletion until its deletion is cancelled,
//! an alias conflict while an authority is created leaves no authority behind and its new key
//! scheduled for deletion, and a first CRL KMS cannot sign is queued and published later. KMS is driven as an operator
//! would, through boto3 (the AWS SDK for Python installed with moto in `infra/.venv`; this
//! crate has no Rust KMS SDK among its dev-dependencies).

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use trustplane_core::custody::CaSigner;
use trustplane_core::http::AppState;
use trustplane_core::ports::{KeyAlgorithm, KeyCustody, KeyHandle};

/// Runs `script` (Python with boto3's `kms` client as `kms`, the JSON `args` as `args`) against
/// moto and returns what it printed as JSON.
fn kms(script: &str, args: Value) -> Value {
    let program = format!(
        "import boto3, json, sys\nargs = json.loads(sys.argv[2])\nkms = boto3.client('kms', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"
    );
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/.venv/bin/python");
    let out = std::process::Command::new(&python)
        .args(["-c", &program, &trustplane_core::testkit::moto::endpoint(), &args.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (infra/test.sh creates infra/.venv)", python.display()));
    assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("boto3 printed {}", String::from_utf8_lossy(&out.stdout)))
}

fn key_state(key: &str) -> String {
    let state = kms("print(json.dumps(kms.describe_key(KeyId=args['key'])['KeyMetadata']['KeyState']))", json!({ "key": key }));
    state.as_str().unwrap().to_owned()
}

fn schedule_deletion(key: &str) {
    kms("kms.schedule_key_deletion(KeyId=args['key'], PendingWindowInDays=7); print('null')", json!({ "key": key }));
    assert_eq!(key_state(key), "PendingDeletion");
}

fn cancel_deletion(key: &str) {
    kms("kms.cancel_key_deletion(KeyId=args['key']); print('null')", json!({ "key": key }));
    assert_eq!(key_state(key), "Disabled", "KMS leaves a key whose deletion was cancelled disabled");
}

fn set_enabled(key: &str, enabled: bool) {
    kms("(kms.enable_key if args['on'] else kms.disable_key)(KeyId=args['key']); print('null')", json!({ "key": key, "on": enabled }));
    assert_eq!(key_state(key), if enabled { "Enabled" } else { "Disabled" });
}

/// Every KMS key tagged `trustplane:authority=<owner>`: `[(arn, state)]`.
fn keys_of(owner: &str) -> Vec<(String, String)> {
    let found = kms(
        "found = []\nfor page in kms.get_paginator('list_keys').paginate():\n    for key in page['Keys']:\n        tags = kms.list_resource_tags(KeyId=key['KeyId'])['Tags']\n        if {'TagKey': 'trustplane:authority', 'TagValue': args['owner']} in tags:\n            found.append([key['KeyArn'], kms.describe_key(KeyId=key['KeyId'])['KeyMetadata']['KeyState']])\nprint(json.dumps(found))",
        json!({ "owner": owner }),
    );
    serde_json::from_value(found).unwrap()
}

fn assert_problem(reply: &trustplane_core::testkit::Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    assert_eq!(reply.json()["status"], status);
}

async fn issue(env: &Env, issuer: &Value) -> trustplane_core::testkit::Reply {
    let subject = env.subject("kms.example.com").await;
    env.post(&issue_path(issuer), json!({ "subjectId": subject, "template": "TLS_CLIENT", "validityDays": 30 })).await
}

async fn inventory_size(env: &Env, issuer: &Value) -> usize {
    env.get(&format!("/api/v1/certificates?issuerId={}&limit=100", id(issuer))).await.json()["data"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_kms_key_makes_issuance_and_child_authorities_503_until_it_is_enabled_again() {
    let env = Env::moto().await;
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    assert_eq!(issue(&env, &int).await.status, 200);
    let key = env.pki().get_authority(id(&int)).await.unwrap().key.key_ref;
    let root_key = env.pki().get_authority(id(&root)).await.unwrap().key.key_ref;

    set_enabled(&key, false);
    assert_problem(&issue(&env, &int).await, 503);
    assert_eq!(inventory_size(&env, &int).await, 1, "nothing was issued");
    let authorities = env.get("/api/v1/authorities").await.json()["data"].as_array().unwrap().len();
    set_enabled(&root_key, false);
    let subject = env.subject("Blocked CA").await;
    let child = json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(&root), "policy": { "validityYears": 1 } });
    assert_problem(&env.post("/api/v1/authorities", child.clone()).await, 503);
    assert_eq!(env.get("/api/v1/authorities").await.json()["data"].as_array().unwrap().len(), authorities, "no authority was created");

    set_enabled(&key, true);
    set_enabled(&root_key, true);
    let issued = issue(&env, &int).await;
    assert_eq!(issued.status, 200, "{}", issued.json());
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("int.pem", pem(&int)).write("leaf.pem", pem(&issued.json()));
    let (ok, out) = files.openssl(&["verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"]);
    assert!(ok && out.contains("leaf.pem: OK"), "{out}");
    assert_eq!(env.post("/api/v1/authorities", child).await.status, 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ca_key_pending_deletion_makes_issuance_a_503_problem_and_issues_nothing_until_the_deletion_is_cancelled() {
    let env = Env::moto().await;
    let root = env.root(("EC", 256)).await;
    assert_eq!(issue(&env, &root).await.status, 200);
    let key = env.pki().get_authority(id(&root)).await.unwrap().key.key_ref;

    schedule_deletion(&key);
    let refused = issue(&env, &root).await;
    assert_problem(&refused, 503);
    let problem = refused.json();
    assert_eq!((problem["code"].as_str(), problem["detail"].as_str()), (Some("SERVICE_UNAVAILABLE"), Some("service temporarily unavailable")), "{problem}");
    assert_eq!(inventory_size(&env, &root).await, 1, "nothing was issued");

    cancel_deletion(&key);
    set_enabled(&key, true);
    let issued = issue(&env, &root).await;
    assert_eq!(issued.status, 200, "{}", issued.json());
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("leaf.pem", pem(&issued.json()));
    let (ok, out) = files.openssl(&["verify", "-check_ss_sig", "-CAfile", "root.pem", "leaf.pem"]);
    assert!(ok && out.contains("leaf.pem: OK"), "{out}");
}

/// The real KMS custody, except that just before it creates the key of an authority another
/// actor takes that authority's alias (`<prefix>/<owner>`) for a key of its own.
struct AliasTakenFirst {
    real: Arc<dyn KeyCustody>,
    alias_prefix: String,
    squatter: String,
    owner: Mutex<Option<String>>,
}

/// A boxed `Send` future, as `#[async_trait]` (not a dependency of this crate) writes trait methods.
type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = trustplane_core::Result<T>> + Send + 'a>>;

impl KeyCustody for AliasTakenFirst {
    fn create_key<'s, 'o, 'f>(&'s self, owner: &'o str, algorithm: KeyAlgorithm) -> Boxed<'f, KeyHandle>
    where
        's: 'f,
        'o: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            *self.owner.lock().unwrap() = Some(owner.to_owned());
            let alias = format!("{}/{owner}", self.alias_prefix);
            kms("kms.create_alias(AliasName=args['alias'], TargetKeyId=args['key']); print('null')", json!({ "alias": alias, "key": self.squatter }));
            self.real.create_key(owner, algorithm).await
        })
    }

    fn signer<'s, 'k, 'f>(&'s self, key: &'k KeyHandle) -> Boxed<'f, CaSigner>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        self.real.signer(key)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alias_conflict_while_an_authority_is_created_leaves_no_authority_and_its_new_key_scheduled_for_deletion() {
    let env = Env::moto().await;
    let squatter = kms("print(json.dumps(kms.create_key(KeyUsage='SIGN_VERIFY', KeySpec='ECC_NIST_P256')['KeyMetadata']['KeyId']))", json!({}));
    let custody = Arc::new(AliasTakenFirst {
        real: env.state.ports.custody.clone(),
        alias_prefix: env.state.config.kms_alias_prefix.clone(),
        squatter: squatter.as_str().unwrap().to_owned(),
        owner: Mutex::new(None),
    });
    let mut ports = env.state.ports.clone();
    ports.custody = custody.clone();
    let app = pki_api::app(AppState::new((*env.state.config).clone(), ports));
    let subject = env.subject("Contested Root CA").await;
    let body = json!({ "subjectId": subject, "type": "ROOT", "keySpec": { "algorithm": "EC", "size": 256 } });
    let request = http::Request::post("/api/v1/authorities").header("x-api-key", &env.admin).header("content-type", "application/json");
    let reply = trustplane_core::testkit::call(&app, request.body(axum::body::Body::from(body.to_string())).unwrap()).await;
    assert_problem(&reply, 409);

    let owner = custody.owner.lock().unwrap().clone().expect("a key was asked for");
    assert_problem(&env.get(&format!("/api/v1/authorities/{owner}")).await, 404);
    assert!(env.get("/api/v1/authorities").await.json()["data"].as_array().unwrap().is_empty(), "no authority was recorded");
    let crl = trustplane_core::domain::BlobKey::parse(&format!("crl/{owner}.crl")).unwrap();
    assert_eq!(env.state.ports.blobs.get(&crl).await.unwrap(), None, "no CRL was published for it");
    let keys = keys_of(&owner);
    assert_eq!(keys.len(), 1, "one key was made for it: {keys:?}");
    assert_eq!(keys[0].1, "PendingDeletion", "and scheduled for deletion: {keys:?}");
    let alias = format!("{}/{owner}", env.state.config.kms_alias_prefix);
    let target = kms("print(json.dumps(kms.describe_key(KeyId=args['alias'])['KeyMetadata']['KeyId']))", json!({ "alias": alias }));
    assert_eq!(target, squatter, "the alias still names the other actor's key");

    let created = env.post("/api/v1/authorities", body).await;
    assert_eq!(created.status, 201, "the subject can still be promoted: {}", created.json());
}

/// The real KMS custody, except that the key is disabled in KMS right before the custody's
/// second signer for it: the one that signs the new authority's first CRL, after the one that
/// signed its certificate.
struct DisabledBeforeFirstCrl {
    real: Arc<dyn KeyCustody>,
    signers: AtomicUsize,
}

impl KeyCustody for DisabledBeforeFirstCrl {
    fn create_key<'s, 'o, 'f>(&'s self, owner: &'o str, algorithm: KeyAlgorithm) -> Boxed<'f, KeyHandle>
    where
        's: 'f,
        'o: 'f,
        Self: 'f,
    {
        self.real.create_key(owner, algorithm)
    }

    fn signer<'s, 'k, 'f>(&'s self, key: &'k KeyHandle) -> Boxed<'f, CaSigner>
    where
        's: 'f,
        'k: 'f,
        Self: 'f,
    {
        if self.signers.fetch_add(1, Ordering::SeqCst) == 1 {
            set_enabled(&key.key_ref, false);
        }
        self.real.signer(key)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_crl_kms_cannot_sign_at_authority_creation_is_queued_and_published_by_a_later_worker_run() {
    use trustplane_core::jobs::JobHandler;
    let env = Env::moto().await;
    let mut ports = env.state.ports.clone();
    ports.custody = Arc::new(DisabledBeforeFirstCrl { real: env.state.ports.custody.clone(), signers: AtomicUsize::new(0) });
    let app = pki_api::app(AppState::new((*env.state.config).clone(), ports));
    let subject = env.subject("First CRL Root CA").await;
    let body = json!({ "subjectId": subject, "type": "ROOT", "keySpec": { "algorithm": "EC", "size": 256 } });
    let request = http::Request::post("/api/v1/authorities").header("x-api-key", &env.admin).header("content-type", "application/json");
    let created = trustplane_core::testkit::call(&app, request.body(axum::body::Body::from(body.to_string())).unwrap()).await;
    assert_eq!(created.status, 201, "the authority stands without its first CRL: {}", created.json());
    let root = created.json();

    let key = env.pki().get_authority(id(&root)).await.unwrap().key.key_ref;
    assert_eq!(key_state(&key), "Disabled", "the first CRL's signature was refused by KMS");
    assert_eq!(env.pki().crl_state(id(&root)).await.unwrap(), None, "no CRL number was claimed");
    let crl = trustplane_core::domain::BlobKey::parse(&format!("crl/{}.crl", id(&root))).unwrap();
    assert_eq!(env.state.ports.blobs.get(&crl).await.unwrap(), None, "no CRL was stored");
    let jobs: Vec<String> = env.take_jobs().await.into_iter().map(|(_, body)| body).filter(|body| body.contains(id(&root))).collect();
    assert_eq!(jobs.len(), 1, "the first CRL's publication was queued");

    set_enabled(&key, true);
    env.worker().handle(&jobs[0]).await.expect("a later worker run publishes it");
    let state = env.pki().crl_state(id(&root)).await.unwrap().expect("a CRL state");
    assert_eq!((state.number, state.published), (1, true), "{state:?}");
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("crl.der", env.state.ports.blobs.get(&crl).await.unwrap().expect("the stored CRL"));
    let (ok, text) = files.openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "root.pem", "-noout", "-text"]);
    assert!(ok && text.contains("verify OK") && crl_number(&text) == 1, "{text}");
}
