//! Label issues: which given labels are probably wrong, how sure we are, and what the
//! right label probably is.
//!
//! Two layers, both pure (no GUI, no torch):
//!
//! - [`cleanlab`]: confident learning with cleanlab 2.9 parity for any K, over a
//!   borrowed row-major N x K `f32`/`f64` matrix ([`probs::ProbView`]):
//!   [`cleanlab::find_label_issues`], [`cleanlab::find_label_issues_ranked`],
//!   [`cleanlab::label_quality_scores`], [`cleanlab::num_label_issues`],
//!   [`cleanlab::estimate_joint`], [`cleanlab::estimate_py_and_noise_matrices`],
//!   [`cleanlab::ensemble_scores`].
//! - the dataset layer, [`person`]: the pure API the app calls,
//!
//!   ```ignore
//!   let table = ProbTable::load_run(&dataset, &run_dir)?;          // or load_file
//!   let labels = DatasetLabels::given(&dataset);                   // or the curated labels
//!   let report = find_dataset_issues(&dataset, &labels, &table, &DatasetIssueOptions::default())?;
//!   ```
//!
//!   It runs confident learning per field (mask K=3, gender K=2, age K=3, marginals of the
//!   18-class probabilities) and on the 18-class joint, and says which found each issue
//!   ([`Detector`]); combines a person's photos (mean log-probability) and runs confident
//!   learning over people for gender and age; detects incorrect_mask/normal swaps inside a
//!   person as one issue; marks age issues near 30 and 60 as boundary cases. The report
//!   carries per-run noise estimates ([`RunSummary`]).
//! - [`evaluate`]: precision / recall against a demo dataset's noise.csv.
//!
//! Bad input is an [`probs::InputError`], never a panic.

pub mod age_years;
pub mod calibrate;
pub mod cleanlab;
mod detect;
pub mod evaluate;
pub mod io;
pub mod person;
pub mod probs;
pub mod table;

pub use person::{
    find_dataset_issues, percent_text, prob_text, tiers_text, AgeSource, Calibration,
    DatasetIssueOptions, DatasetLabels, Detector, FieldQueue, Issue, IssueKind, IssueReport,
    PersonLabels, RunSummary, Tier,
};
pub use probs::{InputError, Prob, ProbView};
pub use table::ProbTable;
