//! Progressive releases: which devices are in a rollout's wave.
//!
//! Each device keeps a random 32-byte seed for its whole life. For a rollout of revision R of
//! snap N at P percent, the device is in the wave when
//! `u64_be(sha256(seed || N || 0x00 || u64_be(R))[0..8]) mod 100 < P`.
//! The bucket is stable (a device never leaves a wave when P grows, and asks no one), uniform
//! across devices, and independent between rollouts (the same devices are not always first).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{StoreError, hex};

/// A device's persistent random seed.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceSeed([u8; 32]);

impl std::fmt::Debug for DeviceSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSeed(..)")
    }
}

impl DeviceSeed {
    pub fn from_bytes(bytes: [u8; 32]) -> DeviceSeed {
        DeviceSeed(bytes)
    }

    pub fn generate() -> Result<DeviceSeed, StoreError> {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| {
            StoreError::io(
                "reading the system's random source",
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(DeviceSeed(b))
    }

    /// Reads the seed from `path`, or makes one and writes it there (hex, mode 0600, atomically:
    /// a crash never leaves a half seed, which would move the device between waves).
    pub fn load_or_create(path: &Path) -> Result<DeviceSeed, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => hex::decode::<32>(text.trim_end())
                .map(DeviceSeed)
                .ok_or_else(|| StoreError::Repo {
                    path: path.to_owned(),
                    reason: "the device seed is not 64 lower-case hex digits".into(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let seed = DeviceSeed::generate()?;
                let text = format!("{}\n", hex::encode(&seed.0));
                crate::fsutil::write_atomic(path, text.as_bytes(), 0o600)?;
                Ok(seed)
            }
            Err(e) => Err(StoreError::io(format!("reading {}", path.display()), e)),
        }
    }
}

/// A number drawn from the device's seed for `purpose` (where the device falls in the
/// automatic refresh window, say): stable for the device, independent between purposes.
pub fn derive_u64(seed: &DeviceSeed, purpose: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.0);
    h.update(b"derive:");
    h.update(purpose.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// The device's bucket (0..100) for one rollout.
pub fn bucket(seed: &DeviceSeed, name: &str, revision: u64) -> u8 {
    let mut h = Sha256::new();
    h.update(seed.0);
    h.update(name.as_bytes());
    h.update([0u8]);
    h.update(revision.to_be_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    // 2^64 mod 100 = 16, so the low buckets are favoured by 16 in 2^64: far below noise.
    (u64::from_be_bytes(first) % 100) as u8
}

/// Whether the device takes a revision released to `percentage` percent of devices.
pub fn in_wave(seed: &DeviceSeed, name: &str, revision: u64, percentage: u8) -> bool {
    bucket(seed, name, revision) < percentage
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seed(i: u32) -> DeviceSeed {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_le_bytes());
        DeviceSeed(b)
    }

    #[test]
    fn known_bucket_is_stable_across_builds() {
        // Pinned: a change of the function would move every device to another wave.
        let expected = {
            let d = Sha256::digest([&[0u8; 32][..], b"hello", &[0], &7u64.to_be_bytes()].concat());
            (u64::from_be_bytes(d[..8].try_into().unwrap()) % 100) as u8
        };
        assert_eq!(bucket(&DeviceSeed([0; 32]), "hello", 7), expected);
    }

    #[test]
    fn shares_match_the_percentage() {
        let n = 20_000;
        for p in [0u8, 1, 10, 50, 90, 100] {
            let inside = (0..n).filter(|i| in_wave(&seed(*i), "hello", 3, p)).count();
            let share = inside as f64 / n as f64 * 100.0;
            assert!((share - f64::from(p)).abs() < 1.5, "{p}%: {share:.2}%");
        }
    }

    #[test]
    fn rollouts_are_independent() {
        // Devices in the first 10% of revision 3 are a ~10% sample of revision 4's first 10%.
        let n = 20_000;
        let both = (0..n)
            .filter(|i| in_wave(&seed(*i), "hello", 3, 10) && in_wave(&seed(*i), "hello", 4, 10))
            .count();
        assert!(both < n as usize / 50, "{both}");
    }

    #[test]
    fn seed_file_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seed");
        let a = DeviceSeed::load_or_create(&p).unwrap();
        let b = DeviceSeed::load_or_create(&p).unwrap();
        assert_eq!(a, b);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::write(&p, "garbage").unwrap();
        assert!(DeviceSeed::load_or_create(&p).is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "garbage");
    }

    proptest! {
        #[test]
        fn a_growing_wave_never_drops_a_device(s in any::<[u8; 32]>(), rev in 1u64..1000, p in 0u8..100) {
            let seed = DeviceSeed(s);
            if in_wave(&seed, "x", rev, p) {
                prop_assert!(in_wave(&seed, "x", rev, p + 1));
            }
            prop_assert!(!in_wave(&seed, "x", rev, 0));
            prop_assert!(in_wave(&seed, "x", rev, 100));
        }
    }
}
