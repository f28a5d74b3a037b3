//! Pretrained ImageNet weights for the backbones: where torchvision publishes them
//! (`catalog`), a download the user asks for, resumable, cancellable and checked
//! (`download`), the tensors of a `torch.save` file read without running it
//! (`torch_file`), and the safetensors file the training worker loads (`safetensors`).
//! Nothing here runs unless the user asks: training never downloads.

pub mod catalog;
pub mod download;
pub mod safetensors;
pub mod torch_file;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Refused(String),
}
