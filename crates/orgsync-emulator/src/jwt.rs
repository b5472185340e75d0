//! HS256 JSON Web Tokens, just enough to issue and check the emulator's access tokens.
//!
//! The key is random per emulator instance, so a token from another instance (or an edited
//! one) fails the signature check exactly as a token from another Auth0 tenant would.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The claims the emulator puts in a token and reads back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub azp: String,
    pub scope: String,
    pub gty: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts, not JSON, or not HS256.
    Malformed,
    /// Signed with another key, or altered.
    BadSignature,
}

/// Signs claims with `key`.
pub fn sign(claims: &Claims, key: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let sig = mac(key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Checks the signature and decodes the claims. Expiry is the caller's business.
pub fn verify(token: &str, key: &[u8]) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: serde_json::Value = decode_part(h)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(JwtError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
    let claims: Claims = decode_part(p)?;
    keyed(key, format!("{h}.{p}").as_bytes())?
        .verify_slice(&sig)
        .map_err(|_| JwtError::BadSignature)?;
    Ok(claims)
}

/// A token's header or payload: base64url-encoded JSON.
fn decode_part<T: DeserializeOwned>(part: &str) -> Result<T, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)
}

/// HMAC-SHA256 with `key`, fed `data`.
fn keyed(key: &[u8], data: &[u8]) -> Result<Hmac<Sha256>, JwtError> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| JwtError::Malformed)?;
    m.update(data);
    Ok(m)
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    keyed(key, data)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

/// 32 random bytes from the standard library's per-process random hasher keys.
pub fn random_key() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let mut key = Vec::with_capacity(32);
    for i in 0..4u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        key.extend_from_slice(&h.finish().to_le_bytes());
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: "http://127.0.0.1:1/".into(),
            sub: "demo@clients".into(),
            aud: "http://127.0.0.1:1/api/v2/".into(),
            iat: 1,
            exp: 2,
            azp: "demo".into(),
            scope: "read:organizations".into(),
            gty: "client-credentials".into(),
        }
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = random_key();
        let t = sign(&claims(), &key);
        assert_eq!(verify(&t, &key), Ok(claims()));
        assert_eq!(verify(&t, &random_key()), Err(JwtError::BadSignature));
        let mut forged = claims();
        forged.scope = "delete:organization_members".into();
        let parts: Vec<&str> = t.split('.').collect();
        let edited = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap()),
            parts[2]
        );
        assert_eq!(verify(&edited, &key), Err(JwtError::BadSignature));
        assert_eq!(verify("not-a-jwt", &key), Err(JwtError::Malformed));
        assert_eq!(verify("a.b.c", &key), Err(JwtError::Malformed));
    }

    #[test]
    fn keys_differ_between_instances() {
        assert_ne!(random_key(), random_key());
    }
}
