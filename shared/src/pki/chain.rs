//! Chain encodings for `GET /authorities/{id}/chain`: PEM (`application/pem-certificate-chain`,
//! RFC 8555 §9.1 order: leaf-most first, root last) and a certs-only PKCS#7 (RFC 2315 / 5652
//! SignedData with no signers) in DER.

use super::{der, pem};
use crate::error::{Error, Result};

/// id-signedData (RFC 5652 §5.1).
const ID_SIGNED_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 2];
/// id-data (RFC 5652 §4).
const ID_DATA: &[u64] = &[1, 2, 840, 113549, 1, 7, 1];

/// DER certificate → PEM (RFC 7468 §5).
pub fn cert_pem(der: &[u8]) -> String {
    pem::encode("CERTIFICATE", der)
}

/// PEM certificates concatenated in the given order.
pub fn pem_chain(ders: &[Vec<u8>]) -> String {
    ders.iter().map(|d| cert_pem(d)).collect()
}

/// A degenerate certs-only PKCS#7 SignedData (DER), as `openssl pkcs7 -print_certs` reads.
///
/// RFC 5652 §5.1 with version 1, no digest algorithms, id-data encapsulated content without
/// eContent, the certificates `[0] IMPLICIT` in the given order, and no signer infos. Each
/// input must be a DER certificate.
pub fn p7b(ders: &[Vec<u8>]) -> Result<Vec<u8>> {
    if ders.is_empty() {
        return Err(Error::validation("a PKCS#7 bundle needs at least one certificate"));
    }
    for cert in ders {
        super::sign::parse_cert(cert)?;
    }
    let empty_set = der::tlv(der::SET, &[]);
    let signed_data = [
        der::small_uint(1),
        empty_set.clone(),
        der::tlv(der::SEQUENCE, &der::oid(ID_DATA)),
        der::tlv(der::context(0, true), &ders.concat()),
        empty_set,
    ]
    .concat();
    let content = der::tlv(der::context(0, true), &der::tlv(der::SEQUENCE, &signed_data));
    Ok(der::tlv(der::SEQUENCE, &[der::oid(ID_SIGNED_DATA), content].concat()))
}

/// Parses one or more PEM certificates into DER (for CA bundles). Blocks other than
/// `CERTIFICATE` and certificates that do not parse are refused.
pub fn parse_pem_certs(pem: &str) -> Result<Vec<Vec<u8>>> {
    let blocks = pem::decode_all(pem)?;
    if blocks.is_empty() {
        return Err(Error::validation("no PEM certificate found"));
    }
    blocks
        .into_iter()
        .map(|(label, der)| {
            if label != "CERTIFICATE" {
                return Err(Error::validation(format!("unexpected PEM block {label} (only CERTIFICATE is accepted)")));
            }
            super::sign::parse_cert(&der)?;
            Ok(der)
        })
        .collect()
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
