//! Digest signing keys: RSA-2048 per region, made on first use, kept in the audit
//! catalog so they survive restarts, and published by ListPublicKeys.
//!
//! A key's fingerprint is the hex MD5 of its PKCS#1 DER public key: 32 hex characters,
//! the length AWS's fingerprints have (AWS does not document how it derives them).

use crate::AuditError;
use crate::catalog::{AuditCatalog, StoredKey};
use md5::{Digest as _, Md5};
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// RSA modulus size, as AWS's digest keys have.
const KEY_BITS: usize = 2048;

/// A key that signs digests.
pub struct SigningPair {
    /// Hex fingerprint of the public key.
    pub fingerprint: String,
    key: SigningKey<Sha256>,
}

impl SigningPair {
    /// SHA256withRSA (RSASSA-PKCS1-v1_5) signature of `data`, hex.
    pub fn sign_hex(&self, data: &[u8]) -> String {
        hex::encode(self.key.sign(data).to_bytes())
    }
}

/// The fingerprint of a PKCS#1 DER public key.
pub fn fingerprint(public_der: &[u8]) -> String {
    hex::encode(Md5::digest(public_der))
}

/// The current signing key of a region, made and stored if there is none.
pub fn signing_key(catalog: &AuditCatalog, region: &str) -> Result<SigningPair, AuditError> {
    let stored = match catalog
        .keys()?
        .into_iter()
        .rev()
        .find(|k| k.region == region)
    {
        Some(k) => k,
        None => {
            let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)?;
            let private_der = private.to_pkcs1_der()?.as_bytes().to_vec();
            let public_der = private.to_public_key().to_pkcs1_der()?.as_bytes().to_vec();
            let key = StoredKey {
                region: region.to_string(),
                fingerprint: fingerprint(&public_der),
                private_der,
                public_der,
                valid_from_ms: model::time::now_ms(),
            };
            catalog.add_key(&key)?;
            key
        }
    };
    let private = RsaPrivateKey::from_pkcs1_der(&stored.private_der)?;
    Ok(SigningPair {
        fingerprint: stored.fingerprint,
        key: SigningKey::new(private),
    })
}

/// A public key read from PKCS#1 DER (what ListPublicKeys returns) or X.509
/// SubjectPublicKeyInfo DER (what some tools export); AWS's own samples have both.
pub fn public_key_from_der(der: &[u8]) -> Result<RsaPublicKey, AuditError> {
    RsaPublicKey::from_pkcs1_der(der)
        .or_else(|_| RsaPublicKey::from_public_key_der(der))
        .map_err(|e| AuditError::Key(format!("not an RSA public key: {e}")))
}

/// Whether `signature_hex` is a valid SHA256withRSA signature of `data` by `key`.
pub fn verify_hex(key: &RsaPublicKey, data: &[u8], signature_hex: &str) -> bool {
    let Ok(bytes) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(data, &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_persist_and_sign_verifiably() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = AuditCatalog::open(dir.path()).unwrap();
        let first = signing_key(&catalog, "us-east-1").unwrap();
        let again = signing_key(&catalog, "us-east-1").unwrap();
        assert_eq!(first.fingerprint, again.fingerprint);
        assert_eq!(first.fingerprint.len(), 32);
        let stored = catalog.keys().unwrap();
        let public = public_key_from_der(&stored[0].public_der).unwrap();
        let sig = first.sign_hex(b"hello");
        assert!(verify_hex(&public, b"hello", &sig));
        assert!(!verify_hex(&public, b"hellO", &sig));
        assert!(!verify_hex(&public, b"hello", "zz"));
    }
}
