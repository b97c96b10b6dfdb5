//! Authenticated encryption of secrets: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`)
//! with a random 24-byte nonce per value and associated data binding each ciphertext to its
//! place (a ciphertext moved to another row does not open).

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use warp_platform::secret_key::SecretKey;
use zeroize::Zeroizing;

/// A sealed value: nonce and ciphertext (with the 16-byte tag appended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The value did not open: wrong key, wrong associated data, or tampered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("decryption failed (wrong key, or the stored value was altered)")]
pub struct OpenError;

/// Encrypts and decrypts under one master key.
#[derive(Clone)]
pub struct Cipher(XChaCha20Poly1305);

impl Cipher {
    /// A cipher under `key`.
    pub fn new(key: &SecretKey) -> Self {
        Self(XChaCha20Poly1305::new(key.bytes().into()))
    }

    /// Encrypts `plaintext` with a fresh random nonce, bound to `aad`.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Sealed {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(&nonce, Payload { msg: plaintext, aad: aad.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory buffers");
        Sealed { nonce: nonce.to_vec(), ciphertext }
    }

    /// Decrypts `sealed`, which must have been sealed with the same key and `aad`.
    pub fn open(&self, aad: &str, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if sealed.nonce.len() != 24 {
            return Err(OpenError);
        }
        let nonce = XNonce::from_slice(&sealed.nonce);
        self.0
            .decrypt(nonce, Payload { msg: &sealed.ciphertext, aad: aad.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_the_same_key_and_associated_data() {
        let cipher = Cipher::new(&SecretKey::generate());
        let sealed = cipher.seal("settings:github_token", b"ghp_secret");
        assert!(!sealed.ciphertext.windows(10).any(|w| w == b"ghp_secret"));
        assert_eq!(cipher.open("settings:github_token", &sealed).unwrap().as_slice(), b"ghp_secret");
        assert_eq!(cipher.open("settings:other", &sealed), Err(OpenError));
        assert_eq!(Cipher::new(&SecretKey::generate()).open("settings:github_token", &sealed), Err(OpenError));
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(cipher.open("settings:github_token", &tampered), Err(OpenError));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let cipher = Cipher::new(&SecretKey::generate());
        let (a, b) = (cipher.seal("x", b"same"), cipher.seal("x", b"same"));
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
