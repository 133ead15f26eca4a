//! `KeyCustody`: a custody key signs a CA certificate and a CRL too large for one KMS `RAW`
//! sign (over 4096 bytes), and the real `openssl` accepts both.

use crate::backend::Backend;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer, KeyIdMethod,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
};
use std::path::Path;
use std::process::Command;
use time::{Duration, OffsetDateTime};
use trustplane_core::custody::CaSigner;
use trustplane_core::ports::KeyAlgorithm;

const REVOKED: usize = 150;

pub async fn ec_p256_ca_certificate_and_large_crl_verify_with_openssl(b: Backend) {
    ca_certificate_and_large_crl_verify_with_openssl(b, KeyAlgorithm::EcP256).await
}

pub async fn ec_p384_ca_certificate_and_large_crl_verify_with_openssl(b: Backend) {
    ca_certificate_and_large_crl_verify_with_openssl(b, KeyAlgorithm::EcP384).await
}

pub async fn rsa_2048_ca_certificate_and_large_crl_verify_with_openssl(b: Backend) {
    ca_certificate_and_large_crl_verify_with_openssl(b, KeyAlgorithm::Rsa2048).await
}

async fn ca_certificate_and_large_crl_verify_with_openssl(b: Backend, algorithm: KeyAlgorithm) {
    let owner = format!("ca-{}", uuid::Uuid::new_v4().simple());
    let handle = b.ports.custody.create_key(&owner, algorithm).await.expect("create key");
    assert_eq!(handle.algorithm, algorithm);
    let signer = b.ports.custody.signer(&handle).await.expect("signer");
    assert_eq!(signer.algorithm(), algorithm);

    let params = ca_params(&owner);
    let cert = params.self_signed(&signer).expect("self-signed CA certificate");
    let crl = crl_params().signed_by(&Issuer::new(params, &signer)).expect("signed CRL");
    assert!(crl.der().len() > 4096, "CRL of {} bytes is too small to need digest signing", crl.der().len());

    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, crl_pem) = (dir.path().join("ca.pem"), dir.path().join("crl.pem"));
    std::fs::write(&ca_pem, cert.pem()).unwrap();
    std::fs::write(&crl_pem, crl.pem().unwrap()).unwrap();
    let verify = openssl(&["verify", "-check_ss_sig", "-CAfile", path(&ca_pem), path(&ca_pem)]);
    assert!(verify.contains(": OK"), "openssl verify: {verify}");
    assert_tampered_signature_is_refused(dir.path(), cert.der());
    let crl_check = openssl(&["crl", "-in", path(&crl_pem), "-CAfile", path(&ca_pem), "-noout"]);
    assert!(crl_check.contains("verify OK"), "openssl crl: {crl_check}");

    let again = b.ports.custody.signer(&handle).await.expect("signer again");
    let mut second = ca_params(&owner);
    second.serial_number = Some(SerialNumber::from(2u64));
    let second_pem = dir.path().join("second.pem");
    std::fs::write(&second_pem, second.self_signed(&again).expect("sign again").pem()).unwrap();
    let verify = openssl(&["verify", "-check_ss_sig", "-CAfile", path(&second_pem), path(&second_pem)]);
    assert!(verify.contains(": OK"), "the second signature: {verify}");
    assert_same_key(&signer, &again);
}

/// A copy of `der` with the last signature byte flipped must fail `openssl verify -check_ss_sig`
/// (without `-check_ss_sig` OpenSSL 3 never checks a self-signed certificate's own signature).
fn assert_tampered_signature_is_refused(dir: &Path, der: &[u8]) {
    let mut bad = der.to_vec();
    *bad.last_mut().unwrap() ^= 0x01;
    let (der_path, pem_path) = (dir.join("bad.der"), dir.join("bad.pem"));
    std::fs::write(&der_path, &bad).unwrap();
    openssl(&["x509", "-inform", "DER", "-in", path(&der_path), "-out", path(&pem_path)]);
    let out = Command::new("openssl").args(["verify", "-check_ss_sig", "-CAfile", path(&pem_path), path(&pem_path)]).output().unwrap();
    assert!(!out.status.success(), "openssl accepted a flipped signature: {}", String::from_utf8_lossy(&out.stdout));
}

fn assert_same_key(a: &CaSigner, b: &CaSigner) {
    use rcgen::PublicKeyData;
    assert_eq!(a.subject_public_key_info(), b.subject_public_key_info(), "signer changed key");
}

fn ca_params(owner: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, format!("Trustplane contract {owner}"));
    params.distinguished_name.push(DnType::OrganizationName, "Trustplane");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.serial_number = Some(SerialNumber::from(1u64));
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(30);
    params
}

fn crl_params() -> CertificateRevocationListParams {
    let now = OffsetDateTime::now_utc();
    let revoked_certs = (0..REVOKED)
        .map(|n| RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial(n)),
            revocation_time: now - Duration::hours(1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        })
        .collect();
    CertificateRevocationListParams {
        this_update: now - Duration::minutes(1),
        next_update: now + Duration::days(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

/// A positive 16-byte serial number, distinct for each `n`.
fn serial(n: usize) -> [u8; 16] {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] = 0x40;
    bytes[1..9].copy_from_slice(&(n as u64).to_be_bytes());
    bytes
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}

/// Runs `openssl`; returns stdout and stderr together, failing the test on a non-zero exit.
fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().expect("run openssl (is it installed?)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {} failed: {text}", args.join(" "));
    text
}
