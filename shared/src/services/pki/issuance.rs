//! End-entity issuance (seed 004 §3) into the one certificate inventory. [`Pki::issue`] is the
//! seed's endpoint; [`Pki::issue_for_key`] is the path agent provisioning and the Puppet CA
//! take with a CSR's key, committing their own writes atomically with the certificate.

use super::authorities::Signing;
use super::counts::Delta;
use super::records::{item, AuthorityRecord, AuthorityStatus, CertStatus, CertificateRecord, Channel};
use super::{now, rfc3339, Pki};
use crate::error::{Error, Result};
use crate::pki::leaf::{self, LeafKey, LeafProfile, Template};
use crate::pki::{csr, DnsName, IssuedCert, SanUri, Serial, SubjectName};
use crate::ports::{Condition, Write};
use serde_json::json;
use std::net::IpAddr;
use time::Duration;

/// The longest validity any end-entity certificate may have (seed 004 `validityDays` ≤ 3650).
pub const MAX_VALIDITY_DAYS: u32 = 3650;
const MAX_SANS: usize = 100;

/// Seed 004 `POST /issuers/{authorityId}/certificates`, before validation. Without `csr` a
/// key pair of the issuer's algorithm is generated and returned once; with one, only its key
/// is used (its names and extensions are ignored). `validityDays` defaults to 365.
#[derive(Clone, Debug, Default)]
pub struct IssueRequest {
    pub issuer_id: String,
    pub subject_id: Option<String>,
    pub template: Option<String>,
    pub validity_days: Option<u32>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    /// uniformResourceIdentifier SANs, held to the chain's URI name constraints.
    pub uris: Vec<String>,
    pub csr: Option<String>,
    /// The id of the API key asking.
    pub requested_by: Option<String>,
}

/// Who is issuing: the channel the certificate belongs to and the acting key's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub channel: Channel,
    pub requested_by: Option<String>,
    /// The certificate answers a pending Puppet request: the issuer's pending count drops in
    /// the issuance's transaction.
    pub answers_pending: bool,
}

/// What an endpoint group certifies for a key it already holds (a verified CSR's).
#[derive(Clone, Debug)]
pub struct LeafRequest {
    pub issuer_id: String,
    pub template: Template,
    pub subject: SubjectName,
    /// The Identity Service subject, when there is one (agents and Puppet nodes have none).
    pub subject_id: Option<String>,
    pub dns_names: Vec<DnsName>,
    pub ip_addresses: Vec<IpAddr>,
    /// notAfter − now; 1 s ..= 3650 days and within the issuer's own validity.
    pub validity: Duration,
}

/// A certificate now in the inventory.
#[derive(Clone, Debug)]
pub struct Issued {
    pub record: CertificateRecord,
    pub cert: IssuedCert,
    /// The issuer's chain, DER: issuer first, root last.
    pub chain: Vec<Vec<u8>>,
}

/// [`Pki::issue`]'s answer: the certificate and, when no CSR was given, its private key
/// (PKCS#8 PEM), which exists nowhere else.
#[derive(Clone, Debug)]
pub struct NewCertificate {
    pub issued: Issued,
    pub private_key_pem: Option<String>,
}

fn template(raw: Option<&str>) -> Result<Template> {
    match raw {
        Some("TLS_SERVER") => Ok(Template::TlsServer),
        Some("TLS_CLIENT") => Ok(Template::TlsClient),
        Some("CODE_SIGNING") => Ok(Template::CodeSigning),
        _ => Err(Error::validation("template must be TLS_SERVER, TLS_CLIENT or CODE_SIGNING")),
    }
}

fn sans(dns: &[String], ips: &[String], uris: &[String]) -> Result<(Vec<DnsName>, Vec<IpAddr>, Vec<SanUri>)> {
    if dns.len() + ips.len() + uris.len() > MAX_SANS {
        return Err(Error::validation(format!("at most {MAX_SANS} subject alternative names")));
    }
    let dns = dns.iter().map(|d| DnsName::parse(d)).collect::<Result<Vec<_>>>()?;
    let ips = ips
        .iter()
        .map(|ip| ip.trim().parse().map_err(|_| Error::validation(format!("san.ipAddresses: {} is not an IP address", crate::error::echo(ip)))))
        .collect::<Result<Vec<_>>>()?;
    let uris = uris.iter().map(|u| SanUri::parse(u)).collect::<Result<Vec<_>>>()?;
    Ok((dns, ips, uris))
}

/// The certificate record, its serial uniqueness item and its common-name pointer.
fn certificate_writes(record: &CertificateRecord) -> Result<Vec<Write>> {
    let gsi1 = Some((format!("CERTS#{}", record.issuer_id), record.id.clone()));
    let mut cert = item(format!("CERT#{}", record.id), "CERT", gsi1, record)?;
    cert.state = Some(CertStatus::Valid.state().into());
    let pointer = json!({ "certId": record.id, "issuerId": record.issuer_id, "serialNumber": record.serial_number });
    let serial = item(format!("SERIAL#{}#{}", record.issuer_id, record.serial_number), "SERIAL", None, &pointer)?;
    let by_cn = item(record.channel().name_key(&record.common_name), &record.id, None, &pointer)?;
    Ok([cert, serial, by_cn].into_iter().map(|item| Write::Put { item, condition: Condition::Absent }).collect())
}

impl Pki {
    /// Seed 004 issuance: validates the request, checks the issuer (404) and the subject (422),
    /// takes the CSR's key or generates one, signs and records the certificate.
    pub async fn issue(&self, request: IssueRequest) -> Result<NewCertificate> {
        let template = template(request.template.as_deref())?;
        let days = request.validity_days.unwrap_or(365);
        if !(1..=MAX_VALIDITY_DAYS).contains(&days) {
            return Err(Error::validation(format!("validityDays must be between 1 and {MAX_VALIDITY_DAYS}")));
        }
        let (dns_names, ip_addresses, uris) = sans(&request.dns_names, &request.ip_addresses, &request.uris)?;
        let subject_id = request.subject_id.ok_or_else(|| Error::validation("subjectId is required"))?;
        let csr_key = request.csr.as_deref().map(csr::verify_pem).transpose()?.map(|csr| csr.key);
        let validity = Duration::days(i64::from(days));
        let issuer = self.usable_issuer(&request.issuer_id, validity).await?;
        super::policy::check_leaf(&issuer, template, &dns_names, validity)?;
        let subject = self.referenced_subject(&subject_id).await?;
        super::policy::check_names(&issuer, &dns_names, &ip_addresses, subject.name.email.as_deref())?;
        super::policy::check_uris(&issuer, &uris)?;
        let (key, private_key_pem) = match csr_key {
            Some(key) => (key, None),
            None => {
                let algorithm = issuer.key.algorithm;
                let generate = async move { tokio::task::spawn_blocking(move || leaf::generate_key(algorithm)).await.map_err(Error::internal)? };
                let (key, pem) = if algorithm.is_rsa() { super::cpu::process().run("RSA key generation", generate).await? } else { generate.await? };
                (key, Some(pem))
            }
        };
        let leaf = LeafRequest { issuer_id: issuer.id.clone(), template, subject: subject.name, subject_id: Some(subject.id), dns_names, ip_addresses, validity };
        let provenance = Provenance { channel: Channel::Pki, requested_by: request.requested_by, answers_pending: false };
        let issued = self.sign_and_commit(issuer, (leaf, &uris), &key, provenance, |_| Ok(Vec::new())).await?;
        Ok(NewCertificate { issued, private_key_pem })
    }

    /// Signs a certificate for `key` with the issuer's custody key and commits it to the
    /// inventory in one transaction together with `extra` writes (e.g. "provision key used");
    /// a failed condition anywhere is `Error::Conflict` and nothing is written.
    /// The certificate joins the `puppet` channel; [`Pki::issue_in`] names its channel.
    pub async fn issue_for_key(&self, request: LeafRequest, key: &LeafKey, extra: Vec<Write>) -> Result<Issued> {
        let provenance = Provenance { channel: Channel::Puppet, requested_by: None, answers_pending: false };
        self.issue_in(provenance, request, key, move |_| Ok(extra)).await
    }

    /// [`Pki::issue_for_key`] into `provenance.channel`, with the writes `extra` derives from
    /// the certificate record about to be committed (e.g. a provision key naming it).
    pub async fn issue_in<F>(&self, provenance: Provenance, request: LeafRequest, key: &LeafKey, extra: F) -> Result<Issued>
    where
        F: FnOnce(&CertificateRecord) -> Result<Vec<Write>> + Send,
    {
        let issuer = self.usable_issuer(&request.issuer_id, request.validity).await?;
        super::policy::check_leaf(&issuer, request.template, &request.dns_names, request.validity)?;
        super::policy::check_names(&issuer, &request.dns_names, &request.ip_addresses, request.subject.email.as_deref())?;
        self.sign_and_commit(issuer, (request, &[]), key, provenance, extra).await
    }

    async fn usable_issuer(&self, issuer_id: &str, validity: Duration) -> Result<AuthorityRecord> {
        let issuer = self.get_authority(issuer_id).await?;
        if issuer.status != AuthorityStatus::Active {
            return Err(Error::Conflict(format!("authority {issuer_id} is {} and issues nothing", issuer.status.state().to_ascii_uppercase())));
        }
        if validity < Duration::SECOND || validity > Duration::days(i64::from(MAX_VALIDITY_DAYS)) {
            return Err(Error::validation(format!("validity must be between 1 second and {MAX_VALIDITY_DAYS} days")));
        }
        if now() + validity > issuer.not_after {
            let until = rfc3339(issuer.not_after);
            return Err(Error::Unprocessable(format!("the requested validity outlasts issuer {issuer_id}, valid until {until}")));
        }
        Ok(issuer)
    }

    /// Signs `request` with its URI SANs (only the seed's endpoint takes them) and commits it.
    async fn sign_and_commit<F>(&self, issuer: AuthorityRecord, (request, uris): (LeafRequest, &[SanUri]), key: &LeafKey, provenance: Provenance, extra: F) -> Result<Issued>
    where
        F: FnOnce(&CertificateRecord) -> Result<Vec<Write>> + Send,
    {
        let chain = self.chain_of(&issuer).await?;
        let signing: Signing = self.signing(issuer).await?;
        let now = now();
        let profile = LeafProfile {
            template: request.template,
            subject: &request.subject,
            dns_names: &request.dns_names,
            ip_addresses: &request.ip_addresses,
            uris,
            serial: Serial::random(),
            not_before: now - Duration::seconds(60),
            not_after: now + request.validity,
        };
        let cert = leaf::issue(&profile, key, &signing.issuer())?;
        let answers_pending = provenance.answers_pending;
        let record = CertificateRecord {
            id: super::new_id(),
            serial_number: cert.serial.to_hex(),
            issuer_id: signing.record.id.clone(),
            subject_id: request.subject_id,
            common_name: request.subject.common_name.clone(),
            template: request.template,
            status: CertStatus::Valid,
            not_before: cert.not_before,
            not_after: cert.not_after,
            certificate_pem: cert.pem.clone(),
            dns_names: request.dns_names.iter().map(|d| d.as_str().to_owned()).collect(),
            ip_addresses: request.ip_addresses.iter().map(IpAddr::to_string).collect(),
            uris: uris.iter().map(|u| u.as_str().to_owned()).collect(),
            revoked_at: None,
            revocation_reason: None,
            comment: None,
            created_at: now,
            stored_channel: Some(provenance.channel),
            requested_by: provenance.requested_by,
            revoked_by: None,
        };
        let mut writes = certificate_writes(&record)?;
        writes.extend(extra(&record)?);
        let counted = Delta { signed: 1, pending: if answers_pending { -1 } else { 0 }, revoked: 0 };
        self.commit_counted(&record.issuer_id, counted, writes).await?;
        crate::metrics::Event::count("CertificatesIssued").by("Channel", provenance.channel.as_str()).emit();
        Ok(Issued { record, cert, chain })
    }
}
