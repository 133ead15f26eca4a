//! Delta CRLs (RFC 5280 §5.2.4) and the Freshest CRL pointer of complete CRLs (§5.2.6): a
//! revocation's publication issues a delta naming the complete CRL stored before it, which
//! openssl accepts under the issuer and applies to that base with `-use_deltas`; the schedule
//! republishes before a delta expires. On SQLite + a directory and on DynamoDB + SQS + S3 (moto).

mod common;

use common::*;
use crl_publisher::CrlWorker;
use std::path::Path;
use std::sync::Arc;
use trustplane_core::config::Config;
use trustplane_core::jobs::JobHandler;
use trustplane_core::pki::crl::{self, RevocationReason};
use trustplane_core::pki::{delta_crl, pem, SubjectName};
use trustplane_core::services::pki::{blob_key, delta_blob_key, CertificateRecord, IssueRequest, Pki};

on_both_backends! {
    a_revocation_reaches_a_delta_naming_the_previous_base_which_openssl_applies_with_use_deltas => revocation_in_delta;
    an_authoritys_first_crl_has_no_delta_and_names_none => first_crl;
    the_schedule_republishes_once_a_delta_is_past_half_its_validity => delta_due;
    a_delta_is_valid_for_crl_delta_validity_hours_when_it_is_set => configured_validity;
}

#[test]
fn crl_delta_validity_hours_must_be_shorter_than_crl_validity_hours() {
    let config = |delta: &'static str| Config::from_lookup(move |name| match name {
        "CRL_VALIDITY_HOURS" => Some("12".into()),
        "CRL_DELTA_VALIDITY_HOURS" => Some(delta.into()),
        _ => None,
    });
    assert_eq!(config("11").unwrap().crl_delta_validity_hours, Some(11));
    assert_eq!(config("").unwrap().crl_delta_validity_hours, None);
    for refused in ["12", "0", "two"] {
        assert!(config(refused).is_err(), "CRL_DELTA_VALIDITY_HOURS={refused}");
    }
}

async fn stored(env: &Env, key: trustplane_core::domain::BlobKey) -> Vec<u8> {
    env.ports.blobs.get(&key).await.unwrap().expect("a stored CRL")
}

async fn revoked_leaf(env: &Env, pki: &Pki, authority: &str) -> CertificateRecord {
    let subject = pki.create_subject(SubjectName::common_name_only("delta.example").unwrap()).await.unwrap();
    let request = IssueRequest { issuer_id: authority.to_owned(), subject_id: Some(subject.id), template: Some("TLS_CLIENT".into()), ..IssueRequest::default() };
    let cert = pki.issue(request).await.unwrap().issued.record;
    env.take_jobs().await;
    pki.revoke(&cert.id, RevocationReason::KeyCompromise, None).await.unwrap();
    cert
}

fn lists(der: &[u8], serial: &str) -> bool {
    let (_, parsed) = x509_parser::parse_x509_crl(der).unwrap();
    let wanted = serial.trim_start_matches('0').to_ascii_uppercase();
    let found = parsed.iter_revoked_certificates().any(|r| r.raw_serial_as_string().replace(':', "").trim_start_matches('0').to_ascii_uppercase() == wanted);
    found
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("openssl").current_dir(dir).args(args).output().expect("openssl runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn revocation_in_delta(env: Env) {
    let (authority, pki) = (env.root("Delta Root").await, env.pki());
    pki.publish_crl(&authority, None).await.unwrap();
    let base = stored(&env, blob_key(&authority).unwrap()).await;
    assert_eq!(crl::number(&base), Some(2));
    let cert = revoked_leaf(&env, &pki, &authority).await;
    let worker = CrlWorker::new(pki.clone());
    for job in env.take_jobs().await {
        worker.handle(&job).await.unwrap();
    }
    let (delta, next_base) = (stored(&env, delta_blob_key(&authority).unwrap()).await, stored(&env, blob_key(&authority).unwrap()).await);
    assert_eq!((crl::number(&delta), delta_crl::base_number(&delta), crl::number(&next_base)), (Some(3), Some(2), Some(3)));
    assert!(lists(&delta, &cert.serial_number) && !lists(&base, &cert.serial_number), "the delta lists the revocation, the base it names does not");
    assert!(lists(&next_base, &cert.serial_number), "the complete CRL issued with the delta carries the same information");
    let (_, parsed) = x509_parser::parse_x509_crl(&delta).unwrap();
    let validity = parsed.next_update().unwrap().timestamp() - parsed.last_update().timestamp();
    assert_eq!(validity, i64::from(env.config.crl_validity_hours) * 3600 / 4, "a quarter of the complete CRL's validity");

    let ca_pem = pem::encode("CERTIFICATE", &pki.get_authority(&authority).await.unwrap().der().unwrap());
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("ca.pem", ca_pem), ("leaf.pem", cert.certificate_pem.clone()), ("base.pem", crl::to_pem(&base)), ("delta.pem", crl::to_pem(&delta)), ("both.pem", crl::to_pem(&base) + &crl::to_pem(&delta))] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let d = dir.path();
    let (ok, out) = openssl(d, &["crl", "-in", "delta.pem", "-CAfile", "ca.pem", "-noout", "-text"]);
    assert!(ok && out.contains("verify OK") && out.contains("Delta CRL Indicator: critical"), "{out}");
    assert!(out.contains("Delta CRL Indicator: critical\n                2"), "the indicator names base CRL 2: {out}");
    let (ok, out) = openssl(d, &["crl", "-in", "base.pem", "-CAfile", "ca.pem", "-noout", "-text"]);
    assert!(ok && out.contains("Freshest CRL") && out.contains(&format!("URI:{}", pki.delta_crl_url(&authority))), "{out}");
    assert!(pki.delta_crl_url(&authority).ends_with(&format!("/crl/{authority}-delta.crl")));
    let (ok, out) = openssl(d, &["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "base.pem", "leaf.pem"]);
    assert!(ok && out.contains(": OK"), "the base alone does not know the revocation yet: {out}");
    let (ok, out) = openssl(d, &["verify", "-crl_check", "-use_deltas", "-CAfile", "ca.pem", "-CRLfile", "both.pem", "leaf.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
}

async fn first_crl(env: Env) {
    let authority = env.root("First Delta Root").await;
    let base = stored(&env, blob_key(&authority).unwrap()).await;
    let (_, parsed) = x509_parser::parse_x509_crl(&base).unwrap();
    let freshest = x509_parser::oid_registry::OID_X509_EXT_FRESHEST_CRL;
    assert!(parsed.extensions().iter().all(|e| e.oid != freshest), "CRL 1 has no delta to point at");
    assert_eq!(env.ports.blobs.get(&delta_blob_key(&authority).unwrap()).await.ok().flatten(), None);
    env.pki().publish_crl(&authority, None).await.unwrap();
    let delta = stored(&env, delta_blob_key(&authority).unwrap()).await;
    assert_eq!((crl::number(&delta), delta_crl::base_number(&delta)), (Some(2), Some(1)));
    assert_eq!(x509_parser::parse_x509_crl(&delta).unwrap().1.iter_revoked_certificates().count(), 0);
}

async fn delta_due(env: Env) {
    let (with_delta, without) = (env.root("Aged Delta Root").await, env.root("Aged Base Root").await);
    env.pki().publish_crl(&with_delta, None).await.unwrap();
    env.take_jobs().await;
    let half_delta = u64::from(env.config.crl_validity_hours) / 8 + 1;
    env.age_crl(&with_delta, half_delta).await;
    env.age_crl(&without, half_delta).await;
    assert_eq!(env.pki().enqueue_due_crls().await.unwrap(), 1);
    let jobs = env.take_jobs().await;
    assert!(jobs.len() == 1 && jobs[0].contains(&with_delta), "{jobs:?}");
}

async fn configured_validity(env: Env) {
    let config = Config { crl_delta_validity_hours: Some(2), ..(*env.config).clone() };
    let pki = Pki::new(env.ports.clone(), Arc::new(config));
    let authority = root(&pki, "Two Hour Delta Root").await;
    pki.publish_crl(&authority, None).await.unwrap();
    let delta = stored(&env, delta_blob_key(&authority).unwrap()).await;
    let (_, parsed) = x509_parser::parse_x509_crl(&delta).unwrap();
    assert_eq!(parsed.next_update().unwrap().timestamp() - parsed.last_update().timestamp(), 2 * 3600);
}
