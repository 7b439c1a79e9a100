//! The signatures shop platforms put on their webhooks: Shopify's `X-Shopify-Hmac-Sha256` and
//! WooCommerce's `X-WC-Webhook-Signature`, both the base64 HMAC-SHA256 of the raw body keyed by the
//! shop's webhook secret. Checked in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The signature of `body` under `secret`, as the platforms send it.
pub fn shop_signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is the signature of `body` under `secret`.
pub fn verify_shop_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else { return false };
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_its_body_and_secret_only() {
        // Computed independently: `printf 'hello' | openssl dgst -sha256 -hmac 'secret' -binary | base64`.
        assert_eq!(shop_signature(b"secret", b"hello"), "iKqz7ejTrflNJquQ07r9SiCDBww7zOnAFO4EpEOEfAs=");
        let signature = shop_signature(b"hush", b"{\"id\":1}");
        assert!(verify_shop_signature(b"hush", b"{\"id\":1}", &signature));
        assert!(!verify_shop_signature(b"hush", b"{\"id\":2}", &signature));
        assert!(!verify_shop_signature(b"other", b"{\"id\":1}", &signature));
        assert!(!verify_shop_signature(b"hush", b"{\"id\":1}", "not base64!"));
        assert!(!verify_shop_signature(b"hush", b"{\"id\":1}", ""));
    }
}
