//! Any bytes as train/train.csv, parsed as a scan parses it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mask_curator::dataset::parse_train_csv(data);
});
