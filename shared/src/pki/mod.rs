//! The PKI core: pure X.509 building and parsing (rcgen, x509-parser). No I/O: keys arrive as
//! [`CaSigner`]s from key custody, records come from and go to the services.
//!
//! One issuance path for every endpoint group: CA certificates ([`ca`]), end-entity
//! certificates from templates ([`leaf`]), CSR policy ([`csr`]), CRLs ([`crl`]) and chain
//! encodings ([`chain`]).

pub mod ca;
pub mod constraints;
pub mod chain;
pub mod crl;
pub mod delta_crl;
pub mod csr;
mod der;
mod keys;
pub mod leaf;
pub mod names;
pub mod ocsp;
pub mod pem;
pub mod serial;
mod sign;
#[cfg(test)]
mod testutil;
#[cfg(test)]
mod tests_openssl;

pub use crate::custody::CaSigner;
pub use keys::{MAX_RSA_BITS, MIN_RSA_BITS};
pub use names::{DnsName, SanUri, SubjectName};
pub use serial::Serial;

/// A DER certificate with the facts the services store about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCert {
    pub der: Vec<u8>,
    pub pem: String,
    pub serial: Serial,
    /// SHA-256 of the DER, uppercase hex (seed 004 `thumbprint`).
    pub thumbprint: String,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
}

impl IssuedCert {
    /// Reads the stored facts back from a DER certificate (RFC 5280 §4.1).
    pub fn from_der(der: Vec<u8>) -> crate::error::Result<Self> {
        let cert = sign::parse_cert(&der)?;
        let serial = Serial::from_bytes(cert.raw_serial());
        let not_before = cert.validity().not_before.to_datetime();
        let not_after = cert.validity().not_after.to_datetime();
        drop(cert);
        Ok(IssuedCert { pem: chain::cert_pem(&der), thumbprint: thumbprint(&der), serial, not_before, not_after, der })
    }
}

/// SHA-256 of `der`, uppercase hex without separators (seed 004 `thumbprint`).
pub fn thumbprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode_upper(sha2::Sha256::digest(der))
}

/// An issuer: its current CA certificate (DER) and its custody key.
#[derive(Clone, Debug)]
pub struct IssuerRef<'a> {
    pub cert_der: &'a [u8],
    pub signer: &'a CaSigner,
    /// CRL distribution point URL to put on what it signs (the issuer's policy).
    pub crl_distribution_point: Option<&'a str>,
    /// OCSP responder URL for the AIA extension on what it signs.
    pub ocsp_responder_url: Option<&'a str>,
}
