//! Test fixtures: in-process custody keys and a small CA hierarchy.

use super::ca::{self, CaProfile};
use super::{CaSigner, IssuedCert, IssuerRef, Serial, SubjectName};
use crate::error::{Error, Result};
use crate::ports::{KeyAlgorithm, RemoteSign};
use rcgen::PublicKeyData;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::X509Extension;

pub(crate) const CRL_URL: &str = "http://crl.example.com/int.crl";
pub(crate) const OCSP_URL: &str = "http://ocsp.example.com/int";

/// An rcgen key pair signing in process.
pub(crate) struct TestSign(pub(crate) rcgen::KeyPair);

impl RemoteSign for TestSign {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        rcgen::SigningKey::sign(&self.0, msg).map_err(Error::internal)
    }
}

/// A backend that is down.
pub(crate) struct Down;

impl RemoteSign for Down {
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>> {
        Err(Error::Unavailable("kms is down".into()))
    }
}

pub(crate) fn key_pair(alg: KeyAlgorithm) -> rcgen::KeyPair {
    match alg {
        KeyAlgorithm::Rsa3072 => rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072),
        KeyAlgorithm::Rsa4096 => rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096),
        _ => rcgen::KeyPair::generate_for(alg.signature_algorithm()),
    }
    .unwrap()
}

pub(crate) fn signer(alg: KeyAlgorithm) -> CaSigner {
    let kp = key_pair(alg);
    CaSigner::new(alg, &kp.subject_public_key_info(), Arc::new(TestSign(kp))).unwrap()
}

pub(crate) fn subject(cn: &str) -> SubjectName {
    SubjectName::parse(SubjectName { organization: Some("Trustplane Test".into()), country: Some("DE".into()), ..SubjectName::common_name_only(cn).unwrap() }).unwrap()
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::minutes(1)
}

/// A CA certificate and its custody key.
pub(crate) struct TestCa {
    pub(crate) cert: IssuedCert,
    pub(crate) signer: CaSigner,
}

impl TestCa {
    /// As an issuer with the test CRL DP and OCSP URLs.
    pub(crate) fn issuer(&self) -> IssuerRef<'_> {
        IssuerRef { cert_der: &self.cert.der, signer: &self.signer, crl_distribution_point: Some(CRL_URL), ocsp_responder_url: Some(OCSP_URL) }
    }
}

pub(crate) fn ca_profile(subject: &SubjectName, years: i64, path_len: Option<u8>) -> CaProfile<'_> {
    CaProfile { subject, serial: Serial::random(), not_before: now(), not_after: now() + Duration::days(365 * years), path_len, name_constraints: None }
}

pub(crate) fn test_root(alg: KeyAlgorithm) -> TestCa {
    let signer = signer(alg);
    let name = subject("Test Root");
    let cert = ca::self_signed_root(&ca_profile(&name, 10, Some(1)), &signer).unwrap();
    TestCa { cert, signer }
}

pub(crate) fn test_intermediate(parent: &TestCa, alg: KeyAlgorithm) -> TestCa {
    let signer = signer(alg);
    let name = subject("Test Intermediate");
    let cert = ca::intermediate(&ca_profile(&name, 5, Some(0)), &signer, &parent.issuer()).unwrap();
    TestCa { cert, signer }
}

pub(crate) fn parse(der: &[u8]) -> X509Certificate<'_> {
    x509_parser::parse_x509_certificate(der).unwrap().1
}

/// The extension with dotted `oid`, which must be present exactly once.
pub(crate) fn ext<'a, 'b>(cert: &'b X509Certificate<'a>, oid: &str) -> &'b X509Extension<'a> {
    let found: Vec<_> = cert.extensions().iter().filter(|e| e.oid.to_id_string() == oid).collect();
    assert_eq!(found.len(), 1, "extension {oid} present {} times", found.len());
    found[0]
}

pub(crate) fn has_ext(cert: &X509Certificate<'_>, oid: &str) -> bool {
    cert.extensions().iter().any(|e| e.oid.to_id_string() == oid)
}

pub(crate) fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
    match ext(cert, "2.5.29.14").parsed_extension() {
        x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => id.0.to_vec(),
        other => panic!("bad SKI {other:?}"),
    }
}

pub(crate) fn aki(cert: &X509Certificate<'_>) -> Vec<u8> {
    match ext(cert, "2.5.29.35").parsed_extension() {
        x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().unwrap().0.to_vec(),
        other => panic!("bad AKI {other:?}"),
    }
}

pub(crate) fn public_bits(signer: &CaSigner) -> Vec<u8> {
    signer.der_bytes().to_vec()
}

/// Runs a program, returning (success, stdout + stderr).
pub(crate) fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A PEM CSR for `key` asking for `cn` (and CA=TRUE when `ca`).
pub(crate) fn csr_pem(key: &rcgen::KeyPair, cn: &str, ca: bool) -> String {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    params.subject_alt_names = vec![rcgen::SanType::DnsName(cn.try_into().unwrap())];
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    params.serialize_request(key).unwrap().pem().unwrap()
}

/// Writes `files` into a fresh temporary directory.
pub(crate) fn temp_files(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}
