//! Plain numeric arrays on disk. [`npy`] reads and writes NumPy `.npy` files (the format of
//! probability arrays exchanged between training, issue finding and the app).

pub mod npy;

pub use npy::{read_npy, write_npy, NpyArray, NpyData, NpyElement, NpyError};
