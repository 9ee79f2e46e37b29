//! Why a gadget.yaml was refused or a volume could not be laid out.

/// Every failure of this crate. Messages keep snapd's reason texts, and name the volume and
/// the structure (`#<index in the file> ("<name>")`) they are about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GadgetError {
    /// The file is bigger than [`crate::MAX_GADGET_YAML_BYTES`].
    #[error("gadget.yaml is {size} bytes, more than the {max} bytes accepted")]
    TooLarge { size: usize, max: usize },

    /// Not YAML, not the expected shape, or over a resource cap (nesting, aliases, ...).
    /// `path` names the key the problem was found at (empty for the document itself).
    #[error("cannot parse gadget metadata: {}{message}", path_prefix(path))]
    Parse { path: String, message: String },

    /// A rule about one volume (or one of its structures) is broken.
    #[error("invalid volume {volume:?}: {reason}")]
    Volume { volume: String, reason: String },

    /// A rule about the gadget as a whole is broken (bootloaders, roles across volumes,
    /// defaults, connections, kernel command line, volume assignments).
    #[error("invalid gadget: {0}")]
    Gadget(String),

    /// An image cannot be built from a gadget without volumes.
    #[error("no volume in the gadget.yaml: specify at least one volume")]
    NoVolumes,

    /// The volume cannot be laid out (partial volume, content not fitting, disk too small ...).
    #[error("cannot lay out volume {volume:?}: {reason}")]
    Layout { volume: String, reason: String },
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl GadgetError {
    pub(crate) fn parse(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Parse {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn volume(volume: &str, reason: impl Into<String>) -> Self {
        Self::Volume {
            volume: volume.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn layout(volume: &str, reason: impl Into<String>) -> Self {
        Self::Layout {
            volume: volume.to_owned(),
            reason: reason.into(),
        }
    }
}
