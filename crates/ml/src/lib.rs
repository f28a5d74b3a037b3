//! The training worker's library: the models, k-fold training and ensemble inference on
//! libtorch (CUDA chosen at run time when present). This package is the only one that
//! links libtorch; the app and the `mask-curator` command line run its binary,
//! `mask-curator-ml`, as a child process and follow it through the line protocol of
//! `mask_curator::ml::protocol`. Everything pure (recipe, split, loader, run files,
//! ensembling) lives in the `mask-curator` library and is used from here.

pub mod cli;
pub mod device;
pub mod infer;
pub mod model;
pub mod train;
pub mod version_py;

use mask_curator::ml::loader::LoadError;
use mask_curator::ml::run::RunError;

/// Errors of training and inference. Torch failures (out of memory, bad shapes, a broken
/// weights file) arrive here as `Torch`, never as a crash.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    #[error("torch: {0}")]
    Torch(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Recipe(#[from] mask_curator::ml::config::ConfigError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{0}")]
    Data(String),
}

impl From<tch::TchError> for MlError {
    fn from(e: tch::TchError) -> Self {
        MlError::Torch(e.to_string())
    }
}

impl From<LoadError> for MlError {
    fn from(e: LoadError) -> Self {
        MlError::Data(e.to_string())
    }
}

/// Runs `f`, turning a panic inside libtorch bindings (tch's infallible calls panic on
/// torch errors such as out of memory) into an error.
pub fn catch_torch<T>(f: impl FnOnce() -> Result<T, MlError>) -> Result<T, MlError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(MlError::Torch(
                msg.lines().next().unwrap_or_default().to_string(),
            ))
        }
    }
}
