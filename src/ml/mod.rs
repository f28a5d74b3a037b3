//! Training and inference with libtorch. Device chosen at run time (CUDA when present).

pub mod device;
