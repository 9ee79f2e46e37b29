//! Lower-case hex, for digests, keys and signatures in the index (a few lines, no dependency).

pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Decodes lower-case hex of exactly `N` bytes; anything else (upper case included, so that one
/// value has one spelling) is `None`.
pub fn decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_wrong_length_and_case() {
        assert_eq!(decode::<2>("0aff"), Some([0x0a, 0xff]));
        assert_eq!(decode::<2>("0AFF"), None);
        assert_eq!(decode::<2>("0af"), None);
        assert_eq!(decode::<2>("0afg"), None);
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::array::uniform8(any::<u8>())) {
            prop_assert_eq!(decode::<8>(&encode(&bytes)), Some(bytes));
        }
    }
}
