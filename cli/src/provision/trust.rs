//! What `provision` checks before it trusts anything: where it sends the one-time key, and
//! that the CA it is told to trust really signed the certificate it got.

use anyhow::{anyhow, bail};
use std::net::IpAddr;

/// Refuses plain `http://` to anything but this machine unless `insecure`: the provision key
/// and the reply would cross the network in the clear.
pub fn require_tls_off_loopback(uri: &http::Uri, insecure: bool) -> anyhow::Result<()> {
    if uri.scheme_str() != Some("http") || insecure {
        return Ok(());
    }
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("refusing to send a provision key over plain http to {host}: use https, or --insecure if you accept that risk");
    }
    Ok(())
}

/// Fails unless the first certificate of `ca_pem` signed `cert_pem` (checked with its public
/// key), so a reply whose CA does not match is never installed as the trust anchor.
pub fn ensure_ca_signed(cert_pem: &str, ca_pem: &str) -> anyhow::Result<()> {
    let (_, cert) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|e| anyhow!("agent_cert is not PEM: {e}"))?;
    let (_, ca) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).map_err(|e| anyhow!("the server's ca_cert is not PEM: {e}"))?;
    let cert = cert.parse_x509().map_err(|e| anyhow!("agent_cert is not a certificate: {e}"))?;
    let ca = ca.parse_x509().map_err(|e| anyhow!("the server's ca_cert is not a certificate: {e}"))?;
    cert.verify_signature(Some(ca.public_key()))
        .map_err(|_| anyhow!("the server's ca_cert did not sign agent_cert; nothing was written"))
}

/// The provision key: `--key`, or the first line of `--key-file` (`-` reads standard input),
/// so it need not appear in the process list.
pub fn read_key(key: Option<&str>, key_file: Option<&std::path::Path>) -> anyhow::Result<String> {
    let raw = match (key, key_file) {
        (Some(key), None) => key.to_owned(),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| anyhow!("reading the provision key from stdin: {e}"))?;
            line
        }
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| anyhow!("reading the provision key from {}: {e}", path.display()))?,
        _ => bail!("pass the provision key with exactly one of --key or --key-file"),
    };
    let key = raw.lines().next().unwrap_or_default().trim().to_owned();
    if key.is_empty() {
        bail!("the provision key is empty (pass --key, --key-file or set TRUSTPLANE_PROVISION_KEY)");
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_allowed_to_loopback_only_unless_insecure() {
        for ok in ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://pki.example.com"] {
            assert!(require_tls_off_loopback(&ok.parse().unwrap(), false).is_ok(), "{ok}");
        }
        let remote: http::Uri = "http://pki.example.com".parse().unwrap();
        let e = require_tls_off_loopback(&remote, false).unwrap_err().to_string();
        assert!(e.contains("--insecure") && e.contains("pki.example.com"), "{e}");
        assert!(require_tls_off_loopback(&remote, true).is_ok());
    }

    #[test]
    fn a_certificate_from_another_ca_is_refused() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["a".into()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();
        assert!(ensure_ca_signed(&leaf.pem(), &ca.pem()).is_ok());
        let other_key = rcgen::KeyPair::generate().unwrap();
        let other = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&other_key).unwrap();
        assert!(ensure_ca_signed(&leaf.pem(), &other.pem()).unwrap_err().to_string().contains("did not sign"));
    }

    #[test]
    fn the_key_comes_from_exactly_one_place() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "sk_fromfile\n").unwrap();
        assert_eq!(read_key(None, Some(&file)).unwrap(), "sk_fromfile");
        assert_eq!(read_key(Some(" sk_x "), None).unwrap(), "sk_x");
        assert!(read_key(Some("sk_x"), Some(&file)).is_err());
        assert!(read_key(None, None).is_err());
    }
}
