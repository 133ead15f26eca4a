//! The PKI core: pure X.509 building and parsing (rcgen, x509-parser). No I/O: keys arrive as
//! [`CaSigner`]s from key custody, records come from and go to the services.
//!
//! One issuance path for every endpoint group: CA certificates ([`ca`]), end-entity
//! certificates from templates ([`leaf`]), CSR policy ([`csr`]), CRLs ([`crl`]) and chain
//! encodings ([`chain`]).

pub mod ca;
pub mod chain;
pub mod crl;
pub mod csr;
pub mod leaf;
pub mod names;
pub mod serial;

pub use crate::custody::CaSigner;
pub use names::{DnsName, SubjectName};
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
