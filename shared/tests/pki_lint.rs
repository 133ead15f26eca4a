//! pkilint (the `pkilint==0.13.3` of infra/requirements.txt, installed into infra/.venv by
//! infra/test.sh) over what the PKI core issues: a root, an intermediate, one leaf per
//! template and key type, and a CRL. No ERROR or FATAL finding is allowed; warnings are
//! printed.

use rcgen::PublicKeyData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use trustplane_core::pki::ca::{self, CaProfile};
use trustplane_core::pki::crl::{self, CrlProfile, RevocationReason, RevokedEntry};
use trustplane_core::pki::leaf::{self, LeafProfile, Template};
use trustplane_core::pki::{CaSigner, DnsName, IssuedCert, IssuerRef, Serial, SubjectName};
use trustplane_core::ports::{KeyAlgorithm, RemoteSign};

struct InProcess(rcgen::KeyPair);

impl RemoteSign for InProcess {
    fn sign(&self, msg: &[u8]) -> trustplane_core::Result<Vec<u8>> {
        rcgen::SigningKey::sign(&self.0, msg).map_err(trustplane_core::Error::internal)
    }
}

fn signer(alg: KeyAlgorithm) -> CaSigner {
    let kp = rcgen::KeyPair::generate_for(alg.signature_algorithm()).unwrap();
    CaSigner::new(alg, &kp.subject_public_key_info(), Arc::new(InProcess(kp))).unwrap()
}

fn tool(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/.venv/bin").join(name);
    assert!(path.exists(), "{} is missing: run infra/test.sh (it installs pkilint==0.13.3 into infra/.venv)", path.display());
    path
}

/// Runs a pkilint console script with `-s WARNING -f JSON`; returns (severity, code) pairs.
fn lint(script: &str, args: &[&str], files: &[&Path]) -> Vec<(String, String)> {
    let out = std::process::Command::new(tool(script)).arg("lint").args(args).args(["-s", "WARNING", "-f", "JSON"]).args(files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("{script} failed on {files:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    let mut findings = Vec::new();
    for result in report["results"].as_array().unwrap() {
        for finding in result["finding_descriptions"].as_array().unwrap() {
            let (severity, code) = (finding["severity"].as_str().unwrap(), finding["code"].as_str().unwrap());
            println!("{script} {:?}: {severity} {code} at {}", files.last().unwrap().file_name().unwrap(), result["node_path"]);
            findings.push((severity.to_owned(), code.to_owned()));
        }
    }
    findings
}

fn errors(findings: &[(String, String)]) -> Vec<&(String, String)> {
    findings.iter().filter(|(s, _)| s == "ERROR" || s == "FATAL").collect()
}

fn subject(cn: &str, email: Option<&str>) -> SubjectName {
    SubjectName::parse(SubjectName {
        organization: Some("Trustplane Lint".into()),
        organizational_unit: Some("PKI".into()),
        country: Some("de".into()),
        state: Some("Berlin".into()),
        locality: Some("Berlin".into()),
        email: email.map(str::to_owned),
        ..SubjectName::common_name_only(cn).unwrap()
    })
    .unwrap()
}

fn ca_profile(subject: &SubjectName, days: i64, path_len: Option<u8>) -> CaProfile<'_> {
    let now = OffsetDateTime::now_utc();
    CaProfile { subject, serial: Serial::random(), not_before: now, not_after: now + Duration::days(days), path_len, name_constraints: None }
}

fn leaf_for(template: Template, alg: KeyAlgorithm, issuer: &IssuerRef<'_>) -> IssuedCert {
    let name = subject("host1.example.com", Some("host1@example.com"));
    let dns = [DnsName::parse("host1.example.com").unwrap()];
    let ips = ["192.0.2.10".parse().unwrap()];
    let now = OffsetDateTime::now_utc() - Duration::minutes(1);
    let (key, _) = leaf::generate_key(alg).unwrap();
    let profile = LeafProfile { template, subject: &name, dns_names: &dns, ip_addresses: &ips, uris: &[], serial: Serial::random(), not_before: now, not_after: now + Duration::days(90) };
    leaf::issue(&profile, &key, issuer).unwrap()
}

#[test]
fn pkilint_finds_no_errors_in_roots_intermediates_leaves_or_crls() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let root_key = signer(KeyAlgorithm::EcP384);
    let root_name = subject("Trustplane Lint Root", None);
    let root = ca::self_signed_root(&ca_profile(&root_name, 3650, Some(1)), &root_key).unwrap();
    let root_issuer = IssuerRef { cert_der: &root.der, signer: &root_key, crl_distribution_point: Some("http://crl.example.com/root.crl"), ocsp_responder_url: Some("http://ocsp.example.com/root") };
    let int_key = signer(KeyAlgorithm::EcP256);
    let int_name = subject("Trustplane Lint Issuing CA", Some("pki@example.com"));
    let int = ca::intermediate(&ca_profile(&int_name, 1825, Some(0)), &int_key, &root_issuer).unwrap();
    let int_issuer = IssuerRef { cert_der: &int.der, signer: &int_key, crl_distribution_point: Some("http://crl.example.com/int.crl"), ocsp_responder_url: Some("http://ocsp.example.com/int") };

    let root_path = write("root.pem", &root.pem);
    let int_path = write("int.pem", &int.pem);
    let mut findings = lint("lint_pkix_cert", &[], &[&root_path]);
    findings.extend(lint("lint_pkix_cert", &[], &[&int_path]));
    findings.extend(lint("lint_pkix_signer_signee_cert_chain", &[], &[&root_path, &int_path]));
    let templates = [Template::TlsServer, Template::TlsClient, Template::CodeSigning, Template::PuppetAgent];
    let mut revoked = Vec::new();
    for (i, template) in templates.into_iter().enumerate() {
        for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::Rsa2048] {
            let cert = leaf_for(template, alg, &int_issuer);
            let path = write(&format!("leaf-{i}-{alg:?}.pem"), &cert.pem);
            findings.extend(lint("lint_pkix_cert", &[], &[&path]));
            findings.extend(lint("lint_pkix_signer_signee_cert_chain", &[], &[&int_path, &path]));
            revoked.push(RevokedEntry { serial: cert.serial, revoked_at: OffsetDateTime::now_utc(), reason: RevocationReason::KeyCompromise });
        }
    }
    revoked[1].reason = RevocationReason::Unspecified;
    revoked[2].reason = RevocationReason::Superseded;
    let now = OffsetDateTime::now_utc();
    let crl_der = crl::build(&CrlProfile { number: 3, this_update: now, next_update: now + Duration::days(7) }, &revoked, &int_issuer).unwrap();
    let crl_path = write("int.crl.pem", &crl::to_pem(&crl_der));
    findings.extend(lint("lint_crl", &["-t", "CRL", "-p", "PKIX"], &[&crl_path]));
    let empty = crl::build(&CrlProfile { number: 1, this_update: now, next_update: now + Duration::days(7) }, &[], &root_issuer).unwrap();
    let empty_path = write("root.crl.pem", &crl::to_pem(&empty));
    findings.extend(lint("lint_crl", &["-t", "ARL", "-p", "PKIX"], &[&empty_path]));
    assert!(errors(&findings).is_empty(), "pkilint errors: {:?}", errors(&findings));
}
