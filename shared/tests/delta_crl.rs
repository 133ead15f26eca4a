//! pkilint (`lint_crl`, PKIX profile, as shared/tests/pki_lint.rs runs it) over a complete CRL
//! carrying Freshest CRL (RFC 5280 §5.2.6) and the delta CRL (§5.2.4) that names it as its
//! base. No ERROR or FATAL finding is allowed.

use rcgen::PublicKeyData;
use std::path::Path;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use trustplane_core::pki::ca::{self, CaProfile};
use trustplane_core::pki::crl::{self, CrlProfile, RevocationReason, RevokedEntry};
use trustplane_core::pki::{delta_crl, CaSigner, IssuerRef, Serial, SubjectName};
use trustplane_core::ports::{KeyAlgorithm, RemoteSign};

struct InProcess(rcgen::KeyPair);

impl RemoteSign for InProcess {
    fn sign(&self, msg: &[u8]) -> trustplane_core::Result<Vec<u8>> {
        rcgen::SigningKey::sign(&self.0, msg).map_err(trustplane_core::Error::internal)
    }
}

/// `lint_crl` on `pem`: its ERROR and FATAL findings.
fn lint_errors(dir: &Path, name: &str, pem: &str) -> Vec<String> {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/.venv/bin/lint_crl");
    assert!(tool.exists(), "{} is missing: run infra/test.sh", tool.display());
    let out = std::process::Command::new(tool).args(["lint", "-t", "CRL", "-p", "PKIX", "-s", "WARNING", "-f", "JSON"]).arg(&path).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("lint_crl failed: {}", String::from_utf8_lossy(&out.stderr)));
    let findings = report["results"].as_array().unwrap().iter().flat_map(|r| r["finding_descriptions"].as_array().unwrap().clone());
    let described: Vec<String> = findings.map(|f| format!("{} {}", f["severity"].as_str().unwrap(), f["code"].as_str().unwrap())).collect();
    println!("{name}: {described:?}");
    described.into_iter().filter(|f| f.starts_with("ERROR") || f.starts_with("FATAL")).collect()
}

#[test]
fn pkilint_finds_no_errors_in_a_base_crl_naming_its_delta_or_in_the_delta() {
    let kp = rcgen::KeyPair::generate_for(KeyAlgorithm::EcP256.signature_algorithm()).unwrap();
    let key = CaSigner::new(KeyAlgorithm::EcP256, &kp.subject_public_key_info(), Arc::new(InProcess(kp))).unwrap();
    let name = SubjectName::common_name_only("Trustplane Delta Lint Root").unwrap();
    let now = OffsetDateTime::now_utc();
    let profile = CaProfile { subject: &name, serial: Serial::random(), not_before: now, not_after: now + Duration::days(365), path_len: Some(0), name_constraints: None };
    let root = ca::self_signed_root(&profile, &key).unwrap();
    let issuer = IssuerRef { cert_der: &root.der, signer: &key, crl_distribution_point: None, ocsp_responder_url: None };
    let revoked = [RevokedEntry { serial: Serial::random(), revoked_at: now, reason: RevocationReason::KeyCompromise }];
    let base = delta_crl::build_base(&CrlProfile { number: 4, this_update: now, next_update: now + Duration::days(1) }, &[], &issuer, "http://crl.example.com/crl/root-delta.crl").unwrap();
    let delta = delta_crl::build_delta(&CrlProfile { number: 5, this_update: now, next_update: now + Duration::hours(6) }, 4, &revoked, &issuer).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(lint_errors(dir.path(), "base.pem", &crl::to_pem(&base)), Vec::<String>::new());
    assert_eq!(lint_errors(dir.path(), "delta.pem", &crl::to_pem(&delta)), Vec::<String>::new());
}
