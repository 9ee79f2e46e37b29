//! Why an image could not be built. Nothing is left in the output directory when any of
//! these is returned.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image model {path}: {reason}")]
    Model { path: PathBuf, reason: String },

    #[error("snap {path}: {reason}")]
    Snap { path: PathBuf, reason: String },

    #[error("gadget snap {path}: {source}")]
    Gadget {
        path: PathBuf,
        #[source]
        source: crate::GadgetError,
    },

    /// The gadget and the snaps do not make an image (content missing from the gadget, a
    /// structure too small for its content, no place for the seed, ...).
    #[error("cannot build the image: {0}")]
    Plan(String),

    #[error("{path} already exists: remove it or choose another output directory")]
    OutputExists { path: PathBuf },

    #[error("{context}: {tool} failed: {stderr}")]
    Tool {
        context: String,
        tool: String,
        stderr: String,
    },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl ImageError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ImageError {
        let context = context.into();
        move |source| ImageError::Io { context, source }
    }
}
