//! PNG bytes (the signature is forced, so every input reaches the PNG decoder) through
//! the photo decode path and the header check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mask_curator::thumbs::decode::{decode_bytes, decode_photo, Strictness};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(data.strip_prefix(b"\x89PNG\r\n\x1a\n").unwrap_or(data));
    let path = Path::new("fuzz.png");
    let _ = decode_bytes(path, &bytes, 96, 128);
    let _ = decode_photo(path, &bytes, &|_, _| (1, 1), Strictness::Strict);
    let _ = mask_curator::dataset::image_check::check_bytes(&bytes);
});
