//! The seed 001 response bodies.

use serde_json::{json, Value};
use time::OffsetDateTime;
use trustplane_core::pki::csr;
use trustplane_core::services::pki::{AuthorityRecord, CertStatus, CertificateRecord};
use trustplane_core::services::puppet_ca::{fingerprint, AutosignToken, CaStatus, CertificateDetails, CsrRecord, Renewed, Revoked, Window};
use trustplane_core::Result;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn status_name(status: CertStatus) -> &'static str {
    match status {
        CertStatus::Valid => "valid",
        CertStatus::Expired => "expired",
        CertStatus::Revoked => "revoked",
    }
}

fn authority_fingerprint(authority: &AuthorityRecord) -> Result<String> {
    Ok(csr::fingerprint(&authority.der()?))
}

/// A certificate serial as the seed shows it: a decimal string (`"123456789"`), from the
/// inventory's hex.
pub fn decimal_serial(hex: &str) -> String {
    let mut digits: Vec<u8> = vec![0];
    for nibble in hex.chars().filter_map(|c| c.to_digit(16)) {
        let mut carry = nibble;
        for d in digits.iter_mut() {
            let value = u32::from(*d) * 16 + carry;
            *d = (value % 10) as u8;
            carry = value / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// `{data, total, limit, offset}`.
pub fn page(data: Vec<Value>, total: usize, window: Window) -> Value {
    json!({ "data": data, "total": total, "limit": window.limit, "offset": window.offset })
}

/// `GET /api/v1/ca/status`.
pub fn status(s: &CaStatus) -> Value {
    let last = s.last_operation.as_ref().map(|op| json!({ "type": op.kind, "certname": op.certname, "timestamp": op.timestamp, "status": op.status }));
    json!({
        "service_status": if s.running { "running" } else { "unavailable" },
        "ca_certificate": s.ca.as_ref().map(|ca| json!({ "not_after": rfc3339(ca.not_after), "not_before": rfc3339(ca.not_before) })),
        "pending_requests": s.pending_requests,
        "signed_certificates": s.signed_certificates,
        "last_operation": last,
    })
}

/// One entry of `GET /api/v1/ca/requests`, with the fingerprints of the certname's earlier
/// submissions (oldest first), so an operator can see a CSR that replaced another.
pub fn request(r: &CsrRecord) -> Value {
    let history: Vec<Value> = r
        .history
        .iter()
        .map(|h| json!({ "fingerprint": h.fingerprint, "request_time": rfc3339(h.request_time), "status": h.status.as_str() }))
        .collect();
    json!({
        "certname": r.certname, "fingerprint": r.fingerprint, "request_time": rfc3339(r.request_time),
        "status": r.status.as_str(), "fingerprint_history": history,
    })
}

/// `POST /api/v1/ca/autosign-tokens`: the token and, this once, its secret.
pub fn autosign_token(t: &AutosignToken, secret: &str) -> Value {
    json!({
        "id": t.id, "token": secret, "certname_pattern": t.certname_pattern,
        "created_at": rfc3339(t.created_at), "expires_at": rfc3339(t.expires_at),
    })
}

/// `POST /api/v1/ca/sign/{certname}`.
pub fn signed(c: &CertificateRecord) -> Result<Value> {
    let status = status_name(c.effective_status(OffsetDateTime::now_utc()));
    Ok(json!({
        "certname": c.common_name, "serial": decimal_serial(&c.serial_number), "fingerprint": fingerprint(c)?,
        "not_before": rfc3339(c.not_before), "not_after": rfc3339(c.not_after), "status": status,
    }))
}

/// `POST /api/v1/ca/reject/{certname}`.
pub fn rejected(r: &CsrRecord) -> Value {
    let at = r.decided_at.unwrap_or_else(OffsetDateTime::now_utc);
    json!({ "message": "Certificate request rejected", "certname": r.certname, "timestamp": rfc3339(at) })
}

/// Who asked for and who revoked `c`, where the record knows, and its channel.
fn provenance(c: &CertificateRecord) -> Value {
    json!({ "channel": c.channel().as_str(), "requested_by": c.requested_by, "revoked_by": c.revoked_by })
}

/// `view` with the members of `extra` added.
fn merged(mut view: Value, extra: Value) -> Value {
    if let (Some(view), Value::Object(extra)) = (view.as_object_mut(), extra) {
        view.extend(extra);
    }
    view
}

/// One entry of `GET /api/v1/ca/certificates`; `days_until_expiry` is negative once expired.
pub fn certificate(c: &CertificateRecord) -> Result<Value> {
    let now = OffsetDateTime::now_utc();
    let view = json!({
        "certname": c.common_name, "serial": decimal_serial(&c.serial_number), "fingerprint": fingerprint(c)?,
        "not_before": rfc3339(c.not_before), "not_after": rfc3339(c.not_after),
        "status": status_name(c.effective_status(now)),
        "days_until_expiry": (c.not_after - now).whole_seconds().div_euclid(86_400),
    });
    Ok(merged(view, provenance(c)))
}

/// `GET /api/v1/ca/certificates/{certname}`.
pub fn details(d: &CertificateDetails) -> Value {
    let c = &d.record;
    let extensions: Vec<Value> = d.extensions.iter().map(|e| json!({ "name": e.name, "value": e.value })).collect();
    let view = json!({
        "certname": c.common_name, "serial": decimal_serial(&c.serial_number), "fingerprint": d.fingerprint,
        "issuer": d.issuer, "subject": d.subject,
        "not_before": rfc3339(c.not_before), "not_after": rfc3339(c.not_after),
        "status": status_name(c.effective_status(OffsetDateTime::now_utc())),
        "extensions": extensions, "public_key": d.public_key_pem,
    });
    merged(view, provenance(c))
}

/// `DELETE /api/v1/ca/certificates/{certname}`.
pub fn revoked(r: &Revoked) -> Value {
    json!({
        "message": "Certificate revoked", "certname": r.certname, "status": "revoked",
        "timestamp": rfc3339(r.revoked_at), "revocation_reason": r.reason,
        "channel": r.certificates.first().map(|c| c.channel().as_str()),
    })
}

/// `POST /api/v1/ca/renew`.
pub fn renewed(r: &Renewed) -> Result<Value> {
    Ok(json!({
        "message": "CA certificate renewal initiated",
        "old_certificate": { "not_after": rfc3339(r.old.not_after), "fingerprint": authority_fingerprint(&r.old)? },
        "new_certificate": { "not_before": rfc3339(r.new.not_before), "not_after": rfc3339(r.new.not_after), "fingerprint": authority_fingerprint(&r.new)? },
        "backup_path": r.backup_path,
        "timestamp": rfc3339(r.at),
    }))
}

#[cfg(test)]
mod tests {
    use super::decimal_serial;

    #[test]
    fn serials_are_shown_as_decimal_strings() {
        assert_eq!(decimal_serial("075BCD15"), "123456789");
        assert_eq!(decimal_serial("00"), "0");
        assert_eq!(decimal_serial("7fffffffffffffffffffffffffffffffffffffff"), "730750818665451459101842416358141509827966271487");
    }
}
