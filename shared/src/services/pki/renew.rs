//! CA certificate renewal (seed 001 `POST /api/v1/ca/renew`): the authority's certificate is
//! re-issued with the same key and subject and a fresh validity ([`crate::pki::ca::reissue`]),
//! so every certificate it signed still chains to it. The old certificate can be backed up to
//! the blob store first; the authority record moves on with a version condition.

use super::lifecycle::{ca_certificate_writes, next_item};
use super::records::{decode, AuthorityRecord, AuthorityStatus};
use super::{is_id, now, Pki};
use crate::domain::BlobKey;
use crate::error::{Error, Result};
use crate::pki::chain::cert_pem;
use crate::pki::{ca, CaSigner, IssuedCert, Serial};
use crate::ports::{Condition, Write};
use base64::Engine;
use time::{Duration, OffsetDateTime};

/// The media type of a backed-up PEM certificate.
const PEM_CONTENT_TYPE: &str = "application/x-pem-file";
/// What an authority's own key signs to show it can, before its certificate is re-issued.
const KEY_PROBE: &[u8] = b"trustplane renewal key probe";

/// What [`Pki::renew_authority`] did.
#[derive(Clone, Debug)]
pub struct Renewal {
    pub old: AuthorityRecord,
    pub new: AuthorityRecord,
    /// Where the old certificate was backed up (an `s3://` URI or a file path), when asked.
    pub backup_path: Option<String>,
}

/// The blob key of an authority certificate's backup: `backups/ca/<authorityId>/<serial>.pem`.
pub fn backup_key(authority_id: &str, serial_hex: &str) -> Result<BlobKey> {
    BlobKey::parse(&format!("backups/ca/{authority_id}/{}.pem", serial_hex.to_ascii_lowercase()))
}

fn add_years(t: OffsetDateTime, years: u16) -> Result<OffsetDateTime> {
    let year = t.year() + i32::from(years);
    t.replace_year(year).or_else(|_| (t - Duration::days(1)).replace_year(year)).map_err(Error::internal)
}

impl Pki {
    /// Re-issues the authority's certificate: same subject and custody key, a new serial,
    /// notBefore now (less a minute of clock skew), notAfter `policy.validityYears` ahead but
    /// never past the parent's. With `backup`, the old certificate is put at [`backup_key`]
    /// before the record changes. 404 for an unknown authority, 409 if it changed meanwhile,
    /// 503 if the authority's own key does not sign (a disabled KMS key): nothing changes.
    pub async fn renew_authority(&self, authority_id: &str, backup: bool) -> Result<Renewal> {
        let missing = || Error::NotFound(format!("authority {authority_id}"));
        if !is_id(authority_id) {
            return Err(missing());
        }
        let stored = self.ports.store.get(&format!("AUTH#{authority_id}"), "AUTH").await?.ok_or_else(missing)?;
        let old: AuthorityRecord = decode(&stored)?;
        if old.status == AuthorityStatus::Revoked {
            return Err(Error::Conflict(format!("authority {authority_id} is REVOKED and cannot be renewed")));
        }
        let cert = self.reissued(&old).await?;
        let backup_path = match backup {
            true => Some(self.ports.blobs.put(&backup_key(&old.id, &old.serial_number)?, cert_pem(&old.der()?).into_bytes(), PEM_CONTENT_TYPE).await?),
            false => None,
        };
        let new = AuthorityRecord {
            certificate_der: base64::engine::general_purpose::STANDARD.encode(&cert.der),
            serial_number: cert.serial.to_hex(),
            thumbprint: cert.thumbprint,
            not_before: cert.not_before,
            not_after: cert.not_after,
            ..old.clone()
        };
        let mut writes = vec![Write::Put { item: next_item(&stored, &new)?, condition: Condition::Version(stored.version) }];
        writes.extend(ca_certificate_writes(&new)?);
        self.ports.store.transact(writes).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict(format!("authority {authority_id} changed during its renewal")),
            other => other,
        })?;
        tracing::info!(authority_id, old_serial = %old.serial_number, new_serial = %new.serial_number, "authority certificate renewed");
        Ok(Renewal { old, new, backup_path })
    }

    async fn reissued(&self, current: &AuthorityRecord) -> Result<IssuedCert> {
        let signer = self.usable_own_key(current).await?;
        let parent = match &current.parent_authority_id {
            Some(id) => Some(self.signing(self.get_authority(id).await?).await?),
            None => None,
        };
        let now = now();
        let mut not_after = add_years(now, current.policy.validity_years)?;
        if let Some(parent) = &parent {
            not_after = not_after.min(parent.record.not_after);
        }
        let policy = self.own_policy(current);
        let issuer = parent.as_ref().map(|p| p.issuer_of(&policy));
        ca::reissue(&current.der()?, Serial::random(), now - Duration::seconds(60), not_after, &signer, issuer.as_ref(), Some(&current.policy.name_constraints))
    }

    /// The policy whose URLs the parent writes into the authority's certificate. Records
    /// stored before issue 9 item 7 hold the authority's own CRL URL there (then what it
    /// signed pointed at); that URL does not check the authority itself, so it is dropped.
    fn own_policy(&self, current: &AuthorityRecord) -> super::records::Policy {
        let mut policy = current.policy.clone();
        if policy.crl_distribution_point.as_deref() == Some(self.crl_url(&current.id).as_str()) {
            policy.crl_distribution_point = None;
        }
        policy
    }

    /// The authority's own custody key, proven to sign. An intermediate's certificate is
    /// signed by its parent, so without the proof a CA whose key is disabled would be renewed
    /// or not depending on whether custody still had its public key cached; a CA that cannot
    /// sign is unavailable (503) and keeps its certificate.
    async fn usable_own_key(&self, authority: &AuthorityRecord) -> Result<CaSigner> {
        let unusable = |e: Error| {
            tracing::error!(authority_id = %authority.id, error = %e, "the authority's key does not sign; not renewing it");
            Error::Unavailable(format!("the key of authority {} does not sign; it was not renewed", authority.id))
        };
        let signer = self.ports.custody.signer(&authority.key).await.map_err(unusable)?;
        let probe = signer.clone();
        let signed = tokio::task::spawn_blocking(move || probe.sign_message(KEY_PROBE)).await.map_err(Error::internal)?;
        signed.map_err(unusable)?;
        Ok(signer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_sit_under_the_authority_by_lowercase_serial() {
        let key = backup_key("0190a1b2-0000-7000-8000-000000000001", "8A01").unwrap();
        assert_eq!(key.as_str(), "backups/ca/0190a1b2-0000-7000-8000-000000000001/8a01.pem");
        assert!(backup_key("../x", "01").is_err());
    }
}
