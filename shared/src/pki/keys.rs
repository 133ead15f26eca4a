//! Subject public key policy (RFC 5280 §4.1.2.7 with RFC 3279 / RFC 5480 algorithms): RSA
//! keys of 2048 to 8192 bits, EC keys on P-256 or P-384 as named curves; nothing else.

use crate::error::{Error, Result};
use x509_parser::oid_registry::{
    Oid, OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521, OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Smallest RSA modulus accepted (NIST SP 800-57 Part 1, 112-bit security).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (what the verifiers support).
pub const MAX_RSA_BITS: usize = 8192;

/// An accepted public key, usable as rcgen's subject key.
#[derive(Clone, Debug)]
pub(crate) struct SubjectKey {
    bits: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
    pub(crate) is_rsa: bool,
}

impl rcgen::PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.bits
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

/// Parses a DER SubjectPublicKeyInfo and applies the key policy.
pub(crate) fn accept(spki_der: &[u8]) -> Result<SubjectKey> {
    let (rest, spki) = SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|_| Error::validation("the public key is not a valid SubjectPublicKeyInfo"))?;
    if !rest.is_empty() {
        return Err(Error::validation("the public key has trailing data"));
    }
    accept_parsed(&spki)
}

/// Applies the key policy to a parsed SubjectPublicKeyInfo.
pub(crate) fn accept_parsed(spki: &SubjectPublicKeyInfo<'_>) -> Result<SubjectKey> {
    let oid = &spki.algorithm.algorithm;
    let bits = spki.subject_public_key.data.to_vec();
    if *oid == OID_PKCS1_RSAENCRYPTION {
        check_rsa(spki)?;
        return Ok(SubjectKey { bits, algorithm: &rcgen::PKCS_RSA_SHA256, is_rsa: true });
    }
    if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let algorithm = ec_algorithm(spki)?;
        return Ok(SubjectKey { bits, algorithm, is_rsa: false });
    }
    if *oid == OID_SIG_ED25519 {
        return Err(Error::validation("Ed25519 keys are not accepted (RSA of 2048 bits or more, or EC P-256/P-384)"));
    }
    Err(Error::validation(format!("key algorithm {oid} is not accepted (RSA of 2048 bits or more, or EC P-256/P-384)")))
}

fn check_rsa(spki: &SubjectPublicKeyInfo<'_>) -> Result<()> {
    let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
        return Err(Error::validation("the RSA public key is malformed"));
    };
    let size = rsa_modulus_bits(rsa.modulus);
    if size < MIN_RSA_BITS {
        return Err(Error::validation(format!("RSA key of {size} bits is too weak (minimum {MIN_RSA_BITS})")));
    }
    if size > MAX_RSA_BITS {
        return Err(Error::validation(format!("RSA key of {size} bits is too large (maximum {MAX_RSA_BITS})")));
    }
    match rsa.try_exponent() {
        Ok(e) if e >= 3 && e % 2 == 1 => Ok(()),
        _ => Err(Error::validation("the RSA public exponent is invalid")),
    }
}

/// The modulus size in bits from the DER INTEGER content (leading zero octets ignored).
fn rsa_modulus_bits(modulus: &[u8]) -> usize {
    let start = modulus.iter().position(|b| *b != 0).unwrap_or(modulus.len());
    match modulus.get(start) {
        Some(first) => 8 * (modulus.len() - start) - first.leading_zeros() as usize,
        None => 0,
    }
}

fn ec_algorithm(spki: &SubjectPublicKeyInfo<'_>) -> Result<&'static rcgen::SignatureAlgorithm> {
    let curve: Option<Oid<'_>> = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
    let Some(curve) = curve else {
        return Err(Error::validation("EC keys must name their curve (RFC 5480 namedCurve)"));
    };
    let (algorithm, point_len) = if curve == OID_EC_P256 {
        (&rcgen::PKCS_ECDSA_P256_SHA256, 65)
    } else if curve == OID_NIST_EC_P384 {
        (&rcgen::PKCS_ECDSA_P384_SHA384, 97)
    } else {
        let name = if curve == OID_NIST_EC_P521 { "P-521".to_owned() } else { curve.to_id_string() };
        return Err(Error::validation(format!("EC curve {name} is not accepted (P-256 or P-384 only)")));
    };
    let point = spki.subject_public_key.data.as_ref();
    if point.len() != point_len || point[0] != 0x04 {
        return Err(Error::validation("EC public keys must be uncompressed points (RFC 5480 §2.2)"));
    }
    Ok(algorithm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rsa_modulus_size_counts_significant_bits() {
        let mut m = vec![0u8];
        m.extend([0xff; 256]);
        assert_eq!(rsa_modulus_bits(&m), 2048);
        assert_eq!(rsa_modulus_bits(&[0x7f; 256]), 2047);
        assert_eq!(rsa_modulus_bits(&[0, 0]), 0);
    }

    #[test]
    fn generated_keys_of_every_custody_algorithm_are_accepted() {
        for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_RSA_SHA256] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let accepted = accept(&rcgen::PublicKeyData::subject_public_key_info(&key)).unwrap();
            assert_eq!(rcgen::PublicKeyData::algorithm(&accepted), alg);
            assert_eq!(accepted.is_rsa, alg == &rcgen::PKCS_RSA_SHA256);
        }
    }

    #[test]
    fn p521_and_ed25519_keys_are_refused() {
        for (alg, reason) in [(&rcgen::PKCS_ECDSA_P521_SHA512, "P-521"), (&rcgen::PKCS_ED25519, "Ed25519")] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let err = accept(&rcgen::PublicKeyData::subject_public_key_info(&key)).unwrap_err();
            assert!(matches!(&err, Error::Validation(m) if m.contains(reason)), "{err}");
        }
    }
}
