//! `links:`: named lists of http(s) URLs or email addresses (e.g. `contact`, `website`).

use crate::naming::validate_links_key;
use std::collections::BTreeMap;

/// The URL scheme, as a URL parser would split it off; `Err` for input no URL parser takes.
fn url_scheme(link: &str) -> Result<Option<String>, ()> {
    if link.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err(());
    }
    let b = link.as_bytes();
    // Every percent sign must start a two-hex-digit escape.
    for (pos, _) in link.match_indices('%') {
        let hex = |k: usize| b.get(k).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(pos + 1) && hex(pos + 2)) {
            return Err(());
        }
    }
    let mut scheme_end = None;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err(()),
            b':' => {
                scheme_end = Some(i);
                break;
            }
            _ => break,
        }
    }
    let Some(end) = scheme_end else {
        // Without a scheme, a colon in the first path segment is ambiguous and refused.
        let first_segment = link.split('/').next().unwrap_or("");
        if !link.starts_with('/') && first_segment.contains(':') {
            return Err(());
        }
        return Ok(None);
    };
    let rest = &link[end + 1..];
    if let Some(authority) = rest.strip_prefix("//") {
        let host_port = authority
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("")
            .rsplit('@')
            .next()
            .unwrap_or("");
        let port = match host_port.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((_, after)) => after.strip_prefix(':'),
                None => return Err(()),
            },
            None => host_port.split_once(':').map(|(_, p)| p),
        };
        if port.is_some_and(|p| !p.bytes().all(|c| c.is_ascii_digit())) {
            return Err(());
        }
    }
    Ok(Some(link[..end].to_ascii_lowercase()))
}

/// Checks `links:` as snapd does: valid keys, non-empty lists, and every entry an http(s) URL
/// or something that looks like an email address (optionally `mailto:`).
pub fn validate_links(links: &BTreeMap<String, Vec<String>>) -> Result<(), (String, String)> {
    for (key, values) in links {
        let fail = |reason: String| Err((key.clone(), reason));
        if key.is_empty() {
            return fail("links key cannot be empty".into());
        }
        if validate_links_key(key).is_err() {
            return fail(format!("links key is invalid: {key}"));
        }
        if values.is_empty() {
            return fail(format!("{key:?} links cannot be specified and empty"));
        }
        for link in values {
            if link.is_empty() {
                return fail(format!("empty {key:?} link"));
            }
            match url_scheme(link) {
                Err(()) => return fail(format!("invalid {key:?} link {link:?}")),
                Ok(None) => {
                    if !link.contains('@') {
                        return fail(format!("invalid {key:?} email address {link:?}"));
                    }
                }
                Ok(Some(scheme)) if scheme == "mailto" => {
                    if !link.contains('@') {
                        return fail(format!("invalid {key:?} email address {link:?}"));
                    }
                }
                Ok(Some(scheme)) if scheme == "http" || scheme == "https" => {}
                Ok(Some(_)) => {
                    return fail(format!(
                        "{key:?} link must have one of http|https schemes or it must be an email address: {link:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(key: &str, values: &[&str]) -> Result<(), String> {
        let mut m = BTreeMap::new();
        m.insert(
            key.to_owned(),
            values.iter().map(|s| s.to_string()).collect(),
        );
        validate_links(&m).map_err(|(_, r)| r)
    }

    #[test]
    fn accepted() {
        assert_eq!(check("website", &["https://example.com/x?y#z"]), Ok(()));
        assert_eq!(
            check("contact", &["me@example.com", "mailto:me@example.com"]),
            Ok(())
        );
        assert_eq!(check("source-code", &["HTTP://example.com:8080/"]), Ok(()));
        assert_eq!(check("website", &["http://[::1]:80/"]), Ok(()));
    }

    #[test]
    fn refused() {
        assert!(
            check("", &["https://x"])
                .unwrap_err()
                .contains("cannot be empty")
        );
        assert!(
            check("1web", &["https://x"])
                .unwrap_err()
                .contains("key is invalid")
        );
        assert!(
            check("website", &[])
                .unwrap_err()
                .contains("specified and empty")
        );
        assert!(
            check("website", &[""])
                .unwrap_err()
                .contains("empty \"website\" link")
        );
        assert!(
            check("website", &["ftp://x"])
                .unwrap_err()
                .contains("http|https")
        );
        assert!(
            check("contact", &["example.com"])
                .unwrap_err()
                .contains("email address")
        );
        assert!(
            check("contact", &["mailto:me"])
                .unwrap_err()
                .contains("email address")
        );
        assert!(
            check("website", &["https://x/%zz"])
                .unwrap_err()
                .contains("invalid")
        );
        assert!(
            check("website", &["https://x:port/"])
                .unwrap_err()
                .contains("invalid")
        );
        assert!(check("website", &[":foo"]).unwrap_err().contains("invalid"));
        assert!(
            check("website", &["a\nb@c"])
                .unwrap_err()
                .contains("invalid")
        );
    }
}
