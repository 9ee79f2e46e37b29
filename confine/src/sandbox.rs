//! The process-wide restrictions applied after `pivot_root`, in this order: no_new_privs,
//! landlock (strict only), capabilities, seccomp (strict and devmode) — seccomp last, just
//! before `execve`.
//!
//! Landlock: the ruleset handles every filesystem right of [`POLICY_ABI`], TCP bind (no rule:
//! no port may be bound) unless the profile says `tcp_bind_any` (any port: the right is not
//! handled), TCP connect only when the profile lists ports (`None` means any
//! port, so the right is not handled), and the scopes the profile asks for. It is applied in
//! best-effort mode: on a kernel with an older landlock the newer rights are dropped and the
//! status says `PartiallyEnforced` (or `NotEnforced` without landlock), which `--debug` shows.
//!
//! [`POLICY_ABI`] is ABI 6: filesystem rights through `IoctlDev`, TCP ports, and the two scopes.
//! ABI 7 only adds logging flags; ABI 9's `ResolveUnix` and ABI 10's UDP rights would deny
//! things the profile format cannot yet grant (connecting to named sockets, UDP), so they wait
//! for a profile format that expresses them.

use std::collections::BTreeSet;
use std::str::FromStr;

use caps::{CapSet, Capability, CapsHashSet};
use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, PathFd, RestrictionStatus, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, make_bitflags,
};
use seccompiler::sock_filter;
use snap_interfaces::profile::{Access as ProfileAccess, LandlockPolicy};

use crate::env::substitute_user;
use crate::error::Error;

/// The landlock ABI the profile's rights are defined for (see the module documentation).
pub const POLICY_ABI: ABI = ABI::V6;

/// Rights that make sense on a non-directory.
fn file_rights() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{ Execute | ReadFile | WriteFile | Truncate | IoctlDev })
}

/// The landlock rights for a profile access on a directory (`is_dir`) or another file.
pub fn access_rights(access: ProfileAccess, is_dir: bool) -> BitFlags<AccessFs> {
    let read = make_bitflags!(AccessFs::{ ReadFile | ReadDir });
    let rights = match access {
        ProfileAccess::Read => read,
        ProfileAccess::ReadExec => read | AccessFs::Execute,
        ProfileAccess::ReadWrite => {
            read | make_bitflags!(AccessFs::{
                WriteFile | RemoveDir | RemoveFile | MakeDir | MakeReg | MakeSock | MakeFifo
                | MakeSym | Refer | Truncate
            })
        }
        ProfileAccess::Full => AccessFs::from_all(POLICY_ABI),
        ProfileAccess::Device => make_bitflags!(AccessFs::{ ReadFile | WriteFile | IoctlDev }),
    };
    let rights = rights & AccessFs::from_all(POLICY_ABI);
    if is_dir {
        rights
    } else {
        rights & file_rights()
    }
}

/// Parses capability names (`CAP_NET_BIND_SERVICE` or `net_bind_service`).
pub fn parse_capabilities(names: &[String]) -> Result<CapsHashSet, String> {
    names
        .iter()
        .map(|n| {
            Capability::from_str(&caps::to_canonical(n))
                .map_err(|_| format!("unknown capability {n:?}"))
        })
        .collect()
}

pub fn set_no_new_privs() -> Result<(), Error> {
    rustix::thread::set_no_new_privs(true).map_err(|e| Error::sys("set no_new_privs", e))
}

/// What landlock enforced, for `--debug`.
#[derive(Debug)]
pub struct LandlockReport {
    pub status: RestrictionStatus,
    pub path_rules: usize,
    pub port_rules: usize,
    /// Paths of the profile missing in the sandbox (no rule for them).
    pub skipped: Vec<String>,
}

impl LandlockReport {
    pub fn describe(&self) -> String {
        let abi = match self.status.landlock {
            LandlockStatus::Available { effective_abi, .. } => format!("{effective_abi:?}"),
            LandlockStatus::NotEnabled => "not enabled".into(),
            LandlockStatus::NotImplemented => "not implemented".into(),
        };
        let status = match self.status.ruleset {
            RulesetStatus::FullyEnforced => "FullyEnforced",
            RulesetStatus::PartiallyEnforced => "PartiallyEnforced",
            RulesetStatus::NotEnforced => "NotEnforced",
        };
        format!(
            "policy ABI {POLICY_ABI:?}, kernel ABI {abi}, {status}; {} path rules, {} port rules, {} paths skipped (missing){}",
            self.path_rules,
            self.port_rules,
            self.skipped.len(),
            if self.skipped.is_empty() {
                String::new()
            } else {
                format!(": {}", self.skipped.join(" "))
            }
        )
    }
}

/// Builds and enforces the landlock ruleset for `policy` (`$HOME`/`$UID` substituted).
pub fn apply_landlock(
    policy: &LandlockPolicy,
    home: &str,
    uid: u32,
) -> Result<LandlockReport, Error> {
    let abi = POLICY_ABI;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))?;
    // `tcp_bind_any` (network-bind): TCP binds are not restricted at all.
    if !policy.tcp_bind_any {
        ruleset = ruleset.handle_access(AccessNet::BindTcp)?;
    }
    if policy.tcp_connect.is_some() {
        ruleset = ruleset.handle_access(AccessNet::ConnectTcp)?;
    }
    let mut scopes = BitFlags::<Scope>::empty();
    if policy.scope_abstract_unix {
        scopes |= Scope::AbstractUnixSocket;
    }
    if policy.scope_signal {
        scopes |= Scope::Signal;
    }
    if !scopes.is_empty() {
        ruleset = ruleset.scope(scopes)?;
    }
    let mut created = ruleset.create()?;
    let mut path_rules = 0;
    let mut skipped = Vec::new();
    for rule in &policy.paths {
        let path = substitute_user(&rule.path, home, uid);
        let fd = match PathFd::new(&path) {
            Ok(fd) => fd,
            Err(_) => {
                skipped.push(path);
                continue;
            }
        };
        let is_dir = rustix::fs::fstat(&fd)
            .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
            .map_err(|e| Error::path("stat", &path, e.into()))?;
        created = created.add_rule(PathBeneath::new(fd, access_rights(rule.access, is_dir)))?;
        path_rules += 1;
    }
    let mut port_rules = 0;
    let bind: BTreeSet<u16> = if policy.tcp_bind_any {
        BTreeSet::new()
    } else {
        policy.tcp_bind.iter().copied().collect()
    };
    for port in bind {
        created = created.add_rule(NetPort::new(port, AccessNet::BindTcp))?;
        port_rules += 1;
    }
    if let Some(ports) = &policy.tcp_connect {
        let connect: BTreeSet<u16> = ports.iter().copied().collect();
        for port in connect {
            created = created.add_rule(NetPort::new(port, AccessNet::ConnectTcp))?;
            port_rules += 1;
        }
    }
    let status = created.restrict_self()?;
    Ok(LandlockReport {
        status,
        path_rules,
        port_rules,
        skipped,
    })
}

/// Capabilities after the drop, for `--debug`.
#[derive(Debug)]
pub struct CapsReport {
    pub kept: Vec<Capability>,
    /// Requested but not held by the caller (so not kept).
    pub unavailable: Vec<Capability>,
}

fn sorted(set: &CapsHashSet) -> Vec<Capability> {
    let mut v: Vec<Capability> = set.iter().copied().collect();
    v.sort_by_key(|c| c.index());
    v
}

/// Drops every capability but `keep`: the bounding set, then ambient, inheritable, effective and
/// permitted; `keep` (as far as the caller holds it) is then raised in the ambient set so that
/// it survives `execve` for a non-root caller too (for root the bounding set already decides).
pub fn drop_capabilities(keep: &CapsHashSet) -> Result<CapsReport, Error> {
    let err = |what: &str, e: caps::errors::CapsError| Error::Caps(format!("{what}: {e}"));
    for c in caps::read(None, CapSet::Bounding).map_err(|e| err("read bounding set", e))? {
        if !keep.contains(&c) {
            caps::drop(None, CapSet::Bounding, c).map_err(|e| err("drop from bounding set", e))?;
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| err("clear ambient set", e))?;
    let permitted =
        caps::read(None, CapSet::Permitted).map_err(|e| err("read permitted set", e))?;
    let kept: CapsHashSet = keep.intersection(&permitted).copied().collect();
    let unavailable: CapsHashSet = keep.difference(&permitted).copied().collect();
    caps::set(None, CapSet::Inheritable, &kept).map_err(|e| err("set inheritable set", e))?;
    caps::set(None, CapSet::Effective, &kept).map_err(|e| err("set effective set", e))?;
    caps::set(None, CapSet::Permitted, &kept).map_err(|e| err("set permitted set", e))?;
    for &c in &kept {
        caps::raise(None, CapSet::Ambient, c).map_err(|e| err("raise ambient", e))?;
    }
    Ok(CapsReport {
        kept: sorted(&kept),
        unavailable: sorted(&unavailable),
    })
}

/// Loads the seccomp program into the kernel (no_new_privs is already set).
pub fn apply_seccomp(program: &[sock_filter]) -> Result<(), Error> {
    seccompiler::apply_filter(program).map_err(|e| Error::Seccomp(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_for_profile_accesses() {
        let r = access_rights(ProfileAccess::Read, true);
        assert_eq!(r, AccessFs::ReadFile | AccessFs::ReadDir);
        assert_eq!(
            access_rights(ProfileAccess::Read, false),
            AccessFs::ReadFile
        );
        let rx = access_rights(ProfileAccess::ReadExec, false);
        assert_eq!(rx, AccessFs::ReadFile | AccessFs::Execute);
        let rw = access_rights(ProfileAccess::ReadWrite, true);
        assert!(rw.contains(AccessFs::MakeReg | AccessFs::RemoveFile | AccessFs::Truncate));
        assert!(!rw.contains(AccessFs::Execute));
        assert!(!rw.intersects(AccessFs::MakeChar | AccessFs::MakeBlock | AccessFs::IoctlDev));
        assert_eq!(
            access_rights(ProfileAccess::ReadWrite, false),
            AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate
        );
        assert_eq!(
            access_rights(ProfileAccess::Full, true),
            AccessFs::from_all(POLICY_ABI)
        );
        assert_eq!(
            access_rights(ProfileAccess::Device, false),
            AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev
        );
        // Nothing beyond the policy ABI is ever granted or handled.
        for a in [
            ProfileAccess::Read,
            ProfileAccess::ReadExec,
            ProfileAccess::ReadWrite,
            ProfileAccess::Full,
            ProfileAccess::Device,
        ] {
            for d in [true, false] {
                let r = access_rights(a, d);
                assert_eq!(r & !AccessFs::from_all(POLICY_ABI), BitFlags::empty());
                assert!(!r.is_empty());
            }
        }
    }

    #[test]
    fn capability_names() {
        let set = parse_capabilities(&["CAP_NET_BIND_SERVICE".into(), "sys_nice".into()]).unwrap();
        assert!(set.contains(&Capability::CAP_NET_BIND_SERVICE));
        assert!(set.contains(&Capability::CAP_SYS_NICE));
        assert_eq!(set.len(), 2);
        assert!(parse_capabilities(&["CAP_WHATEVER".into()]).is_err());
        assert!(parse_capabilities(&[]).unwrap().is_empty());
    }
}
