//! Twilio's request signature (`X-Twilio-Signature`), which relais checks on the status callbacks
//! Twilio posts after it took an SMS: the base64 HMAC-SHA1, keyed by the account's auth token, of the
//! full URL Twilio called followed by each POST parameter's name and value, sorted by name.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// The signature Twilio sends for a request to `url` with these form parameters.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `header` is Twilio's signature of this request, compared in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else { return false };
    mac(auth_token, url, params).verify_slice(&given).is_ok()
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // HMAC takes a key of any length.
    let mut mac = <HmacSha1 as KeyInit>::new_from_slice(auth_token.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn twilios_documented_example_signs_as_twilio_says() {
        // Twilio's security documentation: auth token 12345, this URL and these parameters.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(signature("12345", url, &params()), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let mut shuffled = params();
        shuffled.reverse();
        assert!(
            verify("12345", url, &shuffled, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            "the order of the fields does not matter"
        );
        assert!(!verify("12346", url, &params(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), "another token");
        assert!(
            !verify("12345", "https://mycompany.com/myapp.php", &params(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            "another URL"
        );
        let mut changed = params();
        changed[2].1 = "1235".into();
        assert!(!verify("12345", url, &changed, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), "a changed value");
        assert!(!verify("12345", url, &params(), "not base64!"));
    }
}
