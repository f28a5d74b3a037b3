//! Training progress on a terminal: the worker's events drawn as progress bars on
//! standard error (plain lines when standard error is not a terminal). Used by the worker
//! (`mask-curator-ml train`) and by `open --demo` while the quick demo run trains.

use crate::ml::protocol::WorkerEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// A count of done items on stderr: a bar on a terminal, else a line at each tenth (so a
/// log file still shows progress). Shared between threads.
pub struct CountBar {
    bar: ProgressBar,
    total: usize,
    tenths_said: std::sync::atomic::AtomicUsize,
}

impl CountBar {
    pub fn new(prefix: &str, message: &str, total: usize) -> Self {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(prefix.to_string());
        bar.set_message(message.to_string());
        Self {
            bar,
            total,
            tenths_said: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// `done` items are done; at `total` the bar goes away.
    pub fn set(&self, done: usize) {
        if self.bar.is_hidden() {
            let tenth = done * 10 / self.total.max(1);
            let said = self
                .tenths_said
                .fetch_max(tenth, std::sync::atomic::Ordering::Relaxed);
            if said < tenth {
                eprintln!(
                    "{}: {done} of {} ({}%)",
                    self.bar.message(),
                    self.total,
                    tenth * 10
                );
            }
        }
        self.bar.set_position(done as u64);
        if done >= self.total {
            self.bar.finish_and_clear();
        }
    }
}

/// Draws the training events as progress bars on stderr until the channel closes.
pub fn render_training(rx: &crossbeam_channel::Receiver<WorkerEvent>) {
    let multi = MultiProgress::new();
    // Without a terminal the bars are hidden; the log lines still go to stderr.
    let say = |line: String| {
        if multi.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = multi.println(line);
        }
    };
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut overall: Option<ProgressBar> = None;
    let mut epoch_bar: Option<ProgressBar> = None;
    let mut photos_bar: Option<ProgressBar> = None;
    for event in rx {
        match event {
            WorkerEvent::Preparing { done, total } => {
                let bar = photos_bar.get_or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(total as u64));
                    bar.set_style(style.clone());
                    bar.set_prefix("photos");
                    bar.set_message("decoding every photo once");
                    bar
                });
                bar.set_position(done as u64);
                if done == total {
                    bar.finish_and_clear();
                }
            }
            WorkerEvent::Log { text } => say(text),
            WorkerEvent::Started {
                run_dir,
                folds,
                epochs,
                device,
                ..
            } => {
                say(format!(
                    "run {} on {device}, folds {folds:?}, {epochs} epochs",
                    run_dir.display()
                ));
                let bar = multi.add(ProgressBar::new((folds.len() as u64) * u64::from(epochs)));
                bar.set_style(style.clone());
                bar.set_prefix("epochs");
                overall = Some(bar);
            }
            WorkerEvent::FoldStarted {
                fold,
                train_photos,
                val_photos,
                pretrained,
            } => {
                let from = pretrained
                    .map(|p| format!(", pretrained from {p}"))
                    .unwrap_or_default();
                say(format!(
                    "fold {fold}: {train_photos} training / {val_photos} validation photos{from}"
                ));
            }
            WorkerEvent::Batch(b) => {
                let bar = epoch_bar.get_or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(b.batches as u64));
                    bar.set_style(style.clone());
                    bar
                });
                if b.batch == 1 {
                    bar.reset();
                    bar.set_length(b.batches as u64);
                }
                bar.set_prefix(format!("f{} e{}", b.fold, b.epoch));
                bar.set_position(b.batch as u64);
                bar.set_message(format!(
                    "loss {:.4}  {:.0} img/s  ETA {}",
                    b.loss,
                    b.images_per_sec,
                    format_secs(b.eta_secs)
                ));
            }
            WorkerEvent::Epoch(r) => {
                if let Some(bar) = &overall {
                    bar.inc(1);
                }
                let age = r
                    .age_mae
                    .map(|m| format!("  age MAE {m:.2} y"))
                    .unwrap_or_default();
                say(format!(
                    "fold {} epoch {}: train loss {:.4}  val loss {:.4}  macro F1 {:.4} (mask {:.3} gender {:.3} age {:.3})  acc {:.4}{age}  {:.0} img/s",
                    r.fold, r.epoch, r.train_loss, r.val_loss, r.macro_f1, r.f1_mask, r.f1_gender, r.f1_age, r.accuracy, r.images_per_sec
                ));
            }
            WorkerEvent::FoldFinished(s) => {
                if let Some(e) = &s.error {
                    say(format!("fold {} failed: {e}", s.fold));
                } else {
                    say(format!(
                        "fold {} {} after {} epoch(s)",
                        s.fold,
                        s.status.name(),
                        s.epochs_completed
                    ));
                }
            }
            WorkerEvent::Finished { .. }
            | WorkerEvent::Predicted { .. }
            | WorkerEvent::Error { .. } => {}
        }
    }
    for bar in [photos_bar, epoch_bar, overall].into_iter().flatten() {
        bar.finish_and_clear();
    }
}

fn format_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// The age head's out-of-fold figures in one line.
pub fn age_line(age: &crate::ml::run::AgeSummary) -> String {
    format!(
        "out-of-fold age: MAE {:.2} years (median age guessed: {:.2})  median spread {:.1} years  \
         within one spread {:.0}%",
        age.mae_years,
        age.baseline_mae_years,
        age.median_spread_years,
        age.within_one_spread * 100.0
    )
}

/// A bar counting items (photos) for a one-phase command; indicatif draws it on standard
/// error and not at all when that is not a terminal.
pub fn count_bar(prefix: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {eta} left")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(0).with_style(style).with_prefix(prefix)
}
