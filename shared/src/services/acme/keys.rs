//! The public key of a certificate compared with an account JWK, for revocation signed by
//! the certificate's own key (RFC 8555 §7.6).

use super::jws::AccountKey;
use super::problem::{problem, ProblemType};
use crate::error::Result;
use crate::pki::Serial;
use base64::Engine;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// A certificate's public key, as big-endian magnitudes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CertKey {
    Ec { x: Vec<u8>, y: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Other,
}

fn magnitude(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().copied().skip_while(|b| *b == 0).collect()
}

/// The serial (uppercase hex, as the inventory keeps it) and the public key of a DER
/// certificate; `malformed` if it is not one.
pub(crate) fn serial_and_key(der: &[u8]) -> Result<(String, CertKey)> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| problem(ProblemType::Malformed, "certificate is not a DER X.509 certificate"))?;
    let serial = Serial::from_bytes(cert.raw_serial()).to_hex();
    let key = match cert.public_key().parsed() {
        Ok(PublicKey::EC(point)) if point.data().first() == Some(&4) && point.data().len() % 2 == 1 => {
            let coordinates = &point.data()[1..];
            let (x, y) = coordinates.split_at(coordinates.len() / 2);
            CertKey::Ec { x: x.to_vec(), y: y.to_vec() }
        }
        Ok(PublicKey::RSA(rsa)) => CertKey::Rsa { n: magnitude(rsa.modulus), e: magnitude(rsa.exponent) },
        _ => CertKey::Other,
    };
    Ok((serial, key))
}

/// True if `account` is the key `cert` holds.
pub(crate) fn same_key(account: &AccountKey, cert: &CertKey) -> bool {
    let member = |name: &str| account.value()[name].as_str().and_then(|v| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok()).unwrap_or_default();
    match cert {
        CertKey::Ec { x, y } => account.value()["kty"] == "EC" && member("x") == *x && member("y") == *y,
        CertKey::Rsa { n, e } => account.value()["kty"] == "RSA" && magnitude(&member("n")) == *n && magnitude(&member("e")) == *e,
        CertKey::Other => false,
    }
}
