//! U-Boot's environment format: CRC-32 (IEEE, little endian) of the data area, an optional
//! flag byte (U-Boot built with a redundant environment), then `key=value` strings each ended
//! by NUL, an empty string closing the list, and padding to the fixed file size: 0xff as
//! `mkenvimage` writes it, NUL as U-Boot's `env export -c -s` does. A file read keeps its
//! padding byte when written again, so that a rewrite changes only the bytes of the CRC and
//! the variables (`spec/boot.md`, "U-Boot"). Keys are written sorted; setting a variable to
//! "" deletes it (snapd's rules).

use std::collections::BTreeMap;

use super::{EnvError, check_variable};

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The flag byte `mkenvimage -r` writes (an "active" copy).
const REDUNDANT_FLAG: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UbootEnv {
    size: usize,
    redundant: bool,
    /// The byte after the list, up to the file's size.
    pad: u8,
    vars: BTreeMap<String, String>,
}

/// mkenvimage's padding, and ours for a new environment.
const MKENVIMAGE_PAD: u8 = 0xff;

impl UbootEnv {
    /// An empty environment of `size` bytes (4096 for `boot.sel`, 131072 for a Pi `uboot.env`).
    pub fn new(size: usize, redundant: bool) -> UbootEnv {
        UbootEnv {
            size,
            redundant,
            pad: MKENVIMAGE_PAD,
            vars: BTreeMap::new(),
        }
    }

    /// Reads an environment; like snapd, the layout with the flag byte is tried first and the
    /// one without when its CRC does not match.
    pub fn parse(bytes: &[u8]) -> Result<UbootEnv, EnvError> {
        if bytes.len() < 6 {
            return Err(EnvError::NotUbootEnv(format!(
                "{} bytes is too short",
                bytes.len()
            )));
        }
        let stored = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let (redundant, data) = if CRC32.checksum(&bytes[5..]) == stored {
            (true, &bytes[5..])
        } else if CRC32.checksum(&bytes[4..]) == stored {
            (false, &bytes[4..])
        } else {
            return Err(EnvError::NotUbootEnv("CRC mismatch".into()));
        };
        let mut env = UbootEnv::new(bytes.len(), redundant);
        let mut at = 0;
        for entry in data.split(|b| *b == 0) {
            at += entry.len() + 1;
            if entry.is_empty() {
                break;
            }
            let text = std::str::from_utf8(entry)
                .map_err(|_| EnvError::NotUbootEnv("a variable is not UTF-8".into()))?;
            let (k, v) = text
                .split_once('=')
                .ok_or_else(|| EnvError::NotUbootEnv(format!("entry {text:?} has no '='")))?;
            env.set(k, v)?;
        }
        // The padding: the byte after the empty string that ends the list.
        if let Some(pad) = data.get(at) {
            env.pad = *pad;
        }
        Ok(env)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// Sets `key`; an empty value deletes it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        check_variable(key, value)?;
        if value.is_empty() {
            self.vars.remove(key);
        } else {
            self.vars.insert(key.to_owned(), value.to_owned());
        }
        Ok(())
    }

    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the file has the flag byte of a redundant environment.
    pub fn redundant(&self) -> bool {
        self.redundant
    }

    /// The byte the file is padded with (0xff for a new environment).
    pub fn padding(&self) -> u8 {
        self.pad
    }

    /// Pads with `pad` from now on (U-Boot's `env export` pads with 0).
    pub fn set_padding(&mut self, pad: u8) {
        self.pad = pad;
    }

    /// The whole file, `size` bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EnvError> {
        let header = if self.redundant { 5 } else { 4 };
        let mut data = Vec::new();
        for (k, v) in &self.vars {
            data.extend_from_slice(k.as_bytes());
            data.push(b'=');
            data.extend_from_slice(v.as_bytes());
            data.push(0);
        }
        data.push(0);
        let room = self.size.saturating_sub(header);
        if data.len() > room {
            return Err(EnvError::TooLarge {
                needed: data.len() + header,
                size: self.size,
            });
        }
        data.resize(room, self.pad);
        let mut out = Vec::with_capacity(self.size);
        out.extend_from_slice(&CRC32.checksum(&data).to_le_bytes());
        if self.redundant {
            out.push(REDUNDANT_FLAG);
        }
        out.extend_from_slice(&data);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_the_ieee_one() {
        assert_eq!(CRC32.checksum(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn encodes_sorted_nul_separated_and_round_trips() {
        let mut env = UbootEnv::new(4096, false);
        env.set("snapd_recovery_system", "20240101").unwrap();
        env.set("snapd_recovery_mode", "install").unwrap();
        let b = env.encode().unwrap();
        assert_eq!(b.len(), 4096);
        let expect = b"snapd_recovery_mode=install\0snapd_recovery_system=20240101\0\0";
        assert_eq!(&b[4..4 + expect.len()], expect);
        assert!(b[4 + expect.len()..].iter().all(|x| *x == 0xff));
        let crc = u32::from_le_bytes(b[..4].try_into().unwrap());
        assert_eq!(crc, CRC32.checksum(&b[4..]));
        assert_eq!(UbootEnv::parse(&b).unwrap(), env);
    }

    #[test]
    fn redundant_layout_has_the_flag_byte() {
        let mut env = UbootEnv::new(4096, true);
        env.set("kernel_status", "try").unwrap();
        let b = env.encode().unwrap();
        assert_eq!(b[4], REDUNDANT_FLAG);
        assert_eq!(&b[5..23], b"kernel_status=try\0");
        let back = UbootEnv::parse(&b).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn the_padding_read_is_the_padding_written() {
        let mut env = UbootEnv::new(4096, false);
        env.set("snap_kernel", "k_x1.snap").unwrap();
        assert_eq!(env.padding(), 0xff);
        // As U-Boot's `env export -c -s 0x1000` leaves it: NULs after the list.
        let mut exported = env.clone();
        exported.set_padding(0);
        let b = exported.encode().unwrap();
        assert!(
            b[4 + "snap_kernel=k_x1.snap".len() + 2..]
                .iter()
                .all(|x| *x == 0)
        );
        let mut back = UbootEnv::parse(&b).unwrap();
        assert_eq!(back.padding(), 0);
        assert_eq!(back.encode().unwrap(), b);
        // A longer value written over it changes only the bytes it needs.
        back.set("snap_try_kernel", "k_x2.snap").unwrap();
        let again = back.encode().unwrap();
        let last = (0..4096).rev().find(|i| again[*i] != b[*i]).unwrap();
        assert!(last < 64, "{last}");
        // An empty list: the padding follows its single NUL.
        let empty = UbootEnv::new(64, true).encode().unwrap();
        assert_eq!(UbootEnv::parse(&empty).unwrap().padding(), 0xff);
    }

    #[test]
    fn empty_value_deletes() {
        let mut env = UbootEnv::new(4096, false);
        env.set("snap_try_kernel", "k_2.snap").unwrap();
        env.set("snap_try_kernel", "").unwrap();
        assert_eq!(env.get("snap_try_kernel"), None);
    }

    #[test]
    fn corruption_and_overflow_are_errors() {
        let mut env = UbootEnv::new(64, false);
        env.set("a", "b").unwrap();
        let mut b = env.encode().unwrap();
        b[10] ^= 1;
        assert!(matches!(UbootEnv::parse(&b), Err(EnvError::NotUbootEnv(_))));
        env.set("long", &"x".repeat(100)).unwrap();
        assert!(matches!(env.encode(), Err(EnvError::TooLarge { .. })));
    }
}
