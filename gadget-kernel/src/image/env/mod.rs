//! Bootloader environment files, as pure codecs: grub's 1024-byte `grubenv` and U-Boot's
//! CRC-protected environment (`uboot.env`, `boot.sel`).

pub mod grubenv;
pub mod ubootenv;

/// Why an environment file cannot be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("not a grub environment block: {0}")]
    NotGrubEnv(String),
    #[error("not a U-Boot environment: {0}")]
    NotUbootEnv(String),
    #[error("variable {key:?}: {reason}")]
    BadVariable { key: String, reason: String },
    #[error("the variables need {needed} bytes, more than the {size} the file holds")]
    TooLarge { needed: usize, size: usize },
}

pub(crate) fn check_variable(key: &str, value: &str) -> Result<(), EnvError> {
    let bad = |reason: &str| EnvError::BadVariable {
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    if key.is_empty() {
        return Err(bad("empty name"));
    }
    if key.contains(['=', '\n', '\0']) {
        return Err(bad("names cannot contain '=', newlines or NUL"));
    }
    if value.contains(['\n', '\0']) {
        return Err(bad("values cannot contain newlines or NUL"));
    }
    Ok(())
}
