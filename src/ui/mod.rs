//! (being built)

pub mod thumb_textures;
