//! Which store the device uses and which keys it trusts: the daemon's `--store-url` and
//! `--store-key-file` options (or `SNAPD_STORE_URL` and `SNAPD_STORE_KEYS`). Pure: the caller
//! reads the key file.

use snap_store::PublicKey;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{source_name} line {line}: {reason}")]
    BadKey {
        source_name: String,
        line: usize,
        reason: String,
    },
    #[error("a store URL is set but no trusted key: every index would be refused")]
    NoKeys,
    #[error("trusted store keys are set but no store URL")]
    NoUrl,
    #[error("the store URL {0:?} must start with http:// or https://")]
    BadUrl(String),
}

/// The store the device is pointed at.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub url: String,
    pub keys: Vec<PublicKey>,
}

/// Trusted keys, one `ed25519:HEX` per line (or separated by commas, as in the environment
/// variable); blank lines and `#` comments are skipped.
pub fn parse_keys(text: &str, source_name: &str) -> Result<Vec<PublicKey>, ConfigError> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for item in line.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let key = PublicKey::parse(item).map_err(|e| ConfigError::BadKey {
                source_name: source_name.to_owned(),
                line: i + 1,
                reason: e.to_string(),
            })?;
            keys.push(key);
        }
    }
    Ok(keys)
}

/// The configuration from the options: none at all means the device has no store (installs
/// from files only); a URL without keys, or keys without a URL, is a mistake worth stopping for.
pub fn from_parts(
    url: Option<&str>,
    keys: Vec<PublicKey>,
) -> Result<Option<StoreConfig>, ConfigError> {
    match (
        url.map(str::trim).filter(|u| !u.is_empty()),
        keys.is_empty(),
    ) {
        (None, true) => Ok(None),
        (None, false) => Err(ConfigError::NoUrl),
        (Some(_), true) => Err(ConfigError::NoKeys),
        (Some(u), false) => {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::BadUrl(u.to_owned()));
            }
            Ok(Some(StoreConfig {
                url: u.to_owned(),
                keys,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        snap_store::SecretKey::generate()
            .unwrap()
            .public()
            .to_string()
    }

    #[test]
    fn keys_are_read_one_per_line_or_comma_separated() {
        let (a, b, c) = (key(), key(), key());
        let text = format!("# trusted\n{a}\n\n{b}, {c} # two\n");
        let keys = parse_keys(&text, "f").unwrap();
        let shown: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(shown, vec![a, b, c]);
    }

    #[test]
    fn a_bad_key_names_its_line() {
        let text = format!("{}\ned25519:zz\n", key());
        let err = parse_keys(&text, "keys.txt").unwrap_err();
        assert!(
            matches!(&err, ConfigError::BadKey { line: 2, source_name, .. } if source_name == "keys.txt"),
            "{err}"
        );
    }

    #[test]
    fn url_and_keys_go_together() {
        let k = parse_keys(&key(), "k").unwrap();
        assert!(from_parts(None, vec![]).unwrap().is_none());
        assert_eq!(
            from_parts(Some("http://x/"), vec![]).unwrap_err(),
            ConfigError::NoKeys
        );
        assert_eq!(from_parts(None, k.clone()).unwrap_err(), ConfigError::NoUrl);
        assert!(matches!(
            from_parts(Some("ftp://x/"), k.clone()),
            Err(ConfigError::BadUrl(_))
        ));
        let c = from_parts(Some(" http://x/repo "), k).unwrap().unwrap();
        assert_eq!(c.url, "http://x/repo");
    }
}
