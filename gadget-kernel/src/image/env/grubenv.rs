//! grub's environment block: exactly 1024 bytes, a header line, `key=value` lines, `#`
//! padding. grub's `save_env` only overwrites the blocks a file already has, so the file is
//! always written at its full size (never sparse, never shorter).

use super::{EnvError, check_variable};

/// The size grub creates and snapd keeps.
pub const GRUBENV_SIZE: usize = 1024;

const HEADER: &str = "# GRUB Environment Block\n";

/// The variables of a grubenv, in file order (snapd keeps the order it read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrubEnv {
    vars: Vec<(String, String)>,
}

impl GrubEnv {
    pub fn new() -> GrubEnv {
        GrubEnv::default()
    }

    /// Reads a block: the header, then `key=value` lines until the `#` padding.
    pub fn parse(bytes: &[u8]) -> Result<GrubEnv, EnvError> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| EnvError::NotGrubEnv("not UTF-8".into()))?;
        let body = text
            .strip_prefix(HEADER)
            .ok_or_else(|| EnvError::NotGrubEnv("no '# GRUB Environment Block' header".into()))?;
        let mut env = GrubEnv::new();
        for line in body.split('\n') {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| EnvError::NotGrubEnv(format!("line {line:?} has no '='")))?;
            env.set(k, v)?;
        }
        Ok(env)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` in place, or appends it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        check_variable(key, value)?;
        match self.vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.vars.push((key.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// The 1024-byte block.
    pub fn encode(&self) -> Result<Vec<u8>, EnvError> {
        let mut out = String::from(HEADER);
        for (k, v) in &self.vars {
            out.push_str(k);
            out.push('=');
            out.push_str(v);
            out.push('\n');
        }
        if out.len() > GRUBENV_SIZE {
            return Err(EnvError::TooLarge {
                needed: out.len(),
                size: GRUBENV_SIZE,
            });
        }
        let mut bytes = out.into_bytes();
        bytes.resize(GRUBENV_SIZE, b'#');
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_header_lines_and_padding() {
        let mut env = GrubEnv::new();
        env.set("snapd_recovery_mode", "install").unwrap();
        env.set("snapd_recovery_system", "20240101").unwrap();
        let b = env.encode().unwrap();
        assert_eq!(b.len(), 1024);
        let text = String::from_utf8(b.clone()).unwrap();
        assert!(text.starts_with(
            "# GRUB Environment Block\nsnapd_recovery_mode=install\nsnapd_recovery_system=20240101\n#"
        ));
        assert!(text.trim_end_matches('#').len() < 1024 && text.ends_with('#'));
        assert_eq!(GrubEnv::parse(&b).unwrap(), env);
    }

    #[test]
    fn set_keeps_order_and_replaces_in_place() {
        let mut env = GrubEnv::new();
        env.set("a", "1").unwrap();
        env.set("b", "2").unwrap();
        env.set("a", "3").unwrap();
        assert_eq!(
            env.vars(),
            &[("a".into(), "3".into()), ("b".into(), "2".into())]
        );
        assert_eq!(env.get("a"), Some("3"));
        assert_eq!(env.get("c"), None);
    }

    #[test]
    fn reads_a_block_as_grub_editenv_writes_it() {
        // grub-editenv's layout: header, variables, then '#' up to 1024 bytes.
        let mut raw =
            b"# GRUB Environment Block\nsnap_mode=try\nsnap_kernel=pc-kernel_1.snap\n".to_vec();
        raw.resize(1024, b'#');
        let env = GrubEnv::parse(&raw).unwrap();
        assert_eq!(env.get("snap_mode"), Some("try"));
        assert_eq!(env.get("snap_kernel"), Some("pc-kernel_1.snap"));
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        let mut env = GrubEnv::new();
        assert!(env.set("a=b", "x").is_err());
        assert!(env.set("a", "x\ny").is_err());
        env.set("big", &"x".repeat(1000)).unwrap();
        assert!(matches!(env.encode(), Err(EnvError::TooLarge { .. })));
        assert!(GrubEnv::parse(b"no header\n").is_err());
        assert!(GrubEnv::parse(b"# GRUB Environment Block\nnoequals\n").is_err());
    }
}
