//! Opening the demo: generate the demo dataset when it is missing and, when asked, train
//! the quick demo run so that the first open already has a review queue.

use crate::ml::protocol::WorkerEvent;
use crate::workspace::Workspace;
use std::path::Path;

/// Where [`ensure_demo`] reports what it is doing. `Sync`: the photos are written on
/// several threads, each reporting its count.
pub trait DemoProgress: Sync {
    /// One line of what is happening now.
    fn say(&self, line: &str);

    /// `done` of the `total` demo photos are written (called often, from the writing
    /// threads; at the end with `done == total`).
    fn generating(&self, done: usize, total: usize) {
        self.say(&format!(
            "Generating the demo dataset: {done} of {total} photos…"
        ));
    }

    /// Follows the quick run's training until its events end. By default, one line now and
    /// then through [`DemoProgress::say`]; a terminal draws progress bars instead.
    fn follow_training(&self, events: &crossbeam_channel::Receiver<WorkerEvent>) {
        for event in events {
            match event {
                WorkerEvent::Preparing { done: 0, total } => self.say(&format!(
                    "Training the quick demo run: checking {total} photos…"
                )),
                WorkerEvent::Batch(b) if b.batch == 1 || b.batch == b.batches => {
                    self.say(&format!(
                        "Training the quick demo run: fold {} epoch {}, about {:.0} s left…",
                        b.fold + 1,
                        b.epoch,
                        b.eta_secs
                    ))
                }
                _ => {}
            }
        }
    }
}

/// Why the demo cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot generate the demo dataset in {}: {source}", dir.display())]
    Generate {
        dir: std::path::PathBuf,
        source: crate::demo::DemoError,
    },
}

/// Why the quick demo run failed (the demo then opens without it).
#[derive(Debug, thiserror::Error)]
enum QuickRunError {
    #[error("cannot write the recipe: {0}")]
    Recipe(std::io::Error),
    #[error(transparent)]
    Worker(#[from] super::worker::WorkerError),
    #[error("the run {status}{}", error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Ended {
        status: &'static str,
        error: Option<String>,
    },
    #[error("{0}")]
    Died(String),
}

/// What became of the quick demo run.
#[derive(Debug, Clone)]
pub enum QuickRun {
    /// Not asked for.
    NotAsked,
    /// A finished run was already there (its id).
    Existing(String),
    /// Trained now.
    Trained {
        run_id: String,
        secs: f64,
        summary: Option<crate::ml::run::RunSummary>,
    },
    /// Training failed; the demo opens without a review queue.
    Failed(String),
}

/// The demo is ready to open.
#[derive(Debug, Clone)]
pub struct DemoReady {
    /// Seconds the generation took, when the dataset was generated now.
    pub generated_secs: Option<f64>,
    pub quick_run: QuickRun,
    /// Seconds for everything.
    pub secs: f64,
}

/// Generates the demo dataset into `dir` unless a dataset is already there; with
/// `quick_run`, also trains the quick demo run unless a finished run exists. A failed
/// quick run is reported (said, and in [`DemoReady::quick_run`]), not an error: the demo
/// opens without it.
pub fn ensure_demo(
    dir: &Path,
    demo: &crate::demo::DemoConfig,
    quick_run: bool,
    progress: &dyn DemoProgress,
) -> Result<DemoReady, DemoError> {
    let started = std::time::Instant::now();
    let mut generated_secs = None;
    if !dir.join("train").join("train.csv").is_file() {
        progress.say(&format!(
            "Generating the demo dataset in {} …",
            dir.display()
        ));
        // The full-size demo takes minutes to write: say how far it is.
        let on_photos = |done: usize, total: usize| progress.generating(done, total);
        crate::demo::generate(dir, demo, Some(&on_photos), None).map_err(|source| {
            DemoError::Generate {
                dir: dir.to_path_buf(),
                source,
            }
        })?;
        let secs = started.elapsed().as_secs_f64();
        progress.say(&format!("Generated the demo dataset in {secs:.0} s."));
        generated_secs = Some(secs);
    }
    let quick_run = if !quick_run {
        QuickRun::NotAsked
    } else if let Some((id, _)) =
        crate::review_queue::latest_finished_run(&Workspace::for_dataset(dir))
    {
        QuickRun::Existing(id)
    } else {
        match quick_demo_run(dir, progress) {
            Ok(run) => run,
            Err(e) => {
                let reason = e.to_string();
                progress.say(&format!(
                    "The quick demo run failed ({reason}); opening the demo without a review queue."
                ));
                QuickRun::Failed(reason)
            }
        }
    };
    Ok(DemoReady {
        generated_secs,
        quick_run,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// Trains the quick demo run ([`crate::ml::config::TrainConfig::quick_demo`]) on the
/// demo's curated labels into a run folder named `<stamp>-quick-demo`, in the training
/// worker.
fn quick_demo_run(dir: &Path, progress: &dyn DemoProgress) -> Result<QuickRun, QuickRunError> {
    use super::worker::{mark_run_failed, WorkerProcess};
    use crate::ml::config::TrainConfig;
    use crate::ml::run::{RunDir, RunStatus};

    let started = std::time::Instant::now();
    let config = TrainConfig::quick_demo();
    progress.say(&format!(
        "Training the {} ({}) so that the review queue has issues; \
         `open --demo --no-quick-run` skips it.",
        crate::ml::config::QUICK_DEMO_LABEL,
        config.describe()
    ));
    let workspace = Workspace::for_dataset(dir);
    let run_dir = RunDir::fresh(&workspace.runs_dir(), "quick-demo");
    let recipe =
        super::training::write_recipe(&workspace, &config).map_err(QuickRunError::Recipe)?;
    let mut worker = WorkerProcess::spawn(&super::training::train_args(
        dir,
        recipe.path(),
        &run_dir,
        &super::training::models_dir(),
    ))?;
    progress.follow_training(worker.events());
    let exit = worker.wait();
    let info = run_dir.read_info().ok();
    match info {
        Some(info) if info.status == RunStatus::Finished => Ok(QuickRun::Trained {
            run_id: run_dir.id(),
            secs: started.elapsed().as_secs_f64(),
            summary: info.summary,
        }),
        Some(info) if info.status != RunStatus::Running => Err(QuickRunError::Ended {
            status: info.status.name(),
            error: info.error,
        }),
        _ => {
            let reason = worker.failure_reason(&exit);
            mark_run_failed(&run_dir, &reason);
            Err(QuickRunError::Died(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Everything said, in order.
    #[derive(Default)]
    struct Recorded {
        lines: Mutex<Vec<String>>,
        counts: Mutex<Vec<(usize, usize)>>,
    }

    impl DemoProgress for Recorded {
        fn say(&self, line: &str) {
            self.lines.lock().expect("lines").push(line.to_string());
        }

        fn generating(&self, done: usize, total: usize) {
            self.counts.lock().expect("counts").push((done, total));
        }
    }

    #[test]
    fn generating_the_demo_reports_the_photos_written_up_to_all_of_them() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("demo");
        let demo = crate::demo::DemoConfig {
            people: 6,
            threads: 2,
            ..Default::default()
        };
        let recorded = Recorded::default();
        let ready = ensure_demo(&dir, &demo, false, &recorded).expect("demo");
        assert!(ready.generated_secs.is_some());
        let counts = recorded.counts.lock().expect("counts").clone();
        let photos = crate::dataset::scan(&dir)
            .expect("the demo opens")
            .photo_count()
            + std::fs::read_dir(dir.join("eval/images"))
                .expect("eval images")
                .count();
        assert_eq!(counts.last(), Some(&(photos, photos)), "{counts:?}");
        assert!(
            counts.len() >= 2
                && counts
                    .iter()
                    .all(|&(done, total)| total == photos && done <= total),
            "{counts:?}"
        );
        // A second open reuses the dataset: nothing is written, nothing counted.
        let again = Recorded::default();
        ensure_demo(&dir, &demo, false, &again).expect("demo again");
        assert!(again.counts.lock().expect("counts").is_empty());
    }
}
