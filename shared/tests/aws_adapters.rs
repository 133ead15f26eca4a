//! The AWS adapters against moto (`infra/moto_launcher.py`, started by `infra/test.sh`), which
//! exports its URL as `TRUSTPLANE_TEST_AWS_ENDPOINT`. Signatures are checked with the real
//! `openssl` binary, never with KMS `Verify`.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer, KeyIdMethod,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
};
use std::path::Path;
use std::process::Command;
use time::{Duration, OffsetDateTime};
use trustplane_core::{adapters::aws::{bootstrap, DynamoStore}, wiring::aws_ports_with as ports_with};
use trustplane_core::config::Config;
use trustplane_core::domain::BlobKey;
use trustplane_core::ports::{Condition, Index, IndexKey, Item, KeyAlgorithm, Query, SkRange, Store, Write};
use trustplane_core::wiring::Ports;
use trustplane_core::Error;

fn endpoint() -> String {
    std::env::var("TRUSTPLANE_TEST_AWS_ENDPOINT").expect(
        "TRUSTPLANE_TEST_AWS_ENDPOINT is not set: start moto with infra/test.sh \
         (or `python infra/moto_launcher.py --port 5055`) and export its URL",
    )
}

async fn sdk_for(endpoint: &str) -> SdkConfig {
    let credentials = aws_sdk_kms::config::Credentials::new("testing", "testing", None, None, "moto");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await
}

fn unique_config() -> Config {
    let id = uuid::Uuid::new_v4().simple().to_string();
    Config::from_lookup(|key| match key {
        "TRUSTPLANE_BACKEND" => Some("aws".into()),
        "TABLE_NAME" => Some(format!("tp-test-{id}")),
        "CRL_BUCKET" => Some(format!("tp-test-{id}")),
        "STACK_NAME" => Some(format!("tp-test-{id}")),
        "KMS_ALIAS_PREFIX" => Some(format!("alias/tp-test-{id}")),
        "S3_FORCE_PATH_STYLE" => Some("true".into()),
        _ => None,
    })
    .unwrap()
}

/// Fresh resources with unique names on moto, and the ports on them.
async fn stack() -> (SdkConfig, Config, Ports) {
    let sdk = sdk_for(&endpoint()).await;
    let config = bootstrap::create_resources_with(&sdk, &unique_config()).await.unwrap();
    let ports = ports_with(&sdk, &config).unwrap();
    (sdk, config, ports)
}

fn ca_params(algorithm: KeyAlgorithm) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, format!("Trustplane test CA {algorithm:?}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn large_crl_params() -> CertificateRevocationListParams {
    let now = OffsetDateTime::now_utc();
    let revoked = (1..=400u64).map(|i| RevokedCertParams {
        serial_number: SerialNumber::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 1),
        revocation_time: now - Duration::hours(1),
        reason_code: Some(RevocationReason::KeyCompromise),
        invalidity_date: None,
    });
    CertificateRevocationListParams {
        this_update: now - Duration::minutes(5),
        next_update: now + Duration::days(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked.collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl binary is needed");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {args:?} failed: {text}");
    text
}

/// A KMS key of `algorithm` self-signs a CA certificate and signs a CRL larger than 4 KiB
/// (beyond KMS's RAW message limit), and openssl accepts both signatures.
async fn kms_key_signs_what_openssl_verifies(algorithm: KeyAlgorithm) {
    let (_, _, ports) = stack().await;
    let owner = uuid::Uuid::new_v4().to_string();
    let handle = ports.custody.create_key(&owner, algorithm).await.unwrap();
    assert!(handle.key_ref.starts_with("arn:aws:kms:"), "{}", handle.key_ref);
    let signer = ports.custody.signer(&handle).await.unwrap();

    let params = ca_params(algorithm);
    let ca = params.self_signed(&signer).unwrap();
    let crl = large_crl_params().signed_by(&Issuer::new(params, &signer)).unwrap();
    assert!(crl.der().len() > 4096, "CRL is only {} bytes", crl.der().len());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("crl.pem"), crl.pem().unwrap()).unwrap();
    let verified = openssl(dir.path(), &["verify", "-check_ss_sig", "-CAfile", "ca.pem", "ca.pem"]);
    assert!(verified.contains("ca.pem: OK"), "{verified}");
    let mut flipped = ca.der().to_vec();
    *flipped.last_mut().unwrap() ^= 0x01;
    std::fs::write(dir.path().join("bad.der"), &flipped).unwrap();
    openssl(dir.path(), &["x509", "-inform", "DER", "-in", "bad.der", "-out", "bad.pem"]);
    let refused = Command::new("openssl").args(["verify", "-check_ss_sig", "-CAfile", "bad.pem", "bad.pem"]).current_dir(dir.path()).output().unwrap();
    assert!(!refused.status.success(), "a flipped KMS signature must not verify");
    let crl_check = openssl(dir.path(), &["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout"]);
    assert!(crl_check.contains("verify OK"), "{crl_check}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_p256_signature_verifies_with_openssl() {
    kms_key_signs_what_openssl_verifies(KeyAlgorithm::EcP256).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_p384_signature_verifies_with_openssl() {
    kms_key_signs_what_openssl_verifies(KeyAlgorithm::EcP384).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_rsa2048_signature_verifies_with_openssl() {
    kms_key_signs_what_openssl_verifies(KeyAlgorithm::Rsa2048).await;
}

#[tokio::test(flavor = "current_thread")]
async fn kms_signing_on_a_current_thread_runtime_fails_without_panicking() {
    let (_, _, ports) = stack().await;
    let handle = ports.custody.create_key("current-thread", KeyAlgorithm::EcP256).await.unwrap();
    let signer = ports.custody.signer(&handle).await.unwrap();
    let err = signer.sign_message(b"tbs").unwrap_err();
    assert!(matches!(err, Error::Internal(ref m) if m.contains("multi-thread")), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_second_key_for_the_same_owner_is_a_conflict() {
    let (_, _, ports) = stack().await;
    ports.custody.create_key("twice", KeyAlgorithm::EcP256).await.unwrap();
    let err = ports.custody.create_key("twice", KeyAlgorithm::EcP256).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_ca_keys_carry_a_policy_that_signs_only_digests_with_the_ca_algorithm() {
    let (sdk, _, ports) = stack().await;
    for (algorithm, expected) in [(KeyAlgorithm::EcP384, "ECDSA_SHA_384"), (KeyAlgorithm::Rsa2048, "RSASSA_PKCS1_V1_5_SHA_256")] {
        let owner = format!("policy-{}", uuid::Uuid::new_v4().simple());
        let key = ports.custody.create_key(&owner, algorithm).await.unwrap();
        let kms = aws_sdk_kms::Client::new(&sdk);
        let out = kms.get_key_policy().key_id(&key.key_ref).policy_name("default").send().await.unwrap();
        let policy: serde_json::Value = serde_json::from_str(out.policy().unwrap()).unwrap();
        assert_eq!(policy["Id"], "trustplane-ca-key", "{policy}");
        let statements = policy["Statement"].as_array().unwrap();
        let granted: Vec<&str> = statements
            .iter()
            .flat_map(|s| match &s["Action"] {
                serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>(),
                v => v.as_str().into_iter().collect(),
            })
            .collect();
        for forbidden in ["kms:*", "kms:Verify", "kms:CreateGrant", "kms:ReplicateKey", "kms:Decrypt"] {
            assert!(!granted.contains(&forbidden), "{forbidden} granted: {policy}");
        }
        let sign: Vec<&serde_json::Value> = statements.iter().filter(|s| s["Action"] == "kms:Sign").collect();
        assert_eq!(sign.len(), 1, "{policy}");
        let only = &sign[0]["Condition"]["StringEquals"];
        assert_eq!(only["kms:SigningAlgorithm"], expected, "{policy}");
        assert_eq!(only["kms:MessageType"], "DIGEST", "{policy}");
        let account = key.key_ref.split(':').nth(4).unwrap();
        assert_eq!(sign[0]["Principal"]["AWS"], format!("arn:aws:iam::{account}:root"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_conditional_put_on_existing_item_is_a_conflict() {
    let (_, _, ports) = stack().await;
    let item = Item::new("TENANT#1", "META", serde_json::json!({"name": "one"}));
    ports.store.put(item.clone(), Condition::Absent).await.unwrap();
    let err = ports.store.put(item.clone(), Condition::Absent).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let err = ports.store.put(item.clone(), Condition::Version(7)).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    ports.store.put(Item { version: 2, ..item.clone() }, Condition::Version(1)).await.unwrap();
    assert_eq!(ports.store.get("TENANT#1", "META").await.unwrap().unwrap().version, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_round_trips_every_item_attribute() {
    let (_, _, ports) = stack().await;
    let item = Item {
        gsi1: Some(IndexKey { pk: "G#1".into(), sk: "S#1".into() }),
        expires_at: Some(OffsetDateTime::now_utc().unix_timestamp() + 3600),
        version: 3,
        state: Some("active".into()),
        ..Item::new("P#1", "S#1", serde_json::json!({"nested": {"list": [1, "two", null]}}))
    };
    ports.store.put(item.clone(), Condition::Always).await.unwrap();
    assert_eq!(ports.store.get("P#1", "S#1").await.unwrap(), Some(item));
    assert_eq!(ports.store.get("P#1", "missing").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_expired_item_reads_as_absent_and_can_be_replaced() {
    let (_, _, ports) = stack().await;
    let past = OffsetDateTime::now_utc().unix_timestamp() - 10;
    let stale = Item {
        expires_at: Some(past),
        state: Some("pending".into()),
        ..Item::new("SESSION#1", "S", serde_json::json!(1))
    };
    ports.store.put(stale, Condition::Always).await.unwrap();
    assert_eq!(ports.store.get("SESSION#1", "S").await.unwrap(), None);
    assert!(ports.store.query(Query::partition("SESSION#1")).await.unwrap().items.is_empty());
    for condition in [Condition::Exists, Condition::Version(1), Condition::State("pending".into())] {
        let err = ports.store.delete("SESSION#1", "S", condition).await.unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    }
    ports.store.put(Item::new("SESSION#1", "S", serde_json::json!(2)), Condition::Absent).await.unwrap();
    assert!(ports.store.get("SESSION#1", "S").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_transaction_with_a_failed_check_is_a_conflict_and_writes_nothing() {
    let (_, _, ports) = stack().await;
    ports.store.put(Item::new("A", "1", serde_json::json!(1)), Condition::Always).await.unwrap();
    let writes = vec![
        Write::Put { item: Item::new("A", "2", serde_json::json!(2)), condition: Condition::Absent },
        Write::Check { pk: "A".into(), sk: "1".into(), condition: Condition::State("active".into()) },
    ];
    let err = ports.store.transact(writes).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(ports.store.get("A", "2").await.unwrap(), None);
    let writes = vec![
        Write::Delete { pk: "A".into(), sk: "1".into(), condition: Condition::Version(1) },
        Write::Put { item: Item::new("A", "2", serde_json::json!(2)), condition: Condition::Absent },
    ];
    ports.store.transact(writes).await.unwrap();
    assert_eq!(ports.store.get("A", "1").await.unwrap(), None);
    assert!(ports.store.get("A", "2").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_query_pages_through_gsi1_with_opaque_cursors() {
    let (_, _, ports) = stack().await;
    for i in 0..5 {
        let gsi1 = Some(IndexKey { pk: "AUTH#x".into(), sk: format!("CERT#{i}") });
        ports
            .store
            .put(Item { gsi1, ..Item::new(format!("C#{i}"), "META", serde_json::json!(i)) }, Condition::Always)
            .await
            .unwrap();
    }
    let mut query = Query {
        index: Index::Gsi1,
        range: SkRange::BeginsWith("CERT#".into()),
        limit: 2,
        descending: true,
        ..Query::partition("AUTH#x")
    };
    let mut seen = Vec::new();
    loop {
        let page = ports.store.query(query.clone()).await.unwrap();
        seen.extend(page.items.into_iter().map(|item| item.data));
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, (0..5).rev().map(|i| serde_json::json!(i)).collect::<Vec<_>>());
    query.cursor = Some("not a cursor".into());
    assert!(matches!(ports.store.query(query).await.unwrap_err(), Error::Validation(_)));
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_blob_round_trips_and_missing_key_is_none() {
    let (_, config, ports) = stack().await;
    let key = BlobKey::parse("crl/test.crl").unwrap();
    let location = ports.blobs.put(&key, b"crl bytes".to_vec(), "application/pkix-crl").await.unwrap();
    assert_eq!(location, format!("s3://{}/crl/test.crl", config.blob_bucket));
    assert_eq!(ports.blobs.get(&key).await.unwrap(), Some(b"crl bytes".to_vec()));
    assert_eq!(ports.blobs.get(&BlobKey::parse("crl/absent.crl").unwrap()).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_send_delivers_the_body_and_bootstrap_is_idempotent() {
    let (sdk, config, ports) = stack().await;
    assert_eq!(bootstrap::create_resources_with(&sdk, &config).await.unwrap().job_queue_url, config.job_queue_url);
    ports.queue.send(r#"{"type":"publish_crl","authority_id":"a"}"#.into()).await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let received = sqs.receive_message().queue_url(&config.job_queue_url).wait_time_seconds(1).send().await.unwrap();
    let bodies: Vec<_> = received.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, [r#"{"type":"publish_crl","authority_id":"a"}"#]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_dynamodb_is_unavailable() {
    let sdk = sdk_for("http://127.0.0.1:9").await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), "absent".into());
    let err = store.get("P", "S").await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}
