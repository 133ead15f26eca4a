//! Agent certificate renewal (Puppet 8, `POST /puppet-ca/v1/certificate_renewal`): an agent
//! presents its current certificate as its TLS client certificate and gets a new one for the
//! same certname and the same key, with a fresh validity. Only the certname's newest,
//! unrevoked certificate renews, so a superseded or revoked one cannot mint another.

use super::signing::leaf_request;
use super::PuppetCa;
use crate::domain::Certname;
use crate::error::{Error, Result};
use crate::pki::leaf::LeafKey;
use crate::pki::pem;
use crate::services::pki::{CertStatus, CertificateRecord, Channel, Provenance};

impl PuppetCa {
    /// Renews the certificate the agent presented (DER, already verified by the TLS layer to
    /// chain to a trusted root): 401 without one, 403 when it is not the certname's newest
    /// unrevoked certificate from this CA, 404 `CERT_NOT_FOUND` when the certname has none.
    pub async fn renew_agent(&self, presented: Option<&[u8]>) -> Result<CertificateRecord> {
        let der = presented.ok_or_else(|| Error::Unauthorized("certificate renewal needs the agent's current certificate as its TLS client certificate".into()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| Error::Unauthorized("the client certificate is unreadable".into()))?;
        let common_name = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok());
        let certname = common_name.and_then(|cn| Certname::parse(cn).ok()).ok_or_else(|| Error::Forbidden("the client certificate names no Puppet certname".into()))?;
        let current = self.certificate(&certname).await?;
        let stored = pem::decode_all(&current.certificate_pem)?.into_iter().next().map(|(_, der)| der);
        if stored.as_deref() != Some(der) {
            return Err(Error::Forbidden(format!("the client certificate is not the current certificate of {certname}")));
        }
        if current.status != CertStatus::Valid {
            return Err(Error::Forbidden(format!("the certificate of {certname} is {:?}; it cannot be renewed", current.status).to_lowercase()));
        }
        let is_rsa = cert.public_key().algorithm.algorithm == x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
        let key = LeafKey { spki_der: cert.public_key().raw.to_vec(), is_rsa };
        let ca = self.authority().await?;
        let provenance = Provenance { channel: Channel::Puppet, requested_by: Some(certname.to_string()), answers_pending: false };
        let issued = self.pki.issue_in(provenance, leaf_request(&ca, &certname)?, &key, |_| Ok(Vec::new())).await?;
        tracing::info!(certname = %certname, old_serial = %current.serial_number, new_serial = %issued.record.serial_number, "agent certificate renewed");
        Ok(issued.record)
    }
}
