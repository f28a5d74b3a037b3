//! Any bytes as a `.npy` file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mask_curator::arrays::npy::read_npy_bytes(data, std::path::Path::new("fuzz.npy"));
});
