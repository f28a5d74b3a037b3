//! Training and inference, the parts without torch: the recipe, the split, the loader
//! (decoding and augmentation on worker threads), the labels a run trains on, the run
//! files, ensembling, and the line protocol to the training worker. The models, training
//! and inference themselves live in the worker package (`crates/ml`, binary
//! `mask-curator-ml`), the only code that links libtorch.

pub mod config;
pub mod ensemble;
pub mod labels;
pub mod loader;
pub mod npy;
pub mod protocol;
pub mod run;
pub mod split;
