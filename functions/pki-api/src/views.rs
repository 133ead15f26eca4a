//! Records as seed 004 shows them: camelCase JSON, RFC 3339 timestamps, PEM certificates.

use serde_json::{json, Value};
use time::OffsetDateTime;
use trustplane_core::pki::chain::cert_pem;
use trustplane_core::services::pki::{AuthorityRecord, AuthorityType, CertificateRecord, KeySpec, NewCertificate, SubjectRecord};
use trustplane_core::{Error, Result};

/// RFC 3339 UTC.
pub fn ts(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A page of `data` with the cursor of the next one.
pub fn page(data: Vec<Value>, next: Option<String>) -> Value {
    json!({ "data": data, "nextCursor": next })
}

/// A subject: its id, distinguished name fields and creation time.
pub fn subject(s: &SubjectRecord) -> Result<Value> {
    serde_json::to_value(s).map_err(Error::internal)
}

/// An authority (seed 004 §2.1 response) with its key spec, policy, certificate, where its CRL
/// is published and, once REVOKED, its revocation.
pub fn authority(a: &AuthorityRecord, crl_url: &str) -> Result<Value> {
    Ok(json!({
        "id": a.id,
        "subjectId": a.subject_id,
        "type": a.kind,
        "status": a.status,
        "parentAuthorityId": a.parent_authority_id,
        "serialNumber": a.serial_number,
        "thumbprint": a.thumbprint,
        "notBefore": ts(a.not_before),
        "notAfter": ts(a.not_after),
        "hierarchy": { "isRoot": a.kind == AuthorityType::Root, "pathLenConstraint": a.path_len_constraint },
        "keySpec": KeySpec::of(a.key.algorithm),
        "policy": a.policy,
        "certificateContent": cert_pem(&a.der()?),
        "createdAt": ts(a.created_at),
        "crlUrl": crl_url,
        "revocation": a.revocation.as_ref().map(|r| json!({
            "revokedAt": ts(r.revoked_at),
            "reason": r.reason,
            "comment": r.comment,
            "serialNumbers": r.serial_numbers,
            "revokedBy": r.revoked_by,
        })),
    }))
}

/// An inventory entry, with its status as of now.
pub fn certificate(c: &CertificateRecord, now: OffsetDateTime) -> Value {
    json!({
        "id": c.id,
        "serialNumber": c.serial_number,
        "issuerId": c.issuer_id,
        "subjectId": c.subject_id,
        "commonName": c.common_name,
        "template": c.template,
        "status": c.effective_status(now),
        "notBefore": ts(c.not_before),
        "notAfter": ts(c.not_after),
        "san": san(c),
        "certificateContent": c.certificate_pem,
        "format": "PEM",
        "revokedAt": c.revoked_at.map(ts),
        "revocationReason": c.revocation_reason,
        "comment": c.comment,
        "createdAt": ts(c.created_at),
        "channel": c.channel(),
        "requestedBy": c.requested_by,
        "revokedBy": c.revoked_by,
    })
}

/// Seed 004 §3.1 response, plus the issuer chain and, without a CSR, the private key.
pub fn issued(new: &NewCertificate) -> Value {
    let i = &new.issued;
    let mut body = json!({
        "id": i.record.id,
        "serialNumber": i.record.serial_number,
        "certificateContent": i.record.certificate_pem,
        "format": "PEM",
        "chain": i.chain.iter().map(|der| cert_pem(der)).collect::<Vec<_>>(),
        "notBefore": ts(i.record.not_before),
        "notAfter": ts(i.record.not_after),
    });
    if let Some(key) = &new.private_key_pem {
        body["privateKeyContent"] = json!(key);
    }
    body
}

/// The 202 body of a revocation.
pub fn revoked(c: &CertificateRecord) -> Value {
    json!({ "id": c.id, "status": "REVOKED", "revokedAt": c.revoked_at.map(ts), "reason": c.revocation_reason, "revokedBy": c.revoked_by })
}

/// Its subject alternative names; `uris` only when it has any.
fn san(c: &CertificateRecord) -> Value {
    let mut san = json!({ "dnsNames": c.dns_names, "ipAddresses": c.ip_addresses });
    if !c.uris.is_empty() {
        san["uris"] = json!(c.uris);
    }
    san
}
