//! Certificate requests: stored by Puppet's `PUT /puppet-ca/v1/certificate_request/{certname}`,
//! listed (seed 001 `GET /api/v1/ca/requests`), rejected (`POST /api/v1/ca/reject/...`) or
//! withdrawn (`DELETE /puppet-ca/v1/certificate_request/{certname}`).

use super::audit::{Audit, OperationKind};
use super::listing::{Pattern, SortOrder, Window};
use super::{codes, now, PuppetCa, AGENT_ACTOR};
use crate::domain::Certname;
use crate::error::{Error, Result};
use crate::pki::csr::{verify_pem, VerifiedCsr};
use crate::pki::SubjectName;
use crate::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Write};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

const SK: &str = "CSR";
/// The longest reject or revoke reason kept.
const MAX_REASON: usize = 1024;
/// How long a pending request waits for a decision before it expires (store TTL).
pub const PENDING_TTL_DAYS: i64 = 30;
/// How long a rejected request is kept (store TTL).
pub const REJECTED_TTL_DAYS: i64 = 30;
/// The most earlier submissions a request remembers.
const MAX_HISTORY: usize = 20;

/// A request's state (the item's `state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsrState {
    #[default]
    Pending,
    Signed,
    Rejected,
}

impl CsrState {
    /// The wire and store name.
    pub fn as_str(self) -> &'static str {
        match self {
            CsrState::Pending => "pending",
            CsrState::Signed => "signed",
            CsrState::Rejected => "rejected",
        }
    }

    /// Parses `pending`, `signed` or `rejected`.
    pub fn parse(raw: &str) -> Result<Self> {
        [CsrState::Pending, CsrState::Signed, CsrState::Rejected]
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| Error::validation(format!("status must be pending, signed or rejected, not {}", crate::error::echo(raw))))
    }
}

/// A certificate request (the item's `data`; `status` comes from its `state`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsrRecord {
    pub certname: String,
    /// SHA-256 over the CSR DER, colon-separated uppercase hex (seed 001 `fingerprint`).
    pub fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub request_time: OffsetDateTime,
    /// The CSR, PEM.
    pub csr: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When it was signed or rejected.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Earlier submissions for this certname, oldest first (at most 20).
    #[serde(default)]
    pub history: Vec<Submission>,
    #[serde(skip)]
    pub status: CsrState,
}

/// An earlier submission of a certname: its CSR's fingerprint, when it came and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub request_time: OffsetDateTime,
    pub status: CsrState,
}

/// What a submission did: the stored request, and whether autosign signed it.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub request: CsrRecord,
    pub autosigned: bool,
}

/// Seed 001 requests `sort_by`: `certname` (default) or `request_time`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RequestSort {
    #[default]
    Certname,
    RequestTime,
}

impl RequestSort {
    /// Parses `certname` or `request_time`.
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "certname" => Ok(RequestSort::Certname),
            "request_time" => Ok(RequestSort::RequestTime),
            _ => Err(Error::validation(format!("sort_by must be certname or request_time, not {}", crate::error::echo(raw)))),
        }
    }
}

/// `GET /api/v1/ca/requests` filters (seed 001: `certname` pattern, plus the common `search`,
/// `status`, `sort_by`, `sort_order`); by default the pending requests by certname.
#[derive(Clone, Debug, Default)]
pub struct RequestQuery {
    pub status: CsrState,
    pub certname: Option<Pattern>,
    pub search: Option<Pattern>,
    pub sort: RequestSort,
    pub order: SortOrder,
    pub window: Window,
}

/// The GSI1 partition all requests shared before they were indexed by state. It is still
/// read, filtered by state, so requests stored then are listed and counted; their next write
/// ([`encode`]) moves them to their state's partition.
const LEGACY_INDEX_PK: &str = "CSRS";

/// The GSI1 partition of the requests in `state`.
fn index_pk(state: CsrState) -> String {
    format!("CSRS#{}", state.as_str())
}

/// The store item of `record` in `state`; pending and rejected requests expire.
pub(super) fn encode(record: &CsrRecord, state: CsrState, version: u64) -> Result<Item> {
    let mut item = Item::new(format!("CSR#{}", record.certname), SK, serde_json::to_value(record).map_err(Error::internal)?);
    item.gsi1 = Some(IndexKey { pk: index_pk(state), sk: record.certname.clone() });
    item.state = Some(state.as_str().into());
    item.expires_at = match state {
        CsrState::Pending => Some((record.request_time + time::Duration::days(PENDING_TTL_DAYS)).unix_timestamp()),
        CsrState::Rejected => Some((record.decided_at.unwrap_or(record.request_time) + time::Duration::days(REJECTED_TTL_DAYS)).unix_timestamp()),
        CsrState::Signed => None,
    };
    item.version = version;
    Ok(item)
}

fn decode(item: &Item) -> Result<CsrRecord> {
    let mut record: CsrRecord = serde_json::from_value(item.data.clone()).map_err(|e| Error::internal(format!("corrupt certificate request {}: {e}", item.pk)))?;
    record.status = CsrState::parse(item.state.as_deref().unwrap_or_default()).map_err(|_| Error::internal(format!("certificate request {} has no valid state", item.pk)))?;
    Ok(record)
}

/// A reject or revoke reason: trimmed, empty is none, at most 1024 characters.
pub(super) fn checked_reason(raw: Option<String>) -> Result<Option<String>> {
    let reason = raw.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(Error::validation(format!("reason must be at most {MAX_REASON} characters")));
    }
    Ok(reason)
}

/// `previous`'s history followed by `previous` itself, the oldest dropped beyond 20.
fn with_previous(previous: &CsrRecord) -> Vec<Submission> {
    let mut history = previous.history.clone();
    history.push(Submission { fingerprint: previous.fingerprint.clone(), request_time: previous.request_time, status: previous.status });
    let excess = history.len().saturating_sub(MAX_HISTORY);
    history.drain(..excess);
    history
}

fn csr_not_found(certname: &Certname) -> Error {
    Error::NotFound(format!("certificate request for {certname}")).with_code(codes::CSR_NOT_FOUND)
}

/// Puppet's checks on a submitted CSR: a certname usable as a CN (RFC 5280 ub-common-name
/// 64), not `ca`; a verifying signature and an acceptable key; no CA request; CN = certname.
fn checked_csr(certname: &Certname, pem: &str) -> Result<VerifiedCsr> {
    if certname.as_str() == "ca" {
        return Err(Error::validation("certname ca is reserved for the CA's own certificate"));
    }
    SubjectName::common_name_only(certname.as_str()).map_err(|_| Error::validation(format!("certname {certname} is longer than the 64 characters of a certificate common name")))?;
    let csr = verify_pem(pem).map_err(|e| Error::validation(format!("invalid CSR: {}", e.public_message())))?;
    if csr.requests_ca {
        return Err(Error::validation("invalid CSR: CA certificates cannot be requested"));
    }
    match csr.common_name.as_deref() {
        Some(cn) if cn == certname.as_str() => Ok(csr),
        other => Err(Error::validation(format!("Instance name {:?} does not match requested key {:?}", other.unwrap_or_default(), certname.as_str()))),
    }
}

impl PuppetCa {
    /// Stores a pending request (Puppet `PUT certificate_request`). Re-submitting the pending
    /// CSR is a no-op; another CSR while one is pending, or while the certname has a valid
    /// certificate, is refused as Puppet does (400). A signed or rejected request is replaced.
    /// A certname matching `PUPPET_AUTOSIGN` is then signed at once.
    pub async fn submit(&self, certname: &Certname, pem: &str) -> Result<Submitted> {
        let audit = Audit::success(OperationKind::Submit, Some(certname), AGENT_ACTOR, None);
        let result = self.store_request(certname, pem, &audit).await;
        let (request, stored) = self.committed(audit.clone(), result).await?;
        if !stored {
            self.append_alone(audit).await;
        }
        let autosigned = stored && self.autosign(certname, &request.csr).await;
        Ok(Submitted { request, autosigned })
    }

    /// Stores the request and `audit` in one transaction; `false` when an identical pending
    /// request was already stored (nothing written).
    async fn store_request(&self, certname: &Certname, pem: &str, audit: &Audit) -> Result<(CsrRecord, bool)> {
        let csr = checked_csr(certname, pem)?;
        let existing = self.csr_item(certname).await?;
        if let Some((_, current)) = existing.as_ref().filter(|(_, r)| r.status == CsrState::Pending) {
            if current.fingerprint == csr.fingerprint {
                return Ok((current.clone(), false));
            }
            return Err(Error::validation(format!("{certname} already has a requested certificate; ignoring certificate request")));
        }
        if existing.as_ref().is_none_or(|(_, r)| r.status != CsrState::Pending) && self.pending_count().await? >= self.max_pending {
            return Err(Error::Unavailable(format!("the CA holds {} pending certificate requests, its limit; retry once some are signed or rejected", self.max_pending)).with_code(codes::TOO_MANY_PENDING));
        }
        if self.has_valid_certificate(certname).await? {
            return Err(Error::validation(format!("{certname} already has a signed certificate; ignoring certificate request")));
        }
        let history = existing.as_ref().map(|(_, previous)| with_previous(previous)).unwrap_or_default();
        let record = CsrRecord { certname: certname.to_string(), fingerprint: csr.fingerprint, request_time: now(), csr: csr.pem, reason: None, decided_at: None, history, status: CsrState::Pending };
        let (condition, version) = match &existing {
            Some((item, _)) => (Condition::Version(item.version), item.version + 1),
            None => (Condition::Absent, 1),
        };
        let stored = Write::Put { item: encode(&record, CsrState::Pending, version)?, condition };
        match self.commit_pending(1, vec![stored, audit.write()?]).await {
            Err(Error::Conflict(_)) => Err(Error::Conflict(format!("the certificate request of {certname} changed meanwhile")).with_code(codes::INVALID_OPERATION)),
            other => other.map(|()| (record, true)),
        }
    }

    /// The pending request (Puppet `GET certificate_request`), else 404 `CSR_NOT_FOUND`.
    pub async fn pending_request(&self, certname: &Certname) -> Result<CsrRecord> {
        match self.csr_item(certname).await? {
            Some((_, record)) if record.status == CsrState::Pending => Ok(record),
            _ => Err(csr_not_found(certname)),
        }
    }

    /// Withdraws the pending request (Puppet `DELETE certificate_request`, by an operator
    /// holding `ca:reject` or `ca:admin`); 404 if none.
    pub async fn delete_request(&self, certname: &Certname, actor: &str) -> Result<()> {
        let audit = Audit::success(OperationKind::DeleteRequest, Some(certname), actor, None);
        let result = async {
            let (item, _) = self.pending_item(certname).await.map_err(|_| csr_not_found(certname))?;
            let withdrawn = Write::Delete { pk: item.pk.clone(), sk: SK.to_owned(), condition: Condition::Version(item.version) };
            self.commit_pending(-1, vec![withdrawn, audit.write()?]).await.map_err(|e| match e {
                Error::Conflict(_) => csr_not_found(certname),
                other => other,
            })
        }
        .await;
        self.committed(audit, result).await
    }

    /// Seed 001 `POST /api/v1/ca/reject/{certname}`: the pending request turns `rejected`
    /// (leaving the pending list) and keeps `reason`.
    pub async fn reject(&self, certname: &Certname, reason: Option<String>, actor: &str) -> Result<CsrRecord> {
        let reason = checked_reason(reason)?;
        let audit = Audit::success(OperationKind::Reject, Some(certname), actor, reason.as_deref());
        let result = async {
            let (item, record) = self.pending_item(certname).await?;
            let rejected = CsrRecord { reason: reason.clone(), decided_at: Some(now()), status: CsrState::Rejected, ..record };
            let transition = Write::Put { item: encode(&rejected, CsrState::Rejected, item.version + 1)?, condition: Condition::Version(item.version) };
            match self.commit_pending(-1, vec![transition, audit.write()?]).await {
                Err(Error::Conflict(_)) => Err(self.after_conflict(certname).await),
                other => other.map(|()| rejected),
            }
        }
        .await;
        self.committed(audit, result).await
    }

    /// Seed 001 `GET /api/v1/ca/requests`: the matching page and the total.
    pub async fn requests(&self, query: &RequestQuery) -> Result<(Vec<CsrRecord>, usize)> {
        let mut found: Vec<CsrRecord> = self
            .requests_in(query.status)
            .await?
            .into_iter()
            .filter(|r| query.certname.as_ref().is_none_or(|p| p.matches(&r.certname)) && query.search.as_ref().is_none_or(|p| p.matches(&r.certname)))
            .collect();
        found.sort_by(|a, b| {
            let by = match query.sort {
                RequestSort::Certname => a.certname.cmp(&b.certname),
                RequestSort::RequestTime => a.request_time.cmp(&b.request_time).then_with(|| a.certname.cmp(&b.certname)),
            };
            query.order.apply(by)
        });
        Ok(query.window.apply(found))
    }

    /// The requests in `state`, read from that state's GSI1 partition and from the legacy one.
    pub(super) async fn requests_in(&self, state: CsrState) -> Result<Vec<CsrRecord>> {
        let mut all = self.indexed_in(index_pk(state), state).await?;
        all.extend(self.indexed_in(LEGACY_INDEX_PK.to_owned(), state).await?);
        Ok(all)
    }

    /// The requests in `state` of the GSI1 partition `pk`.
    async fn indexed_in(&self, pk: String, state: CsrState) -> Result<Vec<CsrRecord>> {
        let mut query = Query { index: Index::Gsi1, pk, range: SkRange::All, limit: 1000, cursor: None, descending: false };
        let mut all = Vec::new();
        loop {
            let page = self.ports.store.query(query.clone()).await?;
            for item in page.items.iter().filter(|i| i.state.as_deref() == Some(state.as_str())) {
                all.push(decode(item)?);
            }
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    pub(super) async fn csr_item(&self, certname: &Certname) -> Result<Option<(Item, CsrRecord)>> {
        let Some(item) = self.ports.store.get(&format!("CSR#{certname}"), SK).await? else { return Ok(None) };
        let record = decode(&item)?;
        Ok(Some((item, record)))
    }

    /// The request if it is pending; else 404 `CSR_NOT_FOUND`, 409 `CERT_ALREADY_SIGNED` or,
    /// once rejected, 409 `INVALID_OPERATION` (the agent must submit a new request).
    pub(super) async fn pending_item(&self, certname: &Certname) -> Result<(Item, CsrRecord)> {
        match self.csr_item(certname).await? {
            None => Err(csr_not_found(certname)),
            Some((_, r)) if r.status == CsrState::Signed => {
                Err(Error::Conflict(format!("the certificate request of {certname} is already signed")).with_code(codes::CERT_ALREADY_SIGNED))
            }
            Some((_, r)) if r.status == CsrState::Rejected => Err(Error::Conflict(format!(
                "the certificate request of {certname} was rejected; the agent must submit a new one"
            ))
            .with_code(codes::INVALID_OPERATION)),
            Some(found) => Ok(found),
        }
    }

    /// Why a conditional write on a pending request lost: what the request is now.
    pub(super) async fn after_conflict(&self, certname: &Certname) -> Error {
        match self.pending_item(certname).await {
            Ok(_) => Error::Conflict(format!("the certificate request of {certname} changed meanwhile")).with_code(codes::INVALID_OPERATION),
            Err(e) => e,
        }
    }
}
