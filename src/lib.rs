//! mask-curator: curate the noisy labels of a mask / gender / age face-photo dataset.
//!
//! Pure core (no GUI, no torch): [`dataset`], [`demo`], [`issues`], [`curation`], [`thumbs`],
//! [`photo_checks`] (photo quality and duplicates),
//! [`simulate`] (a stand-in model for measuring issue detection), [`stats`].
//! Behind features: [`ml`] (libtorch training and inference), [`ui`] (the egui app).
//! See docs/architecture.md.

pub mod arrays;
pub mod cli;
pub mod curation;
pub mod dataset;
pub mod demo;
pub mod embeddings;
pub mod errors;
pub mod issues;
pub mod metrics;
pub mod photo_checks;
pub mod review_queue;
pub mod simulate;
pub mod stats;
pub mod thumbs;
pub mod weights;
pub mod workbench;
pub mod workspace;

/// Training and inference; the pure parts (config, split, run files, ensembling) build
/// without torch, the model and training code only with the `torch` feature.
pub mod ml;
#[cfg(feature = "gui")]
pub mod ui;
