//! Any bytes as a probability CSV and as a labels CSV (the arrays `find-issues` reads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    DIR.with_borrow_mut(|dir| {
        let dir = dir.get_or_insert_with(|| tempfile::tempdir().expect("temp dir"));
        let path = dir.path().join("probs.csv");
        std::fs::write(&path, data).expect("write");
        let _ = mask_curator::issues::io::read_probs(&path);
        let _ = mask_curator::issues::io::read_labels(&path);
    });
});
