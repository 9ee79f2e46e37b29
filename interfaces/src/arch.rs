//! The architecture profiles are computed for: the one this crate is built for, since the
//! daemon computes them on the device that runs the apps.

use seccompiler::TargetArch;

use crate::ProfileError;

/// The architectures seccomp programs can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
    Riscv64,
}

impl Arch {
    /// The architecture of this build.
    pub fn host() -> Result<Arch, ProfileError> {
        Arch::from_rust(std::env::consts::ARCH)
    }

    /// From Rust's name of an architecture (`std::env::consts::ARCH`).
    pub fn from_rust(name: &str) -> Result<Arch, ProfileError> {
        match name {
            "x86_64" => Ok(Arch::X86_64),
            "aarch64" => Ok(Arch::Aarch64),
            "riscv64" => Ok(Arch::Riscv64),
            other => Err(ProfileError::UnsupportedArch(other.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Riscv64 => "riscv64",
        }
    }

    pub(crate) fn target(self) -> TargetArch {
        match self {
            Arch::X86_64 => TargetArch::x86_64,
            Arch::Aarch64 => TargetArch::aarch64,
            Arch::Riscv64 => TargetArch::riscv64,
        }
    }
}

/// `SNAP_ARCH`: the Debian name of the architecture this crate is built for, as snapd's
/// `arch.DpkgArchitecture()` reports it.
pub fn dpkg_arch() -> &'static str {
    dpkg_name(std::env::consts::ARCH)
}

fn dpkg_name(rust_arch: &'static str) -> &'static str {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "i386",
        "aarch64" => "arm64",
        "arm" => "armhf",
        "powerpc64" => {
            if cfg!(target_endian = "little") {
                "ppc64el"
            } else {
                "ppc64"
            }
        }
        "powerpc" => "powerpc",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(dpkg_name("x86_64"), "amd64");
        assert_eq!(dpkg_name("aarch64"), "arm64");
        assert_eq!(dpkg_name("riscv64"), "riscv64");
        assert_eq!(Arch::from_rust("aarch64").unwrap(), Arch::Aarch64);
        assert!(matches!(
            Arch::from_rust("s390x"),
            Err(ProfileError::UnsupportedArch(_))
        ));
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(dpkg_arch(), "amd64");
            assert_eq!(Arch::host().unwrap(), Arch::X86_64);
        }
    }
}
