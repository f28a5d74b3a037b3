//! Training and inference. The recipe, the split, the run files and ensembling are pure and
//! build everywhere; the models, the loader, training and inference need the `torch`
//! feature (libtorch; CUDA chosen at run time when present).

pub mod config;
pub mod ensemble;
pub mod npy;
pub mod protocol;
pub mod run;
pub mod split;

#[cfg(feature = "torch")]
pub mod device;
#[cfg(feature = "torch")]
pub mod infer;
#[cfg(feature = "torch")]
pub mod labels;
#[cfg(feature = "torch")]
pub mod loader;
#[cfg(feature = "torch")]
pub mod model;
#[cfg(feature = "torch")]
pub mod train;

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
    Run(#[from] run::RunError),
    #[error("{0}")]
    Data(String),
}

#[cfg(feature = "torch")]
impl From<tch::TchError> for MlError {
    fn from(e: tch::TchError) -> Self {
        MlError::Torch(e.to_string())
    }
}

#[cfg(feature = "torch")]
impl From<loader::LoadError> for MlError {
    fn from(e: loader::LoadError) -> Self {
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
