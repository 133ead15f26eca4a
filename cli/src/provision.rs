//! `trustplane provision`: the agent side of provisioning. The private key is generated on
//! this machine and never leaves it; only a PKCS#10 CSR and the one-time provision key are
//! sent to `POST /api/v1/provision`, which answers with the signed certificate and the CA
//! certificate. Existing outputs are never overwritten without `--force`.

mod client;
mod files;
mod trust;

pub use files::{AGENT_CERT, AGENT_KEY, CA_CERT};

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The subject CN the CSR asks for; the server replaces it with the agent id regardless.
pub const CSR_COMMON_NAME: &str = "trustplane-agent";

/// How much of an unexpected reply body is shown.
const MAX_SHOWN_BODY_CHARS: usize = 500;

/// `provision` flags.
#[derive(Clone, Args)]
pub struct ProvisionArgs {
    /// Base URL of the Trustplane server (e.g. https://pki.example.com).
    #[arg(long, env = "TRUSTPLANE_SERVER")]
    pub server: String,
    /// The one-time provision key (sk_...) an operator minted for this agent.
    #[arg(long, env = "TRUSTPLANE_PROVISION_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Read the provision key from this file (`-`: standard input), keeping it out of `ps`.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Allow plain http:// to a server that is not on this machine.
    #[arg(long)]
    pub insecure: bool,
    /// Directory for agent.key, agent.crt and ca.crt (created with mode 0700 if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Type of the private key generated on this machine.
    #[arg(long, value_enum, default_value_t = AgentKeyType::EcP256)]
    pub agent_key_type: AgentKeyType,
    /// Replace agent.key, agent.crt and ca.crt if they already exist.
    #[arg(long)]
    pub force: bool,
}

impl std::fmt::Debug for ProvisionArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionArgs")
            .field("server", &self.server)
            .field("key", &"<redacted>")
            .field("out", &self.out)
            .field("agent_key_type", &self.agent_key_type)
            .field("force", &self.force)
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// The agent key types the server's CSR policy accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AgentKeyType {
    /// ECDSA on P-256, signed with SHA-256.
    #[value(name = "ec-p256")]
    EcP256,
    /// ECDSA on P-384, signed with SHA-384.
    #[value(name = "ec-p384")]
    EcP384,
    /// RSA 2048-bit, PKCS#1 v1.5 with SHA-256.
    #[value(name = "rsa-2048")]
    Rsa2048,
}

impl AgentKeyType {
    /// Generates a fresh private key of this type (aws-lc-rs).
    pub fn generate(self) -> anyhow::Result<KeyPair> {
        let key = match self {
            Self::EcP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Rsa2048 => KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048),
        };
        key.with_context(|| format!("generating the {self:?} agent key"))
    }
}

/// The request body of `POST /api/v1/provision`.
#[derive(Serialize)]
struct ProvisionRequest<'a> {
    provision_key: &'a str,
    csr: &'a str,
}

/// The 200 reply of `POST /api/v1/provision`.
#[derive(Debug, Deserialize)]
struct ProvisionResponse {
    agent_id: String,
    agent_cert: String,
    ca_cert: String,
}

/// Runs `provision`: checks the arguments and the output directory, generates the key and
/// CSR, exchanges them for certificates, writes the three files and prints where they are.
pub async fn run(args: ProvisionArgs) -> anyhow::Result<()> {
    let endpoint = client::endpoint(&args.server)?;
    trust::require_tls_off_loopback(&endpoint, args.insecure)?;
    let provision_key = &trust::read_key(args.key.as_deref(), args.key_file.as_deref())?;
    files::refuse_existing(&args.out, args.force)?;
    let key_pair = args.agent_key_type.generate()?;
    let csr = build_csr(&key_pair)?;
    files::prepare_dir(&args.out)?;
    let body = serde_json::to_vec(&ProvisionRequest { provision_key, csr: &csr })?;
    let reply = client::post_json(&endpoint, body).await?;
    let issued = parse_reply(&reply)?;
    ensure_certificate_matches(&issued.agent_cert, &key_pair)?;
    trust::ensure_ca_signed(&issued.agent_cert, &issued.ca_cert)?;
    let outputs = files::Outputs { agent_key: &key_pair.serialize_pem(), agent_cert: &pem_text(&issued.agent_cert), ca_cert: &pem_text(&issued.ca_cert) };
    let [key_path, cert_path, ca_path] = files::install(&args.out, &outputs).with_context(|| {
        format!("the server issued a certificate for agent {} (the provision key is now used) but saving it failed; ask for a new provision key", issued.agent_id)
    })?;
    println!("Provisioned agent {}", issued.agent_id);
    println!("  private key:    {}", key_path.display());
    println!("  certificate:    {}", cert_path.display());
    println!("  CA certificate: {}", ca_path.display());
    Ok(())
}

/// A PEM PKCS#10 request for `key_pair`, self-signed with it, with subject
/// CN=[`CSR_COMMON_NAME`] and no extensions.
pub fn build_csr(key_pair: &KeyPair) -> anyhow::Result<String> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CSR_COMMON_NAME);
    let csr = params.serialize_request(key_pair).context("building the certificate request")?;
    csr.pem().context("encoding the certificate request")
}

/// The issued certificates from a 200 reply, or an error carrying the server's reason:
/// `provision failed (HTTP 401): provision key already used`.
fn parse_reply(reply: &client::Reply) -> anyhow::Result<ProvisionResponse> {
    if reply.status != http::StatusCode::OK {
        bail!("provision failed (HTTP {}): {}", reply.status.as_u16(), failure_reason(&reply.body));
    }
    let issued: ProvisionResponse = serde_json::from_slice(&reply.body)
        .map_err(|e| anyhow!("the server answered 200 without a provision result ({e}): {}", shown_body(&reply.body)))?;
    if issued.agent_id.is_empty() {
        bail!("the server answered 200 with an empty agent_id");
    }
    Ok(issued)
}

/// The `error` (or problem+json `detail`) string of a failure body, else the body itself.
fn failure_reason(body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| {
        ["error", "detail", "message"].iter().find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_owned))
    });
    match message {
        Some(m) if !m.trim().is_empty() => m,
        _ if body.iter().all(u8::is_ascii_whitespace) => "(empty body)".to_owned(),
        _ => shown_body(body),
    }
}

/// At most [`MAX_SHOWN_BODY_CHARS`] characters of `body`, on one line.
fn shown_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match one_line.char_indices().nth(MAX_SHOWN_BODY_CHARS) {
        Some((cut, _)) => format!("{}… (truncated)", &one_line[..cut]),
        None => one_line,
    }
}

/// Fails unless `cert_pem` is a PEM certificate for `key_pair`'s public key, so a wrong
/// answer never replaces a working identity.
fn ensure_certificate_matches(cert_pem: &str, key_pair: &KeyPair) -> anyhow::Result<()> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
        .map_err(|e| anyhow!("the server's agent_cert is not a PEM certificate: {e}"))?;
    let cert = pem.parse_x509().map_err(|e| anyhow!("the server's agent_cert is not a valid certificate: {e}"))?;
    if cert.public_key().raw != key_pair.subject_public_key_info().as_slice() {
        bail!("the server's agent_cert is for a different public key than the one generated here");
    }
    Ok(())
}

/// `pem` with exactly one trailing newline.
fn pem_text(pem: &str) -> String {
    format!("{}\n", pem.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    const ALL_TYPES: [AgentKeyType; 3] = [AgentKeyType::EcP256, AgentKeyType::EcP384, AgentKeyType::Rsa2048];

    fn openssl(args: &[&str], input_file: &std::path::Path) -> std::process::Output {
        Command::new("openssl").args(args).arg("-in").arg(input_file).output().expect("run openssl")
    }

    fn args(out: PathBuf, force: bool) -> ProvisionArgs {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        ProvisionArgs { server: format!("http://{closed}"), key: Some("sk_test".into()), key_file: None, insecure: false, out, agent_key_type: AgentKeyType::EcP256, force }
    }

    #[test]
    fn the_csr_verifies_with_openssl_for_every_key_type() {
        let dir = tempfile::tempdir().unwrap();
        for kind in ALL_TYPES {
            let key_pair = kind.generate().unwrap();
            let path = dir.path().join(format!("{kind:?}.csr"));
            std::fs::write(&path, build_csr(&key_pair).unwrap()).unwrap();
            let out = openssl(&["req", "-verify", "-noout", "-subject"], &path);
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "{kind:?}: {text}");
            assert!(text.contains("verify OK") || text.contains("Certificate request self-signature verify OK"), "{kind:?}: {text}");
            assert!(text.contains(&format!("CN={CSR_COMMON_NAME}")) || text.contains(&format!("CN = {CSR_COMMON_NAME}")), "{kind:?}: {text}");
        }
    }

    #[test]
    fn every_key_type_is_written_as_a_pkcs8_key_openssl_reads_with_the_expected_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let expected = [(AgentKeyType::EcP256, "P-256"), (AgentKeyType::EcP384, "P-384"), (AgentKeyType::Rsa2048, "2048 bit")];
        for (kind, marker) in expected {
            let pem = kind.generate().unwrap().serialize_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{kind:?} is not PKCS#8: {pem}");
            let path = dir.path().join(format!("{kind:?}.key"));
            std::fs::write(&path, pem).unwrap();
            let out = openssl(&["pkey", "-noout", "-text"], &path);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && text.contains(marker), "{kind:?}: {text}");
        }
    }

    #[tokio::test]
    async fn provision_refuses_to_overwrite_an_existing_output_without_force_before_any_network_call() {
        for name in [AGENT_KEY, AGENT_CERT, CA_CERT] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(name), "keep me").unwrap();
            let e = format!("{:#}", run(args(dir.path().to_owned(), false)).await.unwrap_err());
            assert!(e.contains("refusing to overwrite") && e.contains(&dir.path().join(name).display().to_string()), "{e}");
            assert!(e.contains("--force"), "{e}");
            assert_eq!(std::fs::read_to_string(dir.path().join(name)).unwrap(), "keep me");
        }
    }

    #[tokio::test]
    async fn with_force_an_existing_output_does_not_stop_provision_from_contacting_the_server() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(AGENT_KEY), "old").unwrap();
        let e = format!("{:#}", run(args(dir.path().to_owned(), true)).await.unwrap_err());
        assert!(e.contains("could not reach http://127.0.0.1:") && e.contains("/api/v1/provision"), "{e}");
        assert_eq!(std::fs::read_to_string(dir.path().join(AGENT_KEY)).unwrap(), "old", "a failed run leaves files alone");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary files are left behind");
    }

    #[tokio::test]
    async fn an_output_path_that_is_not_a_writable_directory_fails_before_any_network_call() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "").unwrap();
        let e = format!("{:#}", run(args(file.clone(), false)).await.unwrap_err());
        assert!(e.contains(&format!("creating {}", file.display())) && !e.contains("could not reach"), "{e}");
    }

    #[test]
    fn the_key_file_is_mode_0600_in_a_new_0700_directory_and_force_replaces_a_looser_one() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("tls");
        let outputs = files::Outputs { agent_key: "KEY\n", agent_cert: "CERT\n", ca_cert: "CA\n" };
        let [key, cert, ca] = files::install(&dir, &outputs).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&key), mode(&dir)), (0o600, 0o700));
        assert_eq!((std::fs::read_to_string(&cert).unwrap(), std::fs::read_to_string(&ca).unwrap()), ("CERT\n".into(), "CA\n".into()));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        files::install(&dir, &files::Outputs { agent_key: "NEW\n", ..outputs }).unwrap();
        assert_eq!((mode(&key), std::fs::read_to_string(&key).unwrap()), (0o600, "NEW\n".into()));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3, "no temporary files are left behind");
    }

    #[test]
    fn a_failure_reply_is_reported_with_the_status_and_the_servers_reason() {
        let reply = |status: u16, body: &str| client::Reply { status: http::StatusCode::from_u16(status).unwrap(), body: body.to_owned().into() };
        let e = parse_reply(&reply(401, r#"{"error":"provision key already used"}"#)).unwrap_err().to_string();
        assert_eq!(e, "provision failed (HTTP 401): provision key already used");
        let e = parse_reply(&reply(400, r#"{"error":"invalid CSR: signature does not verify"}"#)).unwrap_err().to_string();
        assert_eq!(e, "provision failed (HTTP 400): invalid CSR: signature does not verify");
        let e = parse_reply(&reply(502, &format!("<html>{}</html>", "x".repeat(2000)))).unwrap_err().to_string();
        assert!(e.starts_with("provision failed (HTTP 502): <html>xxx") && e.ends_with("… (truncated)") && e.len() < 600, "{e}");
        let e = parse_reply(&reply(200, "not json")).unwrap_err().to_string();
        assert!(e.contains("without a provision result"), "{e}");
    }

    #[test]
    fn a_certificate_for_another_key_is_rejected() {
        let ours = AgentKeyType::EcP256.generate().unwrap();
        let theirs = AgentKeyType::EcP256.generate().unwrap();
        let cert = CertificateParams::default().self_signed(&theirs).unwrap().pem();
        assert!(ensure_certificate_matches(&cert, &ours).unwrap_err().to_string().contains("different public key"));
        let own = CertificateParams::default().self_signed(&ours).unwrap().pem();
        ensure_certificate_matches(&own, &ours).unwrap();
    }

    #[test]
    fn debug_output_never_shows_the_provision_key() {
        let shown = format!("{:?}", args(PathBuf::from("/tmp/x"), false));
        assert!(!shown.contains("sk_test") && shown.contains("<redacted>"), "{shown}");
    }
}
