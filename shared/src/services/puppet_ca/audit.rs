//! The audit trail: every operation (type, certname, actor, time, outcome) appended under
//! the partition of its day, `AUDIT#ca#<yyyy-mm-dd>` (UTC), newest last. A successful sign,
//! reject, submit, withdrawal or revocation is recorded by a write in the transaction that
//! makes it ([`PuppetCa::audit_write`], [`PuppetCa::committed`]), so the trail never misses an
//! operation that happened nor shows one that did not; failures are appended after. Seed 001's
//! `last_operation` is the newest of today's or, failing that, yesterday's. Failures of
//! anonymous callers (Puppet agents, and autosign acting on their requests) are logged, not
//! recorded, so unauthenticated traffic cannot grow the trail.

use super::{now, PuppetCa, AGENT_ACTOR, AUTOSIGN_ACTOR};
use crate::domain::Certname;
use crate::error::{Error, Result};
use crate::ports::{Condition, Item, Query, Write};
use serde::{Deserialize, Serialize};

/// The partition of the operations of the UTC day of `at`.
fn day_pk(at: time::OffsetDateTime) -> String {
    let day = at.to_offset(time::UtcOffset::UTC).date();
    format!("AUDIT#ca#{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Seed 001 `last_operation.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// `PUT /puppet-ca/v1/certificate_request/{certname}`.
    Submit,
    /// `DELETE /puppet-ca/v1/certificate_request/{certname}`.
    DeleteRequest,
    Sign,
    Reject,
    Revoke,
    Renew,
}

/// Seed 001 `last_operation.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

/// One audited operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    #[serde(rename = "type")]
    pub kind: OperationKind,
    /// `None` for operations on the CA itself (renew).
    pub certname: Option<String>,
    /// The API key id, [`super::AGENT_ACTOR`] or [`super::AUTOSIGN_ACTOR`].
    pub actor: String,
    /// RFC 3339, whole seconds.
    pub timestamp: String,
    pub status: Outcome,
    /// The reason given (reject, revoke), or why the operation failed (its code and message).
    pub detail: Option<String>,
}

fn failure_detail(e: &Error) -> String {
    match e.code() {
        Some(code) => format!("{code}: {}", e.public_message()),
        None => e.public_message(),
    }
}

/// A successful operation's audit record, made before the operation's own writes so that it
/// commits with them.
#[derive(Clone, Debug)]
pub(super) struct Audit {
    operation: Operation,
    certname: Option<Certname>,
    at: time::OffsetDateTime,
}

impl Audit {
    /// The record of `kind` succeeding now.
    pub(super) fn success(kind: OperationKind, certname: Option<&Certname>, actor: &str, detail: Option<&str>) -> Self {
        let at = now();
        let timestamp = crate::services::pki::rfc3339(at);
        let operation = Operation { kind, certname: certname.map(|c| c.as_str().to_owned()), actor: actor.to_owned(), timestamp, status: Outcome::Success, detail: detail.map(str::to_owned) };
        Audit { operation, certname: certname.cloned(), at }
    }

    /// The write appending this record, to put in the operation's transaction.
    pub(super) fn write(&self) -> Result<Write> {
        Ok(Write::Put { item: audit_item(&self.operation, self.at)?, condition: Condition::Absent })
    }
}

/// The store item of `operation`, made at `at`: a unique key in the partition of its day.
fn audit_item(operation: &Operation, at: time::OffsetDateTime) -> Result<Item> {
    let sk = format!("{}#{}", operation.timestamp, uuid::Uuid::now_v7());
    Ok(Item::new(day_pk(at), sk, serde_json::to_value(operation).map_err(Error::internal)?))
}

impl PuppetCa {
    /// Hands back `result` of an operation whose success committed `audit` in its own
    /// transaction: a success is only logged, a failure is recorded as [`PuppetCa::audited`]
    /// records it.
    pub(super) async fn committed<T>(&self, audit: Audit, result: Result<T>) -> Result<T> {
        let Audit { operation, certname, .. } = audit;
        match result {
            Ok(done) => {
                tracing::info!(operation = ?operation.kind, certname = ?operation.certname, actor = %operation.actor, status = ?operation.status, "CA operation");
                Ok(done)
            }
            Err(e) => self.audited(operation.kind, certname.as_ref(), &operation.actor, None, Err(e)).await,
        }
    }

    /// Records the outcome of `kind` and hands `result` back. A failed audit write is logged,
    /// never turned into a failure of an operation that already happened.
    pub(super) async fn audited<T>(&self, kind: OperationKind, certname: Option<&Certname>, actor: &str, detail: Option<&str>, result: Result<T>) -> Result<T> {
        let (status, detail) = match &result {
            Ok(_) => (Outcome::Success, detail.map(str::to_owned)),
            Err(e) => (Outcome::Failure, Some(failure_detail(e))),
        };
        let at = now();
        let timestamp = crate::services::pki::rfc3339(at);
        let operation = Operation { kind, certname: certname.map(|c| c.as_str().to_owned()), actor: actor.to_owned(), timestamp, status, detail };
        tracing::info!(operation = ?operation.kind, certname = ?operation.certname, actor = %operation.actor, status = ?operation.status, "CA operation");
        let anonymous = operation.actor == AGENT_ACTOR || operation.actor == AUTOSIGN_ACTOR;
        if anonymous && status == Outcome::Failure {
            return result;
        }
        if let Err(e) = self.append(&operation, at).await {
            tracing::error!(error = %e, operation = ?operation, "could not record a CA operation in the audit trail");
        }
        result
    }

    async fn append(&self, operation: &Operation, at: time::OffsetDateTime) -> Result<()> {
        self.ports.store.put(audit_item(operation, at)?, Condition::Absent).await
    }

    /// Appends `audit` on its own, for a success that wrote nothing else (an identical
    /// re-submission); a failed write is logged.
    pub(super) async fn append_alone(&self, audit: Audit) {
        tracing::info!(operation = ?audit.operation.kind, certname = ?audit.operation.certname, actor = %audit.operation.actor, "CA operation");
        if let Err(e) = self.append(&audit.operation, audit.at).await {
            tracing::error!(error = %e, operation = ?audit.operation, "could not record a CA operation in the audit trail");
        }
    }

    /// The newest `limit` (1..=1000) operations of today and yesterday (UTC), newest first.
    pub async fn audit_trail(&self, limit: u32) -> Result<Vec<Operation>> {
        let limit = limit.clamp(1, 1000);
        let today = now();
        let mut operations = self.day_trail(day_pk(today), limit).await?;
        let left = limit - operations.len() as u32;
        if left > 0 {
            operations.extend(self.day_trail(day_pk(today - time::Duration::days(1)), left).await?);
        }
        Ok(operations)
    }

    async fn day_trail(&self, pk: String, limit: u32) -> Result<Vec<Operation>> {
        let mut query = Query::partition(pk);
        query.descending = true;
        query.limit = limit;
        let page = self.ports.store.query(query).await?;
        page.items
            .iter()
            .map(|i| serde_json::from_value(i.data.clone()).map_err(|e| Error::internal(format!("corrupt audit record {}: {e}", i.sk))))
            .collect()
    }

    /// Seed 001 `last_operation`: the newest operation, if any.
    pub async fn last_operation(&self) -> Result<Option<Operation>> {
        Ok(self.audit_trail(1).await?.into_iter().next())
    }
}
