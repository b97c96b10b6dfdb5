//! The master key that encrypts secrets at rest: `WARP_SECRET_KEY` (base64 of 32 random bytes)
//! or `WARP_SECRET_KEY_FILE` (a file holding that base64 text). There is no default key.
//!
//! Generate one with `head -c 32 /dev/urandom | base64`. Keys that are obviously not random
//! (too short, all one byte, few distinct bytes, a counting sequence) are refused.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

/// Length of the key in bytes.
pub const KEY_LEN: usize = 32;
/// Fewest distinct byte values a key must have; 32 random bytes have about 30, and fewer than
/// 16 in 32 bytes is astronomically unlikely for a random key.
pub const MIN_DISTINCT_BYTES: usize = 16;

/// A 32-byte key. `Debug` prints nothing of it; the bytes are wiped when dropped.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl SecretKey {
    /// A fresh random key from the OS generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// Parses standard base64 (surrounding whitespace ignored) of exactly 32 bytes.
    ///
    /// # Errors
    /// A message saying what is wrong (never echoing the key): not base64, wrong length, or an
    /// obviously weak key.
    pub fn from_base64(raw: &str) -> Result<Self, String> {
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .map_err(|_| "is not valid base64 (generate a key with `head -c 32 /dev/urandom | base64`)".to_owned())?,
        );
        if decoded.len() != KEY_LEN {
            return Err(format!(
                "must decode to exactly {KEY_LEN} bytes, got {} (generate a key with `head -c 32 /dev/urandom | base64`)",
                decoded.len()
            ));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        check_strength(&bytes)?;
        Ok(Self(bytes))
    }

    /// The key as standard base64.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.0.as_ref()))
    }

    /// The raw bytes, for the cipher.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

fn check_strength(bytes: &[u8; KEY_LEN]) -> Result<(), String> {
    let weak = |why: &str| Err(format!("is too weak ({why}); use 32 random bytes: `head -c 32 /dev/urandom | base64`"));
    let distinct = bytes.iter().collect::<std::collections::BTreeSet<_>>().len();
    if distinct == 1 {
        return weak("every byte is the same");
    }
    let step = bytes[1].wrapping_sub(bytes[0]);
    if bytes.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step) {
        return weak("the bytes form a counting sequence");
    }
    if distinct < MIN_DISTINCT_BYTES {
        return weak("it has too few distinct bytes");
    }
    Ok(())
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Where the master key comes from.
#[derive(Clone, Default, clap::Args)]
pub struct SecretKeyArgs {
    /// Master key for secrets at rest: base64 of 32 random bytes (`head -c 32 /dev/urandom | base64`).
    #[arg(long = "secret-key", env = "WARP_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,
    /// A file holding the master key (base64), instead of WARP_SECRET_KEY.
    #[arg(long = "secret-key-file", env = "WARP_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
}

impl fmt::Debug for SecretKeyArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeyArgs")
            .field("secret_key", &self.secret_key.as_ref().map(|_| ".."))
            .field("secret_key_file", &self.secret_key_file)
            .finish()
    }
}

impl SecretKeyArgs {
    /// The key from `WARP_SECRET_KEY` (an empty value counts as unset), else from
    /// `WARP_SECRET_KEY_FILE`.
    ///
    /// # Errors
    /// When neither is set, the file cannot be read, or the key is malformed or weak; the
    /// message names the variable and how to make a key.
    pub fn load(&self) -> anyhow::Result<SecretKey> {
        if let Some(raw) = self.secret_key.as_ref().filter(|raw| !raw.trim().is_empty()) {
            return SecretKey::from_base64(raw).map_err(|why| anyhow::anyhow!("WARP_SECRET_KEY {why}"));
        }
        if let Some(path) = &self.secret_key_file {
            let raw = Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading WARP_SECRET_KEY_FILE {}", path.display()))?,
            );
            warn_if_readable_by_others(path);
            return SecretKey::from_base64(&raw)
                .map_err(|why| anyhow::anyhow!("the key in WARP_SECRET_KEY_FILE {} {why}", path.display()));
        }
        anyhow::bail!(
            "WARP_SECRET_KEY is not set: the panel needs a master key to encrypt its secrets. \
             Generate one with `head -c 32 /dev/urandom | base64` and keep it safe \
             (or point WARP_SECRET_KEY_FILE at a file holding it); `make run` creates .stack/secret.key"
        )
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the secret key file is readable by other users; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &std::path::Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn a_random_key_round_trips_through_base64_and_never_prints() {
        let key = SecretKey::generate();
        let again = SecretKey::from_base64(&format!(" {}\n", key.to_base64().as_str())).unwrap();
        assert_eq!(key.bytes(), again.bytes());
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }

    #[test]
    fn short_malformed_and_obviously_weak_keys_are_refused() {
        assert!(SecretKey::from_base64("not base64!").unwrap_err().contains("base64"));
        assert!(SecretKey::from_base64(&b64(&[7; 16])).unwrap_err().contains("32 bytes"));
        assert!(SecretKey::from_base64(&b64(&[0; 32])).unwrap_err().contains("same"));
        let counting: Vec<u8> = (0..32).collect();
        assert!(SecretKey::from_base64(&b64(&counting)).unwrap_err().contains("counting"));
        let few: Vec<u8> = (0..32).map(|i| (i % 4) as u8 * 50).collect();
        assert!(SecretKey::from_base64(&b64(&few)).unwrap_err().contains("distinct"));
    }

    #[test]
    fn a_missing_key_is_refused_with_a_message_that_says_how_to_make_one() {
        let error = SecretKeyArgs::default().load().unwrap_err().to_string();
        assert!(error.contains("WARP_SECRET_KEY is not set") && error.contains("/dev/urandom"), "{error}");
        let args = SecretKeyArgs { secret_key: Some("c2hvcnQ=".into()), secret_key_file: None };
        assert!(args.load().unwrap_err().to_string().starts_with("WARP_SECRET_KEY must decode"));
    }

    #[test]
    fn the_key_can_come_from_a_file() {
        let path = std::env::temp_dir().join(format!("warp-key-{}", std::process::id()));
        let key = SecretKey::generate();
        std::fs::write(&path, format!("{}\n", key.to_base64().as_str())).unwrap();
        let args = SecretKeyArgs { secret_key: None, secret_key_file: Some(path.clone()) };
        assert_eq!(args.load().unwrap().bytes(), key.bytes());
        std::fs::remove_file(path).unwrap();
    }
}
