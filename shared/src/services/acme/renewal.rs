//! ACME Renewal Information (RFC 9773): when a client should renew a certificate this server
//! issued. A valid certificate's window is its last third less its last sixth of validity
//! (so renewals spread over a sixth of the lifetime); a revoked one's lies in the past, which
//! tells clients to renew at once (§4.2).

use super::problem::{not_found, problem, ProblemType};
use super::Acme;
use crate::error::Result;
use crate::pki::Serial;
use crate::services::pki::CertStatus;
use base64::Engine;
use time::{Duration, OffsetDateTime};

/// How long a client should wait before asking again (RFC 9773 §4.3, `Retry-After`).
pub const RENEWAL_INFO_RETRY_SECONDS: u64 = 6 * 3600;

/// A suggested renewal window (RFC 9773 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewalWindow {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// The authority key identifier and serial a `certID` names (RFC 9773 §4.1:
/// base64url(AKI keyIdentifier) "." base64url(serial DER value)), or `malformed`.
fn parse_cert_id(raw: &str) -> Result<(Vec<u8>, String)> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bad = || problem(ProblemType::Malformed, "certID must be base64url(keyIdentifier).base64url(serial)");
    let (aki, serial) = raw.split_once('.').ok_or_else(bad)?;
    let aki = b64.decode(aki).map_err(|_| bad())?;
    let serial = b64.decode(serial).map_err(|_| bad())?;
    if aki.is_empty() || serial.is_empty() || serial.len() > 20 {
        return Err(bad());
    }
    Ok((aki, Serial::from_bytes(&serial).to_hex()))
}

/// The subject key identifier of a DER CA certificate.
fn subject_key_id(der: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
        _ => None,
    })
}

/// The window of a certificate valid from `not_before` to `not_after`, or revoked.
fn window(not_before: OffsetDateTime, not_after: OffsetDateTime, revoked: bool, now: OffsetDateTime) -> RenewalWindow {
    if revoked {
        return RenewalWindow { start: now - Duration::days(1), end: now - Duration::hours(1) };
    }
    let lifetime = not_after - not_before;
    RenewalWindow { start: not_after - lifetime / 3, end: not_after - lifetime / 6 }
}

impl Acme {
    /// The renewal window of the certificate `cert_id` names, if this authority's ACME server
    /// issued it; else 404.
    pub async fn renewal_info(&self, authority_id: &str, cert_id: &str) -> Result<RenewalWindow> {
        let (aki, serial) = parse_cert_id(cert_id)?;
        let authority = self.authority(authority_id).await?;
        if subject_key_id(&authority.der()?).is_some_and(|ski| ski != aki) {
            return Err(not_found("certificate of this authority"));
        }
        let pointer = self.ports.store.get(&format!("ACMESERIAL#{authority_id}#{serial}"), "CERT").await?.ok_or_else(|| not_found("certificate issued by this ACME server"))?;
        let record = self.pki.get_certificate(pointer.data["certId"].as_str().unwrap_or_default()).await?;
        Ok(window(record.not_before, record.not_after, record.status == CertStatus::Revoked, crate::clock::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_ids_name_an_aki_and_a_serial_whatever_its_leading_zero() {
        let (aki, serial) = parse_cert_id("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE").unwrap();
        assert_eq!(aki.len(), 20);
        assert_eq!(serial, Serial::from_bytes(&[0x87, 0x65, 0x43, 0x21]).to_hex(), "RFC 9773 §4.1's example serial");
        for bad in ["", "abc", ".AIdlQyE", "aYhb.", "a!b.c", &format!("AA.{}", "A".repeat(40))] {
            assert_eq!(parse_cert_id(bad).unwrap_err().code(), Some("malformed"), "{bad}");
        }
    }

    #[test]
    fn the_window_is_in_the_last_third_of_validity_or_in_the_past_once_revoked() {
        let now = crate::clock::now();
        let (from, to) = (now, now + Duration::days(90));
        let w = window(from, to, false, now);
        assert_eq!((w.start, w.end), (to - Duration::days(30), to - Duration::days(15)));
        let revoked = window(from, to, true, now);
        assert!(revoked.start < revoked.end && revoked.end < now);
    }
}
