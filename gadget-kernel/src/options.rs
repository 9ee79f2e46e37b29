//! What the caller knows about the device the gadget is for.

/// The model characteristics that change how a gadget.yaml is read (snapd's `gadget.Model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Model {
    /// A classic (Ubuntu desktop/server) system rather than Ubuntu Core.
    pub classic: bool,
    /// The model has a `grade` (UC20 and later, or classic with modes): seed, boot, save and
    /// data partitions, recovery modes.
    pub has_modes: bool,
}

impl Model {
    /// Ubuntu Core 16/18: no grade.
    pub const CORE16: Model = Model {
        classic: false,
        has_modes: false,
    };
    /// Ubuntu Core 20 and later.
    pub const CORE20: Model = Model {
        classic: false,
        has_modes: true,
    };
    /// Classic without modes.
    pub const CLASSIC: Model = Model {
        classic: true,
        has_modes: false,
    };
    /// Classic with modes (the `system-seed-null` world).
    pub const CLASSIC_WITH_MODES: Model = Model {
        classic: true,
        has_modes: true,
    };
}

/// Which rules implicit values follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ruleset {
    /// No model: no implicit labels or roles beyond `type: mbr`.
    Unknown,
    /// No grade: `writable` data label, `system-boot` label implies the role.
    Uc16,
    /// Grade set: `ubuntu-*` labels.
    Uc20,
}

/// How to read a gadget.yaml.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// The model, when known. Without one only the gadget's self-consistency is checked, and
    /// the role rules are guessed from the roles present (a `system-seed` means UC20 rules).
    pub model: Option<Model>,
    /// The data partition will be encrypted: a `system-save` structure is then required.
    pub encrypted_data: bool,
    /// Refuse a gadget without volumes (needed to build an image; snapd itself only requires
    /// volumes for Ubuntu Core models).
    pub require_volumes: bool,
}

impl ParseOptions {
    /// What an image builder accepts (ubuntu-image's checks): no model, volumes required.
    pub fn image_build() -> ParseOptions {
        ParseOptions {
            model: None,
            encrypted_data: false,
            require_volumes: true,
        }
    }

    /// What snapd accepts for a device of this model.
    pub fn for_model(model: Model) -> ParseOptions {
        ParseOptions {
            model: Some(model),
            encrypted_data: false,
            require_volumes: false,
        }
    }

    pub(crate) fn ruleset(&self) -> Ruleset {
        match self.model {
            None => Ruleset::Unknown,
            Some(m) if m.has_modes => Ruleset::Uc20,
            Some(_) => Ruleset::Uc16,
        }
    }

    /// No model, or a classic one: volumes may be left out.
    pub(crate) fn classic_or_undetermined(&self) -> bool {
        self.model.is_none_or(|m| m.classic)
    }

    /// `piboot` needs a model with modes (or no model).
    pub(crate) fn allows_piboot(&self) -> bool {
        self.model.is_none_or(|m| m.has_modes)
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self::image_build()
    }
}
