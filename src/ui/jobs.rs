//! Background work: opening a dataset (demo generation, scan, journal replay, issues),
//! the folder picker, reloading a run. Each job runs on its own thread and reports once
//! through a channel that the app polls every frame; the UI never waits on it.

use crate::workbench::session::Session;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

pub enum JobOutput {
    Opened {
        dir: PathBuf,
        result: Result<Box<Session>, String>,
    },
    Browsed(Option<PathBuf>),
    Exported(Result<(PathBuf, crate::curation::ExportSummary), String>),
    /// A run's probabilities and issues, loaded for the review queue.
    RunLoaded {
        run: crate::review_queue::RunChoice,
        result: Result<
            Box<(
                crate::review_queue::RunProbs,
                crate::workbench::session::IssueSet,
            )>,
            String,
        >,
    },
    /// The photo checks of the dataset at `root` finished (`None`: stopped).
    PhotosChecked {
        root: PathBuf,
        result: Result<Option<crate::photo_checks::PhotoReport>, String>,
    },
    /// The embeddings of run `run_id` of the dataset at `root` were analysed (`None`: the
    /// run has none).
    EmbeddingsAnalysed {
        root: PathBuf,
        run_id: String,
        result: Result<Option<crate::embeddings::EmbeddingReport>, String>,
    },
    /// The job panicked: it is over (no spinner left running) and says why.
    Failed {
        job: String,
        error: String,
    },
}

/// Running jobs and their latest stage text.
pub struct Jobs {
    tx: Sender<JobOutput>,
    rx: Receiver<JobOutput>,
    running: usize,
    stage: Arc<Mutex<String>>,
    ctx: Option<egui::Context>,
}

impl Jobs {
    pub fn new(ctx: Option<egui::Context>) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Jobs {
            tx,
            rx,
            running: 0,
            stage: Arc::new(Mutex::new(String::new())),
            ctx,
        }
    }

    pub fn is_busy(&self) -> bool {
        self.running > 0
    }

    /// What the running job is doing, e.g. "Scanning…".
    pub fn stage(&self) -> String {
        self.stage.lock().clone()
    }

    /// Results that arrived since the last poll.
    pub fn poll(&mut self) -> Vec<JobOutput> {
        let out: Vec<JobOutput> = self.rx.try_iter().collect();
        self.running = self.running.saturating_sub(out.len());
        out
    }

    fn spawn(
        &mut self,
        name: &str,
        work: impl FnOnce(&(dyn Fn(&str) + Sync)) -> JobOutput + Send + 'static,
    ) {
        self.running += 1;
        let tx = self.tx.clone();
        let stage = self.stage.clone();
        let ctx = self.ctx.clone();
        *stage.lock() = name.to_string();
        let spawned = std::thread::Builder::new()
            .name(format!("job: {name}"))
            .spawn(move || {
                let set_stage = |s: &str| {
                    *stage.lock() = s.to_string();
                    if let Some(ctx) = &ctx {
                        ctx.request_repaint();
                    }
                };
                // A job that panics still reports, so the app never waits on it forever.
                let job = stage.lock().clone();
                let out =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&set_stage)))
                        .unwrap_or_else(|panic| JobOutput::Failed {
                            job,
                            error: crate::thumbs::decode::panic_message(&*panic),
                        });
                // The receiver lives as long as the app; a send error only means it is closing.
                let _ = tx.send(out);
                if let Some(ctx) = &ctx {
                    ctx.request_repaint();
                }
            });
        if spawned.is_err() {
            self.running -= 1;
        }
    }

    /// Opens `dir` (generating the demo dataset first when `demo`):
    /// [`crate::workbench::session::open_folder`] off the UI thread.
    pub fn open(&mut self, dir: PathBuf, demo: bool, run: Option<String>) {
        self.spawn("Opening…", move |stage| {
            let result = (|| {
                if demo {
                    // Generates the demo and its quick run when missing, saying so.
                    crate::workbench::demo::ensure_demo(
                        &dir,
                        &crate::demo::DemoConfig::default(),
                        true,
                        &StatusLine(stage),
                    )
                    .map_err(|e| crate::errors::describe(&e))?;
                }
                crate::workbench::session::open_folder(&dir, run.as_deref(), stage)
                    .map(Box::new)
                    .map_err(|e| e.to_string())
            })();
            JobOutput::Opened { dir, result }
        });
    }

    /// Writes a prepared export (atomic files) without blocking the UI on the disk.
    pub fn export(&mut self, prepared: crate::curation::PreparedExport, dir: PathBuf) {
        self.spawn("Exporting…", move |_| {
            let result = prepared
                .write(&dir)
                .map(|summary| (dir.clone(), summary))
                .map_err(|e| format!("export failed: {e}"));
            JobOutput::Exported(result)
        });
    }

    /// The native folder picker, off the UI thread.
    pub fn browse(&mut self, start: Option<PathBuf>) {
        self.spawn("Choosing a folder…", move |_| {
            let mut dialog = rfd::FileDialog::new().set_title("Open a dataset folder");
            if let Some(start) = start.filter(|p| p.is_dir()) {
                dialog = dialog.set_directory(start);
            }
            JobOutput::Browsed(dialog.pick_folder())
        });
    }

    /// Loads one run's probabilities and finds its issues on `labels` (the labels as of
    /// the run, see [`Session::run_labels`]).
    pub fn load_run(
        &mut self,
        dataset: Arc<crate::dataset::Dataset>,
        run: crate::review_queue::RunChoice,
        labels: crate::issues::DatasetLabels,
    ) {
        self.spawn("Loading a run…", move |_| {
            let result = crate::workbench::session::load_run_issues(&dataset, &run, &labels)
                .map(Box::new)
                .map_err(|e| e.to_string());
            JobOutput::RunLoaded { run, result }
        });
    }
}

impl Jobs {
    /// Checks the photos of an opened dataset (quality, duplicates) in the background;
    /// raising the returned flag stops it.
    pub fn check_photos(&mut self, dataset: Arc<crate::dataset::Dataset>) -> Arc<AtomicBool> {
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = cancel.clone();
        self.spawn("Checking photos…", move |stage| {
            let root = dataset.root.clone();
            // The stage line is not shareable across threads: the check counts into
            // atomics and this thread reports them until it ends.
            let (done, total) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let outcome = std::thread::scope(|scope| {
                let check = scope.spawn(|| {
                    let progress = |d: usize, t: usize| {
                        done.store(d, Ordering::Relaxed);
                        total.store(t, Ordering::Relaxed);
                    };
                    crate::workbench::session::check_photos(&dataset, &progress, Some(&stop))
                });
                while !check.is_finished() {
                    let (d, t) = (done.load(Ordering::Relaxed), total.load(Ordering::Relaxed));
                    if t > 0 {
                        stage(&format!("Checking photos… {d} of {t}"));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                check.join()
            });
            let result = match outcome {
                Ok(Some(Ok(report))) => Ok(Some(report)),
                Ok(Some(Err(e))) => Err(e.to_string()),
                Ok(None) => Ok(None),
                Err(panic) => Err(crate::thumbs::decode::panic_message(&*panic)),
            };
            JobOutput::PhotosChecked { root, result }
        });
        cancel
    }
}

impl Jobs {
    /// Analyses the embeddings of the session's run (map, outliers, look-alikes).
    pub fn analyse_embeddings(
        &mut self,
        dataset: Arc<crate::dataset::Dataset>,
        probs: &crate::review_queue::RunProbs,
    ) {
        let (dir, run_id, rows) = (
            probs.dir.clone(),
            probs.run_id.clone(),
            probs.table.rows.clone(),
        );
        self.spawn("Mapping the run's embeddings…", move |_| {
            let result =
                crate::workbench::session::analyse_embeddings(&dataset, &dir, &run_id, &rows)
                    .map_err(|e| e.to_string());
            JobOutput::EmbeddingsAnalysed {
                root: dataset.root.clone(),
                run_id,
                result,
            }
        });
    }
}

/// Opening the demo as the app's status line shows it: one line at a time.
struct StatusLine<'a>(&'a (dyn Fn(&str) + Sync));

impl crate::workbench::demo::DemoProgress for StatusLine<'_> {
    fn say(&self, line: &str) {
        (self.0)(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_reports_a_failure_and_leaves_nothing_running() {
        let mut jobs = Jobs::new(None);
        jobs.spawn("Exploding…", |_| panic!("out of cheese"));
        assert!(jobs.is_busy());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut got = Vec::new();
        while got.is_empty() && std::time::Instant::now() < deadline {
            got = jobs.poll();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        match got.as_slice() {
            [JobOutput::Failed { job, error }] => {
                assert_eq!(job, "Exploding…");
                assert_eq!(error, "out of cheese");
            }
            _ => panic!("expected one failure, got {} outputs", got.len()),
        }
        assert!(!jobs.is_busy(), "the spinner must stop");
    }
}
