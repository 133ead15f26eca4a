//! HTTPS for `serve --tls` (rustls on aws-lc-rs): the server's certificate is issued by the
//! default issuing authority for the names it answers to, kept in `<data dir>/tls/` and
//! renewed once two thirds of its validity have passed; or an operator's own
//! (`--tls-cert/--tls-key`). A client certificate that chains to the same root is asked for
//! but not required (Puppet agents present theirs once they have one).

use anyhow::{bail, Context};
use clap::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use time::{Duration, OffsetDateTime};
use trustplane_core::pki::leaf::{generate_key, Template};
use trustplane_core::pki::{DnsName, SubjectName};
use trustplane_core::ports::KeyAlgorithm;
use trustplane_core::services::pki::{Channel, LeafRequest, Pki, Provenance};

/// How long the server certificate `serve` issues itself is valid.
const VALIDITY: Duration = Duration::days(90);
/// How often the renewal check runs.
const RENEWAL_CHECK: std::time::Duration = std::time::Duration::from_secs(3600);

/// `serve` TLS flags.
#[derive(Debug, Clone, Args, Default)]
pub struct TlsArgs {
    /// Serve HTTPS instead of plain HTTP.
    #[arg(long, env = "TRUSTPLANE_TLS")]
    pub tls: bool,
    /// Names the self-issued certificate is for (DNS names or IP addresses); default
    /// `localhost` and the listen address.
    #[arg(long = "tls-name", env = "TRUSTPLANE_TLS_NAMES", value_delimiter = ',')]
    pub names: Vec<String>,
    /// An operator's certificate chain (PEM, leaf first) instead of a self-issued one.
    #[arg(long, env = "TRUSTPLANE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, env = "TRUSTPLANE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// The certificate `serve` presents, swapped in place when renewed.
#[derive(Debug)]
pub struct Identity(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Identity {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// What the TLS listener needs: the acceptor's configuration and, for a self-issued
/// certificate, how to renew it.
pub struct Tls {
    pub config: Arc<ServerConfig>,
    renewer: Option<Renewer>,
}

struct Renewer {
    identity: Arc<Identity>,
    issuer: Issuer,
    not_after: OffsetDateTime,
}

#[derive(Clone)]
struct Issuer {
    pki: Pki,
    issuer_id: String,
    names: Vec<String>,
    dir: PathBuf,
}

impl Tls {
    /// Loads or issues the server certificate and builds the configuration.
    pub async fn prepare(args: &TlsArgs, pki: &Pki, issuer_id: &str, listen: SocketAddr, data_dir: &Path) -> anyhow::Result<Self> {
        let roots = root_store(pki, issuer_id).await?;
        let (identity, renewer) = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => (Arc::new(Identity(RwLock::new(certified(&read(cert)?, &read(key)?)?))), None),
            _ => {
                let issuer = Issuer { pki: pki.clone(), issuer_id: issuer_id.to_owned(), names: names(args, listen), dir: data_dir.join("tls") };
                let (key, not_after) = issuer.current_or_new().await?;
                let identity = Arc::new(Identity(RwLock::new(key)));
                (identity.clone(), Some(Renewer { identity, issuer, not_after }))
            }
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).allow_unauthenticated().build()?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(identity);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls { config: Arc::new(config), renewer })
    }

    /// Renews the self-issued certificate before it expires, until `stop`.
    pub async fn renew_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(mut renewer) = self.renewer else { return };
        let mut tick = tokio::time::interval(RENEWAL_CHECK);
        loop {
            tokio::select! {
                _ = tick.tick() => renewer.renew_if_due().await,
                _ = stop.changed() => return,
            }
        }
    }
}

impl Renewer {
    async fn renew_if_due(&mut self) {
        if !due(self.not_after) {
            return;
        }
        match self.issuer.issue().await {
            Ok((key, not_after)) => {
                *self.identity.0.write().unwrap_or_else(|p| p.into_inner()) = key;
                self.not_after = not_after;
                tracing::info!(not_after = %not_after, "server certificate renewed");
            }
            Err(e) => tracing::error!(error = %e, "renewing the server certificate failed; retrying in an hour"),
        }
    }
}

impl Issuer {
    /// The stored certificate if it still covers the names and is not due; else a new one.
    async fn current_or_new(&self) -> anyhow::Result<(Arc<CertifiedKey>, OffsetDateTime)> {
        if let Some(stored) = self.stored()? {
            return Ok(stored);
        }
        self.issue().await
    }

    fn stored(&self) -> anyhow::Result<Option<(Arc<CertifiedKey>, OffsetDateTime)>> {
        let (cert, key) = (self.dir.join("server.crt"), self.dir.join("server.key"));
        if !cert.exists() || !key.exists() {
            return Ok(None);
        }
        let chain = read(&cert)?;
        let leaf = CertificateDer::pem_slice_iter(&chain).next().context("server.crt holds no certificate")??;
        let (_, parsed) = x509_parser::parse_x509_certificate(&leaf).context("server.crt")?;
        let not_after = parsed.validity().not_after.to_datetime();
        let sans = subject_alt_names(&parsed);
        let covered = self.names.iter().all(|name| sans.contains(&name.to_ascii_lowercase()));
        if due(not_after) || !covered {
            return Ok(None);
        }
        Ok(Some((certified(&chain, &read(&key)?)?, not_after)))
    }

    /// Issues a TLS_SERVER certificate for the names from the default issuing authority and
    /// stores it (key file 0600, written before the certificate that names it).
    async fn issue(&self) -> anyhow::Result<(Arc<CertifiedKey>, OffsetDateTime)> {
        let (dns_names, ip_addresses) = split_names(&self.names)?;
        let (key, key_pem) = generate_key(KeyAlgorithm::EcP256)?;
        let request = LeafRequest {
            issuer_id: self.issuer_id.clone(),
            template: Template::TlsServer,
            subject: SubjectName::common_name_only(&self.names[0])?,
            subject_id: None,
            dns_names,
            ip_addresses,
            validity: VALIDITY,
        };
        let provenance = Provenance { channel: Channel::Pki, requested_by: Some("trustplane serve".into()), answers_pending: false };
        let issued = self.pki.issue_in(provenance, request, &key, |_| Ok(Vec::new())).await?;
        let mut chain = issued.cert.pem.clone();
        for der in &issued.chain {
            chain.push_str(&trustplane_core::pki::pem::encode("CERTIFICATE", der));
        }
        crate::serve::create_private_dir(&self.dir)?;
        write_private(&self.dir.join("server.key"), key_pem.as_bytes())?;
        write_private(&self.dir.join("server.crt"), chain.as_bytes())?;
        tracing::info!(serial = %issued.cert.serial, names = ?self.names, "server certificate issued");
        Ok((certified(chain.as_bytes(), key_pem.as_bytes())?, issued.cert.not_after))
    }
}

/// The dNSName and iPAddress entries of a certificate, as `--tls-name` spells them.
fn subject_alt_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok(Some(ext)) = cert.subject_alternative_name() else { return Vec::new() };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => Some(IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                16 => Some(IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Renew once less than a third of the validity is left.
fn due(not_after: OffsetDateTime) -> bool {
    not_after - trustplane_core::clock::now() < VALIDITY / 3
}

fn names(args: &TlsArgs, listen: SocketAddr) -> Vec<String> {
    if !args.names.is_empty() {
        return args.names.clone();
    }
    let mut names = vec!["localhost".to_owned()];
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    names
}

fn split_names(names: &[String]) -> anyhow::Result<(Vec<DnsName>, Vec<IpAddr>)> {
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    for name in names {
        match name.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(DnsName::parse(name).with_context(|| format!("--tls-name {name}"))?),
        }
    }
    if names.is_empty() {
        bail!("--tls-name: at least one name");
    }
    Ok((dns, ips))
}

/// Every certificate of the default issuer's chain up to its root is trusted for clients.
async fn root_store(pki: &Pki, issuer_id: &str) -> anyhow::Result<RootCertStore> {
    let chain = pki.chain(issuer_id).await?;
    let root = chain.last().context("the default issuer has no chain")?;
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(root.clone()))?;
    Ok(roots)
}

fn certified(chain_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<Arc<CertifiedKey>> {
    let chain = CertificateDer::pem_slice_iter(chain_pem).collect::<Result<Vec<_>, _>>().context("certificate chain PEM")?;
    if chain.is_empty() {
        bail!("the certificate file holds no certificate");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).context("private key PEM")?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    Ok(Arc::new(CertifiedKey::from_der(chain, key, &provider)?))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    std::fs::File::open(path.parent().context("no parent")?)?.sync_all()?;
    Ok(())
}
