//! The CA's certificates: every certificate of the inventory its authority issued, whichever
//! API asked for it (seed 001 `GET /api/v1/ca/certificates[/{certname}]`), and revocation
//! (`DELETE /api/v1/ca/certificates/{certname}`).

use super::audit::{Audit, OperationKind};
use super::listing::{Pattern, SortOrder, Window};
use super::requests::checked_reason;
use super::{codes, now, unavailable, PuppetCa};
use crate::domain::{Certname, ListedName};
use crate::error::{Error, Result};
use crate::pki::crl::RevocationReason;
use crate::services::pki::{CertFilter, CertStatus, CertificateRecord, Channel, MAX_PAGE};
use time::OffsetDateTime;

/// Seed 001 certificates `sort_by`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CertSort {
    #[default]
    Certname,
    NotAfter,
    NotBefore,
}

impl CertSort {
    /// Parses `certname`, `not_after` or `not_before`.
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "certname" => Ok(CertSort::Certname),
            "not_after" => Ok(CertSort::NotAfter),
            "not_before" => Ok(CertSort::NotBefore),
            _ => Err(Error::validation(format!("sort_by must be certname, not_after or not_before, not {}", crate::error::echo(raw)))),
        }
    }
}

/// `GET /api/v1/ca/certificates` filters: exact `certname`, `search` pattern, `status`.
#[derive(Clone, Debug, Default)]
pub struct CertQuery {
    pub certname: Option<Certname>,
    pub search: Option<Pattern>,
    pub status: Option<CertStatus>,
    pub sort: CertSort,
    pub order: SortOrder,
    pub window: Window,
}

impl CertQuery {
    /// Parses seed 001's lowercase `valid`, `expired` or `revoked`.
    pub fn parse_status(raw: &str) -> Result<CertStatus> {
        match raw {
            "valid" => Ok(CertStatus::Valid),
            "expired" => Ok(CertStatus::Expired),
            "revoked" => Ok(CertStatus::Revoked),
            _ => Err(Error::validation(format!("status must be valid, expired or revoked, not {}", crate::error::echo(raw)))),
        }
    }
}

/// What a revocation did: every certificate of the certname it revoked.
#[derive(Clone, Debug)]
pub struct Revoked {
    pub certname: String,
    /// The reason as given (seed 001 `revocation_reason`); the CRL carries the RFC 5280 code
    /// it names, if it names one, else `unspecified`.
    pub reason: String,
    pub revoked_at: OffsetDateTime,
    pub certificates: Vec<CertificateRecord>,
}

pub(super) fn cert_not_found(name: impl std::fmt::Display) -> Error {
    Error::NotFound(format!("certificate for {name}")).with_code(codes::CERT_NOT_FOUND)
}

fn ambiguous(name: &ListedName, channels: &[Channel]) -> Error {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    let message = format!("{name} names certificates in the channels {}; choose one with the channel parameter", names.join(", "));
    Error::Conflict(message).with_code(codes::INVALID_OPERATION)
}

fn order(sort: CertSort, a: &CertificateRecord, b: &CertificateRecord) -> std::cmp::Ordering {
    match sort {
        CertSort::Certname => a.common_name.cmp(&b.common_name).then(a.not_before.cmp(&b.not_before)),
        CertSort::NotAfter => a.not_after.cmp(&b.not_after).then_with(|| a.common_name.cmp(&b.common_name)),
        CertSort::NotBefore => a.not_before.cmp(&b.not_before).then_with(|| a.common_name.cmp(&b.common_name)),
    }
}

impl PuppetCa {
    /// Seed 001 `GET /api/v1/ca/certificates`: the matching page and the total, across
    /// every channel of the CA's authority.
    pub async fn certificates(&self, query: &CertQuery) -> Result<(Vec<CertificateRecord>, usize)> {
        self.certificates_in(query, None).await
    }

    /// [`PuppetCa::certificates`] of `channel` only, when given.
    pub async fn certificates_in(&self, query: &CertQuery, channel: Option<Channel>) -> Result<(Vec<CertificateRecord>, usize)> {
        let now = now();
        let mut found: Vec<CertificateRecord> = self
            .issued(channel, query.certname.as_ref().map(Certname::as_str))
            .await?
            .into_iter()
            .filter(|c| query.search.as_ref().is_none_or(|p| p.matches(&c.common_name)))
            .filter(|c| query.status.is_none_or(|s| c.effective_status(now) == s))
            .collect();
        found.sort_by(|a, b| query.order.apply(order(query.sort, a, b)).then_with(|| a.serial_number.cmp(&b.serial_number)));
        Ok(query.window.apply(found))
    }

    /// The newest `puppet`-channel certificate of `certname` (Puppet's unauthenticated
    /// `GET certificate`), revoked or not; else 404 `CERT_NOT_FOUND`.
    pub async fn certificate(&self, certname: &Certname) -> Result<CertificateRecord> {
        self.issued(Some(Channel::Puppet), Some(certname.as_str())).await?.pop().ok_or_else(|| cert_not_found(certname))
    }

    /// Revokes every unrevoked certificate of `certname` in the one channel that has it, as
    /// [`PuppetCa::revoke_in`] does without a channel.
    pub async fn revoke(&self, certname: &Certname, reason: Option<String>, actor: &str) -> Result<Revoked> {
        self.revoke_in(certname, None, reason, actor).await
    }

    /// Revokes every unrevoked certificate listed under `name` (a certname or any other
    /// listed common name) in `channel`, or in the one channel that has it, through the PKI
    /// core, which queues the CRL publication: 404 `CERT_NOT_FOUND`, 409
    /// `CERT_ALREADY_REVOKED`, 409 `INVALID_OPERATION` when the name is in several channels
    /// and none was chosen. The audit record names it when it is a Puppet certname.
    pub async fn revoke_in(&self, name: impl Into<ListedName>, channel: Option<Channel>, reason: Option<String>, actor: &str) -> Result<Revoked> {
        let name = name.into();
        let reason = checked_reason(reason)?.unwrap_or_else(|| "unspecified".into());
        let audit = Audit::success(OperationKind::Revoke, name.certname().as_ref(), actor, Some(&reason));
        let result = self.revoke_all(&name, channel, &reason, actor, &audit).await;
        self.committed(audit, result).await
    }

    /// The CA's certificates listed under `name` in `channel`, or in the one channel that has
    /// any; 409 naming the channels when several do.
    pub(super) async fn resolved(&self, name: &ListedName, channel: Option<Channel>) -> Result<Vec<CertificateRecord>> {
        let all = self.issued(channel, Some(name.as_str())).await?;
        let mut channels: Vec<Channel> = all.iter().map(CertificateRecord::channel).collect();
        channels.sort();
        channels.dedup();
        if channels.len() > 1 {
            return Err(ambiguous(name, &channels));
        }
        Ok(all)
    }

    /// Revokes each unrevoked certificate in its own transaction; the first that commits
    /// carries `audit`, so the trail records the revocation if and only if one happened.
    async fn revoke_all(&self, name: &ListedName, channel: Option<Channel>, reason: &str, actor: &str, audit: &Audit) -> Result<Revoked> {
        let all = self.resolved(name, channel).await?;
        if all.is_empty() {
            return Err(cert_not_found(name));
        }
        let code = RevocationReason::parse(reason).unwrap_or(RevocationReason::Unspecified);
        let mut revoked = Vec::new();
        for cert in all.iter().filter(|c| c.status != CertStatus::Revoked) {
            let extra = if revoked.is_empty() { vec![audit.write()?] } else { Vec::new() };
            match self.pki.revoke_with(&cert.id, code, Some(reason.to_owned()), Some(actor.to_owned()), extra).await {
                Ok(record) => revoked.push(record),
                Err(Error::Conflict(_)) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        let Some(first) = revoked.first() else {
            return Err(Error::Conflict(format!("the certificate of {name} is already revoked")).with_code(codes::CERT_ALREADY_REVOKED));
        };
        let revoked_at = first.revoked_at.unwrap_or_else(now);
        Ok(Revoked { certname: name.to_string(), reason: reason.to_owned(), revoked_at, certificates: revoked })
    }

    /// True if `certname` has a `puppet`-channel certificate from the CA that is neither
    /// revoked nor expired.
    pub(super) async fn has_valid_certificate(&self, certname: &Certname) -> Result<bool> {
        let now = now();
        Ok(self.issued(Some(Channel::Puppet), Some(certname.as_str())).await?.iter().any(|c| c.effective_status(now) == CertStatus::Valid))
    }

    /// The CA's certificates, oldest first: of `channel` only or of all, listed under `name`
    /// only or under any name.
    pub(super) async fn issued(&self, channel: Option<Channel>, name: Option<&str>) -> Result<Vec<CertificateRecord>> {
        let issuer_id = self.authority_id().await?;
        if let Some(name) = name {
            let mut all = match channel {
                Some(channel) => self.pki.certificates_named(channel, name).await?,
                None => self.pki.certificates_by_common_name(name).await?,
            };
            all.retain(|c| c.issuer_id == issuer_id);
            return Ok(all);
        }
        let filter = CertFilter { issuer_id: Some(issuer_id), channel, ..CertFilter::default() };
        let (mut all, mut cursor) = self.pki.list_certificates(&filter, MAX_PAGE, None).await?;
        while let Some(next) = cursor {
            let (more, after) = self.pki.list_certificates(&filter, MAX_PAGE, Some(&next)).await?;
            all.extend(more);
            cursor = after;
        }
        Ok(all)
    }
}
