//! gadget.yaml: the model, snapd's validation rules and the computed volume layout, as pure
//! logic (no I/O); and disk images built from them ([`image`]).
//!
//! [`parse_gadget_yaml`] reads a `meta/gadget.yaml` the way an image builder does (snapd's
//! `InfoFromGadgetYaml` and `Validate` without a model, plus ubuntu-image's own checks);
//! [`parse_gadget_yaml_with`] takes the model into account as snapd does on a device.
//! [`layout`] places the structures of a volume. The rules as implemented, and where they
//! differ from snapd, are in `spec/gadget-yaml.md`.
//!
//! [`image`] builds disk images from a gadget, kernel, base and app snaps (the `snap-image`
//! binary; `spec/image-model.md`): a pure plan, then the writer, which runs the filesystem
//! tools.
//!
//! [`kernel`] checks the layout of kernel snaps; [`boot`] holds try-boot of kernel refreshes
//! (where kernels are extracted, the grub.cfg, the pure state machine; `spec/boot.md`).
#![forbid(unsafe_code)]

pub mod boot;
mod convert;
mod defaults;
mod edition;
mod error;
mod finalize;
pub mod image;
mod implicit;
pub mod kcmdline;
pub mod kernel;
mod layout;
mod model;
mod options;
pub mod quantity;
mod raw;
mod spec;
mod structure_type;
mod validate;
mod yaml;

pub use defaults::{Connection, ConnectionEnd, DefaultValue};
pub use error::GadgetError;
pub use implicit::NON_MBR_START_OFFSET;
pub use layout::{
    DiskGeometry, ImageSizes, RawContentLayout, StructureLayout, VolumeLayout, layout,
    layout_with_image_sizes,
};
pub use model::{
    Bootloader, Content, Filesystem, GadgetYaml, KernelCmdline, PartialProperty, RelativeOffset,
    Role, Schema, Update, Volume, VolumeAssignment, VolumeStructure,
};
pub use options::{Model, ParseOptions};
pub use structure_type::{PartitionType, StructureType};
pub use validate::{MBR_MAX_SIZE, OFFSET_WRITE_SIZE, SYSTEM_BOOT_STATE_GUID, split_kernel_ref};
pub use yaml::{MAX_GADGET_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES};

/// Parses and validates a gadget.yaml for building an image: no model is assumed (role rules
/// are inferred from the roles present, as snapd does without a model), and at least one
/// volume is required.
pub fn parse_gadget_yaml(bytes: &[u8]) -> Result<GadgetYaml, GadgetError> {
    parse_gadget_yaml_with(bytes, &ParseOptions::image_build())
}

/// Parses and validates a gadget.yaml under `options` (the model, encryption, whether volumes
/// are required).
pub fn parse_gadget_yaml_with(
    bytes: &[u8],
    options: &ParseOptions,
) -> Result<GadgetYaml, GadgetError> {
    let raw = yaml::decode(bytes)?;
    let converted = convert::convert(raw)?;
    let checked = validate::check(converted, options)?;
    finalize::finalize(checked)
}
