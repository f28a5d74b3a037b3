//! Any bytes as a dataset's journal.jsonl, replayed on a small dataset. A replay may skip
//! lines, never apply a value an edit could not set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mask_curator::curation::Curation;
use mask_curator::dataset::{Dataset, Gender, Person};
use mask_curator::workspace::Workspace;
use std::cell::RefCell;
use std::path::PathBuf;

thread_local! {
    static DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

fn dataset(root: PathBuf) -> Dataset {
    let people = (0..3u32)
        .map(|i| Person::with_all_photos(&format!("{:06}", i + 1), Gender::Female, 30 + i))
        .collect();
    Dataset {
        root,
        people,
        eval: None,
        problems: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    DIR.with_borrow_mut(|dir| {
        let dir = dir.get_or_insert_with(|| tempfile::tempdir().expect("temp dir"));
        let ds = dataset(dir.path().to_path_buf());
        let ws = Workspace::for_dataset(dir.path());
        ws.ensure().expect("workspace");
        std::fs::write(ws.journal_path(), data).expect("write");
        if let Ok((c, _)) = Curation::open_read_only(&ds, &ws) {
            for p in 0..c.num_people() {
                assert!((1..=120).contains(&c.age_years(p)));
            }
        }
    });
});
