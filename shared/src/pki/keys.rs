//! Subject public key policy (RFC 5280 §4.1.2.7), the one place every signing path applies:
//!
//! | key | accepted |
//! | --- | --- |
//! | RSA (RFC 3279 §2.3.1) | 2048 to 8192 bits, public exponent 65537 only |
//! | EC (RFC 5480) | named curves P-256 and P-384, uncompressed points |
//! | Ed25519 (RFC 8410) | yes |
//! | anything else (DSA, Ed448, X25519, RSASSA-PSS keys, P-224, P-521, secp256k1, brainpool) | no |
//!
//! FIPS 186-5 wants 2^16 < e < 2^256 and the CA/Browser Forum Baseline Requirements §6.1.6
//! recommend the same; this policy takes 65537 alone, the exponent every key generator uses,
//! so a small one such as 3 (the lever of Bleichenbacher-style signature forgeries against
//! lax verifiers) is never certified. 8192 bits is the largest RSA key aws-lc (and so the CSR
//! signature check) verifies. P-521 is refused because the CSR verifier cannot check it and
//! Mozilla's root store policy allows P-256/P-384 only; Ed448 because nothing here verifies it.

use crate::error::{Error, Result};
use x509_parser::oid_registry::{
    Oid, OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Smallest RSA modulus accepted (NIST SP 800-57 Part 1, 112-bit security).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (what aws-lc verifies).
pub const MAX_RSA_BITS: usize = 8192;
/// The only RSA public exponent accepted (F4, 2^16 + 1).
pub const RSA_EXPONENT: u64 = 65537;

/// What the policy accepts, for refusal messages.
const ACCEPTED: &str = "RSA of 2048 to 8192 bits with exponent 65537, EC P-256/P-384, or Ed25519";

/// Names of the algorithms and curves a refusal may mention (RFC 3279, RFC 5480, RFC 8410,
/// RFC 5639, SEC 2); others are shown as dotted OIDs.
const NAMES: &[(&str, &str)] = &[
    ("1.2.840.10040.4.1", "DSA"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.3.101.113", "Ed448"),
    ("1.2.840.10045.3.1.1", "P-192"),
    ("1.3.132.0.33", "P-224"),
    ("1.3.132.0.35", "P-521"),
    ("1.3.132.0.10", "secp256k1"),
    ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1"),
    ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1"),
    ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1"),
];

fn name(oid: &Oid<'_>) -> String {
    let dotted = oid.to_id_string();
    NAMES.iter().find(|(id, _)| *id == dotted).map_or(dotted, |(_, name)| (*name).to_owned())
}

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
    let (algorithm, is_rsa) = if *oid == OID_PKCS1_RSAENCRYPTION {
        check_rsa(spki)?;
        (&rcgen::PKCS_RSA_SHA256, true)
    } else if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        (ec_algorithm(spki)?, false)
    } else if *oid == OID_SIG_ED25519 {
        check_ed25519(spki)?;
        (&rcgen::PKCS_ED25519, false)
    } else {
        return Err(Error::validation(format!("key algorithm {} is not accepted ({ACCEPTED})", name(oid))));
    };
    Ok(SubjectKey { bits, algorithm, is_rsa })
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
        Ok(RSA_EXPONENT) => Ok(()),
        Ok(e) => Err(Error::validation(format!("RSA public exponent {e} is not accepted ({RSA_EXPONENT} only)"))),
        Err(_) => Err(Error::validation(format!("RSA public exponent is not accepted ({RSA_EXPONENT} only)"))),
    }
}

/// RFC 8410 §3: no parameters, a 32-byte public key.
fn check_ed25519(spki: &SubjectPublicKeyInfo<'_>) -> Result<()> {
    if spki.algorithm.parameters.is_some() || spki.subject_public_key.data.len() != 32 {
        return Err(Error::validation("the Ed25519 public key is malformed (RFC 8410 §3)"));
    }
    Ok(())
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
        return Err(Error::validation(format!("EC curve {} is not accepted (P-256 or P-384 only)", name(&curve))));
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
    fn rcgen_keys_of_every_accepted_algorithm_are_accepted_as_that_algorithm() {
        for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_RSA_SHA256, &rcgen::PKCS_ED25519] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let accepted = accept(&rcgen::PublicKeyData::subject_public_key_info(&key)).unwrap();
            assert_eq!(rcgen::PublicKeyData::algorithm(&accepted), alg);
            assert_eq!(accepted.is_rsa, alg == &rcgen::PKCS_RSA_SHA256);
        }
    }

    #[test]
    fn a_p521_key_is_refused_by_name() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let err = accept(&rcgen::PublicKeyData::subject_public_key_info(&key)).unwrap_err();
        assert!(matches!(&err, Error::Validation(m) if m == "EC curve P-521 is not accepted (P-256 or P-384 only)"), "{err}");
    }

    #[test]
    fn an_ed25519_key_with_parameters_or_a_short_point_is_malformed() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let good = rcgen::PublicKeyData::subject_public_key_info(&key);
        let mut with_null = vec![0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00];
        with_null.extend_from_slice(&good[good.len() - 35..]);
        let mut short = good[..good.len() - 1].to_vec();
        short[1] -= 1;
        short[good.len() - 34] -= 1;
        for bad in [with_null, short] {
            let err = accept(&bad).unwrap_err();
            assert!(matches!(&err, Error::Validation(m) if m.contains("RFC 8410")), "{err}");
        }
    }
}
