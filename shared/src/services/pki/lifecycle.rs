//! Authority lifecycle: disabling and re-enabling an authority, and revoking it. A revoked
//! authority's CA certificates — the first and every renewal — join its parent's CRL
//! (RFC 5280 §5.3.1 `cACompromise` and kin), so relying parties checking the whole path
//! (§6.3) reject everything below it.
//!
//! Each CA certificate a parent signs is recorded under the parent when it is issued or
//! renewed, in the transaction that stores the authority: `SERIAL#<parentId>#<serial>`
//! (serial uniqueness, shared with end-entity certificates) and `CACERT#<authorityId>` /
//! `<serial>` ([`CaCertRecord`]).

use super::policy::IssuancePolicy;
use super::records::{decode, item, AuthorityRecord, AuthorityStatus, RevokedRecord};
use super::{is_id, now, Pki};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::pki::crl::RevocationReason;
use crate::ports::{Condition, Item, Query, Write};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

const MAX_COMMENT: usize = 1024;

/// When and why an authority was revoked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityRevocation {
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
    pub comment: Option<String>,
    /// The serials (uppercase hex) put on the parent's CRL; empty for a root.
    pub serial_numbers: Vec<String>,
    /// The id of the API key that revoked it (absent on revocations recorded before).
    #[serde(default)]
    pub revoked_by: Option<String>,
}

/// A CA certificate signed by `issuer_id` for `authority_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaCertRecord {
    pub authority_id: String,
    pub issuer_id: String,
    pub serial_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

fn cacert_pk(authority_id: &str) -> String {
    format!("CACERT#{authority_id}")
}

/// The writes recording `record`'s current CA certificate under its parent; none for a root.
pub(crate) fn ca_certificate_writes(record: &AuthorityRecord) -> Result<Vec<Write>> {
    let Some(parent) = record.parent_authority_id.as_deref() else { return Ok(Vec::new()) };
    let ca = CaCertRecord { authority_id: record.id.clone(), issuer_id: parent.to_owned(), serial_number: record.serial_number.clone(), not_after: record.not_after };
    let pointer = json!({ "authorityId": record.id, "issuerId": parent, "serialNumber": record.serial_number });
    let serial = item(format!("SERIAL#{parent}#{}", record.serial_number), "SERIAL", None, &pointer)?;
    let listed = item(cacert_pk(&record.id), &record.serial_number, None, &ca)?;
    Ok([serial, listed].into_iter().map(|item| Write::Put { item, condition: Condition::Absent }).collect())
}

/// The authority item written back with `record`, one version on, its `state` following.
pub(crate) fn next_item(stored: &Item, record: &AuthorityRecord) -> Result<Item> {
    let mut next = item(stored.pk.clone(), "AUTH", stored.gsi1.clone().map(|g| (g.pk, g.sk)), record)?;
    next.state = Some(record.status.state().into());
    next.version = stored.version + 1;
    Ok(next)
}

impl Pki {
    async fn authority_item(&self, id: &str) -> Result<(Item, AuthorityRecord)> {
        let missing = || Error::NotFound(format!("authority {id}"));
        if !is_id(id) {
            return Err(missing());
        }
        let stored = self.ports.store.get(&format!("AUTH#{id}"), "AUTH").await?.ok_or_else(missing)?;
        let record = decode(&stored)?;
        Ok((stored, record))
    }

    /// Disables (`DISABLED`: issues nothing, still publishes its CRL) or re-enables
    /// (`ACTIVE`) an authority. 404 unknown, 409 if it is REVOKED or changed meanwhile, 400 for
    /// any other status (revocation has its own operation). Setting the current status is a no-op.
    pub async fn set_authority_status(&self, id: &str, status: AuthorityStatus) -> Result<AuthorityRecord> {
        if status == AuthorityStatus::Revoked {
            return Err(Error::validation("status must be ACTIVE or DISABLED; revoke an authority through its revocation resource"));
        }
        let (stored, current) = self.authority_item(id).await?;
        if current.status == AuthorityStatus::Revoked {
            return Err(Error::Conflict(format!("authority {id} is REVOKED; its status cannot change")));
        }
        if current.status == status {
            return Ok(current);
        }
        let record = AuthorityRecord { status, ..current };
        self.ports.store.put(next_item(&stored, &record)?, Condition::Version(stored.version)).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict(format!("authority {id} changed meanwhile; retry")),
            other => other,
        })?;
        tracing::info!(authority_id = id, status = status.state(), "authority status changed");
        Ok(record)
    }

    /// Replaces an authority's issuance policy (leaf issuance from a root, templates, DNS name
    /// patterns, maximum validity): what it signs from now on is checked against the new one;
    /// what it signed stays valid. The policy parts written into its own certificate
    /// (validity, path length, CRL/OCSP URLs) cannot change without a new certificate. 400 for
    /// an invalid policy, 404 unknown, 409 if REVOKED or changed meanwhile.
    pub async fn set_issuance_policy(&self, id: &str, issuance: IssuancePolicy, changed_by: Option<String>) -> Result<AuthorityRecord> {
        let issuance = issuance.validated()?;
        let (stored, current) = self.authority_item(id).await?;
        if current.status == AuthorityStatus::Revoked {
            return Err(Error::Conflict(format!("authority {id} is REVOKED; its policy cannot change")));
        }
        let mut record = current;
        record.policy.issuance = issuance;
        self.ports.store.put(next_item(&stored, &record)?, Condition::Version(stored.version)).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict(format!("authority {id} changed meanwhile; retry")),
            other => other,
        })?;
        tracing::info!(authority_id = id, changed_by = changed_by.as_deref().unwrap_or("-"), policy = ?record.policy.issuance, "authority issuance policy changed");
        Ok(record)
    }

    /// Revokes an authority: it turns `REVOKED` (final) and every CA certificate its parent
    /// signed for it joins the parent's revocation list, in one transaction; then the parent's
    /// CRL is queued. A root has no parent: it only stops issuing (distrust it where it is
    /// installed). `revoked_by` (the acting key's id) is recorded with the revocation. 404
    /// unknown, 409 already revoked or changed meanwhile.
    pub async fn revoke_authority(&self, id: &str, reason: RevocationReason, comment: Option<String>, revoked_by: Option<String>) -> Result<AuthorityRecord> {
        let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT) {
            return Err(Error::validation(format!("comment must be at most {MAX_COMMENT} characters")));
        }
        let (stored, current) = self.authority_item(id).await?;
        let already = || Error::Conflict(format!("authority {id} is already revoked"));
        if current.status == AuthorityStatus::Revoked {
            return Err(already());
        }
        let certificates = self.ca_certificates(&current).await?;
        let revoked_at = now();
        let serial_numbers = certificates.iter().map(|c| c.serial_number.clone()).collect();
        let revocation = AuthorityRevocation { revoked_at, reason, comment, serial_numbers, revoked_by };
        let record = AuthorityRecord { status: AuthorityStatus::Revoked, revocation: Some(revocation), ..current };
        let mut writes = vec![Write::Put { item: next_item(&stored, &record)?, condition: Condition::Version(stored.version) }];
        for ca in &certificates {
            let entry = RevokedRecord { serial_number: ca.serial_number.clone(), revoked_at, reason, not_after: ca.not_after, cert_id: id.to_owned() };
            let mut listed = item(format!("REVOKED#{}", ca.issuer_id), &ca.serial_number, None, &entry)?;
            listed.expires_at = Some((ca.not_after + time::Duration::days(1)).unix_timestamp());
            writes.push(Write::Put { item: listed, condition: Condition::Always });
        }
        self.ports.store.transact(writes).await.map_err(|e| if matches!(e, Error::Conflict(_)) { already() } else { e })?;
        tracing::warn!(authority_id = id, ?reason, serials = certificates.len(), "authority revoked");
        if let Some(parent) = &record.parent_authority_id {
            self.queue_crl(parent).await;
        }
        Ok(record)
    }

    /// Every CA certificate recorded for `authority` under its parent, and its current one
    /// (authorities created before the records existed have only that).
    async fn ca_certificates(&self, authority: &AuthorityRecord) -> Result<Vec<CaCertRecord>> {
        let Some(parent) = authority.parent_authority_id.clone() else { return Ok(Vec::new()) };
        let mut query = Query::partition(cacert_pk(&authority.id));
        query.limit = 100;
        let mut all: Vec<CaCertRecord> = Vec::new();
        loop {
            let page = self.ports.store.query(query.clone()).await?;
            all.extend(page.items.iter().map(decode).collect::<Result<Vec<CaCertRecord>>>()?);
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => break,
            }
        }
        if !all.iter().any(|c| c.serial_number == authority.serial_number) {
            all.push(CaCertRecord { authority_id: authority.id.clone(), issuer_id: parent, serial_number: authority.serial_number.clone(), not_after: authority.not_after });
        }
        Ok(all)
    }

    async fn queue_crl(&self, authority_id: &str) {
        let job = Job::PublishCrl { authority_id: authority_id.to_owned(), requested_at: Some(now().unix_timestamp()) };
        if let Err(e) = job.enqueue(self.ports.queue.as_ref()).await {
            tracing::error!(authority_id, error = %e, "could not enqueue CRL publication; the scheduled republication will cover it");
        }
    }
}
