//! Any bytes through the full photo decode path as thumbnails, `scan --deep` and the
//! training loader use it, plus the header check. Seed the corpus with real JPEGs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mask_curator::thumbs::decode::{decode_bytes, decode_photo, Strictness};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.jpg");
    let _ = decode_bytes(path, data, 96, 128);
    let _ = decode_photo(path, data, &|_, _| (1, 1), Strictness::Strict);
    let _ = decode_photo(path, data, &|_, _| (224, 224), Strictness::Lenient);
    let _ = mask_curator::dataset::image_check::check_bytes(data);
});
