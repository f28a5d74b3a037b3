//! (being built)

pub mod thumb_textures;

#[cfg(feature = "torch")]
pub mod train_panel;
