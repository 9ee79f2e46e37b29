//! The rules, run in snapd's order: the gadget-level stanzas, then each volume (implicit
//! values, sort, volume and structure rules, bootloader), the bootloader count, the volume
//! assignments, the role consistency against the model; then this crate's additions.

mod assignments;
mod content;
mod roles;
mod structure;
mod volume;

pub use content::split_kernel_ref;
pub use structure::{MBR_MAX_SIZE, SYSTEM_BOOT_STATE_GUID};
pub use volume::OFFSET_WRITE_SIZE;

use std::collections::HashSet;

use crate::convert::{Converted, finish_connections};
use crate::defaults::check_defaults;
use crate::error::GadgetError;
use crate::implicit::{order_by_offset, set_implicit};
use crate::kcmdline::is_argument_allowed;
use crate::model::{Bootloader, PartialProperty};
use crate::options::ParseOptions;
use crate::spec::SpecVolume;

/// A gadget whose every rule holds; volumes sorted, implicit values set.
pub(crate) struct Checked {
    pub volumes: Vec<SpecVolume>,
    pub defaults: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, crate::defaults::DefaultValue>,
    >,
    pub connections: Vec<crate::defaults::Connection>,
    pub kernel_cmdline: crate::model::KernelCmdline,
    pub assignments: Vec<crate::model::VolumeAssignment>,
    pub warnings: Vec<String>,
}

pub(crate) fn check(conv: Converted, opts: &ParseOptions) -> Result<Checked, GadgetError> {
    check_defaults(&conv.defaults).map_err(GadgetError::Gadget)?;
    let connections = finish_connections(conv.connections)?;

    let mut warnings = Vec::new();
    let mut volumes = Vec::new();
    let mut assignments = Vec::new();
    if !(conv.volumes.is_empty() && opts.classic_or_undetermined()) {
        let mut bootloaders = 0;
        for (name, vol) in conv.volumes {
            let vol = vol.ok_or_else(|| GadgetError::volume(&name, "stanza is empty"))?;
            let vol = check_volume(vol, opts, &mut warnings)?;
            bootloaders += count_bootloader(&vol, opts)?;
            volumes.push(vol);
        }
        match bootloaders {
            0 => {
                return Err(GadgetError::Gadget(
                    "bootloader not declared in any volume".to_owned(),
                ));
            }
            1 => {}
            n => {
                return Err(GadgetError::Gadget(format!(
                    "too many ({n}) bootloaders declared"
                )));
            }
        }
        let names: Vec<&str> = volumes.iter().map(|v| v.name.as_str()).collect();
        assignments = assignments::validate_assignments(conv.assignments, &names)
            .map_err(GadgetError::Gadget)?;
    }

    roles::validate_roles(&volumes, opts).map_err(|e| match e {
        roles::RoleError::Volume { volume, reason } => GadgetError::Volume { volume, reason },
        roles::RoleError::Gadget(reason) => GadgetError::Gadget(reason),
    })?;

    // Additions to snapd's rules (see spec/gadget-yaml.md).
    if opts.require_volumes && volumes.is_empty() {
        return Err(GadgetError::NoVolumes);
    }
    for vol in &volumes {
        for s in &vol.structures {
            content::validate_sources(s, vol).map_err(|e| {
                GadgetError::volume(
                    &vol.name,
                    format!("invalid structure {}: {e}", s.describe()),
                )
            })?;
        }
    }
    for arg in &conv.kernel_cmdline.append {
        if !is_argument_allowed(&arg.param) {
            return Err(GadgetError::Gadget(format!(
                "kernel-cmdline: kernel parameter '{arg}' is not allowed"
            )));
        }
    }

    Ok(Checked {
        volumes,
        defaults: conv.defaults,
        connections,
        kernel_cmdline: conv.kernel_cmdline,
        assignments,
        warnings,
    })
}

fn check_volume(
    mut vol: SpecVolume,
    opts: &ParseOptions,
    warnings: &mut Vec<String>,
) -> Result<SpecVolume, GadgetError> {
    check_partial(&vol.partial).map_err(|e| GadgetError::volume(&vol.name, e))?;
    set_implicit(&mut vol, opts.ruleset()).map_err(|e| GadgetError::volume(&vol.name, e))?;
    vol.structures = order_by_offset(std::mem::take(&mut vol.structures));
    volume::validate_volume(&vol, warnings).map_err(|e| GadgetError::volume(&vol.name, e))?;
    Ok(vol)
}

/// `partial` lists known properties, each once.
fn check_partial(partial: &[String]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for p in partial {
        if PartialProperty::parse(p).is_none() {
            return Err(format!("{p:?} is not a valid partial value"));
        }
        if !seen.insert(p) {
            return Err(format!("partial value {p:?} is repeated"));
        }
    }
    Ok(())
}

fn count_bootloader(vol: &SpecVolume, opts: &ParseOptions) -> Result<usize, GadgetError> {
    if vol.bootloader.is_empty() {
        return Ok(0);
    }
    match Bootloader::parse(&vol.bootloader) {
        Some(Bootloader::Piboot) if !opts.allows_piboot() => Err(GadgetError::Gadget(
            "piboot bootloader valid only for UC20 onwards".to_owned(),
        )),
        Some(_) => Ok(1),
        None => Err(GadgetError::Gadget(
            "bootloader must be one of grub, u-boot, android-boot, piboot or lk".to_owned(),
        )),
    }
}
