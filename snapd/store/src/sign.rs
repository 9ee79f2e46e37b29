//! ed25519 keys, their files, and the signed envelope of the index:
//! `{"signatures":[{"keyid":HEX,"sig":HEX}],"signed":{...}}`, each signature made over the
//! canonical bytes (RFC 8785) of `signed`.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::canonical_bytes;
use crate::{StoreError, hex};

const SECRET_PREFIX: &str = "ed25519-secret:";
const PUBLIC_PREFIX: &str = "ed25519:";

/// A publishing key (the secret half).
pub struct SecretKey(SigningKey);

/// A key a device trusts (the public half), written `ed25519:HEX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// The hex SHA-256 of a public key's 32 bytes: how signatures name their key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes()))
}

/// Shows the key id only: a secret must not end up in a log.
impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.key_id())
    }
}

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SecretKey, StoreError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| {
            StoreError::io(
                "reading the system's random source",
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The file's text: `ed25519-secret:HEX` and a newline.
    pub fn to_file_text(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", hex::encode(&self.0.to_bytes()))
    }

    pub fn from_file_text(path: &Path, text: &str) -> Result<SecretKey, StoreError> {
        let bad = |reason: &str| StoreError::InvalidKeyFile {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let hexed = text
            .trim_end_matches('\n')
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| bad(&format!("it does not start with {SECRET_PREFIX:?}")))?;
        let seed = hex::decode::<32>(hexed)
            .ok_or_else(|| bad("the key is not 64 lower-case hex digits"))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    pub fn read(path: &Path) -> Result<SecretKey, StoreError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StoreError::io(format!("reading key {}", path.display()), e))?;
        SecretKey::from_file_text(path, &text)
    }

    pub fn key_id(&self) -> String {
        key_id(&self.0.verifying_key())
    }

    fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

impl PublicKey {
    pub fn parse(s: &str) -> Result<PublicKey, StoreError> {
        let bad = |reason: &str| StoreError::InvalidPublicKey {
            key: s.to_owned(),
            reason: reason.to_owned(),
        };
        let hexed = s
            .trim()
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or_else(|| bad(&format!("it does not start with {PUBLIC_PREFIX:?}")))?;
        let bytes = hex::decode::<32>(hexed)
            .ok_or_else(|| bad("the key is not 64 lower-case hex digits"))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|e| bad(&e.to_string()))?;
        // A weak (small-order) key would accept forged signatures for some messages.
        if key.is_weak() {
            return Err(bad("a weak (small-order) key"));
        }
        Ok(PublicKey(key))
    }

    pub fn key_id(&self) -> String {
        key_id(&self.0)
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", hex::encode(self.0.as_bytes()))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    signatures: Vec<SignatureEntry>,
    signed: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureEntry {
    keyid: String,
    sig: String,
}

/// Wraps `signed` in an envelope signed by `key` and returns the envelope's own canonical bytes
/// (the whole file is canonical too, so it is small and has one spelling).
pub fn sign_envelope(signed: &Value, key: &SecretKey) -> Result<Vec<u8>, StoreError> {
    let message = canonical_bytes("the index", signed)?;
    let env = Envelope {
        signatures: vec![SignatureEntry {
            keyid: key.key_id(),
            sig: hex::encode(&key.sign(&message).to_bytes()),
        }],
        signed: signed.clone(),
    };
    let v = serde_json::to_value(&env).map_err(|e| StoreError::Canonical {
        what: "the envelope".into(),
        reason: e.to_string(),
    })?;
    canonical_bytes("the envelope", &v)
}

/// Checks an envelope and returns its `signed` value. One valid signature by a trusted key is
/// enough; signatures by keys the device does not know are ignored (so a store can add a key
/// before devices trust it), but one that names a trusted key and does not verify is an error:
/// the file was altered after signing.
pub fn verify_envelope(
    bytes: &[u8],
    trusted: &[PublicKey],
    source_name: &str,
) -> Result<Value, StoreError> {
    let malformed = |reason: String| StoreError::MalformedIndex {
        source_name: source_name.to_owned(),
        reason,
    };
    let env: Envelope = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if env.signatures.is_empty() {
        return Err(StoreError::Unsigned {
            source_name: source_name.to_owned(),
        });
    }
    let message =
        canonical_bytes("the index", &env.signed).map_err(|e| malformed(e.to_string()))?;
    let mut bad_trusted = None;
    for s in &env.signatures {
        let Some(key) = trusted.iter().find(|k| k.key_id() == s.keyid) else {
            continue;
        };
        let ok = hex::decode::<64>(&s.sig)
            .map(|b| Signature::from_bytes(&b))
            .is_some_and(|sig| key.0.verify_strict(&message, &sig).is_ok());
        if ok {
            return Ok(env.signed);
        }
        bad_trusted = Some(s.keyid.clone());
    }
    Err(match bad_trusted {
        Some(keyid) => StoreError::BadSignature {
            source_name: source_name.to_owned(),
            keyid,
        },
        None => StoreError::UntrustedKey {
            source_name: source_name.to_owned(),
            keyids: env
                .signatures
                .iter()
                .map(|s| s.keyid.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> SecretKey {
        SecretKey::generate().unwrap()
    }

    #[test]
    fn key_files_round_trip_and_bad_ones_are_refused() {
        let k = key();
        let p = Path::new("/k");
        let again = SecretKey::from_file_text(p, &k.to_file_text()).unwrap();
        assert_eq!(again.public(), k.public());
        assert_eq!(
            PublicKey::parse(&k.public().to_string()).unwrap(),
            k.public()
        );
        for t in [
            "",
            "ed25519-secret:",
            "ed25519-secret:zz",
            &k.public().to_string(),
        ] {
            let err = SecretKey::from_file_text(p, t).unwrap_err().to_string();
            assert!(err.contains("/k"), "{err}");
        }
        assert!(PublicKey::parse("ed25519:00").is_err());
        // The identity point: small order, refused.
        let mut ident = [0u8; 32];
        ident[0] = 1;
        let err = PublicKey::parse(&format!("ed25519:{}", hex::encode(&ident))).unwrap_err();
        assert!(err.to_string().contains("weak"), "{err}");
    }

    #[test]
    fn signed_envelope_verifies_whatever_the_spelling() {
        let k = key();
        let signed = json!({"b": 1, "a": ["x"]});
        let bytes = sign_envelope(&signed, &k).unwrap();
        assert_eq!(verify_envelope(&bytes, &[k.public()], "t").unwrap(), signed);
        // Re-spelled (pretty, reordered) but the same content: still valid.
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        assert_eq!(
            verify_envelope(&pretty, &[k.public()], "t").unwrap(),
            signed
        );
    }

    #[test]
    fn every_single_byte_edit_of_the_content_is_rejected() {
        let k = key();
        let bytes = sign_envelope(&json!({"name": "hello", "revision": 12}), &k).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let start = text.find("\"signed\"").unwrap() + 9;
        for i in start..bytes.len() - 2 {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(
                verify_envelope(&b, &[k.public()], "t").is_err(),
                "edit at {i} accepted: {}",
                String::from_utf8_lossy(&b)
            );
        }
    }

    #[test]
    fn unsigned_untrusted_and_mis_signed_are_told_apart() {
        let (k, other) = (key(), key());
        let signed = json!({"a": 1});
        let good = sign_envelope(&signed, &k).unwrap();

        let unsigned = serde_json::to_vec(&json!({"signatures": [], "signed": signed})).unwrap();
        assert!(matches!(
            verify_envelope(&unsigned, &[k.public()], "t"),
            Err(StoreError::Unsigned { .. })
        ));
        assert!(matches!(
            verify_envelope(&good, &[other.public()], "t"),
            Err(StoreError::UntrustedKey { .. })
        ));
        // A signature by `other` relabelled with the trusted key's id.
        let forged = sign_envelope(&signed, &other).unwrap();
        let mut v: Value = serde_json::from_slice(&forged).unwrap();
        v["signatures"][0]["keyid"] = json!(k.key_id());
        let forged = serde_json::to_vec(&v).unwrap();
        assert!(matches!(
            verify_envelope(&forged, &[k.public()], "t"),
            Err(StoreError::BadSignature { .. })
        ));
        for junk in [
            &b"not json"[..],
            b"{}",
            br#"{"signed":{},"signatures":[],"x":1}"#,
        ] {
            assert!(matches!(
                verify_envelope(junk, &[k.public()], "t"),
                Err(StoreError::MalformedIndex { .. })
            ));
        }
    }
}
