//! Finalization, download and revocation (RFC 8555 §7.4, §7.4.2, §7.6). A ready order's CSR
//! must name exactly the order's DNS names; its key passes the one key policy and the
//! certificate is issued through the PKI core into the inventory (channel `acme`), the order
//! turning valid in the same transaction. Revocation goes through the same path as every
//! other group's, so the certificate lands on its issuer's CRL.

use super::auth::Signer;
use super::orders::OrderView;
use super::problem::{not_found, problem, ProblemType};
use super::records::{item, OrderStatus};
use super::{Acme, SignedRequest, Urls};
use crate::error::{Error, Result};
use crate::pki::crl::RevocationReason;
use crate::pki::leaf::Template;
use crate::pki::{csr, pem, DnsName, SubjectName};
use crate::ports::{Condition, Write};
use crate::services::pki::{AuthorityRecord, Channel, LeafRequest, Provenance, MAX_VALIDITY_DAYS};
use base64::Engine;
use serde::Deserialize;
use time::Duration;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, Deserialize)]
struct Finalize {
    csr: String,
}

#[derive(Debug, Deserialize)]
struct Revoke {
    certificate: String,
    reason: Option<u8>,
}

fn serial_key(authority_id: &str, serial_hex: &str) -> String {
    format!("ACMESERIAL#{authority_id}#{serial_hex}")
}

/// The RFC 5280 §5.3.1 reason code, among those this CA records.
fn reason(code: Option<u8>) -> Result<RevocationReason> {
    match code.unwrap_or(0) {
        0 => Ok(RevocationReason::Unspecified),
        1 => Ok(RevocationReason::KeyCompromise),
        3 => Ok(RevocationReason::AffiliationChanged),
        4 => Ok(RevocationReason::Superseded),
        5 => Ok(RevocationReason::CessationOfOperation),
        other => Err(problem(ProblemType::BadRevocationReason, format!("reason {other} is not accepted: use 0, 1, 3, 4 or 5"))),
    }
}

/// The DNS names a DER CSR asks for (its SANs, and its CN when it has one), deduplicated.
fn requested_names(der: &[u8]) -> Result<Vec<DnsName>> {
    use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509CertificationRequest};
    let bad = |why: &str| problem(ProblemType::BadCsr, why.to_owned());
    let (_, request) = X509CertificationRequest::from_der(der).map_err(|_| bad("the CSR is not valid DER"))?;
    let mut names = Vec::new();
    for extension in request.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = extension {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(dns) => names.push(DnsName::parse(dns).map_err(|_| bad("a SAN is not a DNS name"))?),
                    _ => return Err(bad("the CSR may only ask for DNS names")),
                }
            }
        }
    }
    if let Some(cn) = request.certification_request_info.subject.iter_common_name().next() {
        names.push(DnsName::parse(cn.as_str().map_err(|_| bad("the CN is not a string"))?).map_err(|_| bad("the CN is not a DNS name"))?);
    }
    let mut unique: Vec<DnsName> = Vec::new();
    names.into_iter().for_each(|n| if !unique.contains(&n) { unique.push(n) });
    Ok(unique)
}

impl Acme {
    /// The validity of what the authority's ACME server issues: its ACME policy's, within the
    /// authority's issuance policy, ending a minute before the authority's own certificate.
    pub(crate) async fn validity(&self, authority: &AuthorityRecord) -> Result<Duration> {
        let days = self.policy(&authority.id).await?.validity_days;
        let days = days.min(authority.policy.issuance.max_validity_days.unwrap_or(MAX_VALIDITY_DAYS));
        let left = authority.not_after - crate::clock::now() - Duration::minutes(1);
        Ok(Duration::days(i64::from(days)).min(left))
    }

    /// finalize: issues the certificate of a ready order for the payload's CSR.
    pub async fn finalize(&self, urls: &Urls, url: &str, jws: &SignedRequest, order_id: &str) -> Result<OrderView> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let (order, stored) = self.owned_order(&account.id, order_id).await?;
        let view = self.order_view(order).await?;
        if view.status != OrderStatus::Ready {
            return Err(problem(ProblemType::OrderNotReady, format!("the order is {}, not ready", serde_json::to_value(view.status).unwrap_or_default().as_str().unwrap_or("?"))));
        }
        let der = B64.decode(jws.payload::<Finalize>()?.csr).map_err(|_| problem(ProblemType::BadCsr, "csr is not base64url DER"))?;
        let verified = csr::verify_pem(&pem::encode("CERTIFICATE REQUEST", &der)).map_err(|e| problem(ProblemType::BadCsr, e.public_message()))?;
        let names = requested_names(&der)?;
        let ordered: Vec<DnsName> = view.order.identifiers.iter().map(|i| DnsName::parse(&i.value)).collect::<Result<_>>()?;
        if names.len() != ordered.len() || !names.iter().all(|n| ordered.contains(n)) {
            return Err(problem(ProblemType::BadCsr, "the CSR must ask for exactly the order's DNS names"));
        }
        let authority = self.authority(urls.authority_id()).await?;
        let common_name = ordered.iter().find(|n| n.as_str().len() <= 64).ok_or_else(|| problem(ProblemType::BadCsr, "no name fits a 64-character common name"))?;
        let subject = SubjectName::common_name_only(common_name.as_str())?;
        let request = LeafRequest { issuer_id: authority.id.clone(), template: Template::TlsServer, subject, subject_id: None, dns_names: ordered, ip_addresses: Vec::new(), validity: self.validity(&authority).await? };
        let provenance = Provenance { channel: Channel::Acme, requested_by: Some(account.id.clone()), answers_pending: false };
        let mut valid = view.order;
        valid.status = OrderStatus::Valid;
        let (order_for_writes, stored_for_writes) = (valid.clone(), stored.clone());
        let issued = self
            .pki
            .issue_in(provenance, request, &verified.key, move |cert| {
                let mut order = order_for_writes;
                order.certificate_id = Some(cert.id.clone());
                let mut done = self.order_item(&order, Some(&stored_for_writes))?;
                done.expires_at = Some((cert.not_after + Duration::days(30)).unix_timestamp());
                let pointer = serde_json::json!({ "certId": cert.id, "accountId": order.account_id, "orderId": order.id });
                let mut by_serial = item(serial_key(&cert.issuer_id, &cert.serial_number), "CERT", None, &pointer)?;
                by_serial.expires_at = Some((cert.not_after + Duration::days(1)).unix_timestamp());
                Ok(vec![Write::Put { item: done, condition: Condition::Version(stored_for_writes.version) }, Write::Put { item: by_serial, condition: Condition::Absent }])
            })
            .await
            .map_err(|e| match e {
                Error::Conflict(_) => problem(ProblemType::OrderNotReady, "the order was finalized meanwhile"),
                Error::Unprocessable(detail) => problem(ProblemType::RejectedIdentifier, detail),
                other => other,
            })?;
        valid.certificate_id = Some(issued.record.id);
        Ok(OrderView { order: valid, status: OrderStatus::Valid })
    }

    /// POST-as-GET of a certificate the account ordered: the PEM chain, end-entity first, then
    /// the authorities up to (not including) the root (RFC 8555 §7.4.2, §9.1).
    pub async fn certificate_chain(&self, urls: &Urls, url: &str, jws: &SignedRequest, cert_id: &str) -> Result<String> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let cert = self.pki.get_certificate(cert_id).await.map_err(|_| not_found("certificate"))?;
        let pointer = self.ports.store.get(&serial_key(&cert.issuer_id, &cert.serial_number), "CERT").await?;
        let owner = pointer.as_ref().and_then(|p| p.data["accountId"].as_str());
        if cert.issuer_id != urls.authority_id() || cert.channel() != Channel::Acme || owner != Some(account.id.as_str()) {
            return Err(not_found("certificate"));
        }
        let chain = self.pki.chain(&cert.issuer_id).await?;
        let above = &chain[..chain.len().saturating_sub(1)];
        Ok(format!("{}{}", cert.certificate_pem, crate::pki::chain::pem_chain(above)))
    }

    /// revokeCert (RFC 8555 §7.6), signed by the account that ordered the certificate or by
    /// the certificate's own key (`jwk`).
    pub async fn revoke_certificate(&self, urls: &Urls, url: &str, jws: &SignedRequest) -> Result<()> {
        self.authority(urls.authority_id()).await?;
        let signer = self.authenticate(urls, url, jws).await?;
        let payload: Revoke = jws.payload()?;
        let reason = reason(payload.reason)?;
        let der = B64.decode(&payload.certificate).map_err(|_| problem(ProblemType::Malformed, "certificate is not base64url DER"))?;
        let (serial_hex, public_key) = super::keys::serial_and_key(&der)?;
        let unknown = || not_found("certificate issued by this ACME server");
        let pointer = self.ports.store.get(&serial_key(urls.authority_id(), &serial_hex), "CERT").await?.ok_or_else(unknown)?;
        let cert_id = pointer.data["certId"].as_str().unwrap_or_default().to_owned();
        let record = self.pki.get_certificate(&cert_id).await?;
        if crate::pki::chain::parse_pem_certs(&record.certificate_pem)?.first() != Some(&der) {
            return Err(unknown());
        }
        let revoked_by = match signer {
            Signer::Account(account, _) if pointer.data["accountId"] == account.id.as_str() => format!("acme-account:{}", account.id),
            Signer::Account(..) => return Err(problem(ProblemType::Unauthorized, "only the account that ordered a certificate, or its key, may revoke it")),
            Signer::Key(key) if super::keys::same_key(&key, &public_key) => "acme-certificate-key".to_owned(),
            Signer::Key(_) => return Err(problem(ProblemType::Unauthorized, "the jwk is not the certificate's key")),
        };
        match self.pki.revoke_by(&cert_id, reason, None, Some(revoked_by)).await {
            Err(Error::Conflict(_)) => Err(problem(ProblemType::AlreadyRevoked, "the certificate is already revoked")),
            other => other.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_reasons_are_the_rfc_5280_codes_this_ca_records() {
        assert_eq!(reason(None).unwrap(), RevocationReason::Unspecified);
        assert_eq!(reason(Some(1)).unwrap(), RevocationReason::KeyCompromise);
        for refused in [2, 6, 7, 8, 9, 10, 200] {
            assert_eq!(reason(Some(refused)).unwrap_err().code(), Some("badRevocationReason"), "{refused}");
        }
    }

    #[test]
    fn a_csr_asks_for_its_sans_and_common_name_once_each() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.example.com".to_owned(), "b.example.com".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "a.example.com");
        let der = params.serialize_request(&key).unwrap().der().to_vec();
        let names: Vec<String> = requested_names(&der).unwrap().iter().map(|n| n.as_str().to_owned()).collect();
        assert_eq!(names, ["a.example.com", "b.example.com"]);
        let ip = rcgen::CertificateParams::new(vec!["192.0.2.1".to_owned()]).unwrap().serialize_request(&key).unwrap().der().to_vec();
        assert_eq!(requested_names(&ip).unwrap_err().code(), Some("badCSR"));
    }
}
