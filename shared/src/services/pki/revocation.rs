//! Revocation (seed 004 §4.1): the certificate turns REVOKED and its serial joins the issuer's
//! revocation list in one transaction, which also counts it ([`super::counts`]); a CRL
//! publication job follows.

use super::counts::Delta;
use super::records::{decode, item, CertStatus, CertificateRecord, RevokedRecord};
use super::{now, Pki};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::pki::crl::RevocationReason;
use crate::ports::{Condition, Write};

const MAX_COMMENT: usize = 1024;

impl Pki {
    /// Revokes a certificate: 404 if unknown, 409 if already revoked (also when a concurrent
    /// revocation won). Then enqueues `Job::PublishCrl` for its issuer; if that fails the
    /// revocation stands (it is committed) and the scheduled republication picks it up.
    pub async fn revoke(&self, cert_id: &str, reason: RevocationReason, comment: Option<String>) -> Result<CertificateRecord> {
        self.revoke_by(cert_id, reason, comment, None).await
    }

    /// [`Pki::revoke`], recording the id of the acting key as `revoked_by`.
    pub async fn revoke_by(&self, cert_id: &str, reason: RevocationReason, comment: Option<String>, revoked_by: Option<String>) -> Result<CertificateRecord> {
        self.revoke_with(cert_id, reason, comment, revoked_by, Vec::new()).await
    }

    /// [`Pki::revoke_by`], committing `extra` (an audit record, say) in the revocation's
    /// transaction: neither is stored without the other.
    pub async fn revoke_with(&self, cert_id: &str, reason: RevocationReason, comment: Option<String>, revoked_by: Option<String>, extra: Vec<Write>) -> Result<CertificateRecord> {
        let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT) {
            return Err(Error::validation(format!("comment must be at most {MAX_COMMENT} characters")));
        }
        let stored = self.certificate_item(cert_id).await?;
        let current: CertificateRecord = decode(&stored)?;
        let already = || Error::Conflict(format!("certificate {cert_id} is already revoked"));
        if current.status == CertStatus::Revoked {
            return Err(already());
        }
        let revoked_at = now();
        let record = CertificateRecord { status: CertStatus::Revoked, revoked_at: Some(revoked_at), revocation_reason: Some(reason), comment, revoked_by, ..current };
        let entry = RevokedRecord {
            serial_number: record.serial_number.clone(),
            revoked_at,
            reason,
            not_after: record.not_after,
            cert_id: record.id.clone(),
        };
        let mut cert = item(stored.pk.clone(), "CERT", stored.gsi1.clone().map(|g| (g.pk, g.sk)), &record)?;
        cert.state = Some(CertStatus::Revoked.state().into());
        cert.version = stored.version + 1;
        let mut listed = item(format!("REVOKED#{}", record.issuer_id), &record.serial_number, None, &entry)?;
        listed.expires_at = Some((record.not_after + time::Duration::days(1)).unix_timestamp());
        let mut writes = vec![
            Write::Put { item: cert, condition: Condition::Version(stored.version) },
            Write::Put { item: listed, condition: Condition::Absent },
        ];
        writes.extend(extra);
        let counted = Delta { revoked: 1, ..Delta::default() };
        self.commit_counted(&record.issuer_id, counted, writes).await.map_err(|e| if matches!(e, Error::Conflict(_)) { already() } else { e })?;
        crate::metrics::Event::count("CertificatesRevoked").by("Channel", record.channel().as_str()).emit();
        self.request_crl(&record.issuer_id).await;
        Ok(record)
    }

    async fn request_crl(&self, authority_id: &str) {
        let job = Job::PublishCrl { authority_id: authority_id.to_owned(), requested_at: Some(now().unix_timestamp()) };
        if let Err(e) = job.enqueue(self.ports.queue.as_ref()).await {
            tracing::error!(authority_id, error = %e, "could not enqueue CRL publication; the scheduled republication will cover it");
        }
    }
}
