//! GitHub's webhook signature (`X-Hub-Signature-256`), checked as GitHub's "Validating webhook
//! deliveries" says: `sha256=` followed by the hex HMAC-SHA256 of the raw body under the
//! webhook secret, compared in constant time (`hmac`'s `verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header GitHub puts the signature in.
pub const HEADER: &str = "x-hub-signature-256";

/// Why a signature was refused. The messages name the header, never the secret or the
/// signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing: deliveries must be signed with the webhook secret")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not sha256=<64 hex digits>")]
    Malformed,
    #[error("the X-Hub-Signature-256 signature does not match the body (is the hook's secret the panel's github_webhook_secret?)")]
    Mismatch,
}

/// Checks `header` (the `X-Hub-Signature-256` value, if any) against `body` signed with
/// `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&[u8]>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header.strip_prefix(b"sha256=").ok_or(SignatureError::Malformed)?;
    if hex_digest.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let digest = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&digest).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test values of GitHub's "Validating webhook deliveries".
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const GITHUB_SIGNATURE: &[u8] = b"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_documented_signature_verifies() {
        assert_eq!(verify(SECRET, b"Hello, World!", Some(GITHUB_SIGNATURE)), Ok(()));
        let upper = String::from_utf8(GITHUB_SIGNATURE.to_vec()).unwrap().replace("757107ea", "757107EA");
        assert_eq!(verify(SECRET, b"Hello, World!", Some(upper.as_bytes())), Ok(()), "hex digits in either case");
    }

    #[test]
    fn a_changed_body_another_secret_or_a_bad_header_is_refused() {
        assert_eq!(verify(SECRET, b"Hello, World?", Some(GITHUB_SIGNATURE)), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"another secret", b"Hello, World!", Some(GITHUB_SIGNATURE)), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, b"Hello, World!", None), Err(SignatureError::Missing));
        for bad in [&b"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"[..], b"sha1=757107ea", b"sha256=",
            b"sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", b"sha256=757107ea0eb2509f"] {
            assert_eq!(verify(SECRET, b"Hello, World!", Some(bad)), Err(SignatureError::Malformed), "{}", String::from_utf8_lossy(bad));
        }
    }
}
