//! Chain encodings for `GET /authorities/{id}/chain`: PEM (`application/pem-certificate-chain`,
//! RFC 8555 §9.1 order: leaf-most first, root last) and a certs-only PKCS#7 (RFC 2315 / 5652
//! SignedData with no signers) in DER.

use crate::error::Result;

/// DER certificate → PEM.
pub fn cert_pem(der: &[u8]) -> String {
    let _ = der;
    todo!()
}

/// PEM certificates concatenated in the given order.
pub fn pem_chain(ders: &[Vec<u8>]) -> String {
    ders.iter().map(|d| cert_pem(d)).collect()
}

/// A degenerate certs-only PKCS#7 SignedData (DER), as `openssl pkcs7 -print_certs` reads.
pub fn p7b(ders: &[Vec<u8>]) -> Result<Vec<u8>> {
    let _ = ders;
    todo!()
}

/// Parses one or more PEM certificates into DER (for CA bundles).
pub fn parse_pem_certs(pem: &str) -> Result<Vec<Vec<u8>>> {
    let _ = pem;
    todo!()
}
